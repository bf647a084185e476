"""The estimator contract: sklearn's common checks, clone, pickle, Pipeline, GridSearchCV."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer
from sklearn.utils.estimator_checks import parametrize_with_checks

from clip_fer import MeanProbaDecider, PromptBank, RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier

from conftest import build_toy_clip

EMBED_DIM = 32  # build_toy_clip's embedding width


def _toy_checkpoint_for_checks():
    # parametrize_with_checks needs the estimator at collection time, before fixtures.
    import tempfile
    from pathlib import Path

    path = Path(tempfile.gettempdir()) / "clip-fer-tests" / "toy-vit-checks.pt"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        torch.save(build_toy_clip().state_dict(), path)
    return str(path)


# Checks that cannot pass for a zero-shot classifier on embeddings, and why.
_WIDTH = (
    f"precomputed X must have the CLIP embedding width ({EMBED_DIM} here); this check "
    "fits on data of another width"
)
EXPECTED_FAILED_CHECKS = {
    **{name: _WIDTH for name in [
        "check_fit_score_takes_y", "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes",
        "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf",
        "check_estimators_pickle", "check_f_contiguous_array_estimator",
        "check_classifier_data_not_an_array", "check_classifiers_classes",
        "check_classifiers_train", "check_classifiers_regression_target",
        "check_supervised_y_2d", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
        "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
        "check_n_features_in", "check_fit2d_predict1d",
    ]},
    "check_classifiers_one_label": "zero-shot: classes_ come from the prompt bank, so one label in y is no error",
}


@parametrize_with_checks(
    [ZeroShotEmotionClassifier(model=_toy_checkpoint_for_checks(), precomputed=True)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
    xfail_strict=True,
)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


# The contracts the width-bound checks above would test, on embedding-width data.

@pytest.fixture
def embeddings():
    return np.random.default_rng(0).normal(size=(40, EMBED_DIM))


@pytest.fixture
def labels(embeddings):
    return np.array(["happy", "sad", "angry", "neutral"] * 10)


@pytest.fixture
def precomputed(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)


def test_is_a_classifier_with_clean_params(precomputed):
    assert is_classifier(precomputed)
    params = precomputed.get_params()
    assert params["precomputed"] is True and params["prompt_bank"] is None
    assert "decider__top_k" not in params  # None components are not expanded
    with_parts = precomputed.set_params(decider=RankVoteDecider(), folder=SynonymFolder())
    assert with_parts.get_params()["decider__top_k"] == 3


def test_fit_is_idempotent_and_returns_self(precomputed, embeddings, labels):
    assert precomputed.fit(embeddings, labels) is precomputed
    first = precomputed.predict_proba(embeddings)
    np.testing.assert_array_equal(precomputed.fit(embeddings, labels).predict_proba(embeddings), first)


def test_sample_order_and_subsets_do_not_matter(precomputed, embeddings):
    clf = precomputed.fit()
    full = clf.predict_proba(embeddings)
    order = np.random.default_rng(1).permutation(len(embeddings))
    np.testing.assert_allclose(clf.predict_proba(embeddings[order]), full[order], rtol=1e-12)
    for part in np.array_split(np.arange(len(embeddings)), 4):
        np.testing.assert_allclose(clf.predict_proba(embeddings[part]), full[part], rtol=1e-12)


def test_dtypes_layouts_and_readonly_inputs_agree(precomputed, embeddings):
    clf = precomputed.fit()
    expected = clf.predict(embeddings)
    readonly = embeddings.copy()
    readonly.setflags(write=False)
    for X in (embeddings.astype(np.float32), np.asfortranarray(embeddings), readonly, embeddings.tolist()):
        np.testing.assert_array_equal(clf.predict(X), expected)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_embeddings_are_refused(precomputed, embeddings, bad):
    X = embeddings.copy()
    X[3, 5] = bad
    with pytest.raises(ValueError, match="Input contains (NaN|infinity)"):
        precomputed.fit(X)
    with pytest.raises(ValueError, match="Input contains (NaN|infinity)"):
        precomputed.fit().predict(X)


def test_continuous_targets_are_refused(precomputed, embeddings):
    with pytest.raises(ValueError, match="Unknown label type"):
        precomputed.fit(embeddings, np.linspace(0, 1, len(embeddings)))


def test_failed_refit_keeps_the_previous_fit(precomputed, embeddings):
    clf = precomputed.fit()
    before = clf.predict_proba(embeddings)
    clf.set_params(decider=RankVoteDecider(top_k=0))
    with pytest.raises(ValueError, match="top_k"):
        clf.fit()
    np.testing.assert_array_equal(clf.predict_proba(embeddings), before)


def test_clone_and_deepcopy_carry_no_weights(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=PromptBank.openai_fer2013()).fit()
    for copied in (clone(clf), copy.deepcopy(clf), pickle.loads(pickle.dumps(clf))):
        assert not any(isinstance(v, torch.nn.Module) for v in vars(copied).values())
    assert not hasattr(clone(clf), "text_features_")
    np.testing.assert_array_equal(copy.deepcopy(clf).predict(face_arrays), clf.predict(face_arrays))


def test_pipeline_with_images_and_with_embeddings(toy_checkpoint, face_arrays):
    invert = FunctionTransformer(lambda X: [255 - x for x in X])
    pipe = make_pipeline(invert, ZeroShotEmotionClassifier(model=toy_checkpoint)).fit(face_arrays)
    direct = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    np.testing.assert_array_equal(pipe.predict(face_arrays), direct.predict([255 - x for x in face_arrays]))

    embeddings = direct.embed(face_arrays)
    pipe = make_pipeline(Normalizer(), ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)).fit(embeddings)
    np.testing.assert_allclose(pipe.predict_proba(embeddings * 7), direct.predict_proba(face_arrays), atol=1e-5)


def test_grid_search_over_prompt_configurations(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3)
    grid = {
        "prompt_bank": [PromptBank.report_best(), PromptBank.openai_fer2013()],
        "folder__reduce": ["sum", "mean", "max"],
        "decider": [RankVoteDecider()],
        "decider__top_k": [1, 3],
    }
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, folder=SynonymFolder())
    search = GridSearchCV(clf, grid, cv=2).fit(face_arrays, y)
    assert len(search.cv_results_["params"]) == 12
    assert 0.0 <= search.best_score_ <= 1.0
    best = search.best_estimator_
    assert best.get_params()["folder__reduce"] in ("sum", "mean", "max")
    # The refit best estimator predicts like a fresh one with the best params.
    fresh = clone(clf).set_params(**search.best_params_).fit()
    np.testing.assert_array_equal(best.predict(face_arrays), fresh.predict(face_arrays))


def test_grid_search_can_compare_deciders(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3)
    search = GridSearchCV(
        ZeroShotEmotionClassifier(model=toy_checkpoint),
        {"decider": [RankVoteDecider(), MeanProbaDecider()]},
        cv=2,
    ).fit(face_arrays, y)
    assert [type(p["decider"]).__name__ for p in search.cv_results_["params"]] == ["RankVoteDecider", "MeanProbaDecider"]
