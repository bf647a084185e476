"""FERPlus: Microsoft's ten-vote relabelling of FER2013, labelled by its majority rule."""

import csv
from pathlib import Path

import numpy as np

from ..exceptions import DatasetError
from ._common import (
    FaceCrops,
    ItemErrors,
    LazyImages,
    box_problem,
    check_split,
    image_size,
    make_bunch,
    select_splits,
    split_name,
)
from ._fer2013 import load_fer2013_csv

__all__ = ["FERPLUS_VOTE_COLUMNS", "ferplus_majority", "load_ferplus"]

#: The vote columns of ``fer2013new.csv`` and ``label.csv``, in file order, in
#: clip-fer's class names; the last two (``unknown``, ``NF``: not a face) are no class.
FERPLUS_VOTE_COLUMNS = (
    "neutral",
    "happy",
    "surprise",
    "sad",
    "angry",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "not_face",
)
_N_EMOTIONS = 8
# FERPlus's generated folders -> FER2013's split names.
_FOLDERS = {"FER2013Train": "train", "FER2013Valid": "public_test", "FER2013Test": "private_test"}
# FERPlus's own names for the splits, accepted as split=.
_ALIASES = {"valid": "public_test", "validation": "public_test", "test": "private_test"}
_OWNER = "load_dataset(layout='ferplus')"


def ferplus_majority(votes):
    """FERPlus's majority label of each row of votes, as its reference reader decides it.

    A count of one vote is dropped as an outlier; the emotion with the most of
    the remaining votes is the label if it holds more than half of them (so
    there is no tie); rows whose winner is ``unknown`` or not-a-face, or where
    no emotion holds a majority, get none.

    Parameters
    ----------
    votes : array-like of int, shape (n_rows, 10)
        Counts in :data:`FERPLUS_VOTE_COLUMNS` order.

    Returns
    -------
    label : ndarray of int, shape (n_rows,)
        Index into the first eight columns, or -1 where the row gets no label.

    Examples
    --------
    >>> ferplus_majority([[4, 0, 0, 1, 3, 2, 0, 0, 0, 0], [5, 0, 0, 5, 0, 0, 0, 0, 0, 0]]).tolist()
    [-1, -1]
    >>> ferplus_majority([[6, 0, 0, 1, 0, 0, 0, 0, 3, 0]]).tolist()
    [0]
    """
    counted = np.asarray(votes, dtype=np.int64).reshape(-1, len(FERPLUS_VOTE_COLUMNS)).copy()
    counted[counted <= 1] = 0
    top = counted.argmax(axis=1)
    majority = counted.max(axis=1) * 2 > counted.sum(axis=1)
    return np.where(majority & (top < _N_EMOTIONS), top, -1)


def _votes(fields, where, errors):
    """The ten counts of a row; None (refused) unless they are non-negative integers."""
    try:
        counts = [int(v) for v in fields]
    except ValueError:
        counts = None
    if counts is None or len(counts) != len(FERPLUS_VOTE_COLUMNS) or min(counts) < 0:
        errors.refuse(
            where,
            f"the votes {fields!r} are not {len(FERPLUS_VOTE_COLUMNS)} counts (non-negative integers) "
            f"for {', '.join(FERPLUS_VOTE_COLUMNS)}.",
        )
        return None
    return counts


def _from_csv(new_csv, wanted, errors):
    """The ``fer2013new.csv`` form: row ``i`` votes for row ``i`` of ``fer2013.csv`` beside it."""
    if not (new_csv.parent / "fer2013.csv").is_file():
        raise DatasetError(
            f"No fer2013.csv beside {new_csv}; FERPlus's votes label the faces of FER2013's CSV, "
            "row for row. Put Kaggle's fer2013.csv in the same folder."
        )
    fer = load_fer2013_csv(new_csv.parent / "fer2013.csv")
    with open(new_csv, newline="", encoding="utf-8-sig", errors="replace") as file:
        rows = list(csv.reader(file))
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if header[:2] != ["usage", "image name"] or len(header) != 2 + len(FERPLUS_VOTE_COLUMNS):
        raise DatasetError(
            f"{new_csv}, line 1 is not FERPlus's header (Usage,Image name,neutral,happiness,"
            "surprise,sadness,anger,disgust,fear,contempt,unknown,NF)."
        )
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if row]
    if len(body) != len(fer.images):
        raise DatasetError(
            f"{new_csv} has {len(body)} rows and {fer.images.path} {len(fer.images)}; FERPlus's file "
            "labels FER2013's row for row, so they must have as many (is one of them cut or edited?)."
        )
    keep, votes = [], []
    for position, (number, row) in enumerate(body):
        where = f"{new_csv}, line {number}"
        usage = split_name(row[0].strip())
        if fer.split is not None and usage != fer.split[position]:
            raise DatasetError(
                f"{where} is in split {row[0].strip()!r} but row {position + 1} of {fer.images.path} "
                f"in {fer.split[position]!r}; the two files are not aligned."
            )
        if wanted is not None and usage not in wanted:
            continue
        counts = _votes(row[2:], where, errors)
        if counts is not None and row[1].strip():  # no image name: FERPlus left the face out
            keep.append(position)
            votes.append(counts)
    keep = np.asarray(keep, dtype=np.intp)
    splits = None if fer.split is None else list(fer.split[keep])
    return fer.images.take(keep), list(fer.filenames[keep]), splits, votes


def _from_folders(root, wanted, errors):
    """The generated form: ``FER2013{Train,Valid,Test}/label.csv`` beside the ``fer*.png`` faces."""
    available = {
        split: folder for folder, split in _FOLDERS.items() if (root / folder / "label.csv").is_file()
    }
    if wanted is not None:
        select_splits(wanted, available, str(root))
    paths, boxes, splits, votes = [], [], [], []
    for split, folder in available.items():
        if wanted is not None and split not in wanted:
            continue
        label_csv = root / folder / "label.csv"
        with open(label_csv, newline="", encoding="utf-8-sig", errors="replace") as file:
            for number, row in enumerate(csv.reader(file), start=1):
                if not row:
                    continue
                where = f"{label_csv}, line {number}"
                boxed = len(row) > 1 and row[1].strip().startswith("(")  # the first release's face box
                counts = _votes(row[2:] if boxed else row[1:], where, errors)
                if counts is None:
                    continue
                image = root / folder / row[0].strip()
                if not image.is_file():
                    errors.refuse(where, f"the listed image {str(image)!r} is missing.")
                    continue
                box = None
                if boxed:
                    box = _box(row[1], where, image, errors)
                    if box is None:
                        continue
                paths.append(str(image))
                boxes.append(box)
                splits.append(split)
                votes.append(counts)
    if any(box is not None for box in boxes):
        sized = [box or (0, 0, *image_size(path)) for path, box in zip(paths, boxes)]
        return FaceCrops(paths, sized), paths, splits, votes
    return paths, paths, splits, votes


def _box(field, where, image, errors):
    """A label.csv face box ``"(x0, y0, x1, y1)"``; None (refused) when malformed or outside the image."""
    try:
        box = tuple(int(v) for v in field.strip()[1:-1].split(","))
    except ValueError:
        box = ()
    if len(box) != 4:
        errors.refuse(where, f"the face box {field!r} is not '(x0, y0, x1, y1)' in pixels.")
        return None
    problem = box_problem(box, image)
    if problem:
        errors.refuse(where, problem)
        return None
    return box


def load_ferplus(path, split=None, *, on_error="raise"):
    """FERPlus: FER2013's faces with ten crowd votes each, labelled by FERPlus's majority rule.

    Parameters
    ----------
    path : str or path-like
        A folder holding ``fer2013new.csv`` beside Kaggle's ``fer2013.csv``
        (row ``i`` of one votes for row ``i`` of the other), or the file
        ``fer2013new.csv`` itself, or the folder FERPlus's
        ``generate_training_data.py`` writes: ``FER2013Train``,
        ``FER2013Valid`` and ``FER2013Test``, each with ``label.csv``
        (``fer0000000.png,`` ten counts) and its ``fer*.png`` faces; the first
        release's ``label.csv`` also holds a face box ``"(0, 0, 48, 48)"``,
        which is checked against the image and cropped.
    split : str or list of str, default=None
        ``"train"``, ``"public_test"`` (FERPlus's Valid) or ``"private_test"``
        (FERPlus's Test, the test split of the literature); ``"valid"`` and
        ``"test"`` are accepted. None keeps all.
    on_error : {"raise", "skip"}, default="raise"
        A row whose votes are not ten counts, a listed image that is missing
        or a face box outside its image: raise naming the file and line, or leave it out and count it in one
        warning.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``, ``target`` (the majority label, see :func:`ferplus_majority`;
        faces without one are left out), ``target_names`` (eight classes),
        ``filenames``, ``split``, ``layout``, ``groups`` (empty),
        ``target_votes`` (int array, shape (n_images, 10): each kept face's
        votes as the file gives them, ones included, for soft-label metrics)
        and ``vote_names`` (its columns: :data:`FERPLUS_VOTE_COLUMNS`).
    """
    source = Path(path)
    wanted = check_split(split, _OWNER)
    if wanted is not None:
        wanted = tuple(_ALIASES.get(name.lower(), name) for name in wanted)
    errors = ItemErrors(on_error, _OWNER)
    if source.is_file() or (source / "fer2013new.csv").is_file():
        new_csv = source if source.is_file() else source / "fer2013new.csv"
        if wanted is not None:
            select_splits(wanted, _FOLDERS.values(), str(new_csv))
        images, filenames, splits, votes = _from_csv(new_csv, wanted, errors)
    elif any((source / folder / "label.csv").is_file() for folder in _FOLDERS):
        images, filenames, splits, votes = _from_folders(source, wanted, errors)
    else:
        raise DatasetError(
            f"{str(path)!r} holds neither fer2013new.csv (beside fer2013.csv) nor FERPlus's "
            f"{', '.join(_FOLDERS)} folders with label.csv; {_OWNER} needs one of them."
        )
    errors.warn()
    votes = np.asarray(votes, dtype=np.int64).reshape(-1, len(FERPLUS_VOTE_COLUMNS))
    label = ferplus_majority(votes)
    kept = np.flatnonzero(label >= 0)
    images = images.take(kept) if isinstance(images, LazyImages) else [images[i] for i in kept]
    return make_bunch(
        images,
        [FERPLUS_VOTE_COLUMNS[i] for i in label[kept]],
        sorted(FERPLUS_VOTE_COLUMNS[:_N_EMOTIONS]),
        [filenames[i] for i in kept],
        None if splits is None else [splits[i] for i in kept],
        layout="ferplus",
        target_votes=votes[kept],
        vote_names=np.asarray(FERPLUS_VOTE_COLUMNS, dtype=object),
    )
