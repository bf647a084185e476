"""FER2013 from Kaggle's CSV (``emotion,pixels,Usage``), faces decoded lazily."""

import operator
from pathlib import Path

import numpy as np

from .._vocabularies import FER2013_CLASSES, FER2013_CSV_CODES
from ..exceptions import DatasetError, ImageInputError
from ._common import LazyImages, check_split, make_bunch, select_splits, split_name

__all__ = ["FER2013_SIDE", "Fer2013CsvImages", "load_fer2013_csv"]

#: Height and width of a FER2013 face, in pixels.
FER2013_SIDE = 48

# The CSV's emotion field, as bytes -> class name.
_CSV_CODES = {str(code).encode(): name for code, name in enumerate(FER2013_CSV_CODES)}


def _field(raw):
    return raw.strip().strip(b'"').strip()


class Fer2013CsvImages(LazyImages):
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

    def take(self, indices):
        """The rows at ``indices``, as a :class:`Fer2013CsvImages`."""
        return Fer2013CsvImages(
            self.path, self.offsets[indices], self.lines[indices], self.pixels_column, self.n_columns
        )

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._slice(index)
        position = operator.index(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} images")
        with open(self.path, "rb") as file:
            file.seek(self.offsets[position])
            raw = file.readline()
        return self._decode(raw, position)

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
    wanted = check_split(split, owner)
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
        select_splits(wanted, set(usages), str(path))
        keep = np.isin(np.asarray(usages, dtype=object), wanted)
    if not keep.any():
        raise DatasetError(f"{path} has no data rows.")
    offsets, lines = np.asarray(offsets)[keep], np.asarray(lines)[keep]
    images = Fer2013CsvImages(path, offsets, lines, pixels, n_columns)
    return make_bunch(
        images,
        np.asarray(codes, dtype=object)[keep],
        sorted(FER2013_CLASSES),
        [f"{path}:{line}" for line in lines],
        np.asarray(usages, dtype=object)[keep] if usage is not None else None,
    )
