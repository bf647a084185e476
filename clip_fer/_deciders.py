"""Deciders: per-template class scores -> a ranking of classes and probabilities."""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator

from .utils._param_validation import ParamsValidationMixin, check_int
from .utils._sklearn_compat import Interval, fit_context

__all__ = ["Decision", "RankVoteDecider", "MeanProbaDecider", "ensemble_proba"]


@dataclass(frozen=True)
class Decision:
    """What a decider returns for a batch of images.

    A decider is any object with ``fit()`` and ``decide(class_scores)``
    returning a ``Decision``; see ``docs/architecture.md``.

    Attributes
    ----------
    ranking : ndarray of int, shape (n_images, n_classes)
        Class indices, best first; a row of ``-1`` for an input that was skipped.
    scores : ndarray of float, shape (n_images, n_classes)
        The score behind each rank, aligned with ``ranking``: for
        :class:`RankVoteDecider` the share of templates that put that class at
        that rank (in [0, 1]); for :class:`MeanProbaDecider` the class
        probability (in [0, 1]). NaN for a skipped input.
    proba : ndarray of float, shape (n_images, n_classes)
        Probabilities in class order, in [0, 1]; rows sum to 1 and
        ``argmax(proba)`` is ``ranking[:, 0]`` (unless two probabilities are
        exactly equal, where ``argmax`` returns the earlier class). NaN for a
        skipped input.
    errors : list of (int, str), default=[]
        The inputs that were skipped (``on_error="skip"``): index and reason.
        A decider leaves it empty; the classifier fills it.
    """

    ranking: np.ndarray
    scores: np.ndarray
    proba: np.ndarray
    errors: list = field(default_factory=list)


def ensemble_proba(class_scores):
    """Mean over templates of each template's softmax over classes.

    Parameters
    ----------
    class_scores : ndarray of shape (n_images, n_templates, n_classes)

    Returns
    -------
    proba : ndarray of shape (n_images, n_classes)
    """
    return softmax(np.asarray(class_scores, dtype=np.float64), axis=-1).mean(axis=1)


_TIE_LAG = 1e-9


def _lift_voted(ensemble, voted):
    """The ensemble probabilities with the voted class lifted to the top.

    Rows where ``voted`` is already the ensemble's first class are returned
    unchanged. Elsewhere the voted class trails the ensemble's first by
    ``lag``; every probability is scaled by ``1 - alpha`` and ``alpha`` is added
    to the voted class, with ``alpha = 2 lag / (1 + 2 lag)``, so that the voted
    class then leads by ``(1 - alpha) lag``: the margin it trailed by, scaled
    like the rest. A voted class that only ties an earlier class for the
    ensemble's first place (saturated softmaxes do that) counts as trailing by
    ``_TIE_LAG``, so that ``argmax`` still names it.
    """
    rows = np.arange(len(ensemble))
    lag = ensemble.max(axis=1) - ensemble[rows, voted]
    lag = np.where(ensemble.argmax(axis=1) != voted, np.maximum(lag, _TIE_LAG), lag)
    alpha = 2 * lag / (1 + 2 * lag)
    proba = ensemble * (1 - alpha)[:, None]
    proba[rows, voted] += alpha
    return proba


def _descending(values):
    """Stable descending order: ties keep the earlier index first."""
    return np.argsort(-values, axis=-1, kind="stable")


class MeanProbaDecider(ParamsValidationMixin, BaseEstimator):
    """The usual CLIP prompt ensemble: average the templates' class probabilities.

    Each template's folded class scores go through a softmax over classes; the
    probabilities are averaged over templates and classes are ranked by them.
    ``Decision.proba`` is that average (in [0, 1], rows sum to 1) and
    ``Decision.scores`` the same numbers in ranking order.
    """

    _parameter_constraints = {}

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Nothing to check; returns ``self``.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        self : MeanProbaDecider
        """
        return self

    def decide(self, class_scores):
        """Rank the classes of each image.

        Parameters
        ----------
        class_scores : ndarray of shape (n_images, n_templates, n_classes)

        Returns
        -------
        decision : Decision
        """
        proba = ensemble_proba(class_scores)
        ranking = _descending(proba)
        return Decision(ranking, np.take_along_axis(proba, ranking, axis=1), proba)


class RankVoteDecider(ParamsValidationMixin, BaseEstimator):
    """The report's decision: each template ranks the classes, each rank is a vote.

    For rank ``r = 1..top_k``: among the templates, count the classes found at
    rank ``r`` that are not chosen yet and choose the most frequent. Ties go to
    the larger mean folded score across templates, then to the earlier class. If
    every class at rank ``r`` is already chosen, the unchosen class with the largest
    mean folded score is chosen. Ranks after ``top_k`` follow the mean folded score.

    Parameters
    ----------
    top_k : int, default=3
        Number of ranks decided by vote. A bank with fewer classes votes on all
        of them: the number used is ``min(top_k, n_classes)``, so the default
        works for 1- and 2-class banks such as ``PromptBank.gender()``.

    Notes
    -----
    The report's code took the first-inserted key of a ``Counter`` where it meant
    the most common one; this decider implements the stated intent.

    ``Decision.scores`` (in [0, 1]) is, for each rank, the share of templates
    that put the class chosen there at that rank.

    ``Decision.proba`` keeps each class's number about that class: it is the
    prompt-ensemble probability (:func:`ensemble_proba`, in [0, 1]) of every
    class when the class voted first is also the ensemble's first, which is the
    usual case. When the vote overrules the ensemble, the voted class trails the
    ensemble's first by some ``lag``; then every column is scaled by
    ``1 - alpha`` and ``alpha = 2 lag / (1 + 2 lag)`` is added to the voted
    class, which then leads by the margin it trailed by (scaled like the rest;
    a tie for first place counts as a lag of 1e-9).
    So rows sum to 1, ``argmax`` is the voted class, every other column is its
    own class's ensemble probability times one factor per row, and the voted
    class's column is its ensemble probability raised by the vote. Ranks after
    the first follow the vote in ``ranking``, not necessarily in ``proba``.
    This was chosen over re-assigning the ensemble's sorted values along the
    voted ranking (an earlier version), which moved one class's number into
    another's column, and over first-rank vote shares, which with the report's
    three templates can only take four values.
    """

    _parameter_constraints = {"top_k": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, top_k=3):
        self.top_k = top_k

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check ``top_k``; returns ``self``.

        ``top_k`` is checked against the number of classes by :meth:`decide`
        (and by the classifier's ``fit``), which know the classes.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        self : RankVoteDecider
        """
        return self

    def decide(self, class_scores):
        """Rank the classes of each image by per-rank vote.

        Parameters
        ----------
        class_scores : ndarray of shape (n_images, n_templates, n_classes)

        Returns
        -------
        decision : Decision
        """
        class_scores = np.asarray(class_scores, dtype=np.float64)
        n_images, n_templates, n_classes = class_scores.shape
        top_k = min(check_int(self.top_k, "top_k", type(self).__name__, 1), n_classes)

        per_template = _descending(class_scores)  # (n, T, C): class at each rank
        # at_rank[i, r, c]: how many templates put class c at rank r for image i
        at_rank = (per_template[..., None] == np.arange(n_classes)).sum(axis=1)
        mean_scores = class_scores.mean(axis=1)
        by_mean = _descending(mean_scores)

        rows = np.arange(n_images)
        chosen = np.zeros((n_images, n_classes), dtype=bool)
        ranking = np.empty((n_images, n_classes), dtype=np.intp)
        for r in range(top_k):
            votes = np.where(chosen, 0, at_rank[:, r, :])
            best = votes.max(axis=1, keepdims=True)
            # Candidates: most votes (or, with no votes left, every unchosen class).
            candidates = np.where(best > 0, votes == best, ~chosen)
            # The first candidate in mean-score order (ties: earlier class) wins.
            first = np.take_along_axis(candidates, by_mean, axis=1).argmax(axis=1)
            winner = by_mean[rows, first]
            ranking[:, r] = winner
            chosen[rows, winner] = True
        # Remaining ranks: unchosen classes by mean score, stable.
        rest = np.take_along_axis(~chosen, by_mean, axis=1)
        ranking[:, top_k:] = by_mean[rest].reshape(n_images, n_classes - top_k)

        # Share of templates that put the class ranked r at rank r.
        shares = np.take_along_axis(at_rank, ranking[..., None], axis=2)[..., 0] / n_templates

        proba = _lift_voted(ensemble_proba(class_scores), ranking[:, 0])
        return Decision(ranking, shares, proba)
