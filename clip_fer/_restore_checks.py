"""What a loaded classifier's fitted values must be, checked before it is returned.

A file whose hashes were recomputed after an edit passes every check of the
archive itself; these checks make sure that its values are ones a fit could have
made (finite, of the right type and shape, consistent with each other), so that
a tampered or damaged file is refused when it is loaded, not met later as a raw
error or a silently wrong probability. Each check raises ``ValueError`` with the
rule broken; :mod:`clip_fer._persistence` names the file and the object.
"""

from numbers import Real

import numpy as np

__all__ = ["check_calibrated", "check_few_shot", "check_temperature_scaling", "check_zero_shot"]


def _finite_number(value, name, low=None, low_open=False):
    if not isinstance(value, Real) or isinstance(value, bool) or not np.isfinite(value):
        raise ValueError(f"{name} is {value!r}, not a finite number")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} is {value!r}, not {'>' if low_open else '>='} {low}")


def _float_matrix(value, name, width=None):
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.dtype.kind != "f":
        what = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{name} is not a 2-D array of floats ({what}, {getattr(value, 'dtype', '')})")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or infinity")
    if width is not None and value.shape[1] != width:
        raise ValueError(f"{name} has width {value.shape[1]}, the text features {width}")


def _same_classes(classes, expected, name):
    classes = np.asarray(classes, dtype=object)
    if classes.shape != np.shape(expected) or (classes != np.asarray(expected, dtype=object)).any():
        raise ValueError(f"{name} {classes.tolist()!r} differ from the estimator's {list(expected)!r}")


def check_zero_shot(clf):
    """A fitted :class:`ZeroShotEmotionClassifier`'s values: a scoring core can be built and
    decides one row (a text feature, as an image embedding)."""
    from ._classifier import check_sorted_classes
    from ._deciders import MeanProbaDecider, RankVoteDecider
    from ._folding import SynonymFolder
    from ._prompt_bank import PromptBank
    from .scoring import ScoringCore

    for name, kinds in (
        ("prompt_bank_", (PromptBank,)),
        ("synonym_folder_", (SynonymFolder,)),
        ("decider_", (RankVoteDecider, MeanProbaDecider)),
    ):
        if type(getattr(clf, name)) not in kinds:
            expected = " or ".join(kind.__name__ for kind in kinds)
            raise ValueError(f"its {name} is a {type(getattr(clf, name)).__name__}, not a {expected}")
    if not isinstance(clf.model_identity_, str):
        raise ValueError(f"its model_identity_ is {clf.model_identity_!r}, not a string")
    _float_matrix(clf.text_features_, "its text_features_")
    bank = clf.prompt_bank_
    check_sorted_classes(bank)
    _same_classes(clf.classes_, bank.classes_, "its classes_")
    if len(bank.sentences_) != len(clf.text_features_):
        raise ValueError(
            f"its text_features_ has {len(clf.text_features_)} rows for {len(bank.sentences_)} sentences"
        )
    width = getattr(clf, "n_features_in_", clf.text_features_.shape[1])
    if width != clf.text_features_.shape[1]:
        raise ValueError(
            f"its n_features_in_ is {width!r}, the text features' width {clf.text_features_.shape[1]}"
        )
    core = ScoringCore(
        clf.text_features_,
        bank.word_class_,
        bank.classes_,
        len(bank.templates_),
        clf.logit_scale_,
        clf.logit_bias_,
        clf.synonym_folder_,
        clf.decider_,
    )
    core.decide(clf.text_features_[:1])  # the folder and decider run once, as at the first prediction


def check_few_shot(clf):
    """A fitted :class:`FewShotEmotionClassifier`'s values: consistent with its zero-shot
    estimator and with one another, as ``fit`` sets them."""
    from sklearn.linear_model import LogisticRegression

    from ._classifier import ZeroShotEmotionClassifier

    prior = clf.estimator_
    if type(prior) is not ZeroShotEmotionClassifier or not hasattr(prior, "text_features_"):
        raise ValueError(
            f"its estimator_ is a {type(prior).__name__}, not a fitted ZeroShotEmotionClassifier"
        )
    _same_classes(clf.classes_, prior.classes_, "its classes_")
    n_classes, width = len(prior.classes_), prior.text_features_.shape[1]
    _finite_number(clf.temperature_, "its temperature_", 0, low_open=True)
    _finite_number(clf.alpha_, "its alpha_", 0)
    labels = clf.shot_labels_
    if (
        not isinstance(labels, np.ndarray)
        or labels.ndim != 1
        or labels.dtype.kind not in "iu"
        or ((labels < 0) | (labels >= n_classes)).any()
    ):
        raise ValueError(f"its shot_labels_ are not class indices in [0, {n_classes})")
    if clf.method == "tip":
        _finite_number(clf.beta_, "its beta_", 0, low_open=True)
        _float_matrix(clf.shot_embeddings_, "its shot_embeddings_", width)
        if len(clf.shot_embeddings_) != len(labels):
            raise ValueError(
                f"its {len(clf.shot_embeddings_)} shot_embeddings_ have {len(labels)} shot_labels_"
            )
    elif clf.probe_ is not None:
        probe = clf.probe_
        if type(probe) is not LogisticRegression:
            raise ValueError(f"its probe_ is a {type(probe).__name__}, not a LogisticRegression")
        seen = np.asarray(probe.classes_)
        if seen.ndim != 1 or seen.dtype.kind not in "iu" or ((seen < 0) | (seen >= n_classes)).any():
            raise ValueError(f"its probe_'s classes_ are not class indices in [0, {n_classes})")
        _float_matrix(probe.coef_, "its probe_'s coef_", width)
        rows = 1 if len(seen) == 2 else len(seen)
        intercept = np.asarray(probe.intercept_)
        if len(probe.coef_) != rows or intercept.shape != (rows,) or not np.isfinite(intercept).all():
            raise ValueError(f"its probe_'s coef_ and intercept_ do not fit its {len(seen)} classes")


def check_temperature_scaling(calibrator):
    """scikit-learn's ``_TemperatureScaling``: an inverse temperature ``beta_`` > 0."""
    _finite_number(calibrator.beta_, "its beta_ (inverse temperature)", 0, low_open=True)


def check_calibrated(clf):
    """``CalibratedClassifierCV(method="temperature")`` over a clip-fer estimator, as
    :func:`clip_fer.save_classifier` writes it."""
    from sklearn.calibration import _CalibratedClassifier, _TemperatureScaling
    from sklearn.frozen import FrozenEstimator

    from ._classifier import ZeroShotEmotionClassifier
    from ._few_shot import FewShotEmotionClassifier

    clip_fer_types = (ZeroShotEmotionClassifier, FewShotEmotionClassifier)
    if clf.method != "temperature":
        raise ValueError(f"its method is {clf.method!r}; only 'temperature' is saved")
    if not isinstance(clf.calibrated_classifiers_, list) or not clf.calibrated_classifiers_:
        raise ValueError("it has no calibrated_classifiers_")
    for pair in clf.calibrated_classifiers_:
        inner = pair.estimator.estimator if type(pair.estimator) is FrozenEstimator else pair.estimator
        if type(pair) is not _CalibratedClassifier or type(inner) not in clip_fer_types:
            raise ValueError(
                "its calibrated_classifiers_ are not temperature calibrations of a clip-fer estimator"
            )
        if not hasattr(inner, "classes_"):
            raise ValueError("the estimator it calibrates is not fitted")
        _same_classes(clf.classes_, inner.classes_, "its classes_")
        _same_classes(pair.classes, inner.classes_, "its calibrated classifier's classes")
        if (
            pair.method != "temperature"
            or not isinstance(pair.calibrators, list)
            or len(pair.calibrators) != 1
            or type(pair.calibrators[0]) is not _TemperatureScaling
        ):
            raise ValueError("its calibrated classifier does not hold one temperature calibrator")
