"""Hostile inputs at the prediction front (issue 25, hostile round): classifiers and
arguments nobody on the project made. Each case here gave a silent wrong answer or a
raw error before; docs/bad-inputs.md lists every case tried."""

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier, predict_faces
from clip_fer.exceptions import ComponentContractError, InvalidParameterError
from clip_fer.faces import FaceCropper


class PastedFace:
    def detect(self, image):
        return [((4, 4, 44, 44), 0.9)]


class Fixed(ClassifierMixin, BaseEstimator):
    """A foreign classifier of images answering the same row for every image."""

    def __init__(self, row=(0.7, 0.3), classes=("a", "b")):
        self.row = row
        self.classes = classes

    def fit(self, X, y=None):
        self.classes_ = np.array(self.classes, dtype=object)
        return self

    def predict_proba(self, X):
        return np.tile(np.asarray(self.row, dtype=float), (len(X), 1))


class NotSklearn:
    """Duck-typed: fit, predict_proba and classes_, but no scikit-learn base class."""

    classes_ = np.array(["a", "b"])

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        return np.tile([0.25, 0.75], (len(X), 1))


def _faces(face_arrays, clf, **kwargs):
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays[:3]]
    cropper = FaceCropper(PastedFace(), margin=0.0).fit()
    return predict_faces(clf, images, cropper=cropper, top_k=2, as_frame=False, **kwargs)


def _flat(images):
    return np.stack(
        [
            np.asarray(Image.fromarray(np.asarray(i)).convert("L").resize((48, 48)), float).ravel()
            for i in images
        ]
    )


def test_a_duck_typed_classifier_is_taken(face_arrays):
    # Before: sklearn's check_is_fitted raised a raw AttributeError about __sklearn_tags__.
    rows = _faces(face_arrays, NotSklearn())
    assert [r["probabilities"] for r in rows] == [{"a": 0.25, "b": 0.75}] * 3


def test_a_duck_typed_classifier_without_classes_is_not_fitted(face_arrays):
    class Unfitted(NotSklearn):
        classes_ = property(lambda self: self.missing)

    with pytest.raises(NotFittedError, match="predict_faces: .*no classes_"):
        _faces(face_arrays, Unfitted())


@pytest.mark.parametrize(
    "row",
    [(1.5, -0.5), (np.inf, 0.0), (0.3, 0.3), (0.9, 0.9)],
    ids=["negative", "inf", "sums-below-1", "sums-above-1"],
)
def test_what_is_not_probabilities_is_refused(face_arrays, row):
    # Before: reported as the face's probabilities (1.5 and -0.5 in the row).
    with pytest.raises(ComponentContractError, match=r"Fixed.predict_proba gave .* not probabilities"):
        _faces(face_arrays, Fixed(row=row).fit(None))


def test_probabilities_within_rounding_are_taken(face_arrays):
    row = (1 / 3, 1 / 3, 1 / 3)  # sums to 1 only within float rounding
    rows = _faces(face_arrays, Fixed(row=row, classes=("a", "b", "c")).fit(None))
    assert rows[0]["probabilities"] == dict(zip("abc", row))


@pytest.mark.parametrize("classes", [("a", "a"), (1, "1")], ids=["repeated", "int-and-str"])
def test_classes_that_repeat_as_text_are_refused(face_arrays, classes):
    # Before: one probability column silently overwrote the other ({'a': 0.3}).
    with pytest.raises(InvalidParameterError, match="more than once"):
        _faces(face_arrays, Fixed(classes=classes).fit(None))


def test_a_foreign_pipeline_with_integer_classes_matches_its_own_predict_proba(face_arrays):
    # A control, passing before: a flattening step and a logistic regression over 48x48 faces.
    y = np.array([2, 0, 3, 1] * 3)
    clf = make_pipeline(FunctionTransformer(_flat), LogisticRegression(max_iter=200)).fit(face_arrays, y)
    cropper = FaceCropper(PastedFace(), margin=0.0).fit()
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays[:3]]
    expected = clf.predict_proba([cropper.crop(i, (4, 4, 44, 44)) for i in images])
    rows = predict_faces(clf, images, cropper=cropper, as_frame=False)
    got = np.array([[r["probabilities"][str(c)] for c in clf.classes_] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert [r["labels"][0] for r in rows] == [str(clf.classes_[i]) for i in expected.argmax(axis=1)]


@pytest.fixture(scope="module")
def zero_shot(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint).fit()


def test_score_refuses_sample_weight_of_another_length(zero_shot, face_arrays):
    # Before: a raw IndexError from boolean indexing.
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        zero_shot.score(face_arrays[:5], ["happy"] * 5, sample_weight=[1.0, 2.0])


def test_score_weights_are_those_of_sklearns_accuracy(zero_shot, face_arrays):
    from sklearn.metrics import accuracy_score

    y = np.array(["happy", "sad", "angry", "neutral", "fear"], dtype=object)
    weights = np.array([3.0, 0.0, 1.0, 2.0, 0.5])
    expected = accuracy_score(y, zero_shot.predict(face_arrays[:5]), sample_weight=weights)
    assert zero_shot.score(face_arrays[:5], y, sample_weight=weights) == pytest.approx(expected)


def test_few_shot_alpha_zero_with_beta_auto_fits_as_zero_shot(zero_shot, face_arrays):
    # Before: numpy AxisError inside _choose_tip (no candidate left), so GridSearchCV
    # over alpha in (0.0, ...) failed every alpha=0 fit.
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=0.0).fit(face_arrays, y)
    assert few_shot.alpha_ == 0.0
    scores = cross_val_score(
        FewShotEmotionClassifier(zero_shot, alpha=0.0), face_arrays, y, cv=2, error_score="raise"
    )
    assert np.isfinite(scores).all()


def _grayscale_pipeline(few_shot, image):
    from sklearn.frozen import FrozenEstimator

    gray = FunctionTransformer(lambda images: [i.convert("L").convert("RGB") for i in images])
    return make_pipeline(gray, FrozenEstimator(few_shot)).fit([image], ["happy"])


def test_a_parquet_output_of_a_pipeline_with_a_lambda_can_be_resumed(zero_shot, face_arrays):
    # Before: predict_to_parquet's settings pickled the classifier with pickle (a lambda
    # step: a raw PicklingError, though Ray itself sends it) and wrote the function's
    # repr, whose address changes in each process (a resumed run was refused).
    pytest.importorskip("ray")
    from clip_fer.distributed import _parquet

    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    few_shot = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    image = Image.fromarray(face_arrays[0]).convert("RGB")
    first, second = _grayscale_pipeline(few_shot, image), _grayscale_pipeline(few_shot, image)
    assert first.steps[0][1].func is not second.steps[0][1].func  # two functions, two addresses
    settings = [_parquet._settings(clf, "predict", "path", "path", 3) for clf in (first, second)]
    assert settings[0] == settings[1]
    assert "0x" not in json.dumps(settings[0])
