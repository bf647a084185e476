"""SynonymFolder: word scores -> class scores, through an explicit index array."""

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator

from ._options import REDUCTIONS
from .utils._param_validation import Choices, ParamsValidationMixin
from .utils._sklearn_compat import fit_context

__all__ = ["SynonymFolder"]


class SynonymFolder(ParamsValidationMixin, BaseEstimator):
    """Fold the scores of a class's synonyms into one score for the class.

    Parameters
    ----------
    reduce : {"mean", "sum", "max", "logsumexp"}, default="mean"
        How a class's word scores combine. ``"sum"`` is the report's rule (the sum
        of ``100 * cosine`` over the class's words); it favours classes with more
        words, which ``"mean"`` does not. ``"max"`` keeps the best word;
        ``"logsumexp"`` is a smooth maximum.

    Notes
    -----
    A folder is any object with ``fit()`` and ``fold(scores, word_class,
    n_classes)``; this is the one clip-fer ships (see ``docs/architecture.md``).
    Folded scores keep the unit of the word scores (``logit_scale * cosine``;
    a ``"sum"`` grows with the number of words).

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[1.0, 3.0, 2.0]])          # words: a, b (class 0), c (class 1)
    >>> SynonymFolder("sum").fold(scores, np.array([0, 0, 1]), n_classes=2)
    array([[4., 2.]])
    """

    _parameter_constraints = {"reduce": [Choices(*REDUCTIONS)]}

    def __init__(self, reduce="mean"):
        self.reduce = reduce

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check ``reduce``; returns ``self``.

        Parameters
        ----------
        X, y : ignored
            Present for scikit-learn API consistency.

        Returns
        -------
        self : SynonymFolder
        """
        return self

    def fold(self, scores, word_class, n_classes):
        """Fold word scores into class scores.

        Parameters
        ----------
        scores : ndarray of shape (..., n_words)
            Image-sentence scores, the last axis indexed like ``word_class``.
        word_class : ndarray of int, shape (n_words,)
            Class index of each word (``PromptBank.word_class_``).
        n_classes : int
            Number of classes; every class must have at least one word.

        Returns
        -------
        class_scores : ndarray of shape (..., n_classes)
        """
        self._validate_params()  # fold may be called without fit
        reduce = self.reduce
        scores = np.asarray(scores, dtype=np.float64)
        word_class = np.asarray(word_class)
        if scores.shape[-1] != word_class.shape[0]:
            raise ValueError(
                f"scores has {scores.shape[-1]} words on its last axis but word_class "
                f"has {word_class.shape[0]}."
            )
        if word_class.size and (word_class.min() < 0 or word_class.max() >= n_classes):
            raise ValueError(
                f"word_class holds class indices outside [0, {n_classes - 1}]: "
                f"{sorted(set(word_class.tolist()))}."
            )
        members = word_class[:, None] == np.arange(n_classes)  # (n_words, n_classes)
        counts = members.sum(axis=0)
        if (counts == 0).any():
            empty = np.flatnonzero(counts == 0).tolist()
            raise ValueError(f"Classes {empty} have no words in word_class.")
        if reduce == "sum":
            return scores @ members
        if reduce == "mean":
            return (scores @ members) / counts
        per_class = [scores[..., members[:, c]] for c in range(n_classes)]
        if reduce == "max":
            return np.stack([s.max(axis=-1) for s in per_class], axis=-1)
        return np.stack([logsumexp(s, axis=-1) for s in per_class], axis=-1)
