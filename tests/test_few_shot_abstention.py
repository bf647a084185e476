"""abstain_below on FewShotEmotionClassifier: "unsure" below the top probability of its
own predict_proba, as ZeroShotEmotionClassifier does; score counts "unsure" as wrong."""

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from test_few_shot import CLASSES, clustered

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier, predict_faces
from clip_fer._abstention import UNSURE
from clip_fer.exceptions import InvalidParameterError
from clip_fer.faces import FaceCropper


@pytest.fixture
def prior(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)


@pytest.fixture
def shots(prior):
    X, y = clustered(prior, 6, spread=1.5)  # overlapping clusters: confidences spread out
    X_new, y_new = clustered(prior, 6, seed=1, spread=1.5)
    return X, y, X_new, y_new


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_predict_says_unsure_exactly_below_the_top_probability(prior, shots, method):
    X, y, X_new, _ = shots
    plain = FewShotEmotionClassifier(prior, method=method, alpha=0.5, beta=5.0).fit(X, y)
    proba = plain.predict_proba(X_new)
    threshold = float(np.median(proba.max(axis=1)))
    clf = clone(plain).set_params(abstain_below=threshold).fit(X, y)
    labels = clf.predict(X_new)
    for row, label in zip(proba, labels):  # an independent reference, one row at a time
        assert label == (UNSURE if row.max() < threshold else plain.classes_[np.argmax(row)])
    assert 0 < np.sum(labels == UNSURE) < len(X_new)
    np.testing.assert_array_equal(clf.predict_proba(X_new), proba)  # probabilities unchanged
    np.testing.assert_array_equal(clf.predict_topk(X_new, 2), plain.predict_topk(X_new, 2))
    np.testing.assert_array_equal(
        clone(clf).set_params(abstain_below=None).fit(X, y).predict(X_new), plain.predict(X_new)
    )
    assert UNSURE not in set(plain.predict(X_new).tolist())  # the default never abstains


def test_score_counts_unsure_as_wrong(prior, shots):
    X, y, X_new, y_new = shots
    plain = FewShotEmotionClassifier(prior, alpha=1.0, beta=5.0).fit(X, y)
    top = plain.predict_proba(X_new).max(axis=1)
    threshold = float(np.quantile(top, 0.3))
    clf = clone(plain).set_params(abstain_below=threshold).fit(X, y)
    answered = top >= threshold
    expected = np.mean(answered & (plain.predict(X_new) == y_new))
    assert clf.score(X_new, y_new) == pytest.approx(expected)
    assert clf.score(X_new, y_new) < plain.score(X_new, y_new)
    weights = np.arange(1, len(y_new) + 1, dtype=float)
    hits = answered & (plain.predict(X_new) == y_new)
    assert clf.score(X_new, y_new, sample_weight=weights) == pytest.approx(np.average(hits, weights=weights))
    assert clone(plain).set_params(abstain_below=1.0).fit(X, y).score(X_new, y_new) <= 1.0 / len(y_new)


def test_score_refuses_unsure_in_y_as_the_zero_shot_estimator_does(prior, shots):
    # An abstention would be scored right on a true label "unsure": both estimators refuse it.
    X, y, X_new, y_new = shots
    clf = FewShotEmotionClassifier(prior, alpha=1.0, beta=5.0, abstain_below=0.9).fit(X, y)
    y_bad = np.asarray(y_new, dtype=object).copy()
    y_bad[0] = UNSURE
    with pytest.raises(ValueError, match="FewShotEmotionClassifier.score: y holds 'unsure'"):
        clf.score(X_new, y_bad)


@pytest.mark.parametrize("bad", [1.5, -0.1, "high", float("nan"), True])
def test_a_bad_threshold_is_refused_by_name(prior, shots, bad):
    X, y, _, _ = shots
    with pytest.raises(InvalidParameterError, match="abstain_below"):
        FewShotEmotionClassifier(prior, abstain_below=bad).fit(X, y)


def test_skipped_inputs_stay_missing_not_unsure(prior, shots):
    X, y, X_new, _ = shots
    clf = FewShotEmotionClassifier(prior.set_params(on_error="skip"), alpha=1.0, beta=5.0, abstain_below=0.99)
    clf.fit(X, y)
    bad = X_new.copy()
    bad[0] = np.nan
    with pytest.warns(UserWarning):
        labels = clf.predict(bad)
    assert labels[0] is None and set(labels[1:].tolist()) <= {UNSURE, *CLASSES}


class PastedFace:
    def detect(self, image):
        return [((4, 4, 44, 44), 0.9)]


def test_predict_faces_takes_a_few_shot_estimator_and_its_threshold(toy_checkpoint, face_arrays):
    # Before: predict_faces refused a FewShotEmotionClassifier.
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint)
    plain = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    images = [Image.fromarray(a).convert("RGB") for a in face_arrays[:4]]
    cropper = FaceCropper(PastedFace(), margin=0.0).fit()
    crops = [cropper.crop(image, (4, 4, 44, 44)) for image in images]
    proba = plain.predict_proba(crops)  # the reference: the estimator on the crops themselves
    threshold = float(np.median(proba.max(axis=1)))
    clf = clone(plain).set_params(abstain_below=threshold).fit(face_arrays, y)
    rows = predict_faces(clf, images, cropper=cropper, as_frame=False)
    classes = [str(c) for c in clf.classes_]
    for row, expected in zip(rows, proba):
        np.testing.assert_allclose([row["probabilities"][c] for c in classes], expected, atol=1e-9)
        first = UNSURE if expected.max() < threshold else classes[int(np.argmax(expected))]
        assert row["labels"][0] == first
    assert 0 < sum(row["labels"] == [UNSURE] for row in rows) < len(rows)
