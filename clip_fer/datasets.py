"""Loaders for FER2013 and for any folder of labelled face images.

Every loader returns a :class:`sklearn.utils.Bunch` whose ``images`` can be
passed straight to :class:`~clip_fer.ZeroShotEmotionClassifier` and whose
``target`` holds class names (str), the labels the classifier predicts. Images
are never all held in memory: folders give file paths, and the Kaggle CSV gives
a :class:`Fer2013CsvImages` sequence that decodes a row when it is indexed.

Sources
-------
- :func:`load_fer2013_csv`: Kaggle's ``fer2013.csv`` (``emotion,pixels,Usage``).
- :func:`load_image_folder`: ``class/*.jpg``, or ``split/class/*.jpg`` as in the
  JPEG export of FER2013 (``train/angry/Training_10118481.jpg``).
- :func:`load_dataset`: either of them, chosen by what the path is.

:func:`sample_k_shot` draws ``k`` labelled examples per class (seeded) for
few-shot adaptation, and returns the rest for evaluation.

Splits are named as the JPEG export names its folders (``train``,
``public_test``, ``private_test``); the CSV's ``Usage`` values (``Training``,
``PublicTest``, ``PrivateTest``) are accepted as the same names.
"""

import operator
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._vocabularies import FER2013_CLASSES, FER2013_CSV_CODES
from .backends._images import IMAGE_SUFFIXES
from .exceptions import DatasetError, ImageInputError

__all__ = [
    "Fer2013CsvImages",
    "load_dataset",
    "load_fer2013_csv",
    "load_image_folder",
    "sample_k_shot",
    "split_name",
]

#: Height and width of a FER2013 face, in pixels.
FER2013_SIDE = 48

# CSV ``Usage`` values -> the folder names of FER2013's JPEG export.
_USAGE_FOLDERS = {"training": "train", "publictest": "public_test", "privatetest": "private_test"}
# The CSV's emotion field, as bytes -> class name.
_CSV_CODES = {str(code).encode(): name for code, name in enumerate(FER2013_CSV_CODES)}


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
        splits, however they are spelled; any other name unchanged.

    Examples
    --------
    >>> split_name("PublicTest"), split_name("Training"), split_name("val")
    ('public_test', 'train', 'val')
    """
    key = "".join(ch for ch in name.lower() if ch not in "_- ")
    key = "training" if key == "train" else key
    return _USAGE_FOLDERS.get(key, name)


def _check_split(split, owner):
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


def _select_splits(wanted, available, source):
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise DatasetError(
            f"{source} has no split {unknown[0]!r}; its splits are "
            f"{sorted(available)}. Pass one of them as split, or None for all."
        )


def _bunch(images, target, target_names, filenames, split):
    return Bunch(
        images=images,
        target=np.asarray(target, dtype=object),
        target_names=np.asarray(target_names, dtype=object),
        filenames=np.asarray(filenames, dtype=object),
        split=None if split is None else np.asarray(split, dtype=object),
    )


# Folders ----------------------------------------------------------------------


def _subfolders(folder):
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder):
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _stray(root, where, files, rule):
    shown = ", ".join(repr(str(p)) for p in files[:3]) + (" ..." if len(files) > 3 else "")
    return DatasetError(
        f"{root} mixes the two layouts: {where} ({shown}). {rule} In a split/class/*.jpg tree "
        "every image must be in a class folder, and in a class/*.jpg folder no class folder "
        f"has subfolders of images. Move the stray file{'s' if len(files) > 1 else ''} into a "
        f"class folder, or remove {'them' if len(files) > 1 else 'it'}."
    )


def _nested_images(folder):
    """The image files one level below ``folder``'s subfolders."""
    return [p for sub in _subfolders(folder) for p in _image_files(sub)]


def _check_not_mixed(root, class_files):
    """Refuse a folder where an image would be read without its class, or not at all.

    Every image must sit in a class folder: ``split/stray.jpg`` beside
    ``split/happy/*.jpg`` would make ``split`` read as a class; ``stray.jpg``
    beside the class (or split) folders, ``happy/x/*.jpg`` beside ``sad/*.jpg``
    and ``train/sad/x/*.jpg`` would be left out without a word (a whole class
    could go missing from an evaluation).
    """
    loose = _image_files(root) if class_files else []  # no folder at all: "holds no image files"
    if loose:
        raise _stray(root, "image files lie in it, beside its folders", loose, "Such an image has no class.")
    flat = any(class_files.values())  # class/*.jpg
    for folder, files in class_files.items():
        nested = _nested_images(folder)
        if files and nested:
            raise _stray(
                root,
                f"{folder.name!r} holds image files itself and subfolders of images "
                f"({', '.join(repr(s.name) for s in _subfolders(folder) if _image_files(s))[:200]})",
                files,
                "Its own images would be read as a class named after it.",
            )
        if flat and nested:
            raise _stray(
                root,
                f"{folder.name!r} holds subfolders of images while other folders hold images directly",
                nested,
                "They would be left out.",
            )
        if not flat:  # split/class/*.jpg: a class folder with subfolders of images
            for class_folder in _subfolders(folder):
                deeper = _nested_images(class_folder)
                if deeper:
                    raise _stray(
                        root,
                        f"class folder {folder.name}/{class_folder.name} holds subfolders of images",
                        deeper,
                        "They would be left out.",
                    )


def load_image_folder(path, split=None):
    """Image paths and labels from a folder of ``class/*.jpg`` or ``split/class/*.jpg``.

    The layout is recognised from the files: image files in the subfolders of
    ``path`` make it a ``class/`` folder (each subfolder a class); otherwise image
    files one level deeper make it a ``split/class/`` tree. Files are those with
    an image suffix (``.jpg``, ``.png``, ...); hidden files and folders, and
    subfolders without images, are skipped.

    Parameters
    ----------
    path : str or path-like
        The folder.
    split : str or list of str, default=None
        For a ``split/class/`` tree, the split folders to read, e.g.
        ``"public_test"`` (``"PublicTest"`` also matches); None reads them all.
        Must be None for a ``class/`` folder.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (list of str, file paths; what the classifier takes),
        ``target`` (ndarray of str, the class folder of each image),
        ``target_names`` (ndarray of str, the classes found, sorted),
        ``filenames`` (ndarray of str, as ``images``) and ``split`` (ndarray of
        str, each image's split folder; None for a ``class/`` folder). Sorted by
        split, class and file name.

    Raises
    ------
    DatasetError
        If ``path`` is not a folder, holds no images in either layout, mixes
        them (an image beside the class folders of a split, beside the class
        or split folders, or in a subfolder of a class folder: it would be
        read without its class, or left out), or has no split named ``split``.

    Examples
    --------
    >>> data = load_image_folder("../shared/data/fer2013", split="public_test")  # doctest: +SKIP
    >>> len(data.images), data.target_names[:2]                                    # doctest: +SKIP
    (3589, array(['angry', 'disgust'], dtype=object))
    """
    owner = "load_image_folder"
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(
            f"No folder {str(path)!r}; {owner} needs a folder of class/*.jpg or split/class/*.jpg."
        )
    wanted = _check_split(split, owner)
    subfolders = _subfolders(root)
    class_files = {folder: _image_files(folder) for folder in subfolders}
    _check_not_mixed(root, class_files)
    if any(class_files.values()):
        if wanted is not None:
            raise DatasetError(
                f"{root} is a folder of class/*.jpg without split folders, so "
                f"split={split!r} selects nothing. Pass split=None, or the folder "
                "that holds the split folders."
            )
        trees = {None: class_files}
    else:
        trees = {}
        for folder in subfolders:
            files = {sub: _image_files(sub) for sub in _subfolders(folder)}
            if any(files.values()):
                trees[folder.name] = files
        if not trees:
            raise DatasetError(
                f"{root} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in "
                "class/ or split/class/ subfolders."
            )
        if wanted is not None:
            by_name = {split_name(name): name for name in trees}
            _select_splits(wanted, by_name, str(root))
            trees = {by_name[name]: trees[by_name[name]] for name in wanted}

    paths, target, splits = [], [], []
    for split_folder, classes in trees.items():
        for class_folder, files in classes.items():
            paths.extend(str(p) for p in files)
            target.extend([class_folder.name] * len(files))
            splits.extend([split_folder] * len(files))
    return _bunch(paths, target, sorted(set(target)), paths, None if None in trees else splits)


# The Kaggle CSV ---------------------------------------------------------------


def _field(raw):
    return raw.strip().strip(b'"').strip()


class Fer2013CsvImages(Sequence):
    """The faces of a FER2013 CSV, each decoded from the file when indexed.

    Only the byte offset of each row is kept, so a sequence of 35,887 faces
    holds a few hundred kilobytes. Item ``i`` is a ``(48, 48)`` uint8 array,
    which :class:`~clip_fer.ZeroShotEmotionClassifier` accepts as an image; a
    slice is another :class:`Fer2013CsvImages`. Made by :func:`load_fer2013_csv`.

    Parameters
    ----------
    path : str
        The CSV file.
    offsets : ndarray of int
        Byte offset of each row in the file.
    lines : ndarray of int
        Line number (1-based) of each row, named in errors.
    pixels_column, n_columns : int
        Position of the ``pixels`` field, and the number of fields in a row.
    """

    def __init__(self, path, offsets, lines, pixels_column, n_columns):
        self.path = str(path)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.lines = np.asarray(lines, dtype=np.int64)
        self.pixels_column = pixels_column
        self.n_columns = n_columns

    def __len__(self):
        return len(self.offsets)

    def __repr__(self):
        return f"Fer2013CsvImages({self.path!r}, n_images={len(self)})"

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Fer2013CsvImages(
                self.path, self.offsets[index], self.lines[index], self.pixels_column, self.n_columns
            )
        position = operator.index(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} images")
        with open(self.path, "rb") as file:
            file.seek(self.offsets[position])
            raw = file.readline()
        return self._decode(raw, position)

    def __iter__(self):
        """Every face in order; a malformed row is an ``UnreadableImage`` holding why.

        Iterating never stops at a bad row (indexing it raises
        :class:`ImageInputError`): the classifier then applies its ``on_error``
        to that item alone, so ``predict(on_error="skip")`` loses no other row.
        """
        from .backends._images import UnreadableImage

        for position in range(len(self)):
            try:
                yield self[position]
            except ImageInputError as exc:
                yield UnreadableImage(exc.reason)

    def _decode(self, raw, position):
        where = f"line {self.lines[position]} of {self.path}"
        fields = raw.split(b",")
        if len(fields) != self.n_columns:
            raise ImageInputError(
                position, f"{where} has {len(fields)} fields; the header has {self.n_columns}."
            )
        try:
            values = np.array(_field(fields[self.pixels_column]).split(), dtype=np.int64)
        except ValueError:
            raise ImageInputError(
                position, f"{where}: the pixels field holds something other than integers."
            ) from None
        if values.size != FER2013_SIDE**2:
            raise ImageInputError(
                position,
                f"{where}: the pixels field has {values.size} values; a FER2013 face "
                f"has {FER2013_SIDE**2} ({FER2013_SIDE}x{FER2013_SIDE}).",
            )
        if values.min() < 0 or values.max() > 255:
            raise ImageInputError(
                position,
                f"{where}: pixel values must be in [0, 255]; found {values.min()}..{values.max()}.",
            )
        return values.astype(np.uint8).reshape(FER2013_SIDE, FER2013_SIDE)


def _csv_columns(header, path):
    try:
        names = [_field(name).decode("utf-8-sig").lower() for name in header.split(b",")]
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"The header (line 1) of {path} is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start}); is it a FER2013 CSV? It starts with 'emotion,pixels,Usage'."
        ) from None
    missing = [name for name in ("emotion", "pixels") if name not in names]
    if missing:
        raise DatasetError(
            f"{path} lacks the column(s) {missing}; its header is {names}. A FER2013 "
            "CSV starts with the header 'emotion,pixels,Usage'."
        )
    usage = names.index("usage") if "usage" in names else None
    return names.index("emotion"), names.index("pixels"), usage, len(names)


def load_fer2013_csv(path, split=None):
    """FER2013 from Kaggle's CSV, faces decoded lazily.

    The file is read once to index its rows (label, split and byte offset); the
    pixels of a row are decoded only when its image is used.

    Parameters
    ----------
    path : str or path-like
        The CSV: a header naming ``emotion`` (codes 0..6: angry, disgust, fear,
        happy, sad, surprise, neutral) and ``pixels`` (2304 space-separated
        values in [0, 255], a 48x48 face, row-major), and optionally ``Usage``,
        in any order (``icml_face_data.csv`` writes ``emotion, Usage, pixels``).
    split : str or list of str, default=None
        The rows to keep by ``Usage``: ``"Training"``, ``"PublicTest"``,
        ``"PrivateTest"`` or the folder names ``"train"``, ``"public_test"``,
        ``"private_test"``; None keeps every row.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (:class:`Fer2013CsvImages`, one (48, 48) uint8 array per row),
        ``target`` (ndarray of str, the class names of the emotion codes),
        ``target_names`` (ndarray of str, FER2013's seven classes, sorted),
        ``filenames`` (ndarray of str, ``"path:line"`` for each row) and
        ``split`` (ndarray of str, each row's split as a folder name, e.g.
        ``"public_test"``; None when the file has no ``Usage`` column).

    Raises
    ------
    DatasetError
        If the file is missing, lacks a column, has a row with another number
        of fields or an emotion code outside 0..6, or has no rows of ``split``.
        A malformed ``pixels`` field raises :class:`~clip_fer.exceptions.ImageInputError`
        when that image is used.

    Examples
    --------
    >>> data = load_fer2013_csv("fer2013.csv", split="PublicTest")   # doctest: +SKIP
    >>> len(data.images), data.images[0].shape                         # doctest: +SKIP
    (3589, (48, 48))
    """
    owner = "load_fer2013_csv"
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"No file {str(path)!r}; {owner} needs FER2013's CSV (emotion,pixels,Usage).")
    wanted = _check_split(split, owner)
    offsets, lines, codes, usages = [], [], [], []
    with open(path, "rb") as file:
        header = file.readline()
        emotion, pixels, usage, n_columns = _csv_columns(header, path)
        if wanted is not None and usage is None:
            raise DatasetError(
                f"{path} has no 'Usage' column, so split={split!r} selects nothing; pass split=None."
            )
        offset = len(header)
        for line, raw in enumerate(iter(file.readline, b""), start=2):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            fields = raw.split(b",")
            if len(fields) != n_columns:
                raise DatasetError(
                    f"Line {line} of {path} has {len(fields)} fields; the header has {n_columns}."
                )
            code = _field(fields[emotion])
            if code not in _CSV_CODES:
                raise DatasetError(
                    f"Line {line} of {path} has the emotion {code.decode(errors='replace')!r}; "
                    f"FER2013's codes are 0..6 ({', '.join(FER2013_CSV_CODES)})."
                )
            offsets.append(start)
            lines.append(line)
            codes.append(_CSV_CODES[code])
            if usage is not None:
                try:
                    usages.append(split_name(_field(fields[usage]).decode()))
                except UnicodeDecodeError as exc:
                    raise DatasetError(
                        f"Line {line} of {path} has a Usage field that is not UTF-8 text "
                        f"({exc.reason}); FER2013's are Training, PublicTest and PrivateTest."
                    ) from None

    keep = np.ones(len(offsets), dtype=bool)
    if wanted is not None:
        _select_splits(wanted, set(usages), str(path))
        keep = np.isin(np.asarray(usages, dtype=object), wanted)
    if not keep.any():
        raise DatasetError(f"{path} has no data rows.")
    offsets, lines = np.asarray(offsets)[keep], np.asarray(lines)[keep]
    images = Fer2013CsvImages(path, offsets, lines, pixels, n_columns)
    return _bunch(
        images,
        np.asarray(codes, dtype=object)[keep],
        sorted(FER2013_CLASSES),
        [f"{path}:{line}" for line in lines],
        np.asarray(usages, dtype=object)[keep] if usage is not None else None,
    )


def load_dataset(path, split=None):
    """Load labelled faces from a FER2013 CSV or an image folder, by what ``path`` is.

    Parameters
    ----------
    path : str or path-like
        A file is read by :func:`load_fer2013_csv`; a folder (``class/*.jpg`` or
        ``split/class/*.jpg``) by :func:`load_image_folder`.
    split : str or list of str, default=None
        The split(s) to keep; see those functions.

    Returns
    -------
    data : sklearn.utils.Bunch
        As the loader returns it: ``images``, ``target``, ``target_names``,
        ``filenames``, ``split``.
    """
    source = Path(path)
    if source.is_file():
        return load_fer2013_csv(source, split)
    if source.is_dir():
        return load_image_folder(source, split)
    raise DatasetError(
        f"No file or folder {str(path)!r}; give a FER2013 CSV, a folder of "
        "class/*.jpg or a folder of split/class/*.jpg."
    )


# Few-shot sampling ---------------------------------------------------------------


def sample_k_shot(X, y, k, random_state=None, *, max_fraction=1.0):
    """Draw ``k`` examples of each class (the shots) and return them and the rest.

    Like :func:`sklearn.model_selection.train_test_split`, but stratified by
    count: each class gives ``k`` items, drawn without replacement with
    ``random_state``, so a learning curve over ``k`` and seeds is one loop.
    The same ``random_state`` and ``y`` give the same shots whatever ``X`` is
    (paths, arrays or embeddings of the same items), so images and their
    cached embeddings can be sampled alike.

    Parameters
    ----------
    X : sequence or array of shape (n_samples, ...)
        Images (paths, arrays) or embeddings; indexed as scikit-learn does.
    y : array-like of shape (n_samples,)
        Labels.
    k : int
        Shots per class, >= 1.
    random_state : int, numpy Generator or None, default=None
        Seed of the draw.
    max_fraction : float, default=1.0
        At most this fraction of each class (rounded down) becomes shots,
        in (0, 1]; 0.5 always leaves at least half of every class to evaluate on.

    Returns
    -------
    X_shots, X_rest : same type as ``X``
        The shots, class by class in the order of ``np.unique(y)`` and by
        index within a class, and every other item in its original order.
    y_shots, y_rest : ndarray
        Their labels.

    Warns
    -----
    UserWarning
        When a class has fewer items than ``k`` allows (``max_fraction``
        included): it gives all it can, and the warning names it and how many.

    Examples
    --------
    >>> from clip_fer.datasets import sample_k_shot
    >>> X, y = list(range(10)), ["a"] * 6 + ["b"] * 4
    >>> X_shots, X_rest, y_shots, y_rest = sample_k_shot(X, y, 2, random_state=0)
    >>> list(y_shots), len(X_rest)
    (['a', 'a', 'b', 'b'], 6)
    """
    import warnings
    from numbers import Integral, Real

    from sklearn.utils import _safe_indexing, check_random_state
    from sklearn.utils.validation import column_or_1d

    from .metrics import check_labels_present

    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(
            f"The 'k' parameter of sample_k_shot must be an int >= 1 (shots per class). Got {k!r} instead."
        )
    if isinstance(max_fraction, bool) or not isinstance(max_fraction, Real) or not 0 < max_fraction <= 1:
        raise ValueError(
            "The 'max_fraction' parameter of sample_k_shot must be a float in (0, 1]. "
            f"Got {max_fraction!r} instead."
        )
    y = column_or_1d(y if hasattr(y, "dtype") else np.asarray(y, dtype=object))
    check_labels_present(y, "sample_k_shot")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} items but y has {len(y)} labels; give one label per item.")
    rng = np.random.default_rng(random_state) if not isinstance(random_state, np.random.RandomState) else None
    if rng is None:
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    chosen, short = [], []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        limit = min(k, int(np.floor(len(members) * max_fraction)))
        if limit < k:
            short.append(f"{label!r} ({limit} of {len(members)})")
        chosen.append(np.sort(rng.choice(members, size=limit, replace=False)))
    if short:
        warnings.warn(
            f"sample_k_shot: {len(short)} classes have fewer than k={k} items to give "
            f"(max_fraction={max_fraction}); they give what they can: {', '.join(short)}.",
            UserWarning,
            stacklevel=2,
        )
    shots = np.concatenate(chosen).astype(np.intp)
    rest = np.setdiff1d(np.arange(len(y)), shots)
    return _safe_indexing(X, shots), _safe_indexing(X, rest), y[shots], y[rest]
