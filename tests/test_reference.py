"""The batched estimator against a plain per-image implementation of the report.

The reference below is written the way the report's code works: one image at a
time, each template's sentences encoded on their own, synonym scores summed into
a dict keyed by class name, and a Counter per rank across templates, with the
report's intent made exact (most common class, ties by mean score, then class
order). It shares no code with clip_fer.
"""

from collections import Counter

import numpy as np
import pytest
import torch
from conftest import FER2013, TINY_FER_CLIP, needs_fer2013, needs_tiny_fer_clip
from PIL import Image

from clip_fer import MeanProbaDecider, PromptBank, RankVoteDecider, SynonymFolder, ZeroShotEmotionClassifier
from clip_fer.backends._loading import import_clip

BANK = {
    "templates": ["this is {} person", "a photo of a {} looking face.", "person with {} look"],
    "synonyms": {
        "angry": ["annoyed", "furious", "frown"],
        "disgust": ["disgusted", "dislike"],
        "fear": ["scared", "nervous", "fearful"],
        "happy": ["glad", "happy", "thrilled"],
        "neutral": ["blank", "neutral"],
        "sad": ["miserable", "sad", "pitiful"],
        "surprise": ["shocked", "surprised", "astonished"],
    },
}


def encode_one_image(model, preprocess, image):
    with torch.no_grad():
        image_features = model.encode_image(preprocess(image).unsqueeze(0)).float()
    return image_features / image_features.norm(dim=-1, keepdim=True)


def encode_sentences(model):
    """Each template's sentences, encoded template by template as the report did."""
    clip = import_clip()
    encoded = {}
    with torch.no_grad():
        for template in BANK["templates"]:
            sentences = [template.replace("{}", w) for ws in BANK["synonyms"].values() for w in ws]
            text = model.encode_text(clip.tokenize(sentences)).float()
            encoded.update(zip(sentences, text / text.norm(dim=-1, keepdim=True)))
    return encoded


def reference_ranking(text, image_features, reduce="sum", top_k=3):
    """All classes of one image, best first, by the report's algorithm."""
    classes = sorted(BANK["synonyms"])
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    per_template = []
    for template in BANK["templates"]:
        result = {}
        for cls in classes:
            scores = [
                float(100.0 * image_features[0] @ text[template.replace("{}", word)])
                for word in BANK["synonyms"][cls]
            ]
            result[cls] = sum(scores) if reduce == "sum" else sum(scores) / len(scores)
        per_template.append(result)
    mean = {c: sum(r[c] for r in per_template) / len(per_template) for c in classes}
    rankings = [sorted(classes, key=lambda c: (-r[c], classes.index(c))) for r in per_template]

    chosen = []
    for rank in range(top_k):
        votes = Counter(ranking[rank] for ranking in rankings if ranking[rank] not in chosen)
        pool = list(votes) if votes else [c for c in classes if c not in chosen]
        key = (
            (lambda c: (votes[c], mean[c], -classes.index(c)))  # noqa: B023 (used at once)
            if votes
            else (lambda c: (mean[c], -classes.index(c)))
        )
        chosen.append(max(pool, key=key))
    rest = sorted((c for c in classes if c not in chosen), key=lambda c: (-mean[c], classes.index(c)))
    return chosen + rest


def _compare(model_path, images, reduce, top_k=3, precomputed=False):
    clip = import_clip()
    model, preprocess = clip.load(str(model_path), device="cpu", jit=False)
    model.eval()
    clf = ZeroShotEmotionClassifier(
        model=model_path,
        precomputed=precomputed,
        prompt_bank=PromptBank(BANK["templates"], BANK["synonyms"]),
        synonym_folder=SynonymFolder(reduce),
        decider=RankVoteDecider(top_k=top_k),
        batch_size=5,
    ).fit()
    batched = clf.predict_topk(images, k=7)
    features = (
        [torch.as_tensor(row)[None] for row in images]
        if precomputed
        else [encode_one_image(model, preprocess, img) for img in images]
    )
    text = encode_sentences(model)
    expected = np.array([reference_ranking(text, f, reduce, top_k) for f in features])
    return batched, expected


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_toy_model_agrees_with_per_image_reference(toy_checkpoint, reduce):
    rng = np.random.default_rng(7)
    images = [
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).convert("RGB") for _ in range(24)
    ]
    batched, expected = _compare(toy_checkpoint, images, reduce)
    np.testing.assert_array_equal(batched[:, :3], expected[:, :3])


@pytest.mark.parametrize("reduce, top_k", [("sum", 3), ("mean", 3), ("sum", 7), ("mean", 1)])
def test_decisions_on_diverse_embeddings_agree_with_reference(toy_checkpoint, reduce, top_k):
    # A random toy tower maps random pictures to similar embeddings; random unit
    # vectors in its embedding space exercise every branch of the vote instead.
    embeddings = np.random.default_rng(3).normal(size=(150, 32)).astype(np.float32)
    batched, expected = _compare(toy_checkpoint, embeddings, reduce, top_k, precomputed=True)
    assert len({tuple(row[:3]) for row in expected}) > 20
    np.testing.assert_array_equal(batched, expected)


@needs_tiny_fer_clip
@needs_fer2013
def test_tiny_fer_clip_agrees_with_per_image_reference_on_fer2013():
    paths = sorted((FER2013 / "public_test").glob("*/*.jpg"))[::120][:30]
    images = [Image.open(p).convert("RGB") for p in paths]
    batched, expected = _compare(TINY_FER_CLIP, images, "sum")
    np.testing.assert_array_equal(batched[:, :3], expected[:, :3])
    # Real signal: the rankings are not all the same.
    assert len(set(batched[:, 0])) > 2


def test_rank_vote_and_mean_decider_both_rank_all_classes(toy_checkpoint, face_arrays):
    for decider in (RankVoteDecider(top_k=7), MeanProbaDecider()):
        clf = ZeroShotEmotionClassifier(model=toy_checkpoint, decider=decider).fit()
        ranking = clf.predict_topk(face_arrays, k=7)
        assert all(sorted(row) == sorted(clf.classes_) for row in ranking)
