"""Loading CLIP once per process, and the one loop that encodes text and images."""

import os
import threading
import urllib.error
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ._cache import text_embedding_cache
from ._quantize import quantize_image_tower
from ..utils._param_validation import check_option
from ..exceptions import InvalidParameterError, ModelLoadError, PromptBankError

__all__ = ["LoadedModel", "load_model", "clear_model_cache", "resolve_device"]

_CACHE = {}
_CACHE_LOCK = threading.Lock()
_PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")


def import_clip():
    """Import OpenAI's ``clip`` module (PyPI: clip-anytorch), quietly."""
    with warnings.catch_warnings():
        # clip imports pkg_resources, deprecated by setuptools; we pin setuptools<81.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        try:
            import clip
        except ImportError as exc:
            raise ModelLoadError(
                f"The 'clip' package cannot be imported ({exc}). Install it with "
                "`pip install clip-anytorch \"setuptools<81\"`."
            ) from exc
    return clip


@dataclass
class LoadedModel:
    """A CLIP model ready for inference, as kept in the process-wide cache.

    ``identity`` names the weights and the numerics (source, device, precision):
    embeddings cached under one identity are valid for every estimator with it.
    """

    model: torch.nn.Module
    preprocess: object
    device: torch.device
    precision: str
    identity: str

    @property
    def context_length(self):
        return self.model.context_length

    @property
    def embed_dim(self):
        return self.model.text_projection.shape[1]

    @property
    def input_dtype(self):
        return torch.float16 if self.precision == "fp16" else torch.float32

    def autocast(self):
        """bf16 autocast for ``precision="bf16"``; a no-op context otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")


def resolve_device(device):
    """``"auto"`` -> CUDA when present, else CPU; any other value is checked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError(
            "The 'device' parameter of load_model must be 'auto' or a "
            f"torch device such as 'cpu' or 'cuda:0'. Got {device!r} instead."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"The 'device' parameter is {device!r} but CUDA is not available here; "
            "use device='auto' or 'cpu'."
        )
    return resolved


def resolve_precision(precision, device):
    """``"auto"`` -> fp16 on CUDA, fp32 on CPU; other values are checked against the device."""
    check_option(precision, "precision", "load_model", _PRECISIONS)
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise InvalidParameterError(
            "The 'precision' parameter is 'fp16' but the device is "
            f"{device.type!r}; fp16 needs CUDA. Use precision='auto', 'fp32', 'bf16' "
            "or 'int8'."
        )
    if precision == "int8" and device.type != "cpu":
        raise InvalidParameterError(
            "The 'precision' parameter is 'int8' but the device is "
            f"{device.type!r}; int8 is a CPU path. Use precision='auto' or 'fp16'."
        )
    return precision


def _cache_key(model, device, precision):
    if os.path.isfile(model):
        stat = os.stat(model)
        source = ("file", os.path.abspath(model), stat.st_mtime_ns, stat.st_size)
    else:
        source = ("name", model)
    return source, str(device), precision


def _quiet_clip_load(clip, name, device, download_root):
    # clip.load first tries torch.jit.load, which torch >= 2.10 flags as deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return clip.load(name, device=device, jit=False, download_root=download_root)


def _load_uncached(name, device, precision, download_root):
    clip = import_clip()
    if name in clip.available_models():
        try:
            model, preprocess = _quiet_clip_load(clip, name, device, download_root)
        except (urllib.error.URLError, OSError) as exc:
            target = name.replace("/", "-")
            raise ModelLoadError(
                f"The CLIP model {name!r} could not be downloaded ({exc}). Without "
                "network access, copy the checkpoint file here and pass its path, "
                f"e.g. ZeroShotEmotionClassifier(model='/path/to/{target}.pt'), or "
                f"place it as ~/.cache/clip/{target}.pt."
            ) from exc
    elif os.path.isfile(name):
        try:
            model, preprocess = _quiet_clip_load(clip, name, device, download_root)
        except Exception as exc:
            raise ModelLoadError(
                f"The checkpoint {name!r} could not be loaded as a CLIP model "
                f"({type(exc).__name__}: {exc}). It must be an OpenAI CLIP JIT "
                "archive or a state dict saved with torch.save(model.state_dict())."
            ) from exc
    else:
        raise ModelLoadError(
            f"The model {name!r} is neither a CLIP model name "
            f"({', '.join(clip.available_models())}) nor an existing checkpoint file."
        )
    model = model.to(device=device, dtype=torch.float16 if precision == "fp16" else torch.float32)
    if precision == "int8":
        model.visual = quantize_image_tower(model.visual)
    return model.eval(), preprocess


def load_model(model, device="auto", precision="auto", download_root=None):
    """Load a CLIP model through the process-wide cache.

    Parameters
    ----------
    model : str or path-like
        An OpenAI CLIP name (``clip.available_models()``, downloaded on first use
        to ``download_root``) or the path of a local checkpoint: a JIT archive or
        a state dict. A JIT archive is code; load only ones from a trusted source.
    device : str, default="auto"
        ``"auto"`` picks CUDA when present, else CPU.
    precision : {"auto", "fp32", "fp16", "bf16", "int8"}, default="auto"
        ``"auto"`` is fp16 on CUDA and fp32 on CPU. ``"bf16"`` runs the model
        under bfloat16 autocast; ``"int8"`` (CPU only) quantises the image tower's
        linear layers to int8 with dynamic activation scales.
    download_root : str, default=None
        Where names are downloaded; None is ``~/.cache/clip``.

    Returns
    -------
    loaded : LoadedModel
        Shared by every caller that asks for the same (model, device, precision);
        a checkpoint file that changes on disk is loaded again.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise InvalidParameterError(
            "The 'model' parameter of load_model must be a CLIP model "
            f"name or a checkpoint path. Got {type(model).__name__} instead."
        )
    model = os.fspath(model)
    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    key = _cache_key(model, device, precision)
    with _CACHE_LOCK:
        if key not in _CACHE:
            net, preprocess = _load_uncached(model, device, precision, download_root)
            _CACHE[key] = LoadedModel(net, preprocess, device, precision, repr(key))
        return _CACHE[key]


def clear_model_cache():
    """Forget every loaded model, so the next use loads it again."""
    with _CACHE_LOCK:
        _CACHE.clear()


def normalized(features):
    features = features.float()
    return (features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu().numpy()


def _encode_tokens(model, tokens):
    """``model.encode_text`` on tokens cut after the longest sentence's end token.

    Under CLIP's causal mask, positions after the end token never reach it, so the
    cut changes nothing but the cost (77 positions -> about 10 for FER prompts).
    Code whose ``encode_text`` needs all 77 positions gets them.
    """
    length = int(tokens.argmax(dim=-1).max()) + 1  # the end token has the largest id
    try:
        return model.encode_text(tokens[:, :length])
    except RuntimeError:
        return model.encode_text(tokens)


def encode_text(loaded, sentences, batch_size=256):
    """L2-normalised text embeddings, float32 array of shape (n_sentences, dim).

    Sentences already encoded with this model come from the process-wide
    sentence cache.
    """
    clip = import_clip()
    out = np.empty((len(sentences), loaded.embed_dim), dtype=np.float32)
    missing = []
    for i, sentence in enumerate(sentences):
        found = text_embedding_cache.get(loaded.identity, sentence)
        if found is None:
            missing.append(i)
        else:
            out[i] = found
    for start in range(0, len(missing), batch_size):
        chunk = missing[start:start + batch_size]
        batch = [sentences[i] for i in chunk]
        try:
            tokens = clip.tokenize(batch, context_length=loaded.context_length)
        except RuntimeError:
            long = max(batch, key=len)
            raise PromptBankError(
                f"A sentence is longer than the model's {loaded.context_length}-token "
                f"context, e.g. {long!r}; shorten its template or words."
            ) from None
        with torch.inference_mode(), loaded.autocast():
            features = normalized(_encode_tokens(loaded.model, tokens.to(loaded.device)))
        for i, row in zip(chunk, features):
            out[i] = row
            text_embedding_cache.put(loaded.identity, sentences[i], row)
    return out
