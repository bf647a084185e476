"""One prediction front for clip-fer's classifiers of images, written once from ``decide``.

:class:`EmotionClassifierBase` holds ``decide``, ``embed``, ``labels_of``,
``predict``, ``predict_proba``, ``predict_topk`` and ``score``; a subclass
(:class:`~clip_fer.ZeroShotEmotionClassifier`,
:class:`~clip_fer.FewShotEmotionClassifier`) only says how it embeds its inputs
and how it decides on finite embeddings. Skipped inputs (``on_error="skip"``)
travel as data, in ``Decision.errors``; the scikit-learn methods, which cannot
return them, name them in one :class:`~clip_fer.exceptions.SkippedImagesWarning`.
"""

import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ._abstention import abstain, confidence, threshold_of
from ._deciders import Decision
from .backends._images import check_image_sequence
from .exceptions import SkippedImagesWarning
from .scoring import labels_from_ranking
from .utils._param_validation import ParamsValidationMixin, check_int

__all__ = ["EmotionClassifierBase", "decision_from_proba", "padded_decision", "warn_skipped"]


def warn_skipped(errors, n_items, items=None, *, what="have no prediction", prefix="", limit=5, stacklevel=3):
    """One :class:`SkippedImagesWarning` naming how many items were skipped and which.

    Items are named only from a list or tuple: a lazy sequence (such as
    ``load_fer2013_csv``'s) would read the bad item again, and fail again.
    ``what`` says what became of them (``"are left out of the fit"``, ...);
    ``prefix`` opens the message.
    """
    named = items if isinstance(items, (list, tuple)) else None

    def name(i):
        item = named[i] if named is not None else None
        return f"{i} ({item})" if isinstance(item, (str, os.PathLike)) else f"{i}"

    shown = "; ".join(f"index {name(i)}: {reason}" for i, reason in errors[:limit])
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    message = (
        f"{prefix}{len(errors)} of {n_items} inputs were skipped (on_error='skip') and {what}: {shown}{more}"
    )
    # The default stacklevel names the line that called the public method.
    warnings.warn(SkippedImagesWarning(message, list(errors)), stacklevel=stacklevel)


def decision_from_proba(proba):
    """The :class:`Decision` of probabilities alone: classes ranked by them (ties to the
    earlier class), each rank's score its probability."""
    proba = np.asarray(proba, dtype=np.float64)
    ranking = np.argsort(-proba, axis=1, kind="stable")
    return Decision(ranking, np.take_along_axis(proba, ranking, axis=1), proba)


def padded_decision(valid, decide, n_classes, errors=()):
    """The Decision of every input, ``decide`` called on the valid ones only.

    Parameters
    ----------
    valid : ndarray of bool, shape (n_inputs,)
        The inputs that have something to decide on.
    decide : callable
        ``decide(indices) -> Decision`` for the valid inputs, in order.
    n_classes : int
    errors : sequence of (int, str), default=()
        Why each other input was skipped; carried as ``Decision.errors``.

    Returns
    -------
    decision : Decision
        A row of ``-1`` (ranking) and NaN (scores, proba) for each skipped input.
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.all():
        decision = decide(np.flatnonzero(valid))
        return Decision(decision.ranking, decision.scores, decision.proba, errors=list(errors))
    n = len(valid)
    ranking = np.full((n, n_classes), -1, dtype=np.intp)
    scores, proba = np.full((n, n_classes), np.nan), np.full((n, n_classes), np.nan)
    if valid.any():
        decided = decide(np.flatnonzero(valid))
        ranking[valid], scores[valid], proba[valid] = decided.ranking, decided.scores, decided.proba
    return Decision(ranking, scores, proba, errors=list(errors))


class EmotionClassifierBase(ClassifierMixin, ParamsValidationMixin, BaseEstimator):
    """What clip-fer's classifiers of images share: every prediction comes from ``decide``.

    A subclass sets ``_fitted_attribute`` and implements ``_embed_images(images)``
    (unit embeddings, NaN rows for skipped images, and their ``(index, reason)``),
    ``_precomputed_embeddings(X)`` (the same for embeddings given as ``X``),
    ``_takes_embeddings()`` and ``_decide_embeddings(embeddings)`` (a Decision for
    finite unit embeddings).
    """

    _fitted_attribute = "classes_"

    # What a subclass provides ----------------------------------------------------

    def _takes_embeddings(self):
        raise NotImplementedError

    def takes_embeddings(self):
        """Whether ``X`` is image embeddings (``precomputed=True``) rather than images.

        Returns
        -------
        takes_embeddings : bool
        """
        return self._takes_embeddings()

    def _embed_images(self, images):
        raise NotImplementedError

    def _precomputed_embeddings(self, X):
        raise NotImplementedError

    def _decide_embeddings(self, embeddings):
        raise NotImplementedError

    # The front -----------------------------------------------------------------

    def _owner(self):
        return type(self).__name__

    def _embeddings(self, X):
        """Unit embeddings of ``X`` (NaN rows for skipped inputs), the ``(index,
        reason)`` of each skipped input, and the input items (None when embeddings)."""
        check_is_fitted(self, self._fitted_attribute)
        if self._takes_embeddings():
            return (*self._precomputed_embeddings(X), None)
        items = check_image_sequence(X)
        return (*self._embed_images(items), items)

    def _decision(self, X):
        """The Decision for ``X`` (skipped inputs in ``errors``, no warning) and the items."""
        embeddings, errors, items = self._embeddings(X)
        valid = ~np.isnan(embeddings).any(axis=1)
        decision = padded_decision(
            valid, lambda rows: self._decide_embeddings(embeddings[rows]), len(self.classes_), errors
        )
        return decision, items

    def _warned_decision(self, X):
        decision, items = self._decision(X)
        if decision.errors:
            warn_skipped(decision.errors, len(decision.ranking), items, stacklevel=4)
        return decision

    def decide(self, X):
        """The full decision for each input: ranking, per-rank scores, probabilities.

        Parameters
        ----------
        X : sequence of images, or embeddings when the estimator takes them
            As :meth:`predict` takes them.

        Returns
        -------
        decision : Decision
            ``ranking`` (class indices into ``classes_``, best first), ``scores``
            (the score behind each rank, in [0, 1], see :meth:`predict_topk`),
            ``proba`` (as :meth:`predict_proba`) and ``errors``: the
            ``(index, reason)`` of every input skipped with ``on_error="skip"``
            (a row of ``-1`` and NaN each). No warning: the errors are data here,
            as faces, video, Ray and the CLI read them.
        """
        return self._decision(X)[0]

    def embed(self, X, *, return_errors=False):
        """L2-normalised CLIP image embeddings.

        Parameters
        ----------
        X : sequence of images
            File paths, PIL images, arrays or tensors (see the README), or a
            stacked array of images.
        return_errors : bool, default=False
            Also return the ``(index, reason)`` of every image skipped with
            ``on_error="skip"``, instead of warning about them.

        Returns
        -------
        embeddings : ndarray of float32, shape (n_samples, dim)
            Unit-length rows (cosine geometry; dim is the model's embedding
            width); a row of NaN for an input skipped with ``on_error="skip"``.
            Accepted as ``X`` by an estimator that takes embeddings.
        errors : list of (int, str)
            Only when ``return_errors`` is True.
        """
        images = check_image_sequence(X)
        embeddings, errors = self._embed_images(images)
        if return_errors:
            return embeddings, list(errors)
        if errors:
            warn_skipped(errors, len(images), images)
        return embeddings

    def labels_of(self, ranking):
        """Class names for class indices, such as ``decide(X).ranking``.

        Parameters
        ----------
        ranking : array-like of int
            Indices into ``classes_``, of any shape; ``-1`` marks a skipped input.

        Returns
        -------
        labels : ndarray, same shape as ``ranking``
            Class names, of the dtype of ``classes_``; an object array with
            ``None`` where ``ranking`` is -1.
        """
        check_is_fitted(self, self._fitted_attribute)
        return labels_from_ranking(self.classes_, ranking)

    def _answers(self, decision):
        """The top label of each row, "unsure" below ``abstain_below``."""
        labels = self.labels_of(decision.ranking[:, 0])
        return abstain(labels, confidence(decision.proba), threshold_of(self))

    def predict(self, X):
        """The top-ranked class of each input.

        Parameters
        ----------
        X : sequence of images, or embeddings when the estimator takes them
            As :meth:`decide` takes them.

        Returns
        -------
        labels : ndarray, shape (n_samples,)
            Class names; ``None`` (object array) for inputs skipped with
            ``on_error="skip"``; ``"unsure"`` where the top probability is below
            ``abstain_below``.
        """
        return self._answers(self._warned_decision(X))

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order.

        Parameters
        ----------
        X : sequence of images, or embeddings when the estimator takes them
            As :meth:`decide` takes them.

        Returns
        -------
        proba : ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1 and ``argmax`` gives :meth:`predict` (before
            abstention); a row of NaN for an input skipped with ``on_error="skip"``.
        """
        return self._warned_decision(X).proba

    def predict_topk(self, X, k=3, return_scores=False):
        """The ``k`` best classes of each input, best first.

        Parameters
        ----------
        X : sequence of images, or embeddings when the estimator takes them
            As :meth:`decide` takes them.
        k : int, default=3
            Number of classes per input, in [1, n_classes].
        return_scores : bool, default=False
            Also return the score behind each rank, in [0, 1] (``decide(X).scores``).

        Returns
        -------
        labels : ndarray, shape (n_samples, k)
            Class names; ``None`` for inputs skipped with ``on_error="skip"``.
        scores : ndarray of float, shape (n_samples, k)
            Only when ``return_scores`` is True; NaN for skipped inputs.
        """
        check_is_fitted(self, self._fitted_attribute)
        k = check_int(k, "k", "predict_topk", 1, len(self.classes_))
        decision = self._warned_decision(X)
        labels = self.labels_of(decision.ranking[:, :k])
        return (labels, decision.scores[:, :k]) if return_scores else labels

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` over the inputs that have a prediction.

        With ``abstain_below``, an "unsure" answer counts as wrong (it is never
        the true class). Inputs skipped with ``on_error="skip"`` have no
        prediction; they are left out of the score, and one
        :class:`SkippedImagesWarning` says how many and which (so ``GridSearchCV``
        scores every candidate over the readable images). NaN if no input has a
        prediction.

        Parameters
        ----------
        X : sequence of images, or embeddings when the estimator takes them
            As :meth:`decide` takes them.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        score : float
            Accuracy in [0, 1] over the predicted inputs, or NaN.
        """
        from .metrics import check_no_unsure, predicted_accuracy

        owner = f"{self._owner()}.score"
        y = column_or_1d(y)
        check_no_unsure(y, owner)
        decision, items = self._decision(X)
        y_pred = self._answers(decision)
        check_consistent_length(y_pred, y, sample_weight)
        kept = decision.ranking[:, 0] >= 0
        if decision.errors:
            n, left = len(kept), len(decision.errors)
            prefix = f"{owner}: left out {left} of {n} inputs, scored over the other {n - left}. "
            warn_skipped(decision.errors, n, items, prefix=prefix)
        if not kept.any():
            return float("nan")
        weights = None if sample_weight is None else np.asarray(sample_weight)[kept]
        return predicted_accuracy(y[kept], y_pred[kept], self.classes_, weights, owner)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # the prompts' prior learns nothing from y
        return tags
