"""The image-embedding cache, the streaming encoder and the opt-in precisions."""

import os

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.model_selection import GridSearchCV

from clip_fer import (
    EmbeddingCache,
    SynonymFolder,
    ZeroShotEmotionClassifier,
    embedding_cache,
    report_experiment_banks,
)
from clip_fer.backends._accelerate import fast_copy
from clip_fer.backends._cache import content_key
from clip_fer.backends._quantize import LinearAttention
from clip_fer.exceptions import ImageInputError, InvalidParameterError


def test_cached_and_uncached_predictions_are_identical(toy_checkpoint, face_arrays, count_encoded):
    cached = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    counter = count_encoded(cached)
    first = cached.predict_proba(face_arrays)
    second = cached.predict_proba(face_arrays)
    assert counter["images"] == 12  # the second call encoded nothing
    uncached = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(uncached.predict_proba(face_arrays), first, atol=1e-6)
    assert counter["images"] == 24  # cache=False always encodes


def test_rewritten_file_is_encoded_again(toy_checkpoint, face_arrays, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_arrays[0]).save(path)
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    before = clf.embed([path])
    Image.fromarray(face_arrays[5]).save(path)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later mtime, surely
    after = clf.embed([path])
    fresh = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit().embed([face_arrays[5]])
    np.testing.assert_allclose(after, fresh, atol=1e-6)
    assert not np.allclose(after, before)


def test_memory_bound_drops_least_recently_used():
    cache = EmbeddingCache(max_bytes=3 * 32 * 4)  # three 32-float embeddings
    for i in range(3):
        cache.put("m", f"k{i}", np.full(32, i, np.float32))
    assert cache.get("m", "k0") is not None  # k0 is now the most recent
    cache.put("m", "k3", np.full(32, 3, np.float32))
    assert cache.get("m", "k1") is None  # the least recently used went
    assert [cache.get("m", k) is not None for k in ("k0", "k2", "k3")] == [True, True, True]
    info = cache.info()
    assert info.entries == 3 and info.nbytes == 3 * 128 <= info.max_bytes
    assert (info.hits, info.misses) == (4, 1)


def test_entries_are_per_model(toy_checkpoint, tmp_path, face_arrays):
    from conftest import build_toy_clip

    other = tmp_path / "other.pt"
    torch.save(build_toy_clip(seed=9).state_dict(), other)
    a = ZeroShotEmotionClassifier(model=toy_checkpoint).fit().embed(face_arrays[:2])
    b = ZeroShotEmotionClassifier(model=str(other)).fit().embed(face_arrays[:2])
    assert not np.allclose(a, b)
    int8 = ZeroShotEmotionClassifier(model=toy_checkpoint, precision="int8").fit().embed(face_arrays[:2])
    assert not np.array_equal(a, int8)  # another precision is another identity


def test_grid_search_encodes_each_image_once(toy_checkpoint, face_arrays, count_encoded):
    y = np.array(["happy", "sad", "angry", "neutral"] * 3)
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, synonym_folder=SynonymFolder())
    counter = count_encoded(clf.fit())
    banks = list(report_experiment_banks().values())
    search = GridSearchCV(clf, {"prompt_bank": banks, "synonym_folder__reduce": ["sum", "mean"]}, cv=3)
    search.fit(face_arrays, y)
    assert len(search.cv_results_["params"]) == 18
    assert counter["images"] == 12


def test_cache_dir_survives_a_new_process(toy_checkpoint, face_arrays, tmp_path, count_encoded):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path / "emb").fit()
    first = clf.embed(face_arrays)
    assert len(list((tmp_path / "emb").rglob("*.emb"))) == 12
    embedding_cache.clear()  # what a restarted notebook has
    counter = count_encoded(clf)
    np.testing.assert_array_equal(clf.embed(face_arrays), first)
    assert counter["images"] == 0


def test_content_keys():
    a = np.zeros((4, 4), np.uint8)
    assert content_key(a) == content_key(a.copy()) == content_key(torch.zeros(4, 4, dtype=torch.uint8))
    assert content_key(a) != content_key(a.astype(np.float32))
    assert content_key(a) != content_key(np.zeros((2, 8), np.uint8))
    assert content_key(Image.fromarray(a)) != content_key(Image.fromarray(a).convert("RGB"))
    assert content_key("/no/such/file.jpg") is None and content_key(42) is None


def test_worker_processes_give_the_same_embeddings_and_errors(toy_checkpoint, face_arrays):
    inline = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, num_workers=0).fit()
    workers = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False, num_workers=2, batch_size=4).fit()
    np.testing.assert_allclose(workers.embed(face_arrays), inline.embed(face_arrays), atol=1e-6)
    with pytest.raises(ImageInputError, match="Image at index 6: file '/missing.png' does not exist"):
        workers.embed(face_arrays[:6] + ["/missing.png"] + face_arrays[6:])


def test_encoding_parameters_are_checked(toy_checkpoint):
    with pytest.raises(
        InvalidParameterError, match=r"'num_workers' parameter .* must be an int in \[0, inf\]. Got -1"
    ):
        ZeroShotEmotionClassifier(model=toy_checkpoint, num_workers=-1).fit()
    with pytest.raises(InvalidParameterError, match="'cache' parameter .* must be a bool. Got 'yes'"):
        ZeroShotEmotionClassifier(model=toy_checkpoint, cache="yes").fit()
    with pytest.raises(InvalidParameterError, match="int8 is a CPU path"):
        from clip_fer.backends._loading import resolve_precision

        resolve_precision("int8", torch.device("cuda"))


@pytest.mark.parametrize("mask", [None, "causal"])
def test_linear_attention_equals_multihead_attention(mask):
    torch.manual_seed(0)
    attention = torch.nn.MultiheadAttention(64, 4).eval()
    x = torch.randn(7, 3, 64)
    attn_mask = torch.full((7, 7), float("-inf")).triu(1) if mask else None
    expected = attention(x, x, x, need_weights=False, attn_mask=attn_mask)[0]
    got = LinearAttention(attention)(x, x, x, need_weights=False, attn_mask=attn_mask)[0]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_fast_cpu_precisions_stay_close_to_fp32(toy_checkpoint, face_arrays, precision, monkeypatch):
    from clip_fer.backends import _cpu

    monkeypatch.setattr(_cpu, "has_native_bf16", lambda: True)  # bf16 itself, even where emulated
    fp32 = ZeroShotEmotionClassifier(model=toy_checkpoint, cache=False).fit().embed(face_arrays)
    fast_clf = ZeroShotEmotionClassifier(model=toy_checkpoint, precision=precision, cache=False).fit()
    fast = fast_clf.embed(face_arrays)
    cosine = (fp32 * fast).sum(axis=1)
    assert cosine.min() > 0.999 and not np.array_equal(fp32, fast)
    if precision == "int8":
        with torch.inference_mode():  # the copy its inference passes run
            modules = list(fast_copy(fast_clf._loaded_model().model.visual).modules())
        assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in modules)
        assert not any(type(m) is torch.nn.Linear for m in modules)  # every Linear is int8
        assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in modules)


def test_short_context_text_encoding_equals_the_full_context(toy_checkpoint):
    from clip_fer import PromptBank, load_model
    from clip_fer.backends._loading import _encode_tokens, import_clip

    clip = import_clip()
    model = load_model(toy_checkpoint).model
    tokens = clip.tokenize(list(PromptBank.openai_fer2013().fit().sentences_))
    with torch.inference_mode():
        torch.testing.assert_close(
            _encode_tokens(model, tokens), model.encode_text(tokens), atol=1e-5, rtol=1e-4
        )


def test_refit_with_a_known_bank_encodes_no_text(toy_checkpoint, monkeypatch):
    from sklearn.base import clone

    from clip_fer import PromptBank, RankVoteDecider

    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    model = clf._loaded_model().model
    encoded = []
    original = model.encode_text
    monkeypatch.setattr(model, "encode_text", lambda tokens: encoded.append(len(tokens)) or original(tokens))
    np.testing.assert_array_equal(clone(clf).fit().text_features_, clf.text_features_)
    assert encoded == []  # every sentence came from the sentence cache
    new_bank = PromptBank(["this is {} person", "a {} face"], {"happy": ["cheerful"], "sad": ["gloomy"]})
    clf.set_params(prompt_bank=new_bank, decider=RankVoteDecider(top_k=2)).fit()
    clf.fit()
    assert encoded == [4]  # the four new sentences, once
