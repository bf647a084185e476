"""open_clip and transformers backends against their own libraries, offline.

Each toy model is built in-process and saved as a user would (a weights file for
open_clip, a ``save_pretrained`` folder for transformers); the estimator loads
it by name, and its embeddings, text features and rankings are compared with
what the backend library itself computes from the same saved files.
"""

import pickle
import shutil

import numpy as np
import pytest
import torch
import toy_families
from PIL import Image
from scipy.special import softmax
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from clip_fer import (
    MeanProbaDecider,
    PromptBank,
    RankVoteDecider,
    ZeroShotEmotionClassifier,
    embedding_cache,
    load_model,
)
from clip_fer.backends._accelerate import fast_copy
from clip_fer.backends._onednn import OneDNNLinear, onednn_linear_available
from clip_fer.exceptions import ModelLoadError, PromptBankError

open_clip = pytest.importorskip("open_clip")
transformers = pytest.importorskip("transformers")

FAMILIES = ["open_clip-vit", "open_clip-sigmoid", "hf-clip", "hf-siglip", "hf-siglip2"]
ONE_TEMPLATE = PromptBank(
    ["a photo of a {} looking face."],
    {c: [c] for c in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")},
)


class Reference:
    """A model loaded by its own library from the saved files, used directly."""

    def __init__(self, family):
        self.family = family
        if family.startswith("open_clip"):
            arch = "ClipFerToy-ViT" if family.endswith("vit") else "ClipFerToy-Sigmoid"
            path = toy_families.open_clip_models()[arch]
            self.name = f"open_clip:{arch}/{path}"
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(arch, pretrained=path)
            self.model.eval()
            self.tokenizer = open_clip.get_tokenizer(arch)
        else:
            folder = getattr(toy_families, f"{family.replace('-', '_')}_folder")()
            self.name = f"hf_clip:{folder}"
            self.model = transformers.AutoModel.from_pretrained(folder).eval()
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
            self.image_processor = transformers.AutoImageProcessor.from_pretrained(folder)

    def _text_inputs(self, sentences):
        if "siglip" in self.family:
            # As SigLIP was trained: padded to max_length, pads attended (no mask).
            ids = self.tokenizer(sentences, padding="max_length", max_length=64, return_tensors="pt")
            return {"input_ids": ids["input_ids"]}
        return dict(self.tokenizer(sentences, padding=True, return_tensors="pt"))

    def _image_inputs(self, images):
        return dict(self.image_processor(images=images, return_tensors="pt"))

    @torch.no_grad()
    def image_features(self, images):
        if self.family.startswith("open_clip"):
            pixels = torch.stack([self.preprocess(image) for image in images])
            return self.model.encode_image(pixels, normalize=True).numpy()
        out = self.model.get_image_features(**self._image_inputs(images)).pooler_output
        return torch.nn.functional.normalize(out, dim=-1).numpy()

    @torch.no_grad()
    def text_features(self, sentences):
        if self.family.startswith("open_clip"):
            return self.model.encode_text(self.tokenizer(sentences), normalize=True).numpy()
        out = self.model.get_text_features(**self._text_inputs(sentences)).pooler_output
        return torch.nn.functional.normalize(out, dim=-1).numpy()

    @torch.no_grad()
    def logits(self, images, sentences):
        """The library's own image-text logits (scale and bias included)."""
        if self.family.startswith("open_clip"):
            pixels = torch.stack([self.preprocess(image) for image in images])
            return self.model.get_logits(pixels, self.tokenizer(sentences))[0].numpy()
        inputs = {**self._image_inputs(images), **self._text_inputs(sentences)}
        return self.model(**inputs).logits_per_image.numpy()


@pytest.fixture(scope="module", params=FAMILIES)
def reference(request):
    return Reference(request.param)


@pytest.fixture(scope="module")
def faces():
    """Sixteen varied RGB images: colour blocks, gradients and noise."""
    rng = np.random.default_rng(11)
    images = []
    for i in range(16):
        base = rng.integers(0, 256, size=(4, 4, 3)).astype(np.float64)
        image = np.kron(base, np.ones((12, 12, 1)))
        image += rng.normal(0, 20 * (i % 4), image.shape)
        images.append(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)))
    return images


def _cosines(a, b):
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_embeddings_and_text_features_are_the_librarys_own(reference, faces):
    clf = ZeroShotEmotionClassifier(model=reference.name, cache=False).fit()
    assert _cosines(clf.embed(faces), reference.image_features(faces)).min() >= 0.999
    expected = reference.text_features(list(clf.prompt_bank_.sentences_))
    assert _cosines(clf.text_features_, expected).min() >= 0.999


def test_rankings_and_scale_are_the_models_own_logits(reference, faces):
    clf = ZeroShotEmotionClassifier(
        model=reference.name, prompt_bank=ONE_TEMPLATE, decider=RankVoteDecider(top_k=7)
    ).fit()
    logits = reference.logits(faces, list(clf.prompt_bank_.sentences_))  # one sentence per class
    expected = clf.classes_[np.argsort(-logits, axis=1, kind="stable")]
    np.testing.assert_array_equal(clf.predict_topk(faces, k=7), expected)
    scale = reference.model.logit_scale.exp().item()
    bias = getattr(reference.model, "logit_bias", None)
    assert clf.logit_scale_ == pytest.approx(scale, rel=1e-6)
    assert clf.logit_bias_ == pytest.approx(0.0 if bias is None else bias.item(), abs=1e-6)
    assert (clf.logit_bias_ != 0) == ("sig" in reference.family)
    # The prompt-ensemble probabilities are the softmax of the model's logits.
    mean = clf.set_params(decider=MeanProbaDecider()).fit()
    np.testing.assert_allclose(mean.predict_proba(faces), softmax(logits, axis=1), atol=1e-4)


@pytest.mark.skipif(not onednn_linear_available(), reason="no oneDNN packed linear in this torch build")
def test_cpu_fp32_image_tower_runs_through_onednn_and_equals_the_librarys_own(reference, faces):
    clf = ZeroShotEmotionClassifier(model=reference.name, prompt_bank=ONE_TEMPLATE, cache=False).fit()
    model = clf._loaded_model().model
    own = model.visual if reference.family.startswith("open_clip") else model.vision_model
    assert not any(isinstance(m, OneDNNLinear) for m in model.modules())  # the family's own layers
    with torch.inference_mode():
        tower = fast_copy(own).inner  # what its inference passes run
    plain = [name for name, m in tower.named_modules() if type(m) is torch.nn.Linear]
    # Every Linear is packed but Siglip2's patch embedding (its caller reads weight.dtype).
    assert plain == (["embeddings.patch_embedding"] if reference.family == "hf-siglip2" else [])
    assert any(isinstance(m, OneDNNLinear) for m in tower.modules())
    activations = {type(m).__name__ for m in tower.modules()}
    assert not activations & {"QuickGELU", "QuickGELUActivation"}  # folded into SiLU
    text = model.transformer if reference.family.startswith("open_clip") else model.text_model
    assert not any(isinstance(m, OneDNNLinear) for m in text.modules())
    np.testing.assert_allclose(clf.embed(faces), reference.image_features(faces), atol=2e-5)


def test_a_loaded_fp32_models_state_dict_loads_into_the_librarys_own_model(reference, faces):
    # No QuickGELU fold (transformers' CLIP gave 0.1 off) and no renamed attention
    # keys (open_clip refused the state dict) in what a user saves.
    loaded = load_model(reference.name, device="cpu", precision="fp32").model
    torch.manual_seed(99)
    if reference.family.startswith("open_clip"):
        other = open_clip.create_model(reference.name.split(":")[1].split("/")[0]).eval()
    else:
        other = type(reference.model)(reference.model.config).eval()
    other.load_state_dict(loaded.state_dict())
    reference.model, own = other, reference.model
    try:
        reloaded = reference.image_features(faces)
    finally:
        reference.model = own
    np.testing.assert_allclose(reloaded, reference.image_features(faces), atol=2e-5)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_fast_cpu_precisions_agree_with_fp32(reference, faces, precision, monkeypatch):
    from clip_fer.backends import _cpu

    monkeypatch.setattr(_cpu, "has_native_bf16", lambda: True)  # bf16 itself, even where emulated
    fp32 = ZeroShotEmotionClassifier(model=reference.name, prompt_bank=ONE_TEMPLATE, cache=False).fit()
    fast = clone(fp32).set_params(precision=precision).fit()
    cosine = _cosines(fp32.embed(faces), fast.embed(faces))
    # Toy widths (32-64) with random weights; see docs/backbones.md for real ones.
    assert cosine.min() > 0.99
    assert not np.array_equal(fp32.embed(faces), fast.embed(faces))
    model = fast._loaded_model().model
    with torch.inference_mode():  # what its inference passes run
        tower = fast_copy(
            model.visual if reference.family.startswith("open_clip") else model.vision_model
        ).inner
    if precision == "int8":
        fp32_linears = [name for name, m in tower.named_modules() if type(m) is torch.nn.Linear]
        # Every Linear is int8 but Siglip2's patch embedding (its caller reads weight.dtype).
        assert fp32_linears == (["embeddings.patch_embedding"] if reference.family == "hf-siglip2" else [])
        assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in tower.modules())
        text = model.transformer if reference.family.startswith("open_clip") else model.text_model
        assert any(type(m) is torch.nn.Linear for m in text.modules())  # the text tower stays fp32
    elif reference.family.startswith("open_clip"):  # bf16: no packed-projection copies
        assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in tower.modules())


def test_pickle_and_caches_keep_backends_apart(faces, tmp_path):
    names = [Reference(family).name for family in ("open_clip-vit", "hf-clip")]
    fitted = [
        ZeroShotEmotionClassifier(model=name, prompt_bank=ONE_TEMPLATE, cache_dir=tmp_path).fit()
        for name in names
    ]
    embedding_cache.clear()
    first, second = (clf.embed(faces[:4]) for clf in fitted)
    assert first.shape[1] == 32 and second.shape[1] == 24  # two models, two embeddings
    assert embedding_cache.info().entries == 8
    assert len(list(tmp_path.rglob("*.emb"))) == 8
    np.testing.assert_array_equal(fitted[0].embed(faces[:4]), first)  # from the cache
    for clf, embedded in zip(fitted, (first, second)):
        blob = pickle.dumps(clf)
        assert len(blob) < 200_000  # text features, not weights
        restored = pickle.loads(blob)
        np.testing.assert_array_equal(restored.embed(faces[:4]), embedded)
        np.testing.assert_array_equal(restored.predict(faces), clf.predict(faces))


def test_grid_search_over_model_and_bank_encodes_each_image_once_per_model(faces, monkeypatch):
    names = [Reference(family).name for family in ("open_clip-vit", "hf-siglip")]
    counts = {}
    for name in names:
        loaded = load_model(name)
        original = loaded.encode_image

        def counting(pixels, name=name, original=original):
            counts[name] = counts.get(name, 0) + len(pixels)
            return original(pixels)

        monkeypatch.setattr(loaded, "encode_image", counting)
    banks = [ONE_TEMPLATE, PromptBank.openai_fer2013()]
    y = np.array(["happy", "sad", "angry", "neutral"] * 4)
    search = GridSearchCV(ZeroShotEmotionClassifier(), {"model": names, "prompt_bank": banks}, cv=2)
    search.fit(faces, y)
    assert len(search.cv_results_["params"]) == 4
    assert counts == {name: len(faces) for name in names}
    assert search.best_params_["model"] in names


@pytest.mark.parametrize("family", ["hf-clip", "hf-siglip", "hf-siglip2"])
def test_siglip_sentences_are_padded_to_the_trained_length(family):
    folder = getattr(toy_families, f"{family.replace('-', '_')}_folder")()
    inputs = load_model(f"hf_clip:{folder}").tokenize(["a happy face", "this is a very sad looking person"])
    if "siglip" in family:
        assert set(inputs) == {"input_ids"} and inputs["input_ids"].shape == (2, 64)
    else:
        assert set(inputs) == {"input_ids", "attention_mask"} and inputs["input_ids"].shape[1] < 20


def test_too_long_sentence_is_named(reference):
    sentence = "a photo of a " + "very " * 80 + "happy face"
    bank = PromptBank(["{}"], {"happy": [sentence], "sad": ["sad"]})
    with pytest.raises(
        PromptBankError, match=r"longer than the model's (64|77)-token context, e.g. 'a photo of a very"
    ):
        ZeroShotEmotionClassifier(
            model=reference.name, prompt_bank=bank, decider=RankVoteDecider(top_k=2)
        ).fit()


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "hf_clip:google/siglip-base-patch16-224",
            r"could not be loaded .*Without network access.*model='hf_clip:/path/to/DIR'",
        ),
        (
            "open_clip:ViT-B-32/laion2b_s34b_b79k",
            r"could not be loaded .*no network.*'open_clip:ViT-B-32//path/to/weights.safetensors'",
        ),
        ("open_clip:hf-hub:timm/ViT-B-16-SigLIP", r"no network.*'open_clip:local-dir:/path/to/folder'"),
        ("open_clip:ViT-Q-99/laion", r"architecture 'ViT-Q-99', which open_clip does not know"),
        ("open_clip:ViT-B-32", r"names no weights. Use 'open_clip:ViT-B-32/TAG' .*laion2b_s34b_b79k"),
        ("open_clip:ViT-B-32/no_such_tag", r"tag 'no_such_tag', which open_clip does not have"),
        (
            "open_clip:ViT-B-32//no/such/file.safetensors",
            r"weights file '/no/such/file.safetensors', which does not exist",
        ),
        ("hf_clip:/no/such/folder", r"names the folder '/no/such/folder', which does not exist"),
    ],
)
def test_names_that_cannot_load_offline_say_how_to_pass_local_files(name, message, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match=message):
        load_model(name)


def test_folder_without_tokenizer_is_named(tmp_path):
    folder = toy_families.hf_clip_folder()
    model = transformers.AutoModel.from_pretrained(folder)
    model.save_pretrained(tmp_path / "model-only")
    with pytest.raises(
        ModelLoadError, match="model-only' could not be loaded as a transformers model .*tokenizer"
    ):
        load_model(f"hf_clip:{tmp_path / 'model-only'}")


def test_folder_missing_only_its_tokenizer_files_is_named_not_uniform(tmp_path):
    # transformers 5 builds a vocabulary-less tokenizer here: every face would get 1/7 per class.
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(toy_families.hf_clip_folder(), folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
        (folder / name).unlink(missing_ok=True)
    assert (folder / "preprocessor_config.json").exists()
    with pytest.raises(ModelLoadError, match="no-tokenizer' has a tokenizer with no vocabulary"):
        load_model(f"hf_clip:{folder}")


def test_unreadable_weights_file_is_named(tmp_path):
    toy_families.open_clip_models()  # registers the toy configs
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a weights file")
    with pytest.raises(
        ModelLoadError, match="broken.safetensors' could not be loaded into open_clip's ClipFerToy-ViT"
    ):
        load_model(f"open_clip:ClipFerToy-ViT/{broken}")
