"""FewShotEmotionClassifier on the one prediction front, and right about its shots (issue 25).

Each test here failed before: copies of a shot vouched for each other, a skipped
shot entered the temperature, the wrapped estimator's abstain_below was silently
ignored, a missing label ended in a TypeError, the message after unpickling named
a call the few-shot estimator lacks, ``score`` warned twice, and ``decide``,
``labels_of`` and ``embed`` were missing.
"""

import pickle
import warnings

import numpy as np
import pytest
from test_few_shot import CLASSES, clustered

from clip_fer import FewShotEmotionClassifier, ZeroShotEmotionClassifier, load_model
from clip_fer.datasets import sample_k_shot
from clip_fer.exceptions import ImageInputError, InvalidParameterError, ModelLoadError, SkippedImagesWarning


@pytest.fixture
def prior(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_copies_of_a_shot_do_not_vouch_for_each_other(prior, method):
    X, y = clustered(prior, 1)  # one shot per class: the held-out shot's class has no other
    alone = FewShotEmotionClassifier(prior, method=method).fit(X, y)
    assert alone.alpha_ == 0.0
    copies = np.repeat(np.arange(len(X)), 3)
    with pytest.warns(UserWarning, match=r"14 of 21 shots are copies .* 7 shots remain"):
        clf = FewShotEmotionClassifier(prior, method=method).fit(X[copies], y[copies])
    assert clf.alpha_ == alone.alpha_ == 0.0  # before: the copies moved alpha_ off zero
    X_new, _ = clustered(prior, 5, seed=1)
    np.testing.assert_allclose(clf.predict_proba(X_new), alone.predict_proba(X_new))
    assert clf.temperature_ == pytest.approx(alone.temperature_)


def test_copies_in_another_class_are_kept(prior):
    X, y = clustered(prior, 3)
    y_other = y.copy()
    y_other[0] = CLASSES[1]  # the same image under two labels: no copy of the same class
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = FewShotEmotionClassifier(prior, alpha=1.0, beta=5.0).fit(
            np.vstack([X, X[:1]]), [*y, y_other[0]]
        )
    assert len(clf.shot_labels_) == len(X) + 1


def test_a_skipped_shot_never_enters_the_temperature(prior):
    X, y = clustered(prior, 4)
    X = X.copy()
    X[3] = 0.0  # no direction: the prior skips it under on_error="skip" (a NaN row)
    skipping = prior.set_params(on_error="skip")
    # Before: the NaN row entered the temperature's fit, silently.
    with pytest.raises(ImageInputError, match="index 3: .*all zeros.*needs every shot"):
        FewShotEmotionClassifier(skipping).fit(X, y)


def test_the_wrapped_estimators_threshold_is_refused_not_ignored(prior):
    X, y = clustered(prior, 3)
    wrapped = prior.set_params(abstain_below=0.5)
    with pytest.raises(
        InvalidParameterError, match=r"abstain_below=0.5.*FewShotEmotionClassifier\(estimator"
    ):
        FewShotEmotionClassifier(wrapped).fit(X, y)


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_a_missing_label_is_named_with_its_index(prior, missing):
    X, y = clustered(prior, 3)
    y = y.astype(object)
    y[4] = missing
    with pytest.raises(ValueError, match=r"FewShotEmotionClassifier.fit: y has no label at index 4 "):
        FewShotEmotionClassifier(prior).fit(X, y)
    with pytest.raises(ValueError, match=r"sample_k_shot: y has no label at index 4 "):
        sample_k_shot(X, y, 1, random_state=0)


def test_after_unpickling_the_message_names_a_call_that_works(toy_checkpoint, face_arrays):
    loaded = load_model(toy_checkpoint)
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    clf = FewShotEmotionClassifier(ZeroShotEmotionClassifier(model=loaded), alpha=1.0, beta=5.0)
    clf.fit(face_arrays, y)
    expected = clf.predict_proba(face_arrays[:3])
    copy = pickle.loads(pickle.dumps(clf))  # the model object travels as its identity only
    with pytest.raises(ModelLoadError, match=r"clf\.estimator_\.set_params\(model=loaded\)") as caught:
        copy.predict(face_arrays[:3])
    call = "clf.estimator_.set_params(model=loaded)"
    assert call in str(caught.value)
    eval(call, {"clf": copy, "loaded": loaded})  # the call the message names works
    np.testing.assert_allclose(copy.predict_proba(face_arrays[:3]), expected)


def test_score_warns_once_for_a_skipped_item(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip")
    clf = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    items = [face_arrays[0], "/missing/face.jpg", face_arrays[1]]
    expected = clf.predict([items[0], items[2]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = clf.score(items, [expected[0], "sad", expected[1]])
    skipped = [w.message for w in caught if isinstance(w.message, SkippedImagesWarning)]
    assert len(skipped) == 1 and score == 1.0  # before: two warnings
    assert "left out 1 of 3 inputs" in str(skipped[0]) and "/missing/face.jpg" in str(skipped[0])


def test_decide_labels_of_and_embed_as_the_zero_shot_estimator_has(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip").fit()
    clf = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    items = [face_arrays[0], "/missing/face.jpg", face_arrays[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # errors as data: no warning
        decision = clf.decide(items)
        embeddings, errors = clf.embed(items, return_errors=True)
    assert [i for i, _ in decision.errors] == [1] == [i for i, _ in errors]
    assert (decision.ranking[1] == -1).all() and np.isnan(decision.proba[1]).all()
    with pytest.warns(SkippedImagesWarning):
        proba = clf.predict_proba(items)
    np.testing.assert_allclose(decision.proba, proba)
    # An independent reference: the adapted scores by hand, from the zero-shot estimator.
    reference = []
    for i in (0, 2):
        prior_proba = zero_shot.predict_proba([items[i]])
        e = zero_shot.embed([items[i]]).astype(np.float64)
        e /= np.linalg.norm(e)
        affinity = np.exp(-clf.beta_ * (1 - e @ clf.shot_embeddings_.T))[0]
        has = np.bincount(clf.shot_labels_, minlength=len(clf.classes_)) > 0
        per_class = np.array(
            [affinity[clf.shot_labels_ == c].mean() if has[c] else 0.0 for c in range(len(has))]
        )
        cache = np.where(has, per_class - per_class[has].mean(), 0.0)
        logits = np.log(prior_proba[0]) / clf.temperature_ + clf.alpha_ * cache
        reference.append(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    np.testing.assert_allclose(decision.proba[[0, 2]], reference, atol=1e-6)
    np.testing.assert_array_equal(
        clf.labels_of(decision.ranking[:, 0]), [*clf.predict([items[0]]), None, *clf.predict([items[2]])]
    )
    np.testing.assert_allclose(embeddings[[0, 2]], zero_shot.embed([items[0], items[2]]))
