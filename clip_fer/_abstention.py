"""Abstention: the label "unsure" for items whose confidence is below a threshold.

The one place that says what "confidence" is and where "unsure" replaces a label.
The estimators' ``predict``, ``predict_faces``, ``predict_video``, the CLI and
:func:`clip_fer.metrics.summarize` all call :func:`abstain` (records through
:func:`abstain_ranked`) with :func:`confidence`.

Confidence is the top probability of the row the answer was taken from:
``predict_proba(X).max(axis=1)`` for images and faces, the smoothed probabilities'
maximum for a video track. On FER2013 PublicTest with the shared checkpoint it
ranked errors far better than the templates' vote share (``Decision.scores[:, 0]``
of :class:`~clip_fer.RankVoteDecider`), and as well as the temperature-calibrated
top probability (AURC 0.358 raw, 0.360 calibrated, 0.543 vote share, 0.550 random);
docs/calibration.md gives the command and the numbers.
"""

from collections.abc import Mapping
from numbers import Real

import numpy as np

from .exceptions import InvalidParameterError

__all__ = ["UNSURE", "abstain", "abstain_ranked", "check_threshold", "confidence", "threshold_of"]

UNSURE = "unsure"
"""The label given instead of a class when the confidence is below ``abstain_below``."""


def confidence(proba):
    """How sure each answer is: the top probability of its row.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Probabilities, such as ``decide(X).proba``; a row of NaN is a skipped input.

    Returns
    -------
    confidence : ndarray of float, shape (n_samples,)
        In [0, 1]; NaN for a skipped input.

    Examples
    --------
    >>> confidence([[0.7, 0.3], [0.4, 0.6]]).tolist()
    [0.7, 0.6]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] == 0:
        raise ValueError(f"proba must have shape (n_samples, n_classes); got {proba.shape}.")
    return proba.max(axis=1)  # NaN propagates: a skipped input has no confidence


def check_threshold(abstain_below, owner):
    """``abstain_below`` as a float in [0, 1], or None; a clear error otherwise."""
    if abstain_below is None:
        return None
    number = isinstance(abstain_below, Real) and not isinstance(abstain_below, (bool, np.bool_))
    if not number or not 0.0 <= float(abstain_below) <= 1.0:  # NaN fails too
        raise InvalidParameterError(
            f"The 'abstain_below' parameter of {owner} must be None or a float in [0, 1]. "
            f"Got {abstain_below!r} instead."
        )
    return float(abstain_below)


def check_reserved(classes, owner):
    """No class may be named "unsure": it is the abstention label everywhere (``predict``,
    records, the CLI) and every metric counts it as an abstention, never as a class."""
    if UNSURE in np.asarray(classes, dtype=object).tolist():
        raise ValueError(
            f"{owner}: a class is named {UNSURE!r}, the label clip-fer gives when it abstains "
            "(abstain_below) and that the metrics count as an abstention, not as a class "
            "(abstention_scores, aurc, summarize, clip-fer evaluate); rename that class, "
            "e.g. 'uncertain'."
        )


def check_classes(classes, owner):
    """Abstention needs string class names, none of them "unsure"."""
    check_reserved(classes, owner)
    names = np.asarray(classes, dtype=object).tolist()
    if not all(isinstance(c, str) for c in names):
        raise ValueError(
            f"{owner}: abstain_below needs class names that are strings (the label {UNSURE!r} "
            f"joins them); the classes are {names}. Set abstain_below=None."
        )


def threshold_of(estimator):
    """The fitted ``estimator``'s ``abstain_below`` (None if it has none), checked."""
    owner = type(estimator).__name__
    abstain_below = check_threshold(getattr(estimator, "abstain_below", None), owner)
    if abstain_below is not None:
        check_classes(estimator.classes_, owner)
    return abstain_below


def abstain(labels, confidence, abstain_below):
    """Labels with :data:`UNSURE` where the confidence is below ``abstain_below``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Predicted labels; ``None`` (a skipped input) stays ``None``.
    confidence : array-like of shape (n_samples,)
        As :func:`confidence` returns it; NaN for a skipped input.
    abstain_below : float or None
        None returns ``labels`` unchanged (as an array).

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The labels' own dtype when nothing changes; otherwise a string dtype wide
        enough for "unsure" (object when the labels were objects).

    Examples
    --------
    >>> abstain(np.array(["happy", "sad"]), [0.9, 0.2], 0.5).tolist()
    ['happy', 'unsure']
    """
    labels = np.asarray(labels)
    if abstain_below is None:
        return labels
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != labels.shape:
        raise ValueError(
            f"labels and confidence must have the same shape; got {labels.shape} and {confidence.shape}."
        )
    unsure = confidence < abstain_below  # NaN (skipped) compares False and keeps its None
    if not unsure.any():
        return labels
    if labels.dtype.kind in "US":
        labels = labels.astype(np.result_type(labels.dtype, np.asarray(UNSURE).dtype))
    else:
        labels = labels.astype(object)  # a copy
    labels[unsure] = UNSURE
    return labels


def abstain_ranked(labels, proba, abstain_below):
    """One item's ranked labels, or ``["unsure"]`` when its top probability is below
    ``abstain_below`` (the rule of :func:`abstain`, for records).

    Parameters
    ----------
    labels : list of str
        The item's classes, best first; empty when it has no prediction.
    proba : sequence of float or dict of str to float
        Its probabilities.
    abstain_below : float or None

    Returns
    -------
    labels : list of str
    """
    labels = list(labels)
    values = list(proba.values()) if isinstance(proba, Mapping) else list(np.ravel(proba))
    if abstain_below is None or not labels or not values:
        return labels
    first = abstain(np.array([labels[0]], dtype=object), [max(values)], abstain_below)[0]
    return [UNSURE] if first == UNSURE else labels
