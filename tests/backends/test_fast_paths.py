"""The CPU fast paths: OpenAI's image transformer run batch-first, fp32 through oneDNN,
the bf16 policy."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from clip_fer import ZeroShotEmotionClassifier, load_model
from clip_fer.backends import _cpu
from clip_fer.backends._accelerate import fast_copy
from clip_fer.backends._activations import fold_quick_gelu
from clip_fer.backends._layout import BatchFirstTransformer, batch_first_image_tower
from clip_fer.backends._loading import clear_model_cache, resolve_precision
from clip_fer.backends._onednn import OneDNNLinear, onednn_linear_available
from clip_fer.backends._quantize import convert_tower
from tests.conftest import FER2013, TINY_FER_CLIP, build_toy_clip, needs_fer2013, needs_tiny_fer_clip


def _deep_toy(seed=0):
    """A toy ViT with 3 blocks and 2 heads, so head splitting and stacking are exercised."""
    clip = pytest.importorskip("clip")
    torch.manual_seed(seed)
    return clip.model.CLIP(32, 32, 3, 128, 16, 77, 49408, 64, 1, 1).eval()


def _fast(loaded, name="visual"):
    """The converted copy that ``loaded``'s image tower runs for inference (None: none)."""
    with torch.inference_mode():
        found = fast_copy(loaded.model.get_submodule(name))
    return None if found is None else found.inner


def _fresh(path, precision):
    clear_model_cache()
    return load_model(path, device="cpu", precision=precision)


def convert_image_tower(visual, precision):
    return convert_tower(visual, precision, keep=("attnpool.",))


def test_batch_first_tower_equals_clips_own(face_arrays):
    reference = _deep_toy().visual
    converted = batch_first_image_tower(_deep_toy().visual)
    assert isinstance(converted.transformer, BatchFirstTransformer)
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in converted.modules())
    pixels = torch.randn(5, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(converted(pixels), reference(pixels), atol=1e-5, rtol=1e-5)


def test_loaded_openai_vit_runs_batch_first_at_int8_and_resnet_is_unchanged(toy_checkpoint, tmp_path):
    int8 = load_model(toy_checkpoint, device="cpu", precision="int8")
    assert isinstance(_fast(int8).transformer, BatchFirstTransformer)
    assert not isinstance(int8.model.transformer, BatchFirstTransformer)  # the text tower (causal mask)
    assert not isinstance(int8.model.visual.transformer, BatchFirstTransformer)  # the family's own stays
    torch.save(build_toy_clip(vision="resnet").state_dict(), tmp_path / "rn.pt")
    visual = _fast(load_model(tmp_path / "rn.pt", device="cpu", precision="int8"))
    assert not hasattr(visual, "transformer")


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
    assert ("through oneDNN" in summary) == onednn_linear_available()
    assert isinstance(_cpu.has_native_bf16(), bool)


@needs_tiny_fer_clip
@needs_fer2013
def test_int8_agrees_with_fp32_on_the_fer2013_checkpoint():
    paths = sorted(str(p) for p in (FER2013 / "public_test").glob("*/*.jpg"))[::36]
    fp32 = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), cache=False, batch_size=64).fit()
    int8 = ZeroShotEmotionClassifier(model=str(TINY_FER_CLIP), cache=False, batch_size=64, precision="int8")
    assert np.mean(int8.fit().predict(paths) == fp32.predict(paths)) >= 0.99


def test_checkpoint_loads_without_importing_clip_or_torchvision(toy_checkpoint):
    import subprocess
    import sys

    code = (
        "import sys; from clip_fer import ZeroShotEmotionClassifier as Z\n"
        f"Z(model={toy_checkpoint!r}).fit().predict_proba([__import__('numpy').zeros((48, 48), 'uint8')])\n"
        "print(sorted(m for m in ('clip', 'torchvision', 'torch._dynamo') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("size", [(48, 48), (300, 200), (201, 333), (224, 224), (7, 90)])
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_clip_preprocess_equals_clips_torchvision_pipeline(size, mode):
    from PIL import Image

    from clip_fer.backends._clip_files import ClipPreprocess
    from clip_fer.backends.openai import import_clip

    rng = np.random.default_rng(sum(size))
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8).squeeze()
    image = Image.fromarray(array, mode)
    for n_px in (64, 224):
        expected = import_clip().clip._transform(n_px)(image)
        torch.testing.assert_close(ClipPreprocess(n_px)(image), expected, atol=0, rtol=0)


def test_tokens_equal_clips_tokenize():
    from clip_fer import PromptBank
    from clip_fer.backends._clip_files import release_names, token_count, tokenize
    from clip_fer.backends.openai import import_clip

    clip = import_clip()
    sentences = list(PromptBank().fit().sentences_) + ["Ünïcode &amp; émojis 🙂 too!", ""]
    torch.testing.assert_close(tokenize(sentences, 77), clip.tokenize(sentences, context_length=77))
    assert [token_count(s) for s in sentences] == [len(clip.clip._tokenizer.encode(s)) + 2 for s in sentences]
    with pytest.raises(RuntimeError, match="too long"):
        tokenize(["word " * 80], 77)
    assert release_names() == tuple(clip.available_models())


def test_sentence_embeddings_persist_in_cache_dir(toy_checkpoint, tmp_path, monkeypatch):
    from clip_fer import clear_embedding_cache

    first = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path).fit()
    on_disk = list(tmp_path.rglob("*.sentence"))
    assert len(on_disk) == len(first.prompt_bank_.sentences_) and not list(tmp_path.rglob("*.emb"))
    clear_embedding_cache()  # as a new process: nothing in memory
    loaded = load_model(toy_checkpoint)

    def no_encoding(sentences):
        raise AssertionError(f"encoded {len(sentences)} sentences again")

    monkeypatch.setattr(loaded, "encode_text", no_encoding)
    second = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path).fit()
    np.testing.assert_array_equal(second.text_features_, first.text_features_)
    monkeypatch.undo()
    # without cache_dir (or with cache=False) the folder is not read
    clear_embedding_cache()
    calls = []
    original = loaded.encode_text
    monkeypatch.setattr(loaded, "encode_text", lambda s: calls.append(len(s)) or original(s))
    ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path, cache=False).fit()
    assert calls


def test_unwritable_cache_dir_warns_and_fits(toy_checkpoint, tmp_path):
    from clip_fer.backends._cache import _digest
    from clip_fer.exceptions import CacheWriteWarning

    # a file where the model's folder goes: every write fails, even as root
    (tmp_path / _digest(load_model(toy_checkpoint).identity)[:16]).write_text("")
    with pytest.warns(CacheWriteWarning, match="Sentence embeddings could not be written"):
        clf = ZeroShotEmotionClassifier(model=toy_checkpoint, cache_dir=tmp_path).fit()
    assert np.isfinite(clf.text_features_).all()


def _packed(module):
    return [m for m in module.modules() if isinstance(m, OneDNNLinear)]


def test_onednn_linear_equals_f_linear_with_and_without_bias():
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    torch.manual_seed(3)
    for bias in (True, False):
        linear = torch.nn.Linear(48, 20, bias=bias)
        x = torch.randn(2, 7, 48)
        with torch.inference_mode():
            torch.testing.assert_close(OneDNNLinear(linear)(x), linear(x), atol=1e-5, rtol=1e-5)
            # a non-contiguous input (a transposed view) gives the same rows
            view = x.transpose(0, 1)
            torch.testing.assert_close(OneDNNLinear(linear)(view), linear(view), atol=1e-5, rtol=1e-5)


def test_fp32_openai_vit_runs_batch_first_through_onednn_and_equals_clips_own(face_arrays):
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    reference = _deep_toy().visual
    converted = convert_image_tower(batch_first_image_tower(_deep_toy().visual), "fp32")
    assert len(_packed(converted)) == 3 * 4  # in and out projections, two MLP layers, per block
    assert not any(type(m) is torch.nn.Linear for m in converted.modules())
    pixels = torch.randn(5, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(converted(pixels), reference(pixels), atol=1e-5, rtol=1e-5)
        # an image's embedding hardly depends on the rest of its batch (nor does clip's
        # own: neither is bit for bit the same alone and among five)
        alone, among = converted(pixels[2:3]), converted(pixels)[2:3]
        torch.testing.assert_close(alone, among, atol=1e-6, rtol=1e-5)
        assert torch.equal(converted(pixels[:2])[:1], converted(pixels[:1]))  # as clip's own


def test_loaded_fp32_model_packs_its_image_tower_only_where_onednn_is_there(toy_checkpoint, monkeypatch):
    from clip_fer.backends import _accelerate

    try:
        monkeypatch.setattr(_accelerate, "onednn_linear_available", lambda: False)
        plain = _fresh(toy_checkpoint, "fp32")
        assert _fast(plain) is None and not _packed(plain.model)
        monkeypatch.setattr(_accelerate, "onednn_linear_available", lambda: True)
        packed = _fresh(toy_checkpoint, "fp32")
        assert isinstance(_fast(packed).transformer, BatchFirstTransformer)
        assert _packed(_fast(packed)) and not _packed(packed.model)  # the family's own modules stay
    finally:
        clear_model_cache()


def test_bf16_falls_back_where_the_environment_caps_onednn_below_bf16():
    # An AVX2-only CPU imitated on this one: oneDNN may not use AVX-512 (BF16) here.
    code = (
        "import warnings, torch\n"
        "from clip_fer.backends import _cpu\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    print(_cpu.resolve_bf16(torch.device('cpu')))\n"
        "print(_cpu.cpu_summary())\n"
        "print(*[str(w.message) for w in caught])\n"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    precision, summary, warning = out.stdout.splitlines()[:3]
    assert precision == "fp32"
    assert summary.endswith("limited by ONEDNN_MAX_CPU_ISA=AVX2")
    assert "runs at fp32 on this CPU" in warning
    if "avx512_bf16" in summary:  # the CPU has it: the warning names the cap
        assert "ONEDNN_MAX_CPU_ISA=AVX2" in warning


class _Reordered(torch.nn.Module):
    """transformers-like MLP names whose forward runs fc2 before fc1: not foldable."""

    def __init__(self, quick_gelu):
        super().__init__()
        self.activation_fn, self.fc1, self.fc2 = quick_gelu, torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)

    def forward(self, x):
        return self.fc1(self.activation_fn(self.fc2(x)))


def test_quick_gelu_mlps_fold_into_one_silu_and_others_stay():
    clip = pytest.importorskip("clip")
    reference = _deep_toy().visual
    folded = fold_quick_gelu(_deep_toy().visual)
    assert not any(isinstance(m, clip.model.QuickGELU) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.SiLU) for m in folded.modules()) == 3  # one per block
    pixels = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(folded(pixels), reference(pixels), atol=1e-5, rtol=1e-5)
    torch.manual_seed(1)
    holder = torch.nn.Sequential(_Reordered(clip.model.QuickGELU()))
    before = holder(torch.ones(2, 8))
    fold_quick_gelu(holder)
    assert isinstance(holder[0].activation_fn, clip.model.QuickGELU)  # left as it was
    torch.testing.assert_close(holder(torch.ones(2, 8)), before, atol=0, rtol=0)


def test_loaded_fast_towers_have_no_quick_gelu_left(toy_checkpoint):
    for precision in ("int8", "fp32"):
        loaded = load_model(toy_checkpoint, device="cpu", precision=precision)
        if precision == "int8" or onednn_linear_available():
            names = {type(m).__name__ for m in _fast(loaded).modules()}
            assert "QuickGELU" not in names and "SiLU" in names, precision


def test_a_packed_tower_keeps_its_weights_in_state_dict_copies_and_pickles():
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    import copy
    import io

    reference = _deep_toy().visual
    packed = convert_image_tower(batch_first_image_tower(_deep_toy().visual), "fp32")
    plain_state = batch_first_image_tower(_deep_toy().visual).state_dict()
    state = packed.state_dict()
    assert state.keys() == plain_state.keys()  # fold_quick_gelu scales some, keeps names
    pixels = torch.randn(3, 3, 32, 32)
    with torch.inference_mode():
        expected = reference(pixels)
        # a state dict saved from the packed tower loads into an unpacked one
        unpacked = fold_quick_gelu(batch_first_image_tower(_deep_toy(seed=5).visual))
        unpacked.load_state_dict(state)
        torch.testing.assert_close(unpacked(pixels), expected, atol=1e-5, rtol=1e-5)
        # and into a packed one built from other weights
        other = convert_image_tower(batch_first_image_tower(_deep_toy(seed=5).visual), "fp32")
        other.load_state_dict(state)
        torch.testing.assert_close(other(pixels), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(copy.deepcopy(packed)(pixels), expected, atol=1e-5, rtol=1e-5)
        buffer = io.BytesIO()
        torch.save(packed, buffer)
        buffer.seek(0)
        restored = torch.load(buffer, weights_only=False)
        torch.testing.assert_close(restored(pixels), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({k: v for k, v in state.items() if not k.endswith("c_fc.weight")})


def test_a_loaded_fp32_models_state_dict_rebuilds_clips_own_model(toy_checkpoint):
    # The QuickGELU fold and the attention's input projection stay out of the
    # state dict: clip builds the same model from it (with the fold in it, its
    # QuickGELU ran on weights scaled by 1.702: wrong outputs and no error).
    clip = pytest.importorskip("clip")
    original = torch.load(toy_checkpoint)
    loaded = load_model(toy_checkpoint, device="cpu", precision="fp32").model
    state = loaded.state_dict()
    assert state.keys() == original.keys()
    rebuilt = clip.model.build_model({k: v.clone() for k, v in state.items()}).float().eval()
    reference = clip.model.build_model(original).float().eval()
    pixels = torch.randn(3, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(
            rebuilt.encode_image(pixels), reference.encode_image(pixels), atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            loaded.encode_image(pixels), reference.encode_image(pixels), atol=1e-5, rtol=1e-5
        )


def test_packed_linear_gives_input_gradients_and_follows_the_mkldnn_switch(toy_checkpoint, monkeypatch):
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    from clip_fer.backends import _onednn

    torch.manual_seed(4)
    linear = torch.nn.Linear(12, 6)
    packed = OneDNNLinear(linear)
    x = torch.randn(5, 12, requires_grad=True)
    (grad,) = torch.autograd.grad(packed(x).square().sum(), x)  # oneDNN's operator has no backward
    (expected,) = torch.autograd.grad(linear(x).square().sum(), x)
    torch.testing.assert_close(grad, expected)
    with pytest.raises(RuntimeError, match="dtype"):  # as nn.Linear fails, not inside oneDNN
        packed(torch.randn(2, 12, dtype=torch.float64))
    with torch.backends.mkldnn.flags(enabled=False):
        assert not onednn_linear_available()
        assert _fast(_fresh(toy_checkpoint, "fp32")) is None
        monkeypatch.setattr(_onednn, "_ops", lambda: pytest.fail("oneDNN used while switched off"))
        with torch.inference_mode():
            torch.testing.assert_close(packed(x), linear(x))


def test_identity_of_a_packed_model_in_memory_is_hashed_once(monkeypatch):
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    from clip_fer.backends._identity import weights_digest

    tower = convert_image_tower(batch_first_image_tower(_deep_toy().visual), "fp32")
    first = weights_digest(tower)
    unpacked = []
    monkeypatch.setattr(
        OneDNNLinear, "weight", lambda self: unpacked.append(1) or self.packed_weight.to_dense()
    )
    assert weights_digest(tower) == first and not unpacked  # memoised: nothing unpacked again
    monkeypatch.undo()
    with torch.no_grad():
        tower.transformer.resblocks[0].ln_1.weight.mul_(2)
    second = weights_digest(tower)
    assert second != first  # a change is still noticed, in a packed layer too
    state = tower.state_dict()
    state["transformer.resblocks.0.mlp.c_fc.weight"] = state["transformer.resblocks.0.mlp.c_fc.weight"] * 2
    tower.load_state_dict(state)
    assert weights_digest(tower) not in (first, second)


@pytest.mark.parametrize("variable", ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"])
def test_fp32_stays_on_mkl_where_the_environment_caps_onednn_below_avx2(
    toy_checkpoint, monkeypatch, variable
):
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    for value in ("AVX2", "garbage"):  # not below AVX2 (oneDNN ignores what it does not know)
        monkeypatch.setenv(variable, value)
        assert onednn_linear_available(), value
    monkeypatch.setenv(variable, "sse41")
    assert not onednn_linear_available()
    assert f"through torch's default BLAS ({variable}=sse41 caps oneDNN below AVX2)" in _cpu.cpu_summary()
    assert _fast(_fresh(toy_checkpoint, "fp32")) is None
    clear_model_cache()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # read before DNNL_MAX_CPU_ISA
    assert onednn_linear_available()


def test_a_packed_tower_traces_exports_to_onnx_and_compiles(toy_checkpoint, tmp_path):
    # Each failed at fp32 ("Unsupported value kind: Tensor", inductor's "weight must
    # be a graph constant") while the default fp32 model was packed.
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    loaded = load_model(toy_checkpoint, device="cpu", precision="fp32")
    visual = loaded.model.visual
    assert _packed(_fast(loaded))
    pixels = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        expected = visual(pixels)
    with torch.no_grad():
        traced = torch.jit.trace(visual, pixels)
        torch.testing.assert_close(traced(pixels), expected, atol=1e-5, rtol=1e-5)
        linear = torch.nn.Linear(8, 4)
        compiled = torch.compile(OneDNNLinear(linear))
        x = torch.randn(3, 8)
        torch.testing.assert_close(compiled(x), linear(x), atol=1e-6, rtol=1e-5)
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "visual.onnx"
    torch.onnx.export(
        visual,
        (pixels[:1],),
        path,
        input_names=["pixels"],
        dynamic_axes={"pixels": {0: "batch"}},
        dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"pixels": pixels.numpy()})[0], expected.numpy(), atol=1e-5)


def test_a_packed_layer_unpickled_where_torch_cannot_pack_runs_plain(monkeypatch):
    # e.g. torch.save(loaded.model) on an x86 machine, torch.load on an ARM one
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    import pickle

    from clip_fer.backends import _onednn

    torch.manual_seed(5)
    linear = torch.nn.Linear(16, 8)
    data = pickle.dumps(OneDNNLinear(linear))
    monkeypatch.setattr(_onednn, "_probe", lambda: False)
    monkeypatch.setattr(_onednn, "_ops", lambda: pytest.fail("oneDNN used where torch cannot pack"))
    restored = pickle.loads(data)
    x = torch.randn(4, 16)
    with torch.inference_mode():
        torch.testing.assert_close(restored(x), linear(x))
    torch.testing.assert_close(restored.state_dict()["weight"], linear.weight.detach())
    assert not restored.packed


def test_a_packed_layer_converts_as_an_nn_linear_would():
    # model.double() left the packed fp32 weight as it was: a double input then failed
    if not onednn_linear_available():
        pytest.skip("no oneDNN packed linear in this torch build")
    torch.manual_seed(6)
    linear = torch.nn.Linear(10, 3)
    packed = OneDNNLinear(linear)
    x = torch.randn(4, 10, dtype=torch.float64)
    with torch.inference_mode():
        torch.testing.assert_close(packed.double()(x), linear.double()(x))
        assert not packed.packed and packed.state_dict()["weight"].dtype == torch.float64
        packed.float()
        assert packed.packed  # packed again at fp32 on the CPU
        torch.testing.assert_close(packed(x.float()), linear.float()(x.float()), atol=1e-6, rtol=1e-5)
