"""FewShotEmotionClassifier: the prompts as the prior, the shots' term, the rule that weighs it."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from clip_fer import FewShotEmotionClassifier, PromptBank, ZeroShotEmotionClassifier, report_experiment_banks
from clip_fer._few_shot import cache_scores, choose_candidate
from clip_fer.datasets import sample_k_shot
from clip_fer.exceptions import InvalidParameterError, SkippedImagesWarning

CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


@pytest.fixture
def prior(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)


def clustered(prior, n_per_class, seed=0, spread=0.6):
    """Embeddings in clusters, one per class, around centres unrelated to the prompts:
    the zero-shot prior is near chance on them and a linear probe is near perfect."""
    rng = np.random.default_rng(seed)
    width = prior.fit().text_features_.shape[1]
    centres = np.random.default_rng(123).normal(size=(len(CLASSES), width))
    X = np.concatenate([c + spread * rng.normal(size=(n_per_class, width)) for c in centres])
    y = np.repeat(np.array(CLASSES, dtype=object), n_per_class)
    return X / np.linalg.norm(X, axis=1, keepdims=True), y


# The prior --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_alpha_zero_is_the_zero_shot_estimator(prior, method):
    X, y = clustered(prior, 8)
    clf = FewShotEmotionClassifier(prior, method=method, alpha=0.0, beta=5.0).fit(X, y)
    X_new, _ = clustered(prior, 5, seed=1)
    np.testing.assert_array_equal(clf.predict(X_new), prior.fit().predict(X_new))
    assert list(clf.classes_) == list(prior.classes_) == sorted(CLASSES)


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_one_shot_per_class_keeps_the_zero_shot_answer(prior, method):
    X, y = clustered(prior, 1)
    clf = FewShotEmotionClassifier(prior, method=method).fit(X, y)
    assert clf.alpha_ == 0.0  # each held-out shot's class has no other shot: no evidence
    X_new, _ = clustered(prior, 5, seed=1)
    np.testing.assert_array_equal(clf.predict(X_new), prior.fit().predict(X_new))


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_many_shots_reach_the_linear_probe(prior, method):
    X, y = clustered(prior, 30)
    X_test, y_test = clustered(prior, 40, seed=7)
    zero_shot = np.mean(prior.fit().predict(X_test) == y_test)
    probe = LogisticRegression(max_iter=1000).fit(X, y).score(X_test, y_test)
    assert probe > zero_shot + 0.3  # the data are as intended: the prompts know nothing here
    clf = FewShotEmotionClassifier(prior, method=method).fit(X, y)
    assert clf.alpha_ > 0
    assert clf.score(X_test, y_test) >= probe - 0.02


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_many_shots_the_prompts_already_label_keep_the_zero_shot_answer(prior, method):
    # Labels are the zero-shot answers themselves: every held-out shot is right under the
    # prior, so no candidate can win a shot from it and the rule keeps alpha = 0, however
    # many shots (the mirror of test_many_shots_reach_the_linear_probe).
    X, _ = clustered(prior, 30)
    y = prior.fit().predict(X)
    assert len(set(y)) > 2
    clf = FewShotEmotionClassifier(prior, method=method).fit(X, y)
    assert clf.alpha_ == 0.0
    assert clf.selection_["correct"][0].all()  # the prior is right on every held-out shot
    X_new, _ = clustered(prior, 5, seed=1)
    np.testing.assert_array_equal(clf.predict(X_new), prior.fit().predict(X_new))


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_a_single_shot_in_all_gives_the_zero_shot_answer(prior, method):
    X, y = clustered(prior, 1)
    clf = FewShotEmotionClassifier(prior, method=method).fit(X[:1], y[:1])
    assert clf.alpha_ == 0.0
    np.testing.assert_array_equal(clf.predict(X), prior.fit().predict(X))


def test_a_given_alpha_is_kept_and_beta_chosen(prior):
    X, y = clustered(prior, 1)  # one shot per class: "auto" would keep the prior
    clf = FewShotEmotionClassifier(prior, alpha=2.0).fit(X, y)
    assert clf.alpha_ == 2.0 and clf.beta_ in (1.0, 5.5, 10.0)
    assert [c["alpha"] for c in clf.selection_["candidates"]] == [2.0, 2.0, 2.0]


def test_the_cache_term_matches_a_per_image_reference(prior):
    X, y = clustered(prior, 4)
    keep = y != "fear"  # one class without shots
    clf = FewShotEmotionClassifier(prior, alpha=3.0, beta=5.0).fit(X[keep], y[keep])
    X_new, _ = clustered(prior, 2, seed=3)
    zero_shot = prior.fit().predict_proba(X_new)
    expected = []
    for x, p in zip(X_new, zero_shot):
        term = {}
        for c in CLASSES:
            shots = X[keep][y[keep] == c]
            if len(shots):
                term[c] = np.mean([np.exp(-5.0 * (1 - x @ s)) for s in shots])
        centre = np.mean(list(term.values()))
        logits = [
            np.log(p[i]) / clf.temperature_ + 3.0 * (term[c] - centre if c in term else 0.0)
            for i, c in enumerate(clf.classes_)
        ]
        expected.append(softmax(logits))
    np.testing.assert_allclose(clf.predict_proba(X_new), expected, rtol=1e-6, atol=1e-12)


def test_a_class_with_no_shots_keeps_its_zero_shot_score():
    shots = np.eye(3)[[0, 0, 1]]
    scores = cache_scores(np.eye(3), shots, np.array([0, 0, 1]), 3, beta=2.0)
    np.testing.assert_array_equal(scores[:, 2], 0.0)
    np.testing.assert_allclose(scores[:, :2].sum(axis=1), 0.0, atol=1e-12)  # centred over classes with shots


def test_leave_one_out_cache_leaves_each_shot_out():
    shots = np.eye(4)
    labels = np.array([0, 0, 1, 1])
    loo = cache_scores(shots, shots, labels, 2, beta=1.0, leave_one_out=True)
    # shot 0 sees only shot 1 in its class: affinity exp(-1) to each class
    np.testing.assert_allclose(loo[0], [0.0, 0.0], atol=1e-12)


def test_the_cache_in_chunks_equals_the_whole_matrix():
    rng = np.random.default_rng(0)
    shots = rng.normal(size=(1100, 6))  # more rows than one chunk
    shots /= np.linalg.norm(shots, axis=1, keepdims=True)
    labels = rng.integers(0, 3, len(shots))
    affinity = np.exp(-4.0 * (1 - shots @ shots.T))
    np.fill_diagonal(affinity, 0.0)
    members = np.eye(4)[labels]
    counts = members.sum(axis=0) - members
    means = affinity @ members / np.where(counts > 0, counts, 1)
    centre = (means * (counts > 0)).sum(axis=1, keepdims=True) / (counts > 0).sum(axis=1, keepdims=True)
    expected = np.where(counts > 0, means - centre, 0.0)
    np.testing.assert_allclose(
        cache_scores(shots, shots, labels, 4, 4.0, leave_one_out=True), expected, atol=1e-12
    )


def test_a_non_zero_shot_estimator_is_refused():
    with pytest.raises(InvalidParameterError, match="The 'estimator' parameter of FewShotEmotionClassifier"):
        FewShotEmotionClassifier(LogisticRegression()).fit(np.eye(3), ["a", "b", "c"])


# The rule ---------------------------------------------------------------------


def test_the_sign_test_moves_only_on_evidence():
    prior_right = np.array([True] * 10 + [False] * 10)
    clear = np.array([True] * 10 + [True] * 9 + [False])  # right on 9 more, wrong on none
    noise = np.array([True] * 9 + [False] + [True] * 2 + [False] * 8)  # +2 -1
    chosen, p = choose_candidate(np.array([prior_right, noise, clear]), 0.05)
    assert chosen == 2 and p[2] < 0.01 and p[1] > 0.3
    assert choose_candidate(np.array([prior_right, noise]), 0.05)[0] == 0
    assert choose_candidate(np.array([prior_right, noise]), 1.0)[0] == 1  # no test: best outright


# Inputs -----------------------------------------------------------------------


def test_a_label_the_bank_does_not_know_is_named(prior):
    X, y = clustered(prior, 2)
    y[3] = "bored"
    with pytest.raises(ValueError, match=r"y has labels \['bored'\] that the prompt bank does not know"):
        FewShotEmotionClassifier(prior).fit(X, y)


@pytest.mark.parametrize("method", ["tip", "interpolation"])
def test_one_class_only_gives_the_zero_shot_answer(prior, method):
    X, y = clustered(prior, 6)
    happy = y == "happy"
    clf = FewShotEmotionClassifier(prior, method=method).fit(X[happy], y[happy])
    assert len(clf.classes_) == 7
    np.testing.assert_array_equal(clf.predict(X), prior.fit().predict(X))


def test_nan_embeddings_are_refused_in_fit_and_predict(prior):
    X, y = clustered(prior, 3)
    bad = X.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="Input contains NaN"):
        FewShotEmotionClassifier(prior).fit(bad, y)
    clf = FewShotEmotionClassifier(prior).fit(X, y)
    with pytest.raises(ValueError, match="Input contains NaN"):
        clf.predict(bad)


def test_skipped_inputs_get_missing_answers(prior):
    X, y = clustered(prior, 3)
    clf = FewShotEmotionClassifier(prior.set_params(on_error="skip"), alpha=1.0, beta=5.0).fit(X, y)
    bad = X.copy()
    bad[2] = np.nan
    with pytest.warns(SkippedImagesWarning):
        labels = clf.predict(bad)
    assert labels[2] is None and all(label in CLASSES for label in np.delete(labels, 2))
    with pytest.warns(SkippedImagesWarning):
        proba = clf.predict_proba(bad)
    assert np.isnan(proba[2]).all() and np.allclose(np.delete(proba, 2, axis=0).sum(axis=1), 1)


def test_unreadable_images_are_left_out_of_the_fit(toy_checkpoint, face_arrays, tmp_path):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint, on_error="skip")
    images = [*face_arrays, str(broken)]
    with pytest.warns(SkippedImagesWarning, match="left out of the fit.*broken.jpg") as caught:
        clf = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(images, [*y, "sad"])
    assert len(clf.shot_labels_) == 12 and caught[0].filename == __file__
    reference = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    np.testing.assert_allclose(clf.predict_proba(face_arrays), reference.predict_proba(face_arrays))
    with (
        pytest.raises(ValueError, match="X has 13 images but y has 12 labels"),
        pytest.warns(SkippedImagesWarning),
    ):
        FewShotEmotionClassifier(zero_shot).fit(images, y)


def test_torch_embeddings_are_accepted(prior):
    torch = pytest.importorskip("torch")
    X, y = clustered(prior, 3)
    clf = FewShotEmotionClassifier(prior, alpha=1.0, beta=5.0).fit(torch.tensor(X, requires_grad=True), y)
    np.testing.assert_allclose(
        clf.predict_proba(torch.tensor(X, dtype=torch.float32)), clf.predict_proba(X), atol=1e-5
    )


def test_y_is_required_and_alpha_bounded(prior):
    X, y = clustered(prior, 2)
    with pytest.raises(ValueError, match="requires y to be passed"):
        FewShotEmotionClassifier(prior).fit(X)
    with pytest.raises(
        ValueError, match=r"'alpha' parameter .* must be in \[0, 1\] with method='interpolation'"
    ):
        FewShotEmotionClassifier(prior, method="interpolation", alpha=2.0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="The 'method' parameter of FewShotEmotionClassifier"):
        FewShotEmotionClassifier(prior, method="knn").fit(X, y)


def test_topk_follows_the_probabilities(prior):
    X, y = clustered(prior, 6)
    clf = FewShotEmotionClassifier(prior, alpha=2.0, beta=5.0).fit(X, y)
    labels, scores = clf.predict_topk(X, k=3, return_scores=True)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(labels[:, 0], clf.predict(X))
    np.testing.assert_allclose(scores, -np.sort(-proba, axis=1)[:, :3])


# Images, the cache, copies ----------------------------------------------------


def test_images_and_their_embeddings_give_the_same_answers(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint)
    on_images = FewShotEmotionClassifier(zero_shot, alpha=1.0, beta=5.0).fit(face_arrays, y)
    embeddings = zero_shot.fit().embed(face_arrays)
    on_embeddings = FewShotEmotionClassifier(
        clone(zero_shot).set_params(precomputed=True), alpha=1.0, beta=5.0
    )
    on_embeddings.fit(embeddings, y)
    np.testing.assert_allclose(
        on_images.predict_proba(face_arrays), on_embeddings.predict_proba(embeddings), atol=1e-6
    )
    assert not hasattr(on_images, "n_features_in_") and on_embeddings.n_features_in_ == embeddings.shape[1]


def test_grid_search_encodes_each_image_once(toy_checkpoint, face_arrays, count_encoded):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3, dtype=object)
    zero_shot = ZeroShotEmotionClassifier(model=toy_checkpoint)
    counter = count_encoded(zero_shot.fit())
    banks = list(report_experiment_banks().values())[:3]
    grid = {"estimator__prompt_bank": banks, "method": ["tip", "interpolation"], "significance": [0.05, 1.0]}
    search = GridSearchCV(FewShotEmotionClassifier(zero_shot), grid, cv=3).fit(face_arrays, y)
    assert len(search.cv_results_["params"]) == 12
    assert counter["images"] == 12  # 12 candidates x 3 folds + refit, each image encoded once
    assert search.best_estimator_.estimator_.prompt_bank_ is not None


def test_clone_and_pickle_in_a_new_process(prior, tmp_path):
    X, y = clustered(prior, 5)
    clf = FewShotEmotionClassifier(prior, method="interpolation", alpha=0.5).fit(X, y)
    assert not hasattr(clone(clf), "estimator_")
    path = tmp_path / "clf.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, numpy as np; "
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"np.save({str(tmp_path / 'p.npy')!r}, clf.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), clf.predict_proba(X), rtol=1e-10)


# The sampler ------------------------------------------------------------------


def test_sample_k_shot_is_seeded_stratified_and_disjoint():
    y = np.array(["a"] * 10 + ["b"] * 7 + ["c"] * 3, dtype=object)
    X = np.arange(len(y))
    X_shots, X_rest, y_shots, y_rest = sample_k_shot(X, y, 2, random_state=4)
    assert sorted(y_shots) == ["a", "a", "b", "b", "c", "c"]
    assert set(X_shots).isdisjoint(X_rest) and len(X_shots) + len(X_rest) == len(y)
    assert (y[X_shots] == y_shots).all() and (y[X_rest] == y_rest).all()
    again = sample_k_shot([str(i) for i in X], y, 2, random_state=4)[0]  # the same items from paths
    assert again == [str(i) for i in X_shots]
    assert not np.array_equal(sample_k_shot(X, y, 2, random_state=5)[0], X_shots)


def test_sample_k_shot_when_a_class_is_short():
    y = np.array(["a"] * 10 + ["b"] * 3, dtype=object)
    with pytest.warns(UserWarning, match=r"'b' \(1 of 3\)"):
        _, X_rest, y_shots, _ = sample_k_shot(np.arange(13), y, 4, random_state=0, max_fraction=0.5)
    assert list(y_shots).count("b") == 1 and list(y_shots).count("a") == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_k_shot(np.arange(13), y, 3, random_state=0)  # exactly enough: no warning
    with pytest.raises(ValueError, match="'k' parameter of sample_k_shot must be an int >= 1"):
        sample_k_shot(np.arange(13), y, 0)


def test_prompt_bank_parameter_reaches_the_prior(prior):
    X, y = clustered(prior, 2)
    clf = (
        FewShotEmotionClassifier(prior)
        .set_params(estimator__prompt_bank=PromptBank.openai_fer2013())
        .fit(X, y)
    )
    assert len(clf.estimator_.prompt_bank_.templates_) == len(PromptBank.openai_fer2013().fit().templates_)
