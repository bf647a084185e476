"""ZeroShotEmotionClassifier: fit, outputs and their contracts, parameters."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from clip_fer import (
    FER2013_CLASSES,
    MeanProbaDecider,
    PromptBank,
    RankVoteDecider,
    SynonymFolder,
    ZeroShotEmotionClassifier,
)
from clip_fer.exceptions import InvalidParameterError, PromptBankError


@pytest.fixture
def fitted(toy_checkpoint):
    return ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=4).fit()


def test_fit_encodes_the_prompts_only(fitted):
    bank = fitted.prompt_bank_
    assert fitted.text_features_.shape == (len(bank.sentences_), 32)
    np.testing.assert_allclose(np.linalg.norm(fitted.text_features_, axis=1), 1, rtol=1e-5)
    assert list(fitted.classes_) == list(FER2013_CLASSES)
    assert not hasattr(fitted, "n_features_in_")  # images are not seen in fit


def test_other_vocabularies_give_their_own_classes(toy_checkpoint, face_arrays):
    states = PromptBank(
        ["a photo of a person who looks {}"],
        {"alert": ["focused", "attentive"], "tired": ["sleepy"], "confused": ["puzzled"]},
    )
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=states).fit()
    assert list(clf.classes_) == ["alert", "confused", "tired"]
    assert set(clf.predict(face_arrays)) <= {"alert", "confused", "tired"}
    gender = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=PromptBank.gender(), decider=RankVoteDecider(top_k=2)
    ).fit()
    assert gender.predict_proba(face_arrays).shape == (12, 2)


def test_outputs_agree_with_each_other(fitted, face_arrays):
    labels = fitted.predict(face_arrays)
    proba = fitted.predict_proba(face_arrays)
    top3, shares = fitted.predict_topk(face_arrays, k=3, return_scores=True)
    assert labels.shape == (12,) and proba.shape == (12, 7) and top3.shape == (12, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], labels)
    np.testing.assert_array_equal(top3[:, 0], labels)
    assert all(len(set(row)) == 3 for row in top3)
    assert ((shares >= 0) & (shares <= 1)).all()
    assert fitted.score(face_arrays, labels) == 1.0


def test_mean_decider_proba_is_the_prompt_ensemble(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=MeanProbaDecider(), logit_scale=50.0).fit()
    emb = clf.embed(face_arrays)
    scores = 50.0 * emb @ clf.text_features_.T
    n_t = len(clf.prompt_bank_.templates_)
    scores = scores.reshape(12, n_t, -1)
    wc = clf.prompt_bank_.word_class_
    folded = np.stack([scores[..., wc == c].mean(-1) for c in range(7)], -1)
    expected = (np.exp(folded) / np.exp(folded).sum(-1, keepdims=True)).mean(1)
    np.testing.assert_allclose(clf.predict_proba(face_arrays), expected, rtol=1e-4)
    top, probs = clf.predict_topk(face_arrays, k=2, return_scores=True)
    np.testing.assert_allclose(probs[:, 0], expected.max(axis=1), rtol=1e-4)


def test_batch_size_and_order_do_not_change_results(toy_checkpoint, face_arrays):
    one = ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=1, cache=False).fit()
    many = ZeroShotEmotionClassifier(model=toy_checkpoint, batch_size=5, cache=False).fit()
    np.testing.assert_allclose(one.predict_proba(face_arrays), many.predict_proba(face_arrays), atol=1e-5)
    order = np.random.default_rng(0).permutation(12)
    np.testing.assert_allclose(
        many.predict_proba([face_arrays[i] for i in order]), many.predict_proba(face_arrays)[order], atol=1e-5
    )


def test_precomputed_embeddings_give_the_same_answers(toy_checkpoint, face_arrays):
    images = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    embeddings = images.embed(face_arrays)
    assert embeddings.shape == (12, 32) and embeddings.dtype == np.float32
    pre = ZeroShotEmotionClassifier(model=toy_checkpoint, precomputed=True).fit()
    assert pre.n_features_in_ == 32
    np.testing.assert_allclose(
        pre.predict_proba(embeddings * 3.0), images.predict_proba(face_arrays), atol=1e-5
    )
    with pytest.raises(ValueError, match="X has 5 features, but ZeroShotEmotionClassifier is expecting 32"):
        pre.predict(np.ones((2, 5)))


def test_progress_bar_only_when_verbose(toy_checkpoint, face_arrays, capsys):
    ZeroShotEmotionClassifier(model=toy_checkpoint).fit().predict(face_arrays)
    assert "Encoding images" not in capsys.readouterr().err
    ZeroShotEmotionClassifier(model=toy_checkpoint, verbose=True).fit().predict(face_arrays)
    assert "Encoding images" in capsys.readouterr().err


def test_unfitted_estimator_says_so(toy_checkpoint, face_arrays):
    with pytest.raises(NotFittedError):
        ZeroShotEmotionClassifier(model=toy_checkpoint).predict(face_arrays)


def test_labels_must_be_known_classes(toy_checkpoint):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint)
    assert clf.fit(None, ["happy", "sad"]) is clf
    with pytest.raises(ValueError, match=r"y has labels \['contempt'\] that the prompt bank does not know"):
        clf.fit(None, ["happy", "contempt"])


@pytest.mark.parametrize("labels", [["1", "4", "7"], ["Angry", "Happy"]])
def test_a_data_sets_own_codes_point_to_its_layout(toy_checkpoint, labels):
    """RAF-DB's Kaggle folders ('1'..'7') and SFEW's ('Angry') read without a layout."""
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint)
    with pytest.raises(
        ValueError, match=r"does not know.*read it with its layout \(load_dataset\(path, layout="
    ):
        clf.fit(None, labels)


def test_other_unknown_labels_get_no_layout_hint(toy_checkpoint):
    with pytest.raises(ValueError, match="does not know") as caught:
        ZeroShotEmotionClassifier(model=toy_checkpoint).fit(None, ["bored"])
    assert "layout" not in str(caught.value)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"batch_size": 0},
            r"The 'batch_size' parameter of ZeroShotEmotionClassifier must be an int in \[1, inf\]. Got 0 instead.",
        ),
        (
            {"logit_scale": -1.0},
            "The 'logit_scale' parameter of ZeroShotEmotionClassifier must be a float in \\(0, 10000\\]. Got -1.0",
        ),
        (
            {"precomputed": "yes"},
            "The 'precomputed' parameter of ZeroShotEmotionClassifier must be a bool. Got 'yes'",
        ),
        (
            {"prompt_bank": {"happy": ["glad"]}},
            "The 'prompt_bank' parameter .* must be None or an instance of PromptBank. Got dict",
        ),
        ({"folder": "sum"}, "must be None or an instance of SynonymFolder. Got str"),
        ({"decider": SynonymFolder()}, "must be None or an instance of RankVoteDecider or MeanProbaDecider"),
        (
            {"decider": RankVoteDecider(top_k=0)},
            r"The 'top_k' parameter of RankVoteDecider must be an int in \[1, inf\]. Got 0 instead.",
        ),
        (
            {"synonym_folder": SynonymFolder("median")},
            "The 'reduce' parameter of SynonymFolder must be one of",
        ),
    ],
)
def test_bad_parameters_fail_in_fit_with_a_clear_message(toy_checkpoint, params, message):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, **params)  # __init__ accepts anything
    with pytest.raises(InvalidParameterError, match=message):
        clf.fit()


def test_k_is_checked(fitted, face_arrays):
    with pytest.raises(
        InvalidParameterError, match=r"The 'k' parameter of predict_topk must be an int in \[1, 7\]. Got 9"
    ):
        fitted.predict_topk(face_arrays, k=9)


def test_sentence_longer_than_the_context_is_a_prompt_error(toy_checkpoint):
    long_template = "a face " + "very " * 80 + "{}"
    bank = PromptBank([long_template], {"happy": ["glad"], "sad": ["sad"]})
    with pytest.raises(PromptBankError, match="longer than the model's 77-token context"):
        ZeroShotEmotionClassifier(
            model=toy_checkpoint, prompt_bank=bank, decider=RankVoteDecider(top_k=1)
        ).fit()


def test_components_are_cloned_not_shared(toy_checkpoint):
    bank = PromptBank.openai_fer2013()
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, prompt_bank=bank).fit()
    assert clf.prompt_bank_ is not bank and not hasattr(bank, "classes_")
