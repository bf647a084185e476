"""The CPU fast paths: OpenAI's image transformer run batch-first, the bf16 policy."""

import warnings

import numpy as np
import pytest
import torch

from clip_fer import ZeroShotEmotionClassifier, load_model
from clip_fer.backends import _cpu
from clip_fer.backends._layout import BatchFirstTransformer, batch_first_image_tower
from clip_fer.backends._loading import resolve_precision
from tests.conftest import FER2013, TINY_FER_CLIP, build_toy_clip, needs_fer2013, needs_tiny_fer_clip


def _deep_toy(seed=0):
    """A toy ViT with 3 blocks and 2 heads, so head splitting and stacking are exercised."""
    clip = pytest.importorskip("clip")
    torch.manual_seed(seed)
    return clip.model.CLIP(32, 32, 3, 128, 16, 77, 49408, 64, 1, 1).eval()


def test_batch_first_tower_equals_clips_own(face_arrays):
    reference = _deep_toy().visual
    converted = batch_first_image_tower(_deep_toy().visual)
    assert isinstance(converted.transformer, BatchFirstTransformer)
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in converted.modules())
    pixels = torch.randn(5, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(converted(pixels), reference(pixels), atol=1e-5, rtol=1e-5)


def test_loaded_openai_vit_runs_batch_first_and_resnet_is_unchanged(toy_checkpoint, tmp_path):
    assert isinstance(
        load_model(toy_checkpoint, device="cpu").model.visual.transformer, BatchFirstTransformer
    )
    torch.save(build_toy_clip(vision="resnet").state_dict(), tmp_path / "rn.pt")
    visual = load_model(tmp_path / "rn.pt", device="cpu").model.visual
    assert not hasattr(visual, "transformer")
    # the text transformer (causal mask) keeps clip's own layout
    assert not isinstance(load_model(toy_checkpoint, device="cpu").model.transformer, BatchFirstTransformer)


def test_a_tower_with_an_attention_mask_is_left_alone():
    visual = _deep_toy().visual
    visual.transformer.resblocks[0].attn_mask = torch.zeros(50, 50)
    assert batch_first_image_tower(visual).transformer.__class__.__name__ == "Transformer"


@pytest.fixture
def fresh_warning():
    _cpu._WARNED.clear()
    yield
    _cpu._WARNED.clear()


def test_bf16_without_native_support_falls_back_to_fp32_with_one_warning(monkeypatch, fresh_warning):
    monkeypatch.setattr(_cpu, "has_native_bf16", lambda: False)
    cpu = torch.device("cpu")
    with pytest.warns(RuntimeWarning, match=r"runs at fp32 on this CPU.*no native bfloat16.*'int8'"):
        assert resolve_precision("bf16", cpu) == "fp32"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("bf16", cpu) == "fp32"  # once per process
    assert resolve_precision("int8", cpu) == "int8" and resolve_precision("fp32", cpu) == "fp32"


def test_bf16_fallback_model_is_the_fp32_model(toy_checkpoint, monkeypatch, fresh_warning, face_arrays):
    monkeypatch.setattr(_cpu, "has_native_bf16", lambda: False)
    with pytest.warns(RuntimeWarning):
        clf = ZeroShotEmotionClassifier(model=toy_checkpoint, precision="bf16", cache=False).fit()
    assert clf._loaded_model() is load_model(toy_checkpoint, device="cpu", precision="fp32")
    assert clf._loaded_model().precision == "fp32"


def test_bf16_with_native_support_stays_bf16(monkeypatch, fresh_warning):
    monkeypatch.setattr(_cpu, "has_native_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("bf16", torch.device("cpu")) == "bf16"


def test_cpu_summary_names_the_capability():
    summary = _cpu.cpu_summary()
    assert torch.backends.cpu.get_cpu_capability() in summary and "quantized engine" in summary
    assert isinstance(_cpu.has_native_bf16(), bool)


@needs_tiny_fer_clip
@needs_fer2013
def test_int8_agrees_with_fp32_on_the_fer2013_checkpoint():
    paths = sorted(str(p) for p in (FER2013 / "public_test").glob("*/*.jpg"))[::36]
    fp32 = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), cache=False, batch_size=64).fit()
    int8 = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), cache=False, batch_size=64, precision="int8")
    assert np.mean(int8.fit().predict(paths) == fp32.predict(paths)) >= 0.99
