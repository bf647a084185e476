"""ExpW: ``label/label.lst`` with face boxes, faces cropped from ``image/origin/``."""

from pathlib import Path

from ._common import (
    FaceCrops,
    ItemErrors,
    box_problem,
    label_lines,
    make_bunch,
    no_split,
    refuse_code,
    require_file,
)

__all__ = ["EXPW_CODES", "load_expw"]

#: ``label.lst``'s expression codes -> clip-fer's classes.
EXPW_CODES = {
    "0": "angry",
    "1": "disgust",
    "2": "fear",
    "3": "happy",
    "4": "sad",
    "5": "surprise",
    "6": "neutral",
}
_FIELDS = "image_name face_id top left right bottom confidence expression"
_OWNER = "load_dataset(layout='expw')"


def load_expw(path, split=None, *, on_error="raise"):
    """ExpW (Expression in-the-Wild), each face cropped from its photo.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``label/label.lst`` (lines ``image_name face_id top
        left right bottom confidence expression``, codes 0 angry, 1 disgust,
        2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral) and ``image/origin/``.
    split : None
        ExpW publishes no split.
    on_error : {"raise", "skip"}, default="raise"
        A code outside 0..6, a missing image or a face box outside its image:
        raise naming the file and line, or leave the face out and count it in
        one warning.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (:class:`FaceCrops`), ``target``, ``target_names``,
        ``filenames`` (``path#face_id``), ``split`` (None), ``layout``,
        ``boxes`` (``(x0, y0, x1, y1)``) and ``groups`` (empty).
    """
    root = Path(path)
    labels = require_file(root / "label" / "label.lst", _OWNER, "ExpW's label/label.lst")
    no_split(split, _OWNER, "ExpW")
    origin = root / "image" / "origin"
    errors = ItemErrors(on_error, _OWNER)
    paths, boxes, target, names = [], [], [], []
    for where, fields in label_lines(labels):
        if len(fields) != 8:
            errors.refuse(where, f"has {len(fields)} fields; ExpW's lines are '{_FIELDS}'.")
            continue
        name, face_id, top, left, right, bottom, _confidence, code = fields
        if code not in EXPW_CODES:
            refuse_code(errors, where, code, "ExpW expression code", EXPW_CODES)
            continue
        try:
            box = tuple(int(float(v)) for v in (left, top, right, bottom))
        except ValueError:
            errors.refuse(where, "the face box (top left right bottom) is not numbers.")
            continue
        image = origin / name
        if not image.is_file():
            errors.refuse(where, f"the listed image {str(image)!r} is missing.")
            continue
        problem = box_problem(box, image)
        if problem:
            errors.refuse(where, problem)
            continue
        paths.append(str(image))
        boxes.append(box)
        target.append(EXPW_CODES[code])
        names.append(f"{image}#{face_id}")
    errors.warn()
    crops = FaceCrops(paths, boxes)
    return make_bunch(
        crops, target, sorted(EXPW_CODES.values()), names, None, layout="expw", boxes=crops.boxes
    )
