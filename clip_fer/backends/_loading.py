"""Loading a model once per process (any family), and the text-encoding loop.

A model name picks its family by prefix (``"openai:"``, ``"open_clip:"``,
``"hf_clip:"``; none is OpenAI's names and checkpoint paths, as before) and the
family's module in this package loads it into a :class:`LoadedModel`. Nothing
below this module's :func:`load_model` knows which family runs.
"""

import importlib
import os
import threading

import numpy as np
import torch

from ..exceptions import InvalidParameterError
from ..utils._param_validation import check_option
from ._base import LoadedModel, normalized
from ._cache import sentence_key, text_embedding_cache, warn_cache_write
from ._cpu import resolve_bf16
from ._offline import forget, load_once
from .openai import _encode_tokens, import_clip  # noqa: F401  (kept importable from here)

__all__ = ["LoadedModel", "clear_model_cache", "load_model", "parse_model_name", "resolve_device"]

_CACHE = {}
_CACHE_LOCK = threading.Lock()
_PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
# Name prefix -> the module of this package that loads the family.
FAMILIES = {"openai": ".openai", "open_clip": ".open_clip", "hf_clip": ".hf"}


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
    """``"auto"`` -> fp16 on CUDA, fp32 on CPU; other values are checked against the
    device, and ``"bf16"`` on a CPU without native bf16 runs at fp32 (warned)."""
    check_option(precision, "precision", "load_model", _PRECISIONS)
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise InvalidParameterError(
            "The 'precision' parameter is 'fp16' but the device is "
            f"{device.type!r}; fp16 needs CUDA. Use precision='auto', 'fp32', 'bf16' "
            "or 'int8'."
        )
    if precision == "bf16":
        return resolve_bf16(device)
    if precision == "int8" and device.type != "cpu":
        raise InvalidParameterError(
            "The 'precision' parameter is 'int8' but the device is "
            f"{device.type!r}; int8 is a CPU path. Use precision='auto' or 'fp16'."
        )
    return precision


def parse_model_name(model):
    """``"family:spec"`` -> ``(family, spec)``; a name with no known prefix is OpenAI's.

    >>> parse_model_name("open_clip:ViT-B-32/laion2b_s34b_b79k")
    ('open_clip', 'ViT-B-32/laion2b_s34b_b79k')
    >>> parse_model_name("ViT-B/32")
    ('openai', 'ViT-B/32')
    """
    family, sep, spec = model.partition(":")
    if sep and family in FAMILIES:
        return family, spec
    return "openai", model


def _family(family):
    return importlib.import_module(FAMILIES[family], __package__)


def _cache_key(family, spec, device, precision):
    source = _family(family).source(spec)
    if family == "openai":  # as before the other families existed, so caches stay valid
        return source, str(device), precision
    return (family, source), str(device), precision


def load_model(model, device="auto", precision="auto", download_root=None):
    """Load a model through the process-wide cache.

    Parameters
    ----------
    model : str or path-like
        One of:

        - an OpenAI CLIP name (``clip.available_models()``, e.g. ``"ViT-B/32"``,
          downloaded on first use to ``download_root``), optionally written
          ``"openai:ViT-B/32"``, or the path of a local OpenAI checkpoint (a JIT
          archive or a state dict; a JIT archive is code, load only trusted ones);
        - ``"open_clip:ARCH/PRETRAINED"``: an open_clip architecture and a pretrained
          tag (``"open_clip:ViT-L-14/laion2b_s32b_b82k"``) or, after the first
          ``/``, the path of a local weights file; or open_clip's own
          ``"open_clip:hf-hub:ORG/REPO"`` and ``"open_clip:local-dir:/folder"``;
        - ``"hf_clip:NAME_OR_DIR"``: a Hugging Face model id or a folder written by
          ``save_pretrained`` (model, tokenizer, image processor): CLIPModel,
          SiglipModel, Siglip2Model or any model with ``get_image_features`` and
          ``get_text_features``.

        A name that needs a download that cannot happen raises
        :class:`ModelLoadError` saying how to pass a local file or folder.
    device : str, default="auto"
        ``"auto"`` picks CUDA when present, else CPU.
    precision : {"auto", "fp32", "fp16", "bf16", "int8"}, default="auto"
        ``"auto"`` is fp16 on CUDA and fp32 on CPU. ``"bf16"`` runs the model
        under bfloat16 autocast (on a CPU without native bf16, AVX-512 BF16 or
        AMX, it runs at fp32 with a warning); ``"int8"`` (CPU only) quantises the image tower's
        linear layers (attention included) to int8 with dynamic activation scales.
    download_root : str, default=None
        Where names are downloaded; None is each library's own cache
        (``~/.cache/clip``, the Hugging Face cache).

    Returns
    -------
    loaded : LoadedModel
        Shared by every caller that asks for the same (model, device, precision);
        a weights file or folder that changes on disk is loaded again.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise InvalidParameterError(
            "The 'model' parameter of load_model must be a CLIP model "
            f"name or a checkpoint path. Got {type(model).__name__} instead."
        )
    family, spec = parse_model_name(os.fspath(model))
    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    key = _cache_key(family, spec, device, precision)
    with _CACHE_LOCK:
        if key not in _CACHE:
            load = _family(family).load
            _CACHE[key] = load_once(key, lambda: load(spec, device, precision, download_root, repr(key)))
        return _CACHE[key]


def clear_model_cache():
    """Forget every loaded model, failed load and network probe, so the next use loads again."""
    with _CACHE_LOCK:
        _CACHE.clear()
        forget()


def encode_text(loaded, sentences, batch_size=256, cache_dir=None):
    """L2-normalised text embeddings, float32 array of shape (n_sentences, dim).

    Sentences already encoded with this model come from the process-wide
    sentence cache, or with ``cache_dir`` from that folder (kept there by the
    model's identity and a hash of the sentence, so a new process encodes no
    sentence twice); the rest are tokenised and encoded by the model's family.
    """
    out = np.empty((len(sentences), loaded.embed_dim), dtype=np.float32)
    keys = [sentence_key(sentence) for sentence in sentences]
    missing = []
    for i, key in enumerate(keys):
        found = text_embedding_cache.get(loaded.identity, key, cache_dir, loaded.embed_dim)
        if found is None:
            missing.append(i)
        else:
            out[i] = found
    write_error = None
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        with torch.inference_mode(), loaded.autocast():
            features = normalized(loaded.encode_text([sentences[i] for i in chunk]))
        for i, row in zip(chunk, features):
            out[i] = row
            text_embedding_cache.put(loaded.identity, keys[i], row)
            if cache_dir is not None and write_error is None:
                try:
                    text_embedding_cache.save(loaded.identity, keys[i], row, cache_dir)
                except OSError as exc:  # results stand; only the next process re-encodes
                    write_error = exc
    if write_error is not None:
        warn_cache_write(write_error, cache_dir, "Sentence embeddings", stacklevel=3)
    return out
