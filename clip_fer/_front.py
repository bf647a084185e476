"""Any fitted classifier of images, seen by the entry points as "decide images -> Decision".

``predict_faces``, ``analyze``, ``predict_video`` and the Ray engine take a
:class:`~clip_fer.ZeroShotEmotionClassifier`, a
:class:`~clip_fer.FewShotEmotionClassifier`, or any scikit-learn classifier whose
``X`` is images and that has ``predict_proba`` and ``classes_`` (such as
``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")`` or a
``Pipeline`` ending in one). :func:`classifier_front` turns each into one
:class:`ClassifierFront`, so that rows, columns, abstention and the error policy
are the same whatever the classifier:

- clip-fer's estimators answer through their own ``decide`` (skipped inputs in
  ``Decision.errors``, no warning);
- another classifier gets the images already read (an item that cannot be read
  follows the error policy and never reaches it) and answers with
  ``predict_proba``; a row it leaves NaN is a skipped input too.

The error policy (``on_error``) is that of the outermost estimator in the chain
that has one (the zero-shot estimator inside a few-shot one or a calibration
wrapper; ``"raise"`` when none has). The abstention threshold is the entry
point's ``abstain_below`` when given, else that of the outermost estimator in
the chain whose ``abstain_below`` is set; it is always compared with the
probabilities of the classifier given (the calibrated ones for a calibration
wrapper), which are the ones the rows report.
"""

import copy

import numpy as np
from sklearn.exceptions import NotFittedError

from ._abstention import check_classes, check_threshold, threshold_of
from ._base import EmotionClassifierBase, decision_from_proba, padded_decision
from .backends._images import check_image_sequence, to_rgb_image
from .exceptions import ComponentContractError, ImageInputError, InvalidParameterError
from .scoring import labels_from_ranking

__all__ = ["ClassifierFront", "classifier_front", "nested_estimators", "streaming_copy"]

_SUM_TOLERANCE = 1e-6  # a row of probabilities sums to 1 within float rounding
_NO_PROBA = "the classifier gave no probabilities for it (its estimator skipped it)"


def nested_estimators(classifier):
    """``classifier``, then each estimator it wraps, outermost first.

    Follows a ``Pipeline``'s last step, a fitted ``CalibratedClassifierCV``'s
    first calibrated estimator, ``estimator_`` (a fitted meta-estimator's, such
    as :class:`FewShotEmotionClassifier`'s prior) and ``estimator`` (a
    ``FrozenEstimator``'s).
    """
    seen = set()
    while classifier is not None and id(classifier) not in seen:
        seen.add(id(classifier))
        yield classifier
        if hasattr(classifier, "steps"):
            classifier = classifier.steps[-1][1]
        elif getattr(classifier, "calibrated_classifiers_", None):
            classifier = classifier.calibrated_classifiers_[0].estimator
        else:  # its own attributes: a FrozenEstimator hands on every other to the one it wraps
            own = vars(classifier)
            classifier = own.get("estimator_", own.get("estimator"))


def streaming_copy(classifier, params):
    """A shallow copy of a clip-fer estimator whose zero-shot estimator gets
    ``params(zero_shot)`` (such as no in-memory embedding cache for a stream, whose
    items never repeat); any other classifier as it is (a deep copy would lose a
    model object it holds)."""
    from ._classifier import ZeroShotEmotionClassifier
    from ._few_shot import FewShotEmotionClassifier

    if isinstance(classifier, ZeroShotEmotionClassifier):
        return copy.copy(classifier).set_params(**params(classifier))
    if isinstance(classifier, FewShotEmotionClassifier):
        classifier = copy.copy(classifier)
        classifier.estimator_ = streaming_copy(classifier.estimator_, params)
    return classifier


class ClassifierFront:
    """A fitted classifier of images as the entry points use it.

    Attributes
    ----------
    classifier : object
        The classifier answering (a streaming copy of clip-fer's, see
        :func:`classifier_front`).
    classes : list of str
        Its ``classes_`` as strings: the probability columns, in order.
    abstain_below : float or None
        The threshold in use.
    on_error : {"raise", "skip"}
        What an input that cannot be read does.
    zero_shot : ZeroShotEmotionClassifier or None
        The innermost zero-shot estimator: its model is the one that encodes.
    """

    def __init__(self, classifier, classes, abstain_below, on_error, zero_shot):
        self.classifier = classifier
        self.classes = classes
        self.abstain_below = abstain_below
        self.on_error = on_error
        self.zero_shot = zero_shot
        self.ours = isinstance(classifier, EmotionClassifierBase)

    def decide(self, images):
        """The Decision of ``images``: skipped inputs in ``errors``, no warning.

        Raises
        ------
        ImageInputError
            An input that cannot be read, under ``on_error="raise"``.
        """
        if self.ours:
            return self.classifier.decide(images)
        items = check_image_sequence(images)
        read, errors = [], {}
        for index, item in enumerate(items):
            try:
                read.append(to_rgb_image(item, index))
            except ImageInputError as exc:
                if self.on_error == "raise":
                    raise
                errors[index] = exc.reason
        valid = np.array([i not in errors for i in range(len(items))], dtype=bool)
        proba = np.full((len(items), len(self.classes)), np.nan)
        if read:
            proba[valid] = self._checked_proba(read)
        for index in np.flatnonzero(valid & np.isnan(proba).any(axis=1)):
            if self.on_error == "raise":
                raise ImageInputError(int(index), _NO_PROBA)
            errors[int(index)] = _NO_PROBA
        valid &= ~np.isnan(proba).any(axis=1)
        return padded_decision(
            valid, lambda rows: decision_from_proba(proba[rows]), len(self.classes), sorted(errors.items())
        )

    def _checked_proba(self, read):
        """``predict_proba`` of the images read: one row per image and one column per
        class, each row NaN (skipped) or probabilities (in [0, 1], summing to 1)."""
        name = f"{type(self.classifier).__name__}.predict_proba"
        given = np.asarray(self.classifier.predict_proba(read), dtype=np.float64)
        if given.shape != (len(read), len(self.classes)):
            raise ComponentContractError(
                f"{name} gave an array of shape {given.shape} for {len(read)} images and "
                f"{len(self.classes)} classes; it must give one row per image and one column per "
                "class of classes_.",
                role="classifier",
                rule="shape",
            )
        answered = given[~np.isnan(given).any(axis=1)]
        bad = ~(np.isfinite(answered).all(axis=1) & (answered >= 0).all(axis=1) & (answered <= 1).all(axis=1))
        bad |= np.abs(answered.sum(axis=1) - 1) > _SUM_TOLERANCE
        if bad.any():
            row = int(np.flatnonzero(~np.isnan(given).any(axis=1))[np.argmax(bad)])
            raise ComponentContractError(
                f"{name} gave {given[row].tolist()} for image {row} of {len(read)}: not "
                "probabilities (each in [0, 1], summing to 1). Give a classifier whose predict_proba "
                "gives probabilities, such as one calibrated with CalibratedClassifierCV.",
                role="classifier",
                rule="probabilities",
            )
        return given

    def labels_of(self, ranking):
        """Class names for class indices; ``None`` where an index is -1."""
        if self.ours:
            return self.classifier.labels_of(ranking)
        return labels_from_ranking(self.classifier.classes_, ranking)


def classifier_front(classifier, *, abstain_below=None, owner, streaming=None):
    """The :class:`ClassifierFront` of a fitted classifier of images.

    Parameters
    ----------
    classifier : object
        A fitted :class:`~clip_fer.ZeroShotEmotionClassifier` or
        :class:`~clip_fer.FewShotEmotionClassifier` taking images, or any fitted
        scikit-learn classifier whose ``X`` is images, with ``predict_proba`` and
        ``classes_``.
    abstain_below : float in [0, 1], default=None
        "unsure" below this top probability of ``classifier``'s own
        probabilities; None takes the ``abstain_below`` of the outermost
        estimator of :func:`nested_estimators` that sets one (None when none
        does), applied to those same probabilities.
    owner : str
        The entry point, named in errors.
    streaming : callable, default=None
        ``streaming(zero_shot) -> params``: answer with a copy of clip-fer's
        estimators whose zero-shot estimator has these parameters (see
        :func:`streaming_copy`; video and Ray drop the in-memory embedding
        cache, since every item is seen once).

    Returns
    -------
    front : ClassifierFront
    """
    from ._classifier import ZeroShotEmotionClassifier

    if not (callable(getattr(classifier, "predict_proba", None)) and hasattr(classifier, "fit")):
        raise InvalidParameterError(
            f"{owner} needs a fitted classifier of images with predict_proba and classes_ (a "
            "ZeroShotEmotionClassifier, a FewShotEmotionClassifier, or a scikit-learn classifier "
            f"over one, such as CalibratedClassifierCV); got {type(classifier).__name__}."
        )
    # classes_: the columns of its predict_proba (checked on any object, not only sklearn's)
    if not hasattr(classifier, "classes_"):
        raise NotFittedError(
            f"{owner}: this {type(classifier).__name__} is not fitted (it has no classes_); "
            "call its fit first."
        )
    classes = [str(c) for c in classifier.classes_]
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        raise InvalidParameterError(
            f"{owner}: the classes_ of this {type(classifier).__name__} name {repeated} more than once "
            f"(as text: {np.asarray(classifier.classes_, dtype=object).tolist()}); each probability "
            "column needs its own name. Fit it with distinct class names."
        )
    chain = list(nested_estimators(classifier))
    ours = [c for c in chain if isinstance(c, EmotionClassifierBase)]
    if ours and ours[0].takes_embeddings():
        raise InvalidParameterError(
            f"{owner} needs an estimator that takes images; this one takes embeddings "
            f"(precomputed=True on its {type(ours[0]).__name__}). Fit one with precomputed=False."
        )
    if abstain_below is None:
        setting = [c for c in chain if getattr(c, "abstain_below", None) is not None]
        abstain_below = threshold_of(setting[0]) if setting else None
    else:
        abstain_below = check_threshold(abstain_below, owner)
    if abstain_below is not None:
        check_classes(classifier.classes_, owner)  # "unsure" must not be one of them
    on_error = next((c.on_error for c in chain if getattr(c, "on_error", None) in ("raise", "skip")), "raise")
    if streaming is not None:
        classifier = streaming_copy(classifier, streaming)
    zero_shot = next(
        (c for c in nested_estimators(classifier) if isinstance(c, ZeroShotEmotionClassifier)), None
    )
    return ClassifierFront(classifier, classes, abstain_below, on_error, zero_shot)
