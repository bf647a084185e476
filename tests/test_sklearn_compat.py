"""The estimator contract: sklearn's common checks, clone, pickle, Pipeline, GridSearchCV.

scikit-learn's common checks fit on data of any width with any labels. The
estimator has two true limits there: precomputed ``X`` must have the model's
embedding width, and ``y`` must hold the prompt bank's classes. Both are met by
giving the checks a prompt bank that follows the data (:class:`DataShapedBank`):
its classes are ``y``'s labels and it brings its sentences encoded at ``X``'s
width, so every check runs the estimator's own code with no expected failure.
The two limits themselves are tested below and in test_classifier.py.
"""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer
from sklearn.utils.estimator_checks import parametrize_with_checks

from clip_fer import MeanProbaDecider, PromptBank, RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier

EMBED_DIM = 32  # build_toy_clip's embedding width


class DataShapedBank:
    """A test-only prompt bank (the protocol, not our class) that follows the data.

    Its classes are the labels of ``y`` and its sentences come already encoded at
    the width of ``X`` (fixed random unit vectors, seeded), so that scikit-learn's
    common checks, which fit on data of any width and any labels, exercise the
    estimator's real precomputed path: validation, folding, the vote, outputs.
    The model is never loaded. Without ``y`` it has two classes; without ``X``,
    width 32.
    """

    def __init__(self, seed=0):
        self.seed = seed

    def __repr__(self):
        return f"DataShapedBank(seed={self.seed})"

    def get_params(self, deep=True):
        return {"seed": self.seed}

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X=None, y=None):
        classes = np.unique(np.asarray(y)) if y is not None else np.array(["a", "b"])
        width = np.shape(X)[1] if X is not None and np.ndim(X) == 2 else 32
        self.templates_ = ("a photo of {}", "a picture of {}")
        self.classes_ = classes
        self.word_class_ = np.repeat(np.arange(len(classes)), 2)  # two words per class
        self.words_ = tuple(f"{c}-{w}" for c in classes for w in range(2))
        self.sentences_ = tuple(t.format(w) for t in self.templates_ for w in self.words_)
        rng = np.random.default_rng(self.seed)
        self.text_features_ = rng.normal(size=(len(self.sentences_), max(width, 1)))
        return self


# Checks that cannot pass, and why: none since the checks get a data-shaped bank.
EXPECTED_FAILED_CHECKS = {
    # A true limit: this check's int X (3 * uniform, truncated) holds an all-zero row,
    # an embedding with no direction; clip-fer refuses it (ImageInputError under
    # on_error="raise") rather than answer the first class. Other dtypes are tested below.
    "check_estimators_dtypes": "an all-zero embedding row is refused, not classified",
}


@parametrize_with_checks(
    [
        ZeroShotEmotionClassifier(
            model="unused", prompt_bank=DataShapedBank(), decider=RankVoteDecider(top_k=1), precomputed=True
        ),
        ZeroShotEmotionClassifier(
            model="unused", prompt_bank=DataShapedBank(), decider=MeanProbaDecider(), precomputed=True
        ),
    ],
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
    with_parts = precomputed.set_params(decider=RankVoteDecider(), synonym_folder=SynonymFolder())
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
    pipe = make_pipeline(Normalizer(), ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True)).fit(
        embeddings
    )
    np.testing.assert_allclose(
        pipe.predict_proba(embeddings * 7), direct.predict_proba(face_arrays), atol=1e-5
    )


def test_grid_search_over_prompt_configurations(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3)
    grid = {
        "prompt_bank": [PromptBank.report_best(), PromptBank.openai_fer2013()],
        "synonym_folder__reduce": ["sum", "mean", "max"],
        "decider": [RankVoteDecider()],
        "decider__top_k": [1, 3],
    }
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, synonym_folder=SynonymFolder())
    search = GridSearchCV(clf, grid, cv=2).fit(face_arrays, y)
    assert len(search.cv_results_["params"]) == 12
    # best_score_ is the best candidate's mean accuracy over the same two folds.
    by_hand = []
    for train, test in StratifiedKFold(2).split(face_arrays, y):
        fold = clone(clf).set_params(**search.best_params_).fit([face_arrays[i] for i in train], y[train])
        by_hand.append(np.mean(fold.predict([face_arrays[i] for i in test]) == y[test]))
    assert search.best_score_ == pytest.approx(np.mean(by_hand))
    best = search.best_estimator_
    assert best.get_params()["synonym_folder__reduce"] in ("sum", "mean", "max")
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
    assert [type(p["decider"]).__name__ for p in search.cv_results_["params"]] == [
        "RankVoteDecider",
        "MeanProbaDecider",
    ]
