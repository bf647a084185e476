"""Scores of ranked predictions, on top of :mod:`sklearn.metrics`.

The classifier ranks the classes of each image (:meth:`predict_topk`); these
functions score such rankings. Ranked labels are an array of shape
``(n_samples, k)``, best first, as ``predict_topk`` returns them; a 1-D array
is a ranking of one class.

Besides the usual top-1 scores, the report ("C.U: Emotion's recognition",
section "Results & insights") scored its best configuration with a "top-3"
table: a prediction counts as the true class when the true class is among the
top 3, and as the top-1 class otherwise (:func:`top_k_predictions`). Its
accuracy is the top-3 accuracy; its per-class precision, recall and F1 are the
report's 0.716 table.

Inputs skipped with ``on_error="skip"`` have no prediction (``None``, or a row
of ``None`` from ``predict_topk``). Every score here, and
:meth:`ZeroShotEmotionClassifier.score`, leaves such samples out and is computed
over the others, with one :class:`~clip_fer.exceptions.SkippedImagesWarning`
saying how many were left out; :func:`summarize` reports the count as
``n_skipped``. With no prediction at all, the scores are NaN (and
:func:`per_class_metrics` and :func:`confusion` raise ``ValueError``).

**Probabilities.** :func:`expected_calibration_error`, :func:`reliability_curve`,
:func:`negative_log_likelihood` and :func:`brier_score` score ``predict_proba``'s
rows (or a calibrated classifier's) against the true labels; the last two are
scikit-learn's :func:`~sklearn.metrics.log_loss` and
:func:`~sklearn.metrics.brier_score_loss`. ``classes`` names the columns
(``clf.classes_``); a row of NaN (a skipped input) is left out as above. Each
row must sum to 1 within :data:`SUM_TOLERANCE` (rounded probabilities read back
from a CSV pass and are renormalised; scores or a subset of the columns are
refused). With one class (a one-class bank) the NLL and the Brier score are 0.

**Abstention.** With ``abstain_below``, ``predict`` answers "unsure" for the items
whose confidence is below it. Every score of a label counts "unsure" as a wrong
answer (it is never the true class): accuracy, recall and UAR drop, precision is
unchanged, and "unsure" is not a class of its own in the macro averages (it is a
column of :func:`confusion`). :func:`abstention_scores` gives the coverage (the
share answered) and the selective accuracy (the accuracy over the answered items).
:func:`risk_coverage_curve`, :func:`aurc` and :func:`selective_accuracy` rank the
items by a confidence instead, from the predictions made without abstention.
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)
from sklearn.utils import Bunch

from ._abstention import UNSURE, abstain, check_threshold
from ._options import MIN_GROUP_SIZE
from .exceptions import SkippedImagesWarning

__all__ = [
    "abstention_scores",
    "aurc",
    "brier_score",
    "confusion",
    "drop_unpredicted",
    "expected_calibration_error",
    "macro_f1",
    "negative_log_likelihood",
    "per_class_metrics",
    "reliability_curve",
    "risk_coverage_curve",
    "selective_accuracy",
    "summarize",
    "summarize_by_group",
    "summarize_decision",
    "top_k_accuracy",
    "top_k_predictions",
    "unweighted_average_recall",
]


def _is_missing(value):
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def check_labels_present(y, owner):
    """Refuse missing labels (``None``, or the NaN pandas reads for an empty cell),
    naming their indices, before any comparison of labels fails on them."""
    missing = [i for i, v in enumerate(np.asarray(y, dtype=object).ravel().tolist()) if _is_missing(v)]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        shown = ", ".join(map(str, missing[:10])) + more
        raise ValueError(
            f"{owner}: y has no label at index {shown} (None or NaN, which pandas reads for an "
            "empty cell); every item needs its class. Drop those items or fill in their labels."
        )


def drop_unpredicted(y_true, y_pred, owner="score", stacklevel=3):
    """Leave out the samples that have no prediction, with one warning.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,) or (n_samples, k)
        Predictions; ``None`` (or NaN) marks an input skipped with
        ``on_error="skip"``, and a ranked row with any ``None`` is missing.
    owner : str
        Named in the warning.

    Returns
    -------
    kept : tuple (keep, y_true, y_pred) or None
        The boolean mask of the samples kept and both arrays restricted to
        them; None when no sample has a prediction.
    """
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    flat = y_pred.reshape(len(y_pred), -1) if y_pred.ndim else y_pred
    missing = np.array([any(_is_missing(v) for v in row) for row in flat], dtype=bool)
    if missing.any():
        n, left = len(missing), int(missing.sum())
        warnings.warn(
            SkippedImagesWarning(
                f"{owner}: {left} of {n} samples have no prediction (inputs skipped with "
                f"on_error='skip') and are left out; scored over the other {n - left}.",
                [(int(i), "no prediction") for i in np.flatnonzero(missing)],
            ),
            stacklevel=stacklevel,
        )
    if missing.all():
        return None
    keep = ~missing
    return keep, y_true[keep], y_pred[keep]


def check_no_unsure(y_true, owner):
    """Refuse true labels holding "unsure": an abstention would be scored right on them."""
    if UNSURE in set(np.asarray(y_true, dtype=object).ravel().tolist()):
        raise ValueError(
            f"{owner}: y holds {UNSURE!r}, the label of an abstention, which is never a "
            "true class (no class may be named so); an abstained answer would be scored right "
            "on those items. Leave them out of X and y, or give them their class."
        )


def predicted_accuracy(y_true, y_pred, classes, sample_weight=None, owner="score"):
    """Accuracy over the samples that have a prediction, "unsure" counted wrong.

    The one scoring rule of clip-fer's estimators (their ``score``): samples
    with no prediction are left out with one warning, NaN when none is left.
    """
    y_true = np.asarray(y_true)
    kept = drop_unpredicted(y_true, y_pred, owner=owner, stacklevel=4)
    if kept is None:
        return float("nan")
    keep = kept[0]  # compare the original arrays, so their label types stay as given
    y_pred = np.asarray(y_pred)[keep]
    if y_pred.dtype == object and UNSURE not in set(y_pred.tolist()):
        y_pred = y_pred.astype(np.asarray(classes).dtype)
    weights = None if sample_weight is None else np.asarray(sample_weight)[keep]
    return float(accuracy_score(y_true[keep], y_pred, sample_weight=weights))


def _check_true_labels(owner, y_true):
    """Every sample has a true label: None or NaN there is a missing label, not a class."""
    missing = [i for i, label in enumerate(y_true.tolist()) if _is_missing(label)]
    if missing:
        raise ValueError(
            f"{owner}: y_true has no label (None or NaN) at sample {missing[0]}"
            f"{f' and {len(missing) - 1} others' if len(missing) > 1 else ''}; every sample "
            "needs its true class. Leave those samples out of y_true and the predictions."
        )


def _scored(owner, y_true, *predictions):
    """``y_true`` and each prediction array without the unpredicted samples (or None)."""
    y_true = np.asarray(y_true, dtype=object).ravel()
    arrays = [np.asarray(p, dtype=object) for p in predictions]
    if any(len(a) != len(y_true) for a in arrays):
        return (y_true, *arrays)  # sklearn names the length mismatch
    _check_true_labels(owner, y_true)
    stacked = np.column_stack([a.reshape(len(a), -1) for a in arrays]) if len(y_true) else arrays[0]
    kept = drop_unpredicted(y_true, stacked, owner, stacklevel=4)
    if kept is None:
        return None
    keep = kept[0]
    return (y_true[keep], *[a[keep] for a in arrays])


def _check_ranked(y_true, y_ranked, k, owner):
    """``y_true`` as a 1-D object array and ``y_ranked`` as 2-D, checked against ``k``."""
    y_true = np.asarray(y_true, dtype=object)
    y_ranked = np.asarray(y_ranked, dtype=object)
    if y_ranked.ndim == 1:
        y_ranked = y_ranked[:, None]
    if y_true.ndim != 1 or y_ranked.ndim != 2 or len(y_true) != len(y_ranked):
        raise ValueError(
            f"y_true must have shape (n_samples,) and y_ranked (n_samples, k), with the "
            f"same n_samples. Got {y_true.shape} and {y_ranked.shape} instead."
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty; give at least one sample.")
    _check_true_labels(owner, y_true)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= y_ranked.shape[1]:
        raise ValueError(
            f"k must be an int in [1, {y_ranked.shape[1]}], the number of ranked "
            f"labels per sample in y_ranked. Got {k!r} instead; rank more classes "
            "(predict_topk(X, k=...)) or lower k."
        )
    return y_true, y_ranked


def _label_order(label):
    """Sort key for labels of any type: numbers, then strings, then anything else by its
    repr (integer classes and "unsure" sort together; numpy's sort would raise)."""
    if isinstance(label, Real) and not isinstance(label, (bool, np.bool_)):
        return (0, float(label), "")
    if isinstance(label, str):
        return (1, 0.0, label)
    return (2, 0.0, repr(label))


def _union_labels(*label_arrays):
    """Every label found in the arrays, once, sorted by :func:`_label_order`, as an object array."""
    found = {}
    for array in label_arrays:
        for label in np.asarray(array, dtype=object).ravel().tolist():
            found.setdefault(label, label)
    labels = sorted(found, key=_label_order)
    out = np.empty(len(labels), dtype=object)
    out[:] = labels
    return out


def _encoded(labels, *arrays):
    """Each array's labels as their index in ``labels`` (int), for scikit-learn.

    scikit-learn reads an object array of numbers as labels of an unknown type and
    refuses numbers mixed with strings (integer classes with "unsure"); the indices
    are labels of one type it always takes, and keep every distinction.
    """
    index = {label: code for code, label in enumerate(np.asarray(labels, dtype=object).tolist())}
    return [
        np.array([index[v] for v in np.asarray(a, dtype=object).ravel().tolist()], dtype=np.intp).reshape(
            np.shape(a)
        )
        for a in arrays
    ]


def _class_labels(y_true, y_pred):
    """The classes to average over: every label of both, but "unsure" only if it is a true class."""
    labels = _union_labels(y_true, y_pred)
    if UNSURE in set(np.asarray(y_true, dtype=object).ravel().tolist()):
        return labels
    return labels[[label != UNSURE for label in labels.tolist()]]


def _scored_labels(y_true, y_pred, labels):
    """``y_true``, ``y_pred`` and ``labels`` (None: :func:`_class_labels`) as indices
    (:func:`_encoded`), and ``labels`` as given."""
    labels = _class_labels(y_true, y_pred) if labels is None else np.asarray(labels, dtype=object)
    return (*_encoded(_union_labels(y_true, y_pred, labels), y_true, y_pred, labels), labels)


def _accuracy(y_true, y_pred):
    """:func:`sklearn.metrics.accuracy_score` of labels of any type."""
    return float(accuracy_score(*_encoded(_union_labels(y_true, y_pred), y_true, y_pred)))


def top_k_accuracy(y_true, y_ranked, k=3):
    """Share of samples whose true class is among their ``k`` best ranked labels.

    Computed by :func:`sklearn.metrics.top_k_accuracy_score` on scores that
    order each sample's classes as ``y_ranked`` does.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_ranked : array-like of shape (n_samples, n_ranks)
        Labels, best first, as :meth:`ZeroShotEmotionClassifier.predict_topk`
        returns them; ``n_ranks >= k``.
    k : int, default=3
        How many of the best labels count.

    Returns
    -------
    accuracy : float
        In [0, 1]; with ``k=1`` it is the ordinary accuracy.

    Examples
    --------
    >>> top_k_accuracy(["a", "b"], [["a", "b"], ["c", "a"]], k=2)
    0.5
    """
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k, "top_k_accuracy")
    kept = _scored("top_k_accuracy", y_true, y_ranked)
    if kept is None:
        return float("nan")
    y_true, y_ranked = kept
    labels = _union_labels(y_true, y_ranked)
    if len(labels) == 1:  # every label is the true one; sklearn needs two classes
        return 1.0
    # Score n_ranks for the first label, n_ranks - 1 for the second, ..., 0 for unranked.
    n_ranks = y_ranked.shape[1]
    y_true, columns = _encoded(labels, y_true, y_ranked)
    scores = np.zeros((len(y_true), len(labels)))
    np.put_along_axis(scores, columns, np.arange(n_ranks, 0, -1, dtype=float)[None, :], axis=1)
    if len(labels) == 2:
        scores = scores[:, 1] - scores[:, 0]  # sklearn's binary form: > 0 ranks the second first
    return float(top_k_accuracy_score(y_true, scores, k=k, labels=np.arange(len(labels))))


def top_k_predictions(y_true, y_ranked, k=3):
    """The report's "top-k" predictions: the true class if ranked in the top ``k``.

    A sample whose true class is among its ``k`` best labels is predicted as
    its true class; any other sample as its best label. Scoring these with
    :func:`sklearn.metrics.classification_report` gives the report's "TOP: 3"
    table; their accuracy is the top-k accuracy.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_ranked : array-like of shape (n_samples, n_ranks)
        Labels, best first; ``n_ranks >= k``.
    k : int, default=3

    Returns
    -------
    y_pred : ndarray of shape (n_samples,)

    Examples
    --------
    >>> top_k_predictions(["a", "b"], [["c", "a", "b"], ["c", "a", "d"]], k=2)
    array(['a', 'c'], dtype=object)
    """
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k, "top_k_predictions")
    hit = (y_ranked[:, :k] == y_true[:, None]).any(axis=1)
    hit &= ~np.array([_is_missing(v) for v in y_ranked[:, 0]], dtype=bool)
    return np.where(hit, y_true, y_ranked[:, 0])  # no prediction stays None


def macro_f1(y_true, y_pred, labels=None):
    """Unweighted mean of the per-class F1 scores (:func:`sklearn.metrics.f1_score`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        The classes to average over; None is every class in ``y_true`` or
        ``y_pred`` ("unsure" only when it is a true class). A class never
        predicted and never true scores 0.

    Returns
    -------
    f1 : float
    """
    kept = _scored("macro_f1", y_true, y_pred)
    if kept is None:
        return float("nan")
    y_true, y_pred, labels, _ = _scored_labels(*kept, labels)
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def unweighted_average_recall(y_true, y_pred):
    """UAR: the mean of the per-class recalls over the classes in ``y_true``.

    The same as :func:`sklearn.metrics.balanced_accuracy_score`, the usual
    headline score of unbalanced emotion data sets (FER2013 has 56 disgust and
    895 happy faces in PublicTest). Chance level is ``1 / n_classes``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    uar : float
    """
    kept = _scored("unweighted_average_recall", y_true, y_pred)
    if kept is None:
        return float("nan")
    y_true, y_pred = _encoded(_union_labels(*kept), *kept)
    with warnings.catch_warnings():
        # A predicted class absent from y_true is expected in zero-shot use.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        # One class in y_true and y_pred (a one-class bank): the recall is still defined.
        warnings.filterwarnings("ignore", message="A single label was found")
        return float(balanced_accuracy_score(y_true, y_pred))


def per_class_metrics(y_true, y_pred, labels=None):
    """Precision, recall, F1 and support of each class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        The classes, in the order wanted; None is the sorted union of
        ``y_true`` and ``y_pred`` (without "unsure", unless it is a true class).

    Returns
    -------
    metrics : dict of str to dict
        ``{class: {"precision": float, "recall": float, "f1": float,
        "support": int}}``, as :func:`sklearn.metrics.precision_recall_fscore_support`
        computes them (0 where undefined).
    """
    kept = _scored("per_class_metrics", y_true, y_pred)
    if kept is None:
        raise ValueError("per_class_metrics: no sample has a prediction (every input was skipped).")
    y_true, y_pred, codes, labels = _scored_labels(*kept, labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=codes, zero_division=0
    )
    return {
        str(label): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }


def confusion(y_true, y_pred, labels=None):
    """Confusion matrix with its labels (:func:`sklearn.metrics.confusion_matrix`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        Row and column order; None is the sorted union of both.

    Returns
    -------
    matrix : ndarray of int, shape (n_labels, n_labels)
        ``matrix[i, j]``: samples of true class ``labels[i]`` predicted as ``labels[j]``.
    labels : ndarray of str
    """
    kept = _scored("confusion", y_true, y_pred)
    if kept is None:
        raise ValueError("confusion: no sample has a prediction (every input was skipped).")
    labels = _union_labels(*kept) if labels is None else labels
    y_true, y_pred, codes, labels = _scored_labels(*kept, labels)
    with warnings.catch_warnings():  # one label (a one-class bank) is a 1x1 matrix, as asked
        warnings.filterwarnings("ignore", message="A single label was found")
        return confusion_matrix(y_true, y_pred, labels=codes), labels


# Probabilities -----------------------------------------------------------------


#: How far a row of probabilities may sum from 1, or a probability lie outside [0, 1],
#: in the metrics: room for probabilities read back from a CSV written with 6 decimals
#: (as ``clip-fer predict`` and ``evaluate`` write them) for up to 2,000 classes. Such rows
#: are clipped and divided by their sum; rows further off are refused.
SUM_TOLERANCE = 1e-3


def _checked_proba(owner, y_true, y_proba, classes):
    """``y_true``, ``y_proba`` and the class of each column, without the rows that have
    no prediction; None when no row has one."""
    y_true = np.asarray(y_true, dtype=object)
    try:
        proba = np.asarray(y_proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: y_proba must be an array of numbers ({exc}).") from None
    if y_true.ndim != 1 or proba.ndim != 2 or len(y_true) != len(proba):
        raise ValueError(
            f"{owner}: y_true must have shape (n_samples,) and y_proba (n_samples, n_classes), "
            f"with the same n_samples. Got {y_true.shape} and {proba.shape} instead."
        )
    if len(y_true) == 0:
        raise ValueError(f"{owner}: y_true is empty; give at least one sample.")
    missing = np.isnan(proba).any(axis=1)
    if missing.any():
        y_pred = np.where(missing, None, "predicted").astype(object)
        kept = drop_unpredicted(y_true, y_pred, owner=owner, stacklevel=4)
        if kept is None:
            return None
        y_true, proba = y_true[kept[0]], proba[kept[0]]
    if not np.isfinite(proba).all() or (proba < -SUM_TOLERANCE).any() or (proba > 1 + SUM_TOLERANCE).any():
        raise ValueError(f"{owner}: y_proba must hold probabilities in [0, 1] (or a row of NaN).")
    sums = proba.sum(axis=1)
    off = np.abs(sums - 1) > SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{owner}: each row of y_proba must sum to 1 (within {SUM_TOLERANCE:g}); row {row} sums "
            f"to {sums[row]:.6g}. Pass probabilities (predict_proba's rows, every class's column), "
            "not scores or a subset of the columns."
        )
    proba = np.clip(proba, 0.0, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)  # rounding (a CSV's 6 decimals) aside
    if classes is None:
        classes = _union_labels(y_true)
        if len(classes) != proba.shape[1]:
            raise ValueError(
                f"{owner}: y_true has {len(classes)} classes but y_proba has {proba.shape[1]} "
                "columns; pass classes=clf.classes_, the classes of the columns in order."
            )
    classes = np.asarray(classes, dtype=object)
    if classes.ndim != 1 or len(classes) != proba.shape[1] or len(set(classes.tolist())) != len(classes):
        raise ValueError(
            f"{owner}: classes must name each of y_proba's {proba.shape[1]} columns once, in "
            f"order. Got {classes.tolist()!r} instead."
        )
    unknown = sorted(set(y_true.tolist()) - set(classes.tolist()), key=str)
    if unknown:
        raise ValueError(
            f"{owner}: y_true has labels {unknown} that are not among the columns' classes "
            f"{classes.tolist()}."
        )
    return y_true, proba, classes


def reliability_curve(y_true, y_proba, *, classes=None, n_bins=15):
    """Accuracy against confidence of the top class, in equal-width bins.

    Each row's confidence is its largest probability and its answer that
    column's class; rows are binned by confidence into ``n_bins`` equal
    intervals of [0, 1] (right end included). A calibrated model's accuracy
    in a bin equals the bin's mean confidence.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities, as ``predict_proba`` returns them; a row of NaN (a
        skipped input) is left out with a warning.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (``clf.classes_``); None is the sorted labels
        of ``y_true``, which must then number ``n_classes``.
    n_bins : int, default=15
        Number of bins (15, as Guo et al. 2017 measured).

    Returns
    -------
    curve : sklearn.utils.Bunch
        ``edges`` (n_bins + 1,), and per bin ``confidence`` (mean top
        probability), ``accuracy`` (share answered right; both NaN for an empty
        bin) and ``count``; ``ece``, the expected calibration error.

    Examples
    --------
    >>> curve = reliability_curve(["a", "b"], [[0.9, 0.1], [0.8, 0.2]], n_bins=5)
    >>> curve.count.tolist(), round(curve.ece, 2)
    ([0, 0, 0, 1, 1], 0.45)
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1. Got {n_bins!r} instead.")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    checked = _checked_proba("reliability_curve", y_true, y_proba, classes)
    if checked is None:
        empty = np.full(n_bins, np.nan)
        count = np.zeros(n_bins, dtype=int)
        return Bunch(edges=edges, confidence=empty, accuracy=empty.copy(), count=count, ece=np.nan)
    y_true, proba, classes = checked
    top = proba.max(axis=1)
    correct = (classes[proba.argmax(axis=1)] == y_true).astype(np.float64)
    bins = np.clip(np.searchsorted(edges, top, side="left") - 1, 0, n_bins - 1)  # (lo, hi]
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(bins, top, minlength=n_bins) / count
        accuracy = np.bincount(bins, correct, minlength=n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] / len(top) * np.abs(accuracy[filled] - confidence[filled])))
    return Bunch(edges=edges, confidence=confidence, accuracy=accuracy, count=count, ece=ece)


def expected_calibration_error(y_true, y_proba, *, classes=None, n_bins=15):
    """ECE: how far the top class's probability is from its accuracy, on average.

    The sum over equal-width confidence bins of ``count / n * |accuracy -
    mean confidence|`` (Guo et al., "On Calibration of Modern Neural
    Networks", ICML 2017); :func:`reliability_curve` gives the bins.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities; a row of NaN is left out with a warning.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (``clf.classes_``).
    n_bins : int, default=15
        Number of bins.

    Returns
    -------
    ece : float
        In [0, 1]; 0 is perfectly calibrated. NaN when no row has a prediction.

    Examples
    --------
    >>> expected_calibration_error(["a", "b"], [[0.9, 0.1], [0.8, 0.2]])
    0.45
    """
    return reliability_curve(y_true, y_proba, classes=classes, n_bins=n_bins).ece


def negative_log_likelihood(y_true, y_proba, *, classes=None):
    """Mean negative log-probability of the true class (:func:`sklearn.metrics.log_loss`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities; a row of NaN is left out with a warning.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (``clf.classes_``).

    Returns
    -------
    nll : float
        In nats, >= 0; lower is better. NaN when no row has a prediction.
    """
    checked = _checked_proba("negative_log_likelihood", y_true, y_proba, classes)
    if checked is None:
        return float("nan")
    y_true, proba, classes = checked
    if len(classes) == 1:  # every probability is 1, on the only class (sklearn needs two)
        return 0.0
    # Column indices as labels: sklearn reads the columns in the sorted order of the labels.
    return float(log_loss(*_encoded(classes, y_true), proba, labels=np.arange(len(classes))))


def brier_score(y_true, y_proba, *, classes=None):
    """Multiclass Brier score (:func:`sklearn.metrics.brier_score_loss`).

    The mean over rows of the squared distance between the probabilities and
    the one-hot true class, in [0, 2] (scikit-learn's multiclass scale).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities; a row of NaN is left out with a warning.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (``clf.classes_``).

    Returns
    -------
    brier : float
        Lower is better. NaN when no row has a prediction.

    Examples
    --------
    >>> round(brier_score(["a", "b"], [[1.0, 0.0], [0.5, 0.5]]), 2)
    0.25
    """
    checked = _checked_proba("brier_score", y_true, y_proba, classes)
    if checked is None:
        return float("nan")
    y_true, proba, classes = checked
    if len(classes) == 1:  # every probability is 1, on the only class (sklearn needs two)
        return 0.0
    codes = np.arange(len(classes))  # column indices as labels, as in negative_log_likelihood
    return float(brier_score_loss(*_encoded(classes, y_true), proba, labels=codes, scale_by_half=False))


# Selective prediction ----------------------------------------------------------


def _ranked_errors(owner, y_true, y_pred, confidence):
    """Errors sorted by confidence, most confident first, and their expected value
    when tied items are taken in random order; None when nothing was predicted."""
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    try:
        confidence = np.asarray(confidence, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: confidence must be numbers ({exc}).") from None
    if not (y_true.ndim == y_pred.ndim == confidence.ndim == 1) or not (
        len(y_true) == len(y_pred) == len(confidence)
    ):
        raise ValueError(
            f"{owner}: y_true, y_pred and confidence must each have shape (n_samples,). Got "
            f"{y_true.shape}, {y_pred.shape} and {confidence.shape} instead."
        )
    if len(y_true) == 0:
        raise ValueError(f"{owner}: y_true is empty; give at least one sample.")
    if UNSURE in set(y_pred.tolist()) and UNSURE not in set(y_true.tolist()):
        raise ValueError(
            f"{owner}: y_pred holds {UNSURE!r}; rank the predictions made without abstention "
            "(abstain_below=None) by their confidence instead."
        )
    y_pred = np.where(np.isnan(confidence), None, y_pred)  # no confidence: no prediction
    kept = _scored(owner, y_true, y_pred, confidence)
    if kept is None:
        return None
    y_true, y_pred, confidence = kept[0], kept[1], kept[2].astype(np.float64)
    if not np.isfinite(confidence).all():
        raise ValueError(f"{owner}: confidence must be finite (NaN marks a skipped input).")
    order = np.argsort(-confidence, kind="stable")
    confidence, errors = confidence[order], (y_pred[order] != y_true[order]).astype(np.float64)
    group = np.cumsum(np.r_[True, confidence[1:] != confidence[:-1]]) - 1
    expected = (np.bincount(group, errors) / np.bincount(group))[group]
    return confidence, errors, expected, group


def risk_coverage_curve(y_true, y_pred, confidence):
    """Error rate among the items kept, as the confidence threshold falls.

    For each distinct confidence ``t``, from the highest down, the items with
    confidence >= ``t`` are kept: their share is the coverage and their error
    rate (``y_pred != y_true``) the risk. A confidence that ranks errors well
    keeps the risk low at low coverage.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, made without abstention; ``None`` (a skipped input) is
        left out with a warning.
    confidence : array-like of shape (n_samples,)
        Higher is surer, such as ``clf.confidence(X)`` or ``predict_proba(X).max(axis=1)``.

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Increasing, in (0, 1], ending at 1.
    risk : ndarray of shape (n_thresholds,)
        In [0, 1].
    thresholds : ndarray of shape (n_thresholds,)
        Decreasing confidences.

    Examples
    --------
    >>> coverage, risk, _ = risk_coverage_curve(["a", "a", "b"], ["a", "b", "b"], [0.9, 0.2, 0.5])
    >>> coverage.round(2).tolist(), risk.round(2).tolist()
    ([0.33, 0.67, 1.0], [0.0, 0.0, 0.33])
    """
    ranked = _ranked_errors("risk_coverage_curve", y_true, y_pred, confidence)
    if ranked is None:
        return np.array([]), np.array([]), np.array([])
    confidence, errors, _, group = ranked
    ends = np.r_[np.flatnonzero(np.diff(group)), len(group) - 1]
    kept = ends + 1
    return kept / len(errors), np.cumsum(errors)[ends] / kept, confidence[ends]


def aurc(y_true, y_pred, confidence):
    """Area under the risk-coverage curve: the mean risk over every coverage k/n.

    The mean, over k = 1 ... n, of the error rate among the k most confident
    items (Geifman et al., "Bias-Reduced Uncertainty Estimation for Deep Neural
    Classifiers", ICLR 2019). Items of equal confidence count in random order,
    in expectation (exactly), so a confidence with ties gains nothing from
    their order. Lower is better; the error rate itself is the area of a
    confidence that ranks at random.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, made without abstention.
    confidence : array-like of shape (n_samples,)
        Higher is surer.

    Returns
    -------
    aurc : float
        In [0, 1]; NaN when no item has a prediction.

    Examples
    --------
    >>> aurc(["a", "a"], ["a", "b"], [0.9, 0.1])  # risks 0 then 1/2
    0.25
    """
    ranked = _ranked_errors("aurc", y_true, y_pred, confidence)
    if ranked is None:
        return float("nan")
    expected = ranked[2]
    return float(np.mean(np.cumsum(expected) / np.arange(1, len(expected) + 1)))


def selective_accuracy(y_true, y_pred, confidence, coverage=0.8):
    """Accuracy over the most confident share ``coverage`` of the items.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, made without abstention.
    confidence : array-like of shape (n_samples,)
        Higher is surer.
    coverage : float, default=0.8
        In (0, 1]: the ``max(1, round(coverage * n))`` most confident items are
        scored (ties at the boundary in random order, in expectation).

    Returns
    -------
    accuracy : float
        NaN when no item has a prediction.

    Examples
    --------
    >>> selective_accuracy(["a", "a", "b", "b"], ["a", "b", "b", "a"], [0.9, 0.1, 0.8, 0.2], 0.5)
    1.0
    """
    number = isinstance(coverage, (float, int, np.number)) and not isinstance(coverage, bool)
    if not number or not 0 < coverage <= 1:
        raise ValueError(f"coverage must be a float in (0, 1]. Got {coverage!r} instead.")
    ranked = _ranked_errors("selective_accuracy", y_true, y_pred, confidence)
    if ranked is None:
        return float("nan")
    expected = ranked[2]
    k = max(1, round(coverage * len(expected)))
    return float(1.0 - np.sum(expected[:k]) / k)


def abstention_scores(y_true, y_pred):
    """Coverage and selective accuracy of predictions that may say "unsure".

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, "unsure" where the estimator abstained (``predict``
        with ``abstain_below``); ``None`` (a skipped input) is left out with a
        warning.

    Returns
    -------
    scores : dict of str to number
        ``n_unsure``; ``coverage``, the share answered; ``selective_accuracy``,
        the accuracy over the answered items (NaN if none); and ``accuracy``,
        with "unsure" counted wrong (as :meth:`ZeroShotEmotionClassifier.score`).

    Examples
    --------
    >>> abstention_scores(["a", "b", "b", "a"], ["a", "unsure", "b", "b"])["selective_accuracy"]
    0.6666666666666666
    """
    kept = _scored("abstention_scores", y_true, y_pred)
    if kept is None:
        nan = float("nan")
        return {"n_unsure": 0, "coverage": nan, "selective_accuracy": nan, "accuracy": nan}
    y_true, y_pred = kept
    unsure = y_pred == UNSURE
    correct = y_pred == y_true
    answered = ~unsure
    return {
        "n_unsure": int(unsure.sum()),
        "coverage": float(answered.mean()),
        "selective_accuracy": float(correct[answered].mean()) if answered.any() else float("nan"),
        "accuracy": float(correct.mean()),
    }


def summarize(
    y_true, y_ranked, k=3, labels=None, *, y_proba=None, classes=None, confidence=None, abstain_below=None
):
    """The headline numbers of a ranked prediction, as one flat dict.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_ranked : array-like of shape (n_samples, n_ranks)
        Labels, best first; ``n_ranks >= k``.
    k : int, default=3
        The ``k`` of the top-k scores.
    labels : array-like, default=None
        Classes for the macro F1 scores (see :func:`macro_f1`).
    y_proba : array-like of shape (n_samples, n_classes), default=None
        Probabilities (``decision.proba``): adds ``ece``, ``nll`` and ``brier``.
    classes : array-like of shape (n_classes,), default=None
        The class of each column of ``y_proba`` (``clf.classes_``).
    confidence : array-like of shape (n_samples,), default=None
        How sure each answer is (``clf.confidence``): adds ``aurc`` and
        ``selective_accuracy_at_80``, the accuracy over the 80% most confident.
    abstain_below : float, default=None
        With ``confidence``: the best label becomes "unsure" where the
        confidence is below it, as ``predict`` does, before the top-1 scores
        are computed (they count "unsure" as wrong); adds ``coverage`` and
        ``selective_accuracy`` (:func:`abstention_scores`).

    Returns
    -------
    summary : dict of str to number
        ``n_images`` (the samples scored) and ``n_skipped`` (those left out,
        having no prediction); ``top1_accuracy``, ``macro_f1`` and ``uar`` of the
        answers (the best label, or "unsure" with ``abstain_below``);
        ``top{k}_accuracy``, the share whose true class is among the ``k`` best
        labels (for ``k >= 2``; at ``k=1`` that key is the answers'
        ``top1_accuracy``, never replaced); and ``top{k}_macro_f1``, the macro F1 of
        the report's top-k predictions (:func:`top_k_predictions`, which never
        abstain); then the keys the optional arguments add, in that order. No two
        scores share a key. NaN where a score is undefined (``clip-fer evaluate``
        writes it as ``null``).

    Examples
    --------
    >>> summarize(["a", "b", "b"], [["a", "b"], ["a", "b"], ["b", "a"]], k=2)["uar"]
    0.75
    """
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k, "summarize")
    abstain_below = check_threshold(abstain_below, "summarize")
    if abstain_below is not None and confidence is None:
        raise ValueError("summarize: abstain_below needs the confidence of each answer (confidence=...).")
    n_given = len(y_true)
    if confidence is not None and np.ndim(confidence) != 1:
        raise ValueError(
            f"summarize: confidence must have shape (n_samples,), one number per answer "
            f"(proba.max(axis=1)); got shape {np.shape(confidence)}."
        )
    extra = [np.asarray(a, dtype=object).reshape(n_given, -1) for a in (y_proba, confidence) if a is not None]
    if any(len(a) != n_given for a in extra):
        raise ValueError("summarize: y_proba and confidence must have one row per sample of y_true.")
    kept = drop_unpredicted(y_true, np.column_stack([y_ranked, *extra]), "summarize")
    if kept is None:
        nan = float("nan")
        keys = [
            "top1_accuracy",
            *([f"top{k}_accuracy"] if k > 1 else []),
            "macro_f1",
            "uar",
            f"top{k}_macro_f1",
        ]
        keys += ["ece", "nll", "brier"] if y_proba is not None else []
        keys += ["aurc", "selective_accuracy_at_80"] if confidence is not None else []
        keys += ["coverage", "selective_accuracy"] if abstain_below is not None else []
        return {"n_images": 0, "n_skipped": n_given, **dict.fromkeys(keys, nan)}
    keep = kept[0]
    y_true, y_ranked = y_true[keep], y_ranked[keep]
    y_pred = y_ranked[:, 0]
    answers = y_pred
    if confidence is not None:
        confidence = np.asarray(confidence, dtype=np.float64).ravel()[keep]
        answers = abstain(y_pred, confidence, abstain_below)
    summary = {
        "n_images": len(y_true),
        "n_skipped": n_given - len(y_true),
        "top1_accuracy": _accuracy(y_true, answers),  # "unsure" counted wrong
    }
    if k > 1:  # at k=1 the ranking's accuracy would take the answers' key
        summary[f"top{k}_accuracy"] = top_k_accuracy(y_true, y_ranked, k)
    summary["macro_f1"] = macro_f1(y_true, answers, labels)
    summary["uar"] = unweighted_average_recall(y_true, answers)
    summary[f"top{k}_macro_f1"] = macro_f1(y_true, top_k_predictions(y_true, y_ranked, k), labels)
    if y_proba is not None:
        proba = np.asarray(y_proba, dtype=np.float64)[keep]
        summary["ece"] = expected_calibration_error(y_true, proba, classes=classes)
        summary["nll"] = negative_log_likelihood(y_true, proba, classes=classes)
        summary["brier"] = brier_score(y_true, proba, classes=classes)
    if confidence is not None:
        summary["aurc"] = aurc(y_true, y_pred, confidence)
        summary["selective_accuracy_at_80"] = selective_accuracy(y_true, y_pred, confidence, 0.8)
    if abstain_below is not None:
        scores = abstention_scores(y_true, answers)
        summary["coverage"] = scores["coverage"]
        summary["selective_accuracy"] = scores["selective_accuracy"]
    return summary


def summarize_by_group(
    y_true,
    y_ranked,
    groups,
    k=3,
    *,
    y_proba=None,
    classes=None,
    confidence=None,
    abstain_below=None,
    min_count=MIN_GROUP_SIZE,
):
    """:func:`summarize` over each group of images, with its count: disaggregated results.

    Model cards report each metric per group of the people pictured (gender,
    age, ...), so that a gap between groups is seen rather than averaged away
    (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_ranked : array-like of shape (n_samples, n_ranks)
        Labels, best first; ``n_ranks >= k``.
    groups : mapping of str to array-like of shape (n_samples,)
        Per grouping (e.g. ``"gender"``), each sample's group (e.g. ``"female"``),
        as a data set's ``groups`` holds them. A missing value (None or NaN) is a
        group of its own, ``"unknown"``.
    k : int, default=3
    y_proba : array-like of shape (n_samples, n_classes), default=None
        Adds ``ece``, ``nll`` and ``brier``, as in :func:`summarize`.
    classes : array-like of shape (n_classes,), default=None
        The class of each column of ``y_proba``.
    confidence : array-like of shape (n_samples,), default=None
    abstain_below : float, default=None
        As in :func:`summarize`.
    min_count : int, default=30
        A group with fewer images scored is flagged ``small``: its numbers
        are shown, but they vary much from one sample of people to the next.

    Returns
    -------
    rows : list of dict
        One per grouping and group (groupings in the order given, groups sorted):
        ``group_name``, ``group_value``, ``n`` (images scored), ``small``,
        then :func:`summarize`'s keys computed on that group's images alone.

    Examples
    --------
    >>> rows = summarize_by_group(["a", "b", "b"], [["a", "b"], ["a", "b"], ["b", "a"]],
    ...                           {"site": ["x", "x", "y"]}, k=2, min_count=2)
    >>> [(r["group_value"], r["n"], r["small"], r["uar"]) for r in rows]
    [('x', 2, False, 0.5), ('y', 1, True, 1.0)]
    """
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k, "summarize_by_group")
    proba = None if y_proba is None else np.asarray(y_proba, dtype=np.float64)
    sure = None if confidence is None else np.asarray(confidence, dtype=np.float64)
    rows = []
    for name, values in groups.items():
        values = np.asarray([("unknown" if _is_missing(v) else str(v)) for v in values], dtype=object)
        if len(values) != len(y_true):
            raise ValueError(
                f"summarize_by_group: the grouping {name!r} has {len(values)} values for "
                f"{len(y_true)} samples; give one group per sample."
            )
        for value in sorted(set(values.tolist())):
            member = values == value
            with warnings.catch_warnings():  # skipped images were counted in the overall summary
                warnings.simplefilter("ignore", SkippedImagesWarning)
                # sklearn's note that k >= the classes of a small group is moot: the score is right.
                warnings.filterwarnings("ignore", message="'k' .* greater than or equal to 'n_classes'")
                summary = summarize(
                    y_true[member],
                    y_ranked[member],
                    k,
                    y_proba=None if proba is None else proba[member],
                    classes=classes,
                    confidence=None if sure is None else sure[member],
                    abstain_below=abstain_below,
                )
            n = summary.pop("n_images")
            rows.append(
                {"group_name": str(name), "group_value": value, "n": n, "small": n < min_count, **summary}
            )
    return rows


def summarize_decision(
    y_true,
    decision,
    labels_of,
    k=3,
    groups=None,
    *,
    abstain_below=None,
    classes=None,
    min_count=MIN_GROUP_SIZE,
):
    """:func:`summarize` and :func:`summarize_by_group` of a classifier's ``Decision``.

    The inputs it skipped (``decision.errors``, a ranking row of -1) are left out
    before scoring, and counted in the summary's ``n_skipped``, without a warning:
    the caller has them as data and names them.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    decision : Decision
        As a classifier's ``decide`` returns it.
    labels_of : callable
        The classifier's ``labels_of`` (class indices to names).
    k : int, default=3
        Capped at the number of classes.
    groups : mapping of str to array-like of shape (n_samples,), default=None
        As :func:`summarize_by_group` takes them; None scores no group.
    abstain_below : float, default=None
        As :func:`summarize`, on the top probability of ``decision.proba``.
    classes : array-like of shape (n_classes,), default=None
        The columns of ``decision.proba``.
    min_count : int, default=MIN_GROUP_SIZE

    Returns
    -------
    summary : dict
        As :func:`summarize`.
    by_group : list of dict
        As :func:`summarize_by_group` (empty without ``groups``).
    ranked : ndarray of shape (n_samples, k)
        The top-k labels of every sample (None rows for the skipped).
    """
    from ._abstention import confidence

    k = min(k, decision.proba.shape[1])
    ranked = labels_of(decision.ranking[:, :k])
    kept = decision.ranking[:, 0] >= 0
    proba = decision.proba[kept]
    scored = {
        "y_proba": proba,
        "classes": classes,
        "confidence": confidence(proba),
        "abstain_below": abstain_below,
    }
    target = np.asarray(y_true, dtype=object)[kept]
    summary = summarize(target, ranked[kept], k, **scored)
    summary["n_skipped"] = int((~kept).sum())
    kept_groups = {name: np.asarray(values, dtype=object)[kept] for name, values in (groups or {}).items()}
    by_group = summarize_by_group(target, ranked[kept], kept_groups, k, min_count=min_count, **scored)
    return summary, by_group, ranked
