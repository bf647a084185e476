"""AffectNet (manually annotated part): ``Manually_Annotated_file_lists/*.csv`` with face boxes."""

import csv
import itertools
from pathlib import Path

from ..exceptions import DatasetError
from ._common import (
    FaceCrops,
    ItemErrors,
    box_problem,
    check_split,
    make_bunch,
    refuse_code,
    require_file,
    select_splits,
)

__all__ = ["AFFECTNET_CODES", "AFFECTNET_LEFT_OUT", "load_affectnet"]

#: The ``expression`` codes -> clip-fer's classes.
AFFECTNET_CODES = {
    "0": "neutral",
    "1": "happy",
    "2": "sad",
    "3": "surprise",
    "4": "fear",
    "5": "disgust",
    "6": "angry",
    "7": "contempt",
}
#: Codes with no emotion class, left out as the literature does: None, Uncertain, No-Face.
AFFECTNET_LEFT_OUT = {"8": "None", "9": "Uncertain", "10": "No-Face"}

_COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
_FILES = {"train": "training.csv", "validation": "validation.csv"}
_OWNER = "load_dataset(layout='affectnet')"


def _columns(first_row):
    """Column positions, from the header when the file has one (``validation.csv`` may not).

    A header is a first row naming any of AffectNet's columns, in any order (a
    copy re-saved by pandas has an unnamed index column first).
    """
    has_header = any(name.strip() in _COLUMNS for name in first_row)
    names = [name.strip() for name in first_row] if has_header else list(_COLUMNS)
    missing = [name for name in _COLUMNS if name not in names]
    if missing:
        raise DatasetError(f"lacks the column(s) {missing}; AffectNet's header is {','.join(_COLUMNS)}.")
    return {name: names.index(name) for name in _COLUMNS}, len(names), has_header


def _read_rows(listing, images_root, keep_codes, split, errors, out):
    with open(listing, newline="", encoding="utf-8-sig", errors="replace") as file:
        rows = csv.reader(file)
        first = next(rows, None)
        if first is None:
            return
        try:
            columns, n_fields, has_header = _columns(first)
        except DatasetError as exc:
            raise DatasetError(f"{listing}, line 1 {exc}") from None
        body = rows if has_header else itertools.chain([first], rows)
        for number, row in enumerate(body, start=2 if has_header else 1):
            if not row:
                continue
            where = f"{listing}, line {number}"
            if len(row) != n_fields:
                errors.refuse(where, f"has {len(row)} fields; the header has {n_fields}.")
                continue
            code = row[columns["expression"]].strip()
            if code in AFFECTNET_LEFT_OUT or (code in AFFECTNET_CODES and code not in keep_codes):
                continue
            if code not in AFFECTNET_CODES:
                table = {**AFFECTNET_CODES, **AFFECTNET_LEFT_OUT}
                refuse_code(errors, where, code, "AffectNet expression code", table)
                continue
            try:
                x, y, w, h = (int(float(row[columns[name]])) for name in _COLUMNS[1:5])
            except ValueError:
                errors.refuse(where, "the face box (face_x, face_y, face_width, face_height) is not numbers.")
                continue
            image = images_root / row[columns["subDirectory_filePath"]].strip()
            if not image.is_file():
                errors.refuse(where, f"the listed image {str(image)!r} is missing.")
                continue
            box = (x, y, x + w, y + h)
            problem = box_problem(box, image)
            if problem:
                errors.refuse(where, problem)
                continue
            out.append((str(image), box, AFFECTNET_CODES[code], split))


def load_affectnet(path, split=None, *, on_error="raise", classes=8):
    """AffectNet's manually annotated images, each cropped to its face box.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``Manually_Annotated_file_lists/training.csv`` and
        ``validation.csv`` (``subDirectory_filePath, face_x, face_y, face_width,
        face_height, facial_landmarks, expression, valence, arousal``; a file
        without the header is read in that order) and ``Manually_Annotated_Images/``.
    split : {"train", "validation"} or list, default=None
        ``"validation"`` is the test split of the literature (the test set is
        not public). None reads both.
    on_error : {"raise", "skip"}, default="raise"
        An expression code outside 0..10, a missing image or a face box outside
        its image: raise naming the file and line, or leave the row out and
        count it in one warning.
    classes : {7, 8}, default=8
        AffectNet-8 keeps contempt (code 7); AffectNet-7 leaves its rows out.
        Codes 8-10 (None, Uncertain, No-Face) are always left out.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (:class:`FaceCrops`, each face cropped when it is used),
        ``target``, ``target_names`` (7 or 8 classes), ``filenames``,
        ``split``, ``layout`` (``"affectnet"``, or ``"affectnet-7"`` with
        ``classes=7``, so results name which of the two was scored),
        ``boxes`` (``(x0, y0, x1, y1)`` per image) and ``groups`` (empty:
        AffectNet gives none).
    """
    if classes not in (7, 8):
        raise DatasetError(f"The 'classes' parameter of {_OWNER} must be 7 or 8. Got {classes!r} instead.")
    root = Path(path)
    lists = root / "Manually_Annotated_file_lists"
    wanted = check_split(split, _OWNER) or tuple(_FILES)
    select_splits(wanted, _FILES, str(lists))
    keep_codes = {code for code in AFFECTNET_CODES if classes == 8 or AFFECTNET_CODES[code] != "contempt"}
    errors = ItemErrors(on_error, _OWNER)
    rows = []
    for name in wanted:
        listing = require_file(lists / _FILES[name], _OWNER, f"AffectNet's {_FILES[name]}")
        _read_rows(listing, root / "Manually_Annotated_Images", keep_codes, name, errors, rows)
    errors.warn()
    paths = [row[0] for row in rows]
    boxes = [row[1] for row in rows]
    crops = FaceCrops(paths, boxes)
    return make_bunch(
        crops,
        [row[2] for row in rows],
        sorted(AFFECTNET_CODES[code] for code in keep_codes),
        paths,
        [row[3] for row in rows],
        layout="affectnet" if classes == 8 else "affectnet-7",
        boxes=crops.boxes,
    )
