"""RAF-DB (basic): ``EmoLabel/list_patition_label.txt`` and ``Image/aligned/``."""

from pathlib import Path

from ..exceptions import DatasetError
from ._common import (
    ItemErrors,
    check_split,
    label_lines,
    make_bunch,
    refuse_code,
    require_file,
    select_splits,
)

__all__ = ["RAFDB_ATTRIBUTES", "RAFDB_CODES", "load_rafdb"]

#: ``list_patition_label.txt``'s label codes -> clip-fer's classes.
RAFDB_CODES = {
    "1": "surprise",
    "2": "fear",
    "3": "disgust",
    "4": "happy",
    "5": "sad",
    "6": "angry",
    "7": "neutral",
}

#: The manual attributes of ``Annotation/manual/<stem>_manu_attri.txt``: the
#: group name and its code table, in the order of the lines after the five
#: landmark lines.
RAFDB_ATTRIBUTES = (
    ("gender", {"0": "male", "1": "female", "2": "unsure"}),
    ("race", {"0": "Caucasian", "1": "African-American", "2": "Asian"}),
    ("age", {"0": "0-3", "1": "4-19", "2": "20-39", "3": "40-69", "4": "70+"}),
)
#: The compound subset's codes beyond the basic table (its 1-7 are two-emotion classes too).
_COMPOUND_ONLY = ("8", "9", "10", "11")
_COMPOUND_HINT = (
    " Codes 8-11 are those of RAF-DB's compound subset (11 two-emotion classes), whose 1-7 "
    "are not the basic emotions either: point at RAF-DB's basic folder."
)
_LANDMARK_LINES = 5
_SPLITS = ("train", "test")
_OWNER = "load_dataset(layout='rafdb')"


def _attributes(path, errors):
    """The groups of one image from its attribute file; None when it is refused."""
    if not path.is_file():
        errors.refuse(str(path), "the manual attribute file of a listed image is missing.")
        return None
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines()]
    values = {}
    for offset, (name, table) in enumerate(RAFDB_ATTRIBUTES):
        number = _LANDMARK_LINES + offset + 1
        code = lines[number - 1] if number <= len(lines) else "(no line)"
        if code not in table:
            refuse_code(errors, f"{path}, line {number}", code, f"RAF-DB {name} code", table)
            return None
        values[name] = table[code]
    return values


def load_rafdb(path, split=None, *, on_error="raise", images="aligned"):
    """RAF-DB's basic emotion set, as published.

    Parameters
    ----------
    path : str or path-like
        The ``basic`` folder: ``EmoLabel/list_patition_label.txt`` (lines
        ``train_00001.jpg 5``), ``Image/aligned/<stem>_aligned.jpg`` or
        ``Image/original/<stem>.jpg`` and, when present,
        ``Annotation/manual/<stem>_manu_attri.txt``.
    split : {"train", "test"} or list, default=None
        From the file-name prefix; None keeps both.
    on_error : {"raise", "skip"}, default="raise"
        A label code outside 1..7, a missing image or attribute file, or an
        attribute code outside its table: raise naming the file and line, or
        leave the item out and count it in one warning.
    images : {"aligned", "original"}, default="aligned"
        The 100x100 aligned faces, or the original photos.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (paths), ``target``, ``target_names`` (the seven classes),
        ``filenames``, ``split``, ``layout`` and ``groups`` (``gender``,
        ``race``, ``age`` from the manual attributes; empty without them).
    """
    root = Path(path)
    if root.resolve().name.lower() == "compound":
        raise DatasetError(
            f"{root} is RAF-DB's compound subset: its codes 1-11 are two-emotion classes "
            f"(1 Happily Surprised ...), not the basic ones; {_OWNER} reads the basic folder."
        )
    labels = require_file(root / "EmoLabel" / "list_patition_label.txt", _OWNER, "RAF-DB's basic folder")
    if images not in ("aligned", "original"):
        raise DatasetError(
            f"The 'images' parameter of {_OWNER} must be 'aligned' or 'original'. Got {images!r}."
        )
    wanted = check_split(split, _OWNER)
    if wanted is not None:
        select_splits(wanted, _SPLITS, str(labels))
    manual = root / "Annotation" / "manual"
    errors = ItemErrors(on_error, _OWNER)
    paths, target, splits, groups = [], [], [], []
    for where, fields in label_lines(labels):
        if len(fields) != 2:
            errors.refuse(where, f"has {len(fields)} fields; RAF-DB's lines are 'train_00001.jpg 5'.")
            continue
        name, code = fields
        stem = name.rsplit(".", 1)[0]
        part = stem.split("_", 1)[0]
        if part not in _SPLITS:
            errors.refuse(where, f"the image name {name!r} starts with neither 'train_' nor 'test_'.")
            continue
        if code in _COMPOUND_ONLY:
            errors.refuse(where, f"the RAF-DB label code {code!r} is not one of 1-7.{_COMPOUND_HINT}")
            continue
        if code not in RAFDB_CODES:
            refuse_code(errors, where, code, "RAF-DB label code", RAFDB_CODES)
            continue
        if wanted is not None and part not in wanted:
            continue
        image = root / "Image" / images / (f"{stem}_aligned.jpg" if images == "aligned" else name)
        if not image.is_file():
            errors.refuse(where, f"the listed image {str(image)!r} is missing.")
            continue
        if manual.is_dir():
            attributes = _attributes(manual / f"{stem}_manu_attri.txt", errors)
            if attributes is None:
                continue
            groups.append(attributes)
        paths.append(str(image))
        target.append(RAFDB_CODES[code])
        splits.append(part)
    errors.warn()
    names = [name for name, _ in RAFDB_ATTRIBUTES] if groups else []
    return make_bunch(
        paths,
        target,
        sorted(RAFDB_CODES.values()),
        paths,
        splits,
        {name: [g[name] for g in groups] for name in names},
        layout="rafdb",
    )
