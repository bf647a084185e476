"""Loading CLIP by path (state dict, JIT archive, ResNet) and by name, and the cache."""

import pickle
import urllib.error

import numpy as np
import pytest
import torch
from conftest import build_toy_clip

from clip_fer import ZeroShotEmotionClassifier, load_model
from clip_fer.backends._loading import import_clip
from clip_fer.exceptions import InvalidParameterError, ModelLoadError


def test_state_dict_checkpoint_loads_offline(toy_checkpoint, face_arrays):
    loaded = load_model(toy_checkpoint)
    assert loaded.embed_dim == 32 and loaded.precision == "fp32" and loaded.input_dtype == torch.float32
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    assert clf.predict(face_arrays[:3]).shape == (3,)


def test_jit_archive_loads_like_its_state_dict(tmp_path, face_arrays):
    clip = import_clip()
    model = build_toy_clip(seed=1)
    image, text = torch.randn(1, 3, 32, 32), clip.tokenize(["a face"])
    torch.jit.trace(model, (image, text)).save(tmp_path / "toy.jit")
    torch.save(model.state_dict(), tmp_path / "toy.pt")
    from_jit = ZeroShotEmotionClassifier(model=str(tmp_path / "toy.jit")).fit()
    from_dict = ZeroShotEmotionClassifier(model=str(tmp_path / "toy.pt")).fit()
    np.testing.assert_allclose(from_jit.text_features_, from_dict.text_features_, atol=1e-6)
    np.testing.assert_allclose(from_jit.embed(face_arrays), from_dict.embed(face_arrays), atol=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_resnet_checkpoint_loads(tmp_path, face_arrays, precision):
    torch.save(build_toy_clip(vision="resnet").state_dict(), tmp_path / "rn.pt")
    clf = ZeroShotEmotionClassifier(model=tmp_path / "rn.pt", precision=precision).fit()
    assert clf.predict_proba(face_arrays[:2]).shape == (2, 7)


def test_model_is_loaded_once_per_process(toy_checkpoint):
    assert load_model(toy_checkpoint) is load_model(toy_checkpoint)
    a = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    b = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    assert a._loaded_model() is b._loaded_model()


def test_rewritten_checkpoint_is_reloaded(tmp_path):
    path = tmp_path / "m.pt"
    torch.save(build_toy_clip(seed=0).state_dict(), path)
    first = load_model(path)
    torch.save(build_toy_clip(seed=5).state_dict(), path)
    assert load_model(path) is not first


def test_pickle_holds_text_features_not_weights(toy_checkpoint, face_arrays):
    clf = ZeroShotEmotionClassifier(model=toy_checkpoint).fit()
    blob = pickle.dumps(clf)
    # The toy model alone weighs about 13 MB; the text features about 8 KB.
    assert len(blob) < 100_000
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.predict(face_arrays), clf.predict(face_arrays))


def test_unknown_name_says_what_is_accepted():
    with pytest.raises(
        ModelLoadError, match="neither a CLIP model name .*ViT-B/32.* nor an existing checkpoint"
    ):
        ZeroShotEmotionClassifier(model="ViT-Q/99").fit()


def test_failed_download_shows_how_to_pass_a_local_path(monkeypatch, tmp_path):
    clip = import_clip()

    def no_network(url, root):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(clip.clip, "_download", no_network)
    with pytest.raises(ModelLoadError, match=r"could not be downloaded .*model='/path/to/ViT-B-32.pt'"):
        ZeroShotEmotionClassifier(model="ViT-B/32", download_root=str(tmp_path)).fit()


def test_corrupt_checkpoint_is_named(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="broken.pt' could not be loaded as a CLIP model"):
        ZeroShotEmotionClassifier(model=str(bad)).fit()


def test_model_must_be_name_or_path():
    with pytest.raises(
        InvalidParameterError, match="must be a CLIP model name, a checkpoint path or a loaded model. Got int"
    ):
        ZeroShotEmotionClassifier(model=3).fit()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only errors")
def test_cpu_only_machine_rejects_cuda_and_fp16(toy_checkpoint):
    with pytest.raises(InvalidParameterError, match="CUDA is not available here"):
        ZeroShotEmotionClassifier(model=toy_checkpoint, device="cuda").fit()
    with pytest.raises(InvalidParameterError, match="fp16 needs CUDA"):
        ZeroShotEmotionClassifier(model=toy_checkpoint, precision="fp16").fit()
    with pytest.raises(
        InvalidParameterError, match="'precision' parameter of ZeroShotEmotionClassifier must be one of"
    ):
        ZeroShotEmotionClassifier(model=toy_checkpoint, precision="int4").fit()
    with pytest.raises(InvalidParameterError, match="must be 'auto' or a torch device"):
        ZeroShotEmotionClassifier(model=toy_checkpoint, device="gpu please").fit()
