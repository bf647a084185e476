"""Pictures of the predictions: each face's box, top label and probability (Pillow)."""

import zlib
from pathlib import Path

from PIL import ImageDraw, ImageFont

from .._records import as_records
from ..backends._images import to_rgb_image

__all__ = ["draw_faces", "save_annotated"]

# Colour-blind-safe colours (Okabe-Ito) for the FER2013 classes; other labels get
# one of them by a stable hash.
_COLOURS = {
    "angry": (213, 94, 0),
    "disgust": (0, 158, 115),
    "fear": (204, 121, 167),
    "happy": (230, 159, 0),
    "neutral": (153, 153, 153),
    "sad": (0, 114, 178),
    "surprise": (86, 180, 233),
}


def label_colour(label):
    """The RGB colour of a label: fixed for FER2013's classes, else one of theirs by hash."""
    if label in _COLOURS:
        return _COLOURS[label]
    palette = list(_COLOURS.values())
    return palette[zlib.crc32(label.encode()) % len(palette)]


def _boxes_and_captions(faces):
    """(box, label, probability) for each record of ``faces`` with a prediction;
    ``box`` is None for a record about a whole image."""
    for record in as_records(faces):
        if record.caption is not None and record.status in ("ok", "face"):
            yield (record.box, *record.caption)


def draw_faces(image, faces):
    """A copy of ``image`` with each face's box, top label and probability.

    Parameters
    ----------
    image : str, Path, PIL.Image, ndarray or torch.Tensor
        The photo, as the classifier takes it.
    faces : list of dict or PredictionRecord, or pandas.DataFrame
        The rows of :func:`predict_faces` for this image (for a DataFrame,
        ``frame[frame.image_index == i]``); rows without a face are skipped. A
        record with labels and no box (a whole image's prediction) labels the
        whole image, in its corner.

    Returns
    -------
    annotated : PIL.Image in mode "RGB"

    Examples
    --------
    >>> faces = predict_faces(clf, ["group.jpg"])                      # doctest: +SKIP
    >>> draw_faces("group.jpg", faces).save("group-emotions.png")      # doctest: +SKIP
    """
    picture = to_rgb_image(image, 0)
    draw = ImageDraw.Draw(picture)
    short_side = min(picture.size)
    width = max(2, round(short_side / 250))
    font = ImageFont.load_default(size=max(12, round(short_side / 40)))
    for box, label, probability in _boxes_and_captions(faces):
        colour = label_colour(label)
        if box is None:
            x0 = y0 = y1 = 0
        else:
            x0, y0, x1, y1 = box
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=width)
        caption = f"{label} {probability:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), caption, font=font)
        text_w, text_h = right - left + 2 * width, bottom - top + 2 * width
        ty = y0 - text_h if y0 - text_h >= 0 else y1  # above the box, else below
        ty = max(min(ty, picture.height - text_h), 0)
        tx = max(min(x0, picture.width - text_w), 0)
        draw.rectangle((tx, ty, tx + text_w, ty + text_h), fill=colour)
        draw.text((tx + width - left, ty + width - top), caption, fill=(0, 0, 0), font=font)
    return picture


def save_annotated(images, records, folder):
    """Write one annotated PNG per image into ``folder``; return their paths.

    Parameters
    ----------
    images : sequence of str or Path
        The images, in the order of the records' ``image_index``.
    records : list of dict or PredictionRecord
        Rows as :func:`predict_faces` returns them with ``as_frame=False``, or
        the records of whole images.
    folder : str or Path
        Created if missing. Files are named after the images (``photo.png``;
        ``photo-1.png`` and so on when two images share a name). Images that
        could not be read are skipped.

    Returns
    -------
    written : list of Path
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_image = {}
    for record in as_records(records):
        by_image.setdefault(record.image_index, []).append(record)
    written, used = [], set()
    for index, path in enumerate(images):
        rows = by_image.get(index, [])
        if any(row.status == "failed" for row in rows):
            continue
        stem = Path(path).stem
        name, n = f"{stem}.png", 0
        while name in used:
            n += 1
            name = f"{stem}-{n}.png"
        used.add(name)
        draw_faces(path, rows).save(folder / name)
        written.append(folder / name)
    return written
