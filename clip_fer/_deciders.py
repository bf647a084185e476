"""Deciders: per-template class scores -> a ranking of classes and probabilities."""

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator

from .utils._param_validation import check_int

__all__ = ["Decision", "RankVoteDecider", "MeanProbaDecider", "ensemble_proba"]


@dataclass(frozen=True)
class Decision:
    """What a decider returns for a batch of images.

    Attributes
    ----------
    ranking : ndarray of int, shape (n_images, n_classes)
        Class indices, best first.
    scores : ndarray of float, shape (n_images, n_classes)
        The score behind each rank, aligned with ``ranking``: for
        :class:`RankVoteDecider` the share of templates that put that class at
        that rank (in [0, 1]); for :class:`MeanProbaDecider` the class probability.
    proba : ndarray of float, shape (n_images, n_classes)
        Probabilities in class order; rows sum to 1 and ``argmax(proba)`` is
        ``ranking[:, 0]`` (unless two probabilities are exactly equal, where
        ``argmax`` returns the earlier class).
    """

    ranking: np.ndarray
    scores: np.ndarray
    proba: np.ndarray


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


def _descending(values):
    """Stable descending order: ties keep the earlier index first."""
    return np.argsort(-values, axis=-1, kind="stable")


class MeanProbaDecider(BaseEstimator):
    """The usual CLIP prompt ensemble: average the templates' class probabilities.

    Each template's folded class scores go through a softmax over classes; the
    probabilities are averaged over templates and classes are ranked by them.
    """

    def fit(self, X=None, y=None):
        """Nothing to check; returns ``self``."""
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


class RankVoteDecider(BaseEstimator):
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

    ``Decision.proba`` holds the prompt-ensemble probabilities (see
    :func:`ensemble_proba`) re-assigned along the voted ranking: the class voted
    first gets the largest of them, the class voted second the next, and so on.
    When the vote agrees with the ensemble the probabilities are unchanged.
    """

    def __init__(self, top_k=3):
        self.top_k = top_k

    def fit(self, X=None, y=None):
        """Check ``top_k``; returns ``self``."""
        check_int(self.top_k, "top_k", type(self).__name__, 1)
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

        ensemble = np.sort(ensemble_proba(class_scores), axis=1)[:, ::-1]
        proba = np.empty_like(ensemble)
        np.put_along_axis(proba, ranking, ensemble, axis=1)
        return Decision(ranking, shares, proba)
