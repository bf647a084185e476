"""One record type for every per-image and per-face output.

:class:`PredictionRecord` is built once, where a prediction is made
(:func:`image_records` for whole images, ``predict_faces`` for faces), and every
output is read from it: ``predict_faces``' dicts and DataFrame, the command
line's table, CSV and JSON, and the captions of :func:`~clip_fer.faces.draw_faces`.
"""

import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ._abstention import abstain_fields

__all__ = ["PredictionRecord", "as_records", "image_records", "records_to_frame"]

_BOX = ("x0", "y0", "x1", "y1")


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
        The top-k classes, best first; empty when there is no prediction;
        ``["unsure"]`` when the estimator's ``abstain_below`` is above the top
        probability.
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
        The face detector's confidence.
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

    @property
    def caption(self):
        """``(label, probability)`` of the best class, or None without a prediction.

        For an "unsure" answer the probability is the top one, the confidence
        that fell below ``abstain_below``.
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

    def to_flat(self, classes, top_k):
        """One flat row: box corners, ``label_1`` ... ``label_<top_k>``, one column per class.

        Parameters
        ----------
        classes : sequence of str
            One probability column each (NaN when there is no prediction).
        top_k : int
            Number of ``label_<i>`` columns.

        Returns
        -------
        row : dict
        """
        box = self.box or [None] * 4
        labels = list(self.labels) + [None] * (top_k - len(self.labels))
        return {
            "image_index": self.image_index,
            "image": self.image,
            "face": self.face,
            **dict(zip(_BOX, box)),
            "score": self.score,
            **{f"label_{i + 1}": label for i, label in enumerate(labels)},
            **{c: self.probabilities.get(c, np.nan) for c in classes},
            "status": self.status,
            "error": self.error,
        }


def _path(item):
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else None


def prediction_fields(ranking, proba, classes, abstain_below=None):
    """``labels`` and ``probabilities`` from one row of a Decision (k ranks);
    ``labels`` is ``["unsure"]`` when the top probability is below ``abstain_below``."""
    fields = {
        "labels": [classes[i] for i in ranking],
        "probabilities": {c: float(p) for c, p in zip(classes, proba)},
    }
    return abstain_fields(fields, abstain_below)


def image_records(images, decision, classes, top_k, abstain_below=None):
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
        fields = prediction_fields(
            decision.ranking[index, :top_k], decision.proba[index], classes, abstain_below
        )
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
        known = {"image_index", "image", "face", *_BOX, "score", *labels, "status", "error"}
        classes = [c for c in rows.columns if c not in known]
        out = []
        for row in rows.to_dict("records"):
            has_box = all(present(row.get(c)) for c in _BOX)
            out.append(
                PredictionRecord(
                    image_index=int(row["image_index"]),
                    image=row.get("image") if present(row.get("image")) else None,
                    labels=[row[c] for c in labels if present(row[c])],
                    probabilities={c: float(row[c]) for c in classes if present(row[c])},
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


def records_to_frame(records, classes, top_k):
    """Records as a flat pandas DataFrame (see :meth:`PredictionRecord.to_flat`).

    Missing values (no face) are ``<NA>`` or NaN.
    """
    import pandas as pd

    flat = [record.to_flat(classes, top_k) for record in as_records(records)]
    frame = pd.DataFrame(flat, columns=list(flat[0]) if flat else None)
    ints = dict.fromkeys(("face", *_BOX), "Int64")
    return frame.astype(ints).astype({"score": "float64"})
