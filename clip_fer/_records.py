"""One record type and one column scheme for every per-image and per-face output.

:class:`PredictionRecord` is built once, where a prediction is made
(:func:`image_records` for whole images, ``predict_faces`` for faces in photos,
``iter_video_faces`` for faces in video frames), and every output is read from
it: ``predict_faces``' dicts and DataFrame, the command line's table, CSV and
JSON, ``predict_video``'s DataFrame and ``faces.csv``, and the captions of
:func:`~clip_fer.faces.draw_faces`.

The column scheme (:func:`flat_columns`): fixed columns first, then one
probability column per class named ``proba_<class>`` (:func:`proba_column`).
No fixed column starts with ``proba_``, so no class name can collide with one:
a class called ``image``, ``score``, ``label_1`` or ``time`` gets
``proba_image``, ``proba_score``, ... The Ray outputs (``label``, ``labels``,
``proba_<class>``, ``error``) and ``clip-fer evaluate``'s ``predictions.csv``
use the same prefix.
"""

import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ._abstention import abstain_ranked

__all__ = [
    "PROBA_PREFIX",
    "PredictionRecord",
    "as_records",
    "check_class_names",
    "class_of_column",
    "flat_columns",
    "image_records",
    "proba_column",
    "records_to_frame",
]

BOX_COLUMNS = ("x0", "y0", "x1", "y1")
_BOX = BOX_COLUMNS
#: The prefix of every probability column, in every tabular output.
PROBA_PREFIX = "proba_"
_VIDEO = ("frame", "time", "track")
_FACE = ("face", *BOX_COLUMNS, "score")


#: Cells that CSV readers take for a missing value (pandas' ``read_csv`` defaults): a
#: class of that name would read back as an empty label, like a skipped image's.
MISSING_CELLS = frozenset(
    ["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>"]
    + ["N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)


def check_class_names(classes, owner):
    """Refuse class names that a CSV reader reads back as a missing value.

    Parameters
    ----------
    classes : array-like
        The class names.
    owner : str
        Named in the error.

    Raises
    ------
    ValueError
        Naming the class and the fix.
    """
    for cls in np.asarray(classes, dtype=object).tolist():
        if isinstance(cls, str) and cls.strip() in MISSING_CELLS:
            raise ValueError(
                f"{owner}: a class is named {cls!r}, which pandas and most CSV readers read "
                "back as a missing value: its labels in `clip-fer predict --format csv` and "
                "evaluate's predictions.csv would look like a skipped image's. Rename that "
                "class, e.g. 'no expression'."
            )


def proba_column(cls):
    """The column of ``cls``'s probability: ``"proba_<class>"``.

    Parameters
    ----------
    cls : str
        A class name.

    Returns
    -------
    column : str
    """
    return f"{PROBA_PREFIX}{cls}"


def class_of_column(column):
    """The class of a probability column, or None for a fixed column.

    Parameters
    ----------
    column : str

    Returns
    -------
    cls : str or None
    """
    return column[len(PROBA_PREFIX) :] if column.startswith(PROBA_PREFIX) else None


def flat_columns(classes, top_k, kind="image"):
    """The columns of a flat output, in order: the one column scheme.

    Parameters
    ----------
    classes : sequence of str
        One ``proba_<class>`` column each, last.
    top_k : int
        Number of ``label_<i>`` columns (image and face rows).
    kind : {"image", "face", "video"}, default="image"
        ``"image"``: ``image_index, image, label_1.., proba_.., status, error``;
        ``"face"`` adds ``face, x0, y0, x1, y1, score`` after ``image``;
        ``"video"``: ``frame, time, track, x0, y0, x1, y1, score, detected,
        label, raw_label, proba_..`` (``label`` the smoothed top class,
        ``raw_label`` the frame's own).

    Returns
    -------
    columns : list of str
    """
    probabilities = [proba_column(c) for c in classes]
    if kind == "video":
        return [*_VIDEO, *BOX_COLUMNS, "score", "detected", "label", "raw_label", *probabilities]
    labels = [f"label_{i + 1}" for i in range(top_k)]
    where = list(_FACE) if kind == "face" else []
    return ["image_index", "image", *where, *labels, *probabilities, "status", "error"]


@dataclass
class PredictionRecord:
    """The prediction for one image, or for one face in an image.

    Attributes
    ----------
    image_index : int
        Position of the image in the input.
    image : str or None
        The image's path, when the input item was one.
    labels : list of str
        The top-k classes, best first; empty when there is no prediction.
    probabilities : dict of str to float
        Class -> probability (``predict_proba``'s row, in [0, 1]); empty when
        there is no prediction.
    status : {"ok", "face", "no face", "failed"}
        ``"ok"``: a whole image was classified; ``"face"``: a face was;
        ``"no face"``: the detector found none; ``"failed"``: the image could
        not be read or processed (see ``error``).
    error : str or None
        Why it failed.
    face : int or None
        0, 1, ... within the image, best detection first; None for a whole image.
    box : list of 4 int or None
        ``[x0, y0, x1, y1]`` in pixels of the image (x1, y1 exclusive).
    score : float or None
        The face detector's confidence (NaN in a video frame where the box was
        carried by its track).
    frame, time : int, float or None
        In a video: the frame's index in the source and its time in seconds.
    track : int or None
        In a video: the face's track id, from 1.
    detected : bool or None
        In a video: whether the detector found the box in this frame.
    raw_label : str or None
        In a video: the top class of this frame's own probabilities
        (``labels`` and ``probabilities`` are smoothed over the track).

    Notes
    -----
    A record also answers ``record["track"]``, ``record["box"]``, ... and
    ``record["label"]`` (the first of ``labels``), as the dicts that
    ``iter_video_faces`` yielded before it yielded records.
    """

    image_index: int
    image: str | None
    labels: list = field(default_factory=list)
    probabilities: dict = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    face: int | None = None
    box: list | None = None
    score: float | None = None
    frame: int | None = None
    time: float | None = None
    track: int | None = None
    detected: bool | None = None
    raw_label: str | None = None

    def __getitem__(self, name):
        if name == "label":
            return self.labels[0] if self.labels else None
        if name in self.__dataclass_fields__:
            return getattr(self, name)
        raise KeyError(name)

    @property
    def caption(self):
        """``(label, probability)`` of the best class, or None without a prediction.

        For an "unsure" answer (``abstain_below``) the probability is the top
        one, the confidence that fell below the threshold.
        """
        if not self.labels:
            return None
        label = self.labels[0]
        if label not in self.probabilities and self.probabilities:
            return label, max(self.probabilities.values())
        return label, self.probabilities[label]

    def to_dict(self, faces=True, ndigits=None):
        """The record as a plain dict.

        Parameters
        ----------
        faces : bool, default=True
            Include ``face``, ``box`` and ``score``.
        ndigits : int, default=None
            Round the probabilities to this many digits.

        Returns
        -------
        record : dict
        """
        data = asdict(self)
        if ndigits is not None:
            data["probabilities"] = {c: round(p, ndigits) for c, p in self.probabilities.items()}
        keys = ["image_index", "image"]
        keys += ["face", "box", "score"] if faces else []
        keys += ["labels", "probabilities", "status", "error"]
        return {key: data[key] for key in keys}

    def to_flat(self, classes, top_k, kind="face"):
        """One flat row in the column scheme of :func:`flat_columns`.

        Parameters
        ----------
        classes : sequence of str
            One ``proba_<class>`` column each (NaN when there is no prediction).
        top_k : int
            Number of ``label_<i>`` columns.
        kind : {"image", "face", "video"}, default="face"
            Which columns (see :func:`flat_columns`).

        Returns
        -------
        row : dict
            Keyed by the columns, in their order.
        """
        box = dict(zip(BOX_COLUMNS, self.box or [None] * 4))
        labels = list(self.labels) + [None] * (top_k - len(self.labels))
        values = {
            "image_index": self.image_index,
            "image": self.image,
            "face": self.face,
            **box,
            "score": self.score,
            "frame": self.frame,
            "time": self.time,
            "track": self.track,
            "detected": self.detected,
            "label": self["label"],
            "raw_label": self.raw_label,
            "status": self.status,
            "error": self.error,
            **{f"label_{i + 1}": label for i, label in enumerate(labels)},
            **{proba_column(c): self.probabilities.get(c, np.nan) for c in classes},
        }
        return {column: values[column] for column in flat_columns(classes, top_k, kind)}


def _path(item):
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else None


def prediction_fields(ranking, proba, classes):
    """``labels`` and ``probabilities`` from one row of a Decision (k ranks)."""
    return {
        "labels": [classes[i] for i in ranking],
        "probabilities": {c: float(p) for c, p in zip(classes, proba)},
    }


def image_records(images, decision, classes, top_k, labels=None, abstain_below=None):
    """One record per image from a :class:`~clip_fer.Decision` over ``images``.

    Parameters
    ----------
    images : sequence
        The inputs the decision was made for (paths are kept in ``image``).
    decision : Decision
        With ``errors`` for the inputs that were skipped.
    classes : sequence of str
        ``classes_`` of the estimator.
    top_k : int
        Labels per record.
    labels : array-like of shape (n_images, top_k), default=None
        The labels, as the estimator's ``labels_of(decision.ranking[:, :top_k])``
        makes them (the one place labels are made); None names the classes of
        the ranking.
    abstain_below : float, default=None
        The estimator's: a record whose top probability is below it gets the
        labels ``["unsure"]``.

    Returns
    -------
    records : list of PredictionRecord
    """
    classes = [str(c) for c in classes]
    errors = dict(decision.errors)
    records = []
    for index, item in enumerate(images):
        if index in errors:
            path = _path(item)
            reason = f"{path}: {errors[index]}" if path else str(errors[index])
            records.append(PredictionRecord(index, path, status="failed", error=reason))
            continue
        fields = prediction_fields(decision.ranking[index, :top_k], decision.proba[index], classes)
        if labels is not None:
            fields["labels"] = [str(label) for label in labels[index]]
        fields["labels"] = abstain_ranked(fields["labels"], fields["probabilities"], abstain_below)
        records.append(PredictionRecord(index, _path(item), **fields))
    return records


def as_records(rows):
    """PredictionRecords from records, dicts (``predict_faces(as_frame=False)``) or
    ``predict_faces``' DataFrame."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame
        import pandas as pd

        def present(value):
            return value is not None and not pd.isna(value)

        labels = sorted((c for c in rows.columns if c.startswith("label_")), key=lambda c: int(c[6:]))
        classes = {c: class_of_column(c) for c in rows.columns if class_of_column(c) is not None}
        out = []
        for row in rows.to_dict("records"):
            has_box = all(present(row.get(c)) for c in _BOX)
            out.append(
                PredictionRecord(
                    image_index=int(row["image_index"]),
                    image=row.get("image") if present(row.get("image")) else None,
                    labels=[row[c] for c in labels if present(row[c])],
                    probabilities={cls: float(row[c]) for c, cls in classes.items() if present(row[c])},
                    status=row.get("status", "face"),
                    error=row.get("error") if present(row.get("error")) else None,
                    face=int(row["face"]) if present(row.get("face")) else None,
                    box=[int(row[c]) for c in _BOX] if has_box else None,
                    score=float(row["score"]) if present(row.get("score")) else None,
                )
            )
        return out
    names = set(PredictionRecord.__dataclass_fields__)
    return [
        row
        if isinstance(row, PredictionRecord)
        else PredictionRecord(
            **{"image_index": 0, "image": None, **{k: v for k, v in row.items() if k in names}}
        )
        for row in rows
    ]


def records_to_frame(records, classes, top_k, kind="face"):
    """Records as a flat pandas DataFrame (see :meth:`PredictionRecord.to_flat`).

    Missing values (no face) are ``<NA>`` or NaN. The columns are
    :func:`flat_columns`' also when there is no record.
    """
    import pandas as pd

    flat = [record.to_flat(classes, top_k, kind) for record in as_records(records)]
    frame = pd.DataFrame(flat, columns=flat_columns(classes, top_k, kind))
    if kind == "video":
        ints = dict.fromkeys(("frame", "track", *BOX_COLUMNS), "int64")
        return frame.astype({**ints, "time": "float64", "score": "float64", "detected": "bool"})
    ints = dict.fromkeys(("face", *BOX_COLUMNS) if kind == "face" else (), "Int64")
    return frame.astype(ints).astype({"score": "float64"} if kind == "face" else {})
