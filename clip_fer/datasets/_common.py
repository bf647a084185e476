"""What every loader shares: split names, the Bunch it returns, its error policy, lazy face crops."""

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..backends._images import IMAGE_SUFFIXES, UnreadableImage, exif_orientation, to_rgb_image
from ..exceptions import DatasetError, ImageInputError, SkippedItemsWarning

__all__ = [
    "FaceCrops",
    "ItemErrors",
    "LazyImages",
    "label_lines",
    "check_split",
    "image_files",
    "image_size",
    "make_bunch",
    "select_splits",
    "split_name",
]

# CSV ``Usage`` values -> the folder names of FER2013's JPEG export.
_USAGE_FOLDERS = {"training": "train", "publictest": "public_test", "privatetest": "private_test"}

ON_ERROR = ("raise", "skip")


def split_name(name):
    """The canonical name of a split: ``"PublicTest"`` and ``"public_test"`` are one.

    Parameters
    ----------
    name : str
        A split folder name or a FER2013 CSV ``Usage`` value.

    Returns
    -------
    name : str
        ``"train"``, ``"public_test"`` or ``"private_test"`` for FER2013's three
        splits, however they are spelled; any other name in lower case, so that
        SFEW's ``Val`` folder is ``split="val"`` as its ``Train`` is ``"train"``.

    Examples
    --------
    >>> split_name("PublicTest"), split_name("Training"), split_name("Val")
    ('public_test', 'train', 'val')
    """
    key = "".join(ch for ch in name.lower() if ch not in "_- ")
    key = "training" if key == "train" else key
    return _USAGE_FOLDERS.get(key, name.lower())


def check_split(split, owner):
    """None, or the requested split names as a tuple of canonical names."""
    if split is None:
        return None
    names = (split,) if isinstance(split, str) else split
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise DatasetError(
            f"The 'split' parameter of {owner} must be None, a split name or a list of "
            f"split names, e.g. 'public_test'. Got {split!r} instead."
        )
    return tuple(dict.fromkeys(split_name(n) for n in names))


def select_splits(wanted, available, source):
    """Refuse a requested split that ``source`` does not have."""
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise DatasetError(
            f"{source} has no split {unknown[0]!r}; its splits are "
            f"{sorted(available)}. Pass one of them as split, or None for all."
        )


def no_split(split, owner, source):
    """Refuse a split for a data set that has none."""
    if split is not None:
        raise DatasetError(
            f"{source} has no published split, so {owner} cannot select split={split!r}; pass split=None."
        )


def make_bunch(images, target, target_names, filenames, split, groups=None, **extra):
    """The Bunch every loader returns; ``groups`` maps a name to per-image labels."""
    return Bunch(
        images=images,
        target=np.asarray(target, dtype=object),
        target_names=np.asarray(target_names, dtype=object),
        filenames=np.asarray(filenames, dtype=object),
        split=None if split is None else np.asarray(split, dtype=object),
        groups={name: np.asarray(values, dtype=object) for name, values in (groups or {}).items()},
        **extra,
    )


def image_files(folder):
    """The image files directly in ``folder``, sorted; hidden ones left out."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def label_lines(path):
    """``(where, fields)`` of each non-blank line of a whitespace-separated label file,
    ``where`` naming the file and the line (1-based)."""
    for number, line in enumerate(
        path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), start=1
    ):
        if line.strip():
            yield f"{path}, line {number}", line.split()


def require_file(path, owner, what):
    """``path`` as a Path; a DatasetError naming ``what`` it should be when it is not a file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"No file {str(path)!r}; {owner} needs {what}.")
    return path


def images_under(root, owner, what):
    """Every image file under the folder ``root`` (subfolders too), sorted; hidden ones left out."""
    if not root.is_dir():
        raise DatasetError(f"No folder {str(root)!r}; {owner} needs {what}.")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def refuse_code(errors, where, code, what, table):
    """Refuse a label code outside ``table`` (code -> class), naming the codes there are."""
    codes = ", ".join(f"{k} {v}" for k, v in table.items())
    errors.refuse(where, f"the {what} {code!r} is not one of {codes}.")


class ItemErrors:
    """The ``on_error`` policy of a loader for items it cannot label.

    ``refuse(where, reason)`` raises :class:`DatasetError` (``on_error="raise"``)
    or notes the item (``"skip"``); ``warn()`` then counts the noted items in
    one :class:`SkippedItemsWarning`.
    """

    def __init__(self, on_error, owner):
        if on_error not in ON_ERROR:
            raise DatasetError(
                f"The 'on_error' parameter of {owner} must be 'raise' or 'skip'. Got {on_error!r} instead."
            )
        self.on_error = on_error
        self.owner = owner
        self.skipped = []

    def refuse(self, where, reason):
        """Raise, or note the item at ``where`` (a file, and its line) as left out."""
        message = f"{where}: {reason}"
        if self.on_error == "raise":
            raise DatasetError(
                f"{message} Fix the item, or pass on_error='skip' (clip-fer: --on-error skip) "
                "to leave such items out."
            )
        self.skipped.append(message)

    def warn(self):
        """One warning that counts the items left out; none when there are none."""
        if self.skipped:
            shown = "; ".join(self.skipped[:3]) + (" ..." if len(self.skipped) > 3 else "")
            warnings.warn(
                SkippedItemsWarning(
                    f"{self.owner} left out {len(self.skipped)} item(s) (on_error='skip'): {shown}",
                    self.skipped,
                ),
                stacklevel=3,
            )


def image_size(path):
    """``(width, height)`` of an image file as it is shown (its EXIF orientation applied)."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        turned = exif_orientation(image) in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def box_problem(box, path):
    """Why ``box`` (x0, y0, x1, y1) cannot be cropped from the image at ``path``; None if it can."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return f"the face box {tuple(box)} (x0, y0, x1, y1) is empty."
    try:
        width, height = image_size(path)
    except (OSError, SyntaxError, ValueError) as exc:
        return f"the image {str(path)!r} cannot be read ({exc})."
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        return (
            f"the face box {tuple(box)} (x0, y0, x1, y1) lies outside the image {str(path)!r}, "
            f"which is {width}x{height} pixels."
        )
    return None


class LazyImages(Sequence):
    """A sequence of images read when indexed; iterating never stops at a bad one.

    Indexing an unreadable item raises :class:`ImageInputError`; iterating yields an
    ``UnreadableImage`` holding why instead, so the classifier applies its
    ``on_error`` to that item alone and ``predict(on_error="skip")`` loses no other.
    """

    def take(self, indices):
        """The items at ``indices`` (int array), as a sequence of the same kind."""
        raise NotImplementedError

    def _slice(self, index):
        return self.take(np.arange(len(self))[index])

    def __iter__(self):
        for position in range(len(self)):
            try:
                yield self[position]
            except ImageInputError as exc:
                yield UnreadableImage(exc.reason)


class FaceCrops(LazyImages):
    """Faces cropped from image files, each read and cropped when indexed.

    Only the paths and boxes are kept; item ``i`` is an RGB ``PIL.Image``, the
    box ``boxes[i]`` of ``paths[i]`` (upright, as EXIF orientation shows it).
    A slice is another :class:`FaceCrops`. Made by the loaders of layouts with
    face boxes (AffectNet, ExpW).

    Parameters
    ----------
    paths : sequence of str
        The image files.
    boxes : array-like of int, shape (n_images, 4)
        ``(x0, y0, x1, y1)`` in pixels, ``x1`` and ``y1`` exclusive.
    """

    def __init__(self, paths, boxes):
        self.paths = np.asarray(paths, dtype=object)
        self.boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)

    def __len__(self):
        return len(self.paths)

    def __repr__(self):
        return f"FaceCrops(n_images={len(self)})"

    def take(self, indices):
        """The faces at ``indices``, as a :class:`FaceCrops`."""
        return FaceCrops(self.paths[indices], self.boxes[indices])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._slice(index)
        position = range(len(self))[index]  # IndexError out of range, negatives counted from the end
        return to_rgb_image(self.paths[position], position).crop(tuple(int(v) for v in self.boxes[position]))
