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
"""

import warnings

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from .exceptions import SkippedImagesWarning

__all__ = [
    "confusion",
    "drop_unpredicted",
    "macro_f1",
    "per_class_metrics",
    "summarize",
    "top_k_accuracy",
    "top_k_predictions",
    "unweighted_average_recall",
]


def _is_missing(value):
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


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


def _scored(owner, y_true, *predictions):
    """``y_true`` and each prediction array without the unpredicted samples (or None)."""
    y_true = np.asarray(y_true, dtype=object).ravel()
    arrays = [np.asarray(p, dtype=object) for p in predictions]
    if any(len(a) != len(y_true) for a in arrays):
        return (y_true, *arrays)  # sklearn names the length mismatch
    stacked = np.column_stack([a.reshape(len(a), -1) for a in arrays]) if len(y_true) else arrays[0]
    kept = drop_unpredicted(y_true, stacked, owner, stacklevel=4)
    if kept is None:
        return None
    keep = kept[0]
    return (y_true[keep], *[a[keep] for a in arrays])


def _check_ranked(y_true, y_ranked, k):
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
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= y_ranked.shape[1]:
        raise ValueError(
            f"k must be an int in [1, {y_ranked.shape[1]}], the number of ranked "
            f"labels per sample in y_ranked. Got {k!r} instead; rank more classes "
            "(predict_topk(X, k=...)) or lower k."
        )
    return y_true, y_ranked


def _union_labels(*label_arrays):
    """Every label found in the arrays, sorted."""
    return np.unique(np.concatenate([np.asarray(a, dtype=object).ravel() for a in label_arrays]))


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
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k)
    kept = _scored("top_k_accuracy", y_true, y_ranked)
    if kept is None:
        return float("nan")
    y_true, y_ranked = kept
    labels = _union_labels(y_true, y_ranked)
    if len(labels) == 1:  # every label is the true one; sklearn needs two classes
        return 1.0
    # Score n_ranks for the first label, n_ranks - 1 for the second, ..., 0 for unranked.
    n_ranks = y_ranked.shape[1]
    scores = np.zeros((len(y_true), len(labels)))
    columns = np.searchsorted(labels, y_ranked)
    np.put_along_axis(scores, columns, np.arange(n_ranks, 0, -1, dtype=float)[None, :], axis=1)
    if len(labels) == 2:
        scores = scores[:, 1] - scores[:, 0]  # sklearn's binary form: > 0 ranks the second first
    return float(top_k_accuracy_score(y_true, scores, k=k, labels=labels))


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
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k)
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
        ``y_pred``. A class never predicted and never true scores 0.

    Returns
    -------
    f1 : float
    """
    kept = _scored("macro_f1", y_true, y_pred)
    if kept is None:
        return float("nan")
    y_true, y_pred = kept
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
    y_true, y_pred = kept
    with warnings.catch_warnings():
        # A predicted class absent from y_true is expected in zero-shot use.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(y_true, y_pred))


def per_class_metrics(y_true, y_pred, labels=None):
    """Precision, recall, F1 and support of each class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        The classes, in the order wanted; None is the sorted union of
        ``y_true`` and ``y_pred``.

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
    y_true, y_pred = kept
    labels = _union_labels(y_true, y_pred) if labels is None else labels
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
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
    y_true, y_pred = kept
    labels = np.asarray(_union_labels(y_true, y_pred) if labels is None else labels, dtype=object)
    return confusion_matrix(y_true, y_pred, labels=labels), labels


def summarize(y_true, y_ranked, k=3, labels=None):
    """The headline numbers of a ranked prediction, as one flat dict.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_ranked : array-like of shape (n_samples, n_ranks)
        Labels, best first; ``n_ranks >= k``.
    k : int, default=3
        The ``k`` of the top-k scores.
    labels : array-like, default=None
        Classes for the macro F1 scores (see :func:`macro_f1`).

    Returns
    -------
    summary : dict of str to number
        ``n_images`` (the samples scored) and ``n_skipped`` (those left out,
        having no prediction); ``top1_accuracy``, ``macro_f1`` and ``uar`` of the best
        label; ``top{k}_accuracy``; and ``top{k}_macro_f1``, the macro F1 of the
        report's top-k predictions (:func:`top_k_predictions`).

    Examples
    --------
    >>> summarize(["a", "b", "b"], [["a", "b"], ["a", "b"], ["b", "a"]], k=2)["uar"]
    0.75
    """
    y_true, y_ranked = _check_ranked(y_true, y_ranked, k)
    n_given = len(y_true)
    kept = _scored("summarize", y_true, y_ranked)
    if kept is None:
        nan = float("nan")
        return {
            "n_images": 0,
            "n_skipped": n_given,
            "top1_accuracy": nan,
            f"top{k}_accuracy": nan,
            "macro_f1": nan,
            "uar": nan,
            f"top{k}_macro_f1": nan,
        }
    y_true, y_ranked = kept
    y_pred = y_ranked[:, 0]
    return {
        "n_images": len(y_true),
        "n_skipped": n_given - len(y_true),
        "top1_accuracy": float(accuracy_score(y_true, y_pred)),
        f"top{k}_accuracy": top_k_accuracy(y_true, y_ranked, k),
        "macro_f1": macro_f1(y_true, y_pred, labels),
        "uar": unweighted_average_recall(y_true, y_pred),
        f"top{k}_macro_f1": macro_f1(y_true, top_k_predictions(y_true, y_ranked, k), labels),
    }
