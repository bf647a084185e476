"""The open backend seam: a third-party family registered from here, and model objects
passed as ``model=`` (identity from their weights, shared by clone, pickled by identity)."""

import pickle

import numpy as np
import pytest
import torch
from conftest import build_toy_clip
from real_inputs import kind
from sklearn.base import clone

from clip_fer import ZeroShotEmotionClassifier, load_model
from clip_fer.backends import (
    LoadedModel,
    ModelFamily,
    ModelReference,
    file_part,
    model_identity,
    place,
    register_family,
    registered_families,
    resolve_device,
    resolve_precision,
)
from clip_fer.backends._families import unregister_family
from clip_fer.backends.openai import OpenAIModel, import_clip
from clip_fer.exceptions import InvalidParameterError, ModelChangedError, ModelLoadError


class ToyModel(LoadedModel):
    """All a family's model class must do: encode images and sentences."""

    family = "toyfam"

    def encode_image(self, pixels):
        return self.model.encode_image(self.to_device(pixels))

    def encode_text(self, sentences):
        tokens = import_clip().tokenize(sentences, context_length=self.context_length)
        return self.model.encode_text(tokens.to(self.device))


class ToyFamily:
    """A family as a third party writes one: OpenAI state dicts, loaded its own way."""

    def __init__(self):
        self.loads = 0

    def identify(self, spec, download_root):
        return [file_part(spec)]

    def load(self, spec, device, precision, download_root):
        self.loads += 1
        clip = import_clip()
        model = place(clip.model.build_model(torch.load(spec, map_location="cpu")), device, precision)
        preprocess = clip.clip._transform(model.visual.input_resolution)
        return ToyModel(
            model,
            preprocess,
            device,
            precision,
            embed_dim=model.text_projection.shape[1],
            context_length=model.context_length,
            logit_scale=model.logit_scale.exp().item(),
        )


@pytest.fixture
def toy_family():
    family = ToyFamily()
    register_family("toyfam", family)
    yield family
    unregister_family("toyfam")


def test_a_registered_family_loads_and_predicts_like_the_builtin_one(toy_family, toy_checkpoint, face_arrays):
    assert isinstance(toy_family, ModelFamily) and "toyfam" in registered_families()
    ours = ZeroShotEmotionClassifier(f"toyfam:{toy_checkpoint}").fit()
    builtin = ZeroShotEmotionClassifier(toy_checkpoint).fit()
    np.testing.assert_allclose(ours.predict_proba(face_arrays), builtin.predict_proba(face_arrays), atol=1e-6)
    assert type(ours._loaded_model()) is ToyModel and toy_family.loads == 1  # cached by content
    # Each family's identity is its own: the same file under two families is two models.
    assert ours.model_identity_ != builtin.model_identity_


def test_registering_checks_the_prefix_and_the_family(toy_family):
    with pytest.raises(InvalidParameterError, match="already registered under 'toyfam'"):
        register_family("toyfam", ToyFamily())
    with pytest.raises(InvalidParameterError, match="'prefix' parameter of register_family .* Got 'C'"):
        register_family("C", ToyFamily())  # would read C:/models/x.pt as a family
    with pytest.raises(InvalidParameterError, match="lacks identify"):
        register_family("other", object())
    with pytest.raises(ModelLoadError, match="must return a clip_fer.backends.LoadedModel"):
        register_family("broken", type("F", (), {"identify": lambda s, a, b: [], "load": lambda s, *a: 3})())
        try:
            load_model("broken:x")
        finally:
            unregister_family("broken")


def test_one_device_and_precision_helper():
    cpu = resolve_device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_precision("auto", cpu) == "fp32"
    with pytest.raises(InvalidParameterError, match="fp16 needs CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(InvalidParameterError, match="'device' parameter of load_model must be 'auto'"):
        resolve_device("gpu0")
    module = place(torch.nn.Linear(2, 2).train(), cpu, "bf16")
    assert module.weight.dtype == torch.float32 and not module.training


def test_a_loaded_model_object_is_a_model(toy_checkpoint, face_arrays):
    loaded = load_model(toy_checkpoint)
    by_object = ZeroShotEmotionClassifier(loaded).fit()
    by_name = ZeroShotEmotionClassifier(toy_checkpoint).fit()
    np.testing.assert_array_equal(by_object.predict_proba(face_arrays), by_name.predict_proba(face_arrays))
    assert by_object.model_identity_ == by_name.model_identity_ == model_identity(toy_checkpoint)
    assert clone(by_object).model is loaded  # shared, never copied


@kind(
    26,
    "a model object fine-tuned in place after fit (its weights changed, the object the same)",
    "ModelChangedError from predict",
)
def test_a_model_built_in_memory_is_identified_by_its_weights(face_arrays):
    clip = import_clip()
    module = build_toy_clip(seed=3)
    preprocess = clip.clip._transform(module.visual.input_resolution)
    loaded = OpenAIModel(module, preprocess, "cpu", "fp32")
    twin = OpenAIModel(build_toy_clip(seed=3), preprocess, "cpu", "fp32")
    other = OpenAIModel(build_toy_clip(seed=4), preprocess, "cpu", "fp32")
    assert loaded.weights_identity == twin.weights_identity != other.weights_identity
    clf = ZeroShotEmotionClassifier(loaded).fit()
    clf.predict(face_arrays)
    with torch.no_grad():
        module.visual.proj.mul_(-1)  # fine-tuned in place after fit
    with pytest.raises(ModelChangedError, match="no longer the one"):
        clf.predict(face_arrays)
    with pytest.raises(InvalidParameterError, match="'precision' parameter .* runs at 'fp32'"):
        ZeroShotEmotionClassifier(loaded, precision="bf16").fit()


def test_raw_torch_modules_are_refused_with_the_fix():
    with pytest.raises(InvalidParameterError, match="a CLIP model name, a checkpoint path or a loaded model"):
        ZeroShotEmotionClassifier(build_toy_clip()).fit()


@kind(
    26,
    "an estimator holding a model object, pickled and loaded, then given no model, another model, the same",
    "no weights in the pickle; ModelLoadError saying set_params(model=...); ModelChangedError; the same answers",
)
def test_a_pickled_model_object_travels_as_its_identity(toy_checkpoint, face_arrays, tmp_path):
    other_path = tmp_path / "other.pt"
    torch.save(build_toy_clip(seed=1).state_dict(), other_path)
    loaded = load_model(toy_checkpoint)
    clf = ZeroShotEmotionClassifier(loaded).fit()
    expected = clf.predict_proba(face_arrays)
    weights = sum(t.numel() * t.element_size() for t in loaded.model.state_dict().values())
    data = pickle.dumps(clf)
    assert len(data) < weights / 4  # the text features, not the weights
    restored = pickle.loads(data)
    assert isinstance(restored.model, ModelReference)
    with pytest.raises(ModelLoadError, match=r"set_params\(model=loaded\)"):
        restored.predict(face_arrays)
    with pytest.raises(ModelChangedError):
        restored.set_params(model=load_model(str(other_path))).predict(face_arrays)
    restored.set_params(model=loaded)
    np.testing.assert_array_equal(restored.predict_proba(face_arrays), expected)


class WrappingFamily:
    """A family whose load() loads another model through load_model (a wrapper family)."""

    def identify(self, spec, download_root):
        return [file_part(spec), "wrapped"]

    def load(self, spec, device, precision, download_root):
        inner = load_model(spec, device=device, precision=precision)
        return ToyModel(
            inner.model,
            inner.preprocess,
            device,
            precision,
            embed_dim=inner.embed_dim,
            context_length=inner.context_length,
            logit_scale=inner.logit_scale,
        )


def test_a_family_may_load_another_model_in_its_load(toy_checkpoint, face_arrays):
    """The model cache's lock is re-entrant: a nested load_model in a family's load()
    hung forever on a plain lock."""
    import threading

    register_family("wrapfam", WrappingFamily())
    result = {}
    try:
        worker = threading.Thread(
            target=lambda: result.update(clf=ZeroShotEmotionClassifier(f"wrapfam:{toy_checkpoint}").fit()),
            daemon=True,
        )
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "a nested load_model hung"
        builtin = ZeroShotEmotionClassifier(toy_checkpoint).fit()
        np.testing.assert_allclose(
            result["clf"].predict_proba(face_arrays), builtin.predict_proba(face_arrays), atol=1e-6
        )
    finally:
        unregister_family("wrapfam")
