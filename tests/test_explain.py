"""explain(): per template, its ranking and the synonym that spoke for each class."""

import numpy as np
import pytest

from clip_fer import PromptBank, RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier
from clip_fer.exceptions import SkippedImagesWarning

BANK = PromptBank(
    ["a photo of a {} face", "this person looks {}"],
    {"happy": ["glad", "smiling", "cheerful"], "sad": ["sad", "gloomy"], "angry": ["furious"]},
)


def explain_one(image_embedding, text_features, bank, logit_scale, reduce):
    """A plain per-image computation: loops and dicts, no index arrays."""
    bank = bank.fit()
    classes = sorted(bank.synonyms)
    out = []
    for t, template in enumerate(bank.templates):
        word_scores = {}
        for w, word in enumerate(bank.words_):
            sentence = t * len(bank.words_) + w
            word_scores[word] = logit_scale * float(np.dot(image_embedding, text_features[sentence]))
        class_scores, best_words = {}, {}
        for cls in classes:
            scores = [word_scores[word] for word in bank.synonyms[cls]]
            class_scores[cls] = {"sum": sum, "max": max, "mean": lambda s: sum(s) / len(s)}[reduce](scores)
            best_words[cls] = max(bank.synonyms[cls], key=lambda word: word_scores[word])
        ranking = sorted(classes, key=lambda c: (-class_scores[c], classes.index(c)))
        out.append((template, ranking, class_scores, best_words))
    return out


@pytest.mark.parametrize("reduce", ["sum", "max", "mean"])
def test_explain_matches_a_per_image_computation(toy_checkpoint, face_arrays, reduce):
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint,
        prompt_bank=BANK,
        synonym_folder=SynonymFolder(reduce),
        decider=RankVoteDecider(top_k=2),
        logit_scale=50.0,
    ).fit()
    records = clf.explain(face_arrays[:4], as_frame=False)
    assert len(records) == 4 * 2
    embeddings = clf.embed(face_arrays[:4])
    for i, embedding in enumerate(embeddings):
        expected = explain_one(embedding, clf.text_features_, BANK, 50.0, reduce)
        for t, (template, ranking, class_scores, best_words) in enumerate(expected):
            record = records[2 * i + t]
            assert record["image_index"] == i and record["template"] == template
            assert record["ranking"] == ranking
            assert record["best_words"] == best_words
            assert record["class_scores"] == pytest.approx(class_scores, rel=1e-5)


def test_explain_agrees_with_the_vote(toy_checkpoint, face_arrays):
    # With one template, the vote is that template's ranking.
    one = PromptBank(["a photo of a {} face"], dict(BANK.synonyms))
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=one, decider=RankVoteDecider(top_k=3)
    ).fit()
    rankings = [r["ranking"] for r in clf.explain(face_arrays, as_frame=False)]
    assert rankings == clf.predict_topk(face_arrays, k=3).tolist()


def test_explain_as_a_frame(toy_checkpoint, face_arrays):
    pytest.importorskip("pandas")
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=BANK, decider=RankVoteDecider(top_k=1)
    ).fit()
    frame = clf.explain(face_arrays[:3])
    assert list(frame.columns) == [
        "image_index",
        "template",
        "rank_1",
        "rank_2",
        "rank_3",
        "score_angry",
        "score_happy",
        "score_sad",
        "word_angry",
        "word_happy",
        "word_sad",
    ]
    assert len(frame) == 6 and set(frame["word_sad"]) <= {"sad", "gloomy"}
    records = clf.explain(face_arrays[:3], as_frame=False)
    assert frame["rank_1"].tolist() == [r["ranking"][0] for r in records]


def test_explain_skips_unreadable_images_with_a_warning(toy_checkpoint, face_arrays, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"no")
    clf = ZeroShotEmotionClassifier(
        model=toy_checkpoint, prompt_bank=BANK, decider=RankVoteDecider(top_k=1), on_error="skip"
    ).fit()
    with pytest.warns(SkippedImagesWarning, match="broken.png"):
        records = clf.explain([face_arrays[0], str(broken), face_arrays[1]], as_frame=False)
    assert [r["image_index"] for r in records] == [0, 0, 2, 2]
