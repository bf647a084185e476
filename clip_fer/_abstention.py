"""Abstention: the label "unsure" for items whose confidence is below a threshold.

The one place that decides what "confidence" is and where "unsure" replaces a
label: the estimators' ``predict`` (and through it ``predict_faces``,
``predict_video`` and the CLI) and :func:`clip_fer.metrics.summarize` call
:func:`abstain` with :func:`confidence`.

Confidence is the score behind the first rank of a :class:`~clip_fer.Decision`,
``decision.scores[:, 0]``: with :class:`~clip_fer.RankVoteDecider` the share of
templates whose own first class is the answer, with
:class:`~clip_fer.MeanProbaDecider` the answer's probability. On FER2013
PublicTest with the shared checkpoint the vote share ranked errors better than
the raw or temperature-calibrated top probability (lower AURC); docs/calibration.md
gives the command and the numbers.
"""

from numbers import Real

import numpy as np

__all__ = ["UNSURE", "abstain", "confidence"]

UNSURE = "unsure"
"""The label given instead of a class when the confidence is below ``abstain_below``."""


def confidence(decision):
    """How sure each answer of a decision is: the score of its first rank.

    Parameters
    ----------
    decision : Decision
        As ``decide(X)`` returns it.

    Returns
    -------
    confidence : ndarray of float, shape (n_samples,)
        In [0, 1]; NaN for a skipped input.
    """
    scores = np.asarray(decision.scores, dtype=np.float64)
    return scores[:, 0] if scores.ndim == 2 and scores.shape[1] else np.full(len(scores), np.nan)


def check_threshold(abstain_below, owner):
    """``abstain_below`` as a float in [0, 1], or None; a clear error otherwise."""
    if abstain_below is None:
        return None
    if isinstance(abstain_below, (bool, np.bool_)) or not isinstance(abstain_below, Real):
        raise ValueError(
            f"The 'abstain_below' parameter of {owner} must be None or a float in [0, 1]. "
            f"Got {abstain_below!r} instead."
        )
    value = float(abstain_below)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(
            f"The 'abstain_below' parameter of {owner} must be None or a float in [0, 1]. "
            f"Got {abstain_below!r} instead."
        )
    return value


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
        enough for "unsure" (or object, when the labels were objects).

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
    elif labels.dtype != object:
        labels = labels.astype(object)
    else:
        labels = labels.copy()
    labels[unsure] = UNSURE
    return labels
