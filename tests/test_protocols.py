"""Component slots take any object with the protocol, not only clip-fer's classes."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from clip_fer import (
    ComponentContractError,
    Decision,
    PromptBank,
    RankVoteDecider,
    SynonymFolder,
    ZeroShotEmotionClassifier,
)
from clip_fer.exceptions import InvalidParameterError


class MarginDecider:
    """A user-written decider: rank by the best template's score, no softmax.

    It subclasses nothing of clip-fer or scikit-learn. ``get_params`` and
    ``set_params`` are there only so a grid search can tune ``power``.
    """

    def __init__(self, power=1.0):
        self.power = power

    def get_params(self, deep=True):
        return {"power": self.power}

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self):
        self.fitted_ = True
        return self

    def decide(self, class_scores):
        best = class_scores.max(axis=1)  # (n_images, n_classes)
        ranking = np.argsort(-best, axis=1, kind="stable")
        weights = np.exp(self.power * (best - best.max(axis=1, keepdims=True)))
        proba = weights / weights.sum(axis=1, keepdims=True)
        return Decision(ranking, np.take_along_axis(proba, ranking, axis=1), proba)


class MedianFolder:
    """A user-written folder without get_params: the median of a class's word scores."""

    def fit(self):
        return self

    def fold(self, scores, word_class, n_classes):
        return np.stack([np.median(scores[..., word_class == c], axis=-1) for c in range(n_classes)], axis=-1)


def plain_scores(clf, images):
    """(n_images, n_templates, n_words) scores computed here, one image at a time."""
    embeddings = clf.embed(images)
    bank = clf.prompt_bank_
    rows = []
    for e in embeddings:
        per_sentence = [clf.logit_scale_ * float(e @ t) + clf.logit_bias_ for t in clf.text_features_]
        n_words = len(bank.words_)
        rows.append([per_sentence[t * n_words : (t + 1) * n_words] for t in range(len(bank.templates_))])
    return np.array(rows)


def test_user_decider_and_folder_plug_in(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, synonym_folder=MedianFolder(), decider=MarginDecider(power=0.5)
    ).fit()
    assert clf.decider_.fitted_ and not hasattr(clf.decider, "fitted_")  # a fitted copy
    scores = plain_scores(clf, face_arrays)
    wc = clf.prompt_bank_.word_class_
    for i, image in enumerate(scores):
        folded = [[np.median([t[w] for w in range(len(wc)) if wc[w] == c]) for c in range(7)] for t in image]
        best = np.max(folded, axis=0)
        expected = clf.classes_[sorted(range(7), key=lambda c: (-best[c], c))]
        np.testing.assert_array_equal(clf.predict_topk([face_arrays[i]], k=7)[0], expected)
    proba = clf.predict_proba(face_arrays)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)  # float32 embeddings
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(face_arrays))


def test_user_components_are_cloned_and_searched(toy_checkpoint, face_arrays):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3)
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, synonym_folder=MedianFolder(), decider=MarginDecider()
    )
    copied = clone(clf)
    assert copied.decider is not clf.decider and copied.synonym_folder is not clf.synonym_folder
    search = GridSearchCV(clf, {"decider__power": [0.1, 2.0]}, cv=2).fit(face_arrays, y)
    assert [p["decider__power"] for p in search.cv_results_["params"]] == [0.1, 2.0]
    assert search.best_estimator_.decider_.power == search.best_params_["decider__power"]
    # Whole objects can be grid values too, next to clip-fer's own.
    search = GridSearchCV(
        ZeroShotEmotionClassifier(model=toy_checkpoint),
        {
            "decider": [MarginDecider(), RankVoteDecider()],
            "synonym_folder": [MedianFolder(), SynonymFolder()],
        },
        cv=2,
    ).fit(face_arrays, y)
    assert len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"decider": SynonymFolder()},
            r"must be None or an instance of RankVoteDecider or MeanProbaDecider\. Got SynonymFolder instead "
            r"\(it lacks decide\(\)\); a decider may also be any object with fit\(\) and decide\(class_scores\) -> Decision\.$",
        ),
        (
            {"synonym_folder": MarginDecider()},
            r"The 'synonym_folder' parameter of ZeroShotEmotionClassifier must be None or an instance of "
            r"SynonymFolder\. Got MarginDecider instead \(it lacks fold\(\)\); a folder may also be any object",
        ),
        (
            {"prompt_bank": {"happy": ["glad"]}},
            r"Got dict instead \(it lacks fit\(\)\); a prompt bank may also be",
        ),
    ],
)
def test_objects_without_the_protocol_are_refused_naming_it(toy_checkpoint, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        ZeroShotEmotionClassifier(model=toy_checkpoint, **params).fit()


def test_a_decider_must_return_a_decision(toy_checkpoint, face_arrays):
    class TupleDecider(MarginDecider):
        def decide(self, class_scores):
            return (1, 2, 3)

    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=TupleDecider()).fit()
    with pytest.raises(
        ComponentContractError,
        match="decider TupleDecider broke its contract: decide\\(class_scores\\) must return a "
        "clip_fer.Decision; it returned tuple",
    ):
        clf.predict(face_arrays)


def test_top_k_is_checked_against_the_bank_without_a_dry_run(toy_checkpoint):
    class CountingDecider(RankVoteDecider):
        calls = 0

        def decide(self, class_scores):
            type(self).calls += 1
            return super().decide(class_scores)

    ZeroShotEmotionClassifier(model=toy_checkpoint, decider=CountingDecider(top_k=7)).fit()
    assert CountingDecider.calls == 0  # fit decides nothing
    # top_k above the bank's classes is capped (issue 10), never refused; 0 is refused.
    ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=PromptBank.gender(), decider=CountingDecider(top_k=3)
    ).fit()
    assert CountingDecider.calls == 0
    with pytest.raises(
        InvalidParameterError, match=r"The 'top_k' parameter of CountingDecider must be an int in \[1, "
    ):
        ZeroShotEmotionClassifier(
            model=toy_checkpoint, prompt_bank=PromptBank.gender(), decider=CountingDecider(top_k=0)
        ).fit()


def test_a_bank_that_brings_its_text_features_skips_the_model(face_arrays):
    class EncodedBank:
        """A bank with its sentences already encoded (e.g. cached): the model is never loaded."""

        def fit(self, X=None, y=None):
            bank = PromptBank(["a {} face"], {"happy": ["glad", "smiling"], "sad": ["sad"]}).fit()
            for name in ("classes_", "templates_", "words_", "word_class_", "sentences_"):
                setattr(self, name, getattr(bank, name))
            self.text_features_ = np.eye(3, 4) * 2  # normalised by the classifier
            return self

    clf = ZeroShotEmotionClassifier(
        model="no-such-model", prompt_bank=EncodedBank(), decider=RankVoteDecider(top_k=1), precomputed=True
    ).fit()
    X = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(clf.predict(X), ["happy", "sad", "happy"])
    assert clf.n_features_in_ == 4


def test_a_bank_must_set_the_protocol_attributes(toy_checkpoint):
    class HalfBank:
        def fit(self, X=None, y=None):
            self.classes_ = np.array(["a"])
            return self

    with pytest.raises(
        InvalidParameterError,
        match="must set templates_, word_class_, sentences_ in fit\\(\\); HalfBank did not",
    ):
        ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=HalfBank()).fit()
