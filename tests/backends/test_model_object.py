"""The model you hold is the model that answers (issue 26, findings 1 to 4).

1. A model from ``load_model`` keeps its file's identity only while its tensors and
   preprocessing are the ones it was loaded with; the model cache and the embedding
   caches never serve or store an edited object under the file's identity.
2. A model built in memory is identified by its preprocessing callable's content
   (or the object), never by its ``repr``.
3. ``register_family(..., replace=True)`` takes effect for models already loaded.
4. A model from ``load_model`` fine-tunes as the family's own: acceleration is a
   converted copy used for inference only, never the layers that train.
"""

import numpy as np
import pytest
import torch
import toy_families
from conftest import build_toy_clip
from PIL import Image
from test_open_seam import ToyFamily

from clip_fer import ZeroShotEmotionClassifier, clear_embedding_cache, clear_model_cache, load_model
from clip_fer.backends import LoadedModel, place, register_family
from clip_fer.backends._clip_files import ClipPreprocess, load_checkpoint
from clip_fer.backends._families import unregister_family
from clip_fer.backends._onednn import onednn_linear_available
from clip_fer.backends.openai import OpenAIModel
from clip_fer.exceptions import ModelChangedError


def _own_embeddings(path, images, factor=1.0):
    """What OpenAI's CLIP code itself computes from the file (pixels times ``factor``):
    no clip_fer model cache."""
    model, preprocess = load_checkpoint(path, "cpu")
    pixels = torch.stack([preprocess(Image.fromarray(image)) * factor for image in images])
    with torch.inference_mode():
        features = model.float().eval().encode_image(pixels)
    return (features / features.norm(dim=-1, keepdim=True)).numpy()


def _add_noise(loaded):
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in loaded.model.visual.parameters():
            parameter.add_(
                torch.randn(parameter.shape, generator=generator) * parameter.std().clamp_min(0.05)
            )


def _load_other(loaded):
    loaded.model.load_state_dict(build_toy_clip(seed=7).state_dict())


@pytest.mark.parametrize("edit", [_add_noise, _load_other], ids=["add_", "load_state_dict"])
def test_a_loaded_model_edited_in_memory_is_another_model(toy_checkpoint, face_arrays, tmp_path, edit):
    loaded = load_model(toy_checkpoint, device="cpu", precision="fp32")
    fitted = ZeroShotEmotionClassifier(model=loaded, cache_dir=tmp_path).fit()
    fitted.predict_proba(face_arrays)
    file_identity = loaded.weights_identity
    edit(loaded)
    assert loaded.weights_identity != file_identity
    # a fitted estimator never answers with the old model's cached embeddings
    with pytest.raises(ModelChangedError, match="no longer the one"):
        fitted.predict_proba(face_arrays)
    # an estimator that names the file gets the file's model, not the edited object
    by_name = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path).fit()
    assert by_name._loaded_model() is not loaded
    np.testing.assert_allclose(
        by_name.embed(face_arrays), _own_embeddings(toy_checkpoint, face_arrays), atol=1e-5
    )
    # the edited object's entries in cache_dir are under its own identity: a new
    # process (caches emptied) naming the file reads the file's embeddings back
    edited = ZeroShotEmotionClassifier(model=loaded, cache_dir=tmp_path).fit()
    own = edited.embed(face_arrays)
    assert not np.allclose(own, _own_embeddings(toy_checkpoint, face_arrays), atol=1e-3)
    clear_model_cache()
    clear_embedding_cache()
    again = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path).fit()
    np.testing.assert_allclose(
        again.embed(face_arrays), _own_embeddings(toy_checkpoint, face_arrays), atol=1e-5
    )


def test_a_loaded_models_preprocessing_is_part_of_its_identity(toy_checkpoint):
    loaded = load_model(toy_checkpoint, device="cpu", precision="fp32")
    file_identity = loaded.weights_identity
    loaded.preprocess.n_px = 40  # settings changed on the same object
    assert loaded.weights_identity != file_identity
    loaded.preprocess.n_px = 32
    assert loaded.weights_identity == file_identity
    loaded.preprocess = ClipPreprocess(48)  # replaced
    assert loaded.weights_identity != file_identity
    assert load_model(toy_checkpoint, device="cpu", precision="fp32") is not loaded


class _Scaled:
    """A preprocessing class whose settings are attributes (its repr is object's)."""

    def __init__(self, factor):
        self.preprocess, self.factor = ClipPreprocess(32), factor

    def __call__(self, image):
        return self.preprocess(image) * self.factor


@pytest.mark.parametrize(
    "first, second",
    [
        (lambda image: ClipPreprocess(32)(image), lambda image: ClipPreprocess(32)(image).flip(-1)),
        (_Scaled(1.0), _Scaled(-1.0)),
    ],
    ids=["two lambdas", "two instances"],
)
def test_models_built_in_memory_are_told_apart_by_their_preprocessing(first, second, face_arrays):
    module = place(build_toy_clip(), torch.device("cpu"), "fp32")
    one = OpenAIModel(module, first, "cpu", "fp32")
    two = OpenAIModel(module, second, "cpu", "fp32")
    assert one.weights_identity != two.weights_identity
    a = ZeroShotEmotionClassifier(model=one).fit().embed(face_arrays)
    b = ZeroShotEmotionClassifier(model=two).fit().embed(face_arrays)
    pixels = torch.stack([second(Image.fromarray(f).convert("RGB")) for f in face_arrays])
    with torch.inference_mode():
        expected = module.encode_image(pixels)
    np.testing.assert_allclose(b, (expected / expected.norm(dim=-1, keepdim=True)).numpy(), atol=1e-5)
    assert not np.allclose(a, b, atol=1e-3)


def test_the_same_preprocessing_settings_are_one_model(face_arrays):
    module = place(build_toy_clip(), torch.device("cpu"), "fp32")
    one, two = (OpenAIModel(module, _Scaled(2.0), "cpu", "fp32") for _ in range(2))
    assert one.weights_identity == two.weights_identity  # content, not the object


def test_a_model_built_in_memory_runs_the_fast_path_of_its_precision(face_arrays):
    from clip_fer.backends._accelerate import fast_copy, is_accelerated

    module = place(build_toy_clip(), torch.device("cpu"), "fp32")
    loaded = OpenAIModel(module, ClipPreprocess(32), "cpu", "int8")
    ZeroShotEmotionClassifier(model=loaded).fit().embed(face_arrays)
    assert is_accelerated(module.visual)
    with torch.inference_mode():
        assert any("quantized" in type(m).__module__ for m in fast_copy(module.visual).modules())


class _Family(ToyFamily):
    """A third-party family: OpenAI state dicts, pixels scaled by ``factor``."""

    factor = 1.0

    def load(self, spec, device, precision, download_root):
        self.loads += 1
        model, preprocess = load_checkpoint(spec, device)
        factor = self.factor
        return OpenAIModel(
            place(model, device, precision), lambda image: preprocess(image) * factor, device, precision
        )


class _Negated(_Family):
    factor = -1.0


def test_replacing_a_family_reloads_models_loaded_through_it(toy_checkpoint, face_arrays):
    old, new = _Family(), _Negated()
    register_family("swapfam", old)
    try:
        fitted = ZeroShotEmotionClassifier(model=f"swapfam:{toy_checkpoint}").fit()
        before = fitted.embed(face_arrays)
        register_family("swapfam", new, replace=True)
        loaded = load_model(f"swapfam:{toy_checkpoint}")
        assert new.loads == 1 and old.loads == 1
        refit = ZeroShotEmotionClassifier(model=f"swapfam:{toy_checkpoint}").fit()
        assert refit._loaded_model() is loaded
        expected = _own_embeddings(toy_checkpoint, face_arrays, factor=-1.0)
        np.testing.assert_allclose(refit.embed(face_arrays), expected, atol=1e-5)
        assert not np.allclose(refit.embed(face_arrays), before, atol=1e-3)
        # an estimator fitted through the old family is told the model changed
        with pytest.raises(ModelChangedError):
            fitted.predict_proba(face_arrays)
    finally:
        unregister_family("swapfam")


# Finding 4: fine-tuning ------------------------------------------------------------


def _families(toy_checkpoint):
    """``(name for load_model, the family's own model from the same files)``."""
    open_clip = pytest.importorskip("open_clip")
    transformers = pytest.importorskip("transformers")
    clip = pytest.importorskip("clip")
    arch, weights = "ClipFerToy-ViT", toy_families.open_clip_models()["ClipFerToy-ViT"]
    folder = toy_families.hf_clip_folder()
    return {
        "openai": (toy_checkpoint, lambda: clip.model.build_model(torch.load(toy_checkpoint)).float()),
        "open_clip": (
            f"open_clip:{arch}/{weights}",
            lambda: open_clip.create_model_and_transforms(arch, pretrained=weights)[0],
        ),
        "hf_clip": (f"hf_clip:{folder}", lambda: transformers.AutoModel.from_pretrained(folder)),
    }


def _image_features(model, pixels):
    if hasattr(model, "get_image_features"):
        out = model.get_image_features(pixel_values=pixels)
        return out if isinstance(out, torch.Tensor) else out.pooler_output
    return model.encode_image(pixels)


def _sgd_losses(model, pixels, labels, steps=4):
    """Cross-entropy of the unit image features' first columns, a few SGD steps."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    losses = []
    for _ in range(steps):
        features = torch.nn.functional.normalize(_image_features(model, pixels), dim=-1)
        loss = torch.nn.functional.cross_entropy(features[:, :4] * 20, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("family", ["openai", "open_clip", "hf_clip"])
def test_a_loaded_fp32_model_fine_tunes_as_the_familys_own(family, toy_checkpoint):
    name, build = _families(toy_checkpoint)[family]
    loaded = load_model(name, device="cpu", precision="fp32")
    own = build()
    ours = loaded.model
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in own.named_parameters()
    ]
    torch.manual_seed(0)
    pixels, labels = torch.randn(6, 3, 32, 32), torch.randint(0, 4, (6,))
    with torch.inference_mode():  # the fast copy is made and used before training
        ours.eval()
        loaded.encode_image(pixels)
    expected = _sgd_losses(own, pixels, labels)
    got = _sgd_losses(ours, pixels, labels)
    assert abs(expected[-1] - expected[0]) > 1e-3  # it trains
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    for (key, value), reference in zip(ours.state_dict().items(), own.state_dict().values()):
        torch.testing.assert_close(value, reference, atol=1e-5, rtol=1e-4, msg=key)
    # back in eval mode, inference runs a copy made from the trained weights
    ours.eval()
    own.eval()
    with torch.inference_mode():
        torch.testing.assert_close(
            loaded.encode_image(pixels), _image_features(own, pixels), atol=1e-4, rtol=1e-4
        )
        tower = ours.vision_model if family == "hf_clip" else ours.visual
        from clip_fer.backends._accelerate import fast_copy

        assert (fast_copy(tower) is not None) == onednn_linear_available()


def test_a_loaded_models_parameters_hold_every_weight_at_every_precision(toy_checkpoint):
    clip = pytest.importorskip("clip")
    own = clip.model.build_model(torch.load(toy_checkpoint))
    expected = sum(p.numel() for p in own.visual.parameters())
    for precision in ("fp32", "int8", "bf16"):
        loaded = load_model(toy_checkpoint, device="cpu", precision=precision)
        with torch.inference_mode():
            loaded.encode_image(torch.randn(2, 3, 32, 32))
        assert sum(p.numel() for p in loaded.model.visual.parameters()) == expected, precision
        assert isinstance(loaded, LoadedModel)
