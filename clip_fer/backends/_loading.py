"""Loading a model once per process (any family), and the text-encoding loop.

A model name picks its family by prefix (``"openai:"``, ``"open_clip:"``,
``"hf_clip:"``, or one added with :func:`register_family`; none is OpenAI's names
and checkpoint paths) and the family loads it into a :class:`LoadedModel`.
Models are cached by content: the family says what determines the model's
outputs (:func:`model_identity`), so a file replaced under the same name is
another model, and two names for one file are one. Nothing below this module's
:func:`load_model` knows which family runs.
"""

import functools
import os
import threading

import numpy as np
import torch

from ..exceptions import InvalidParameterError, ModelLoadError
from ._base import LoadedModel, ModelReference, describe
from ._cache import sentence_key, text_embedding_cache, warn_cache_write
from ._device import resolve_device, resolve_precision
from ._encoding import encode_checked
from ._families import family as _family
from ._families import parse_model_name
from ._identity import digest
from ._offline import forget, load_once
from .openai import _encode_tokens, import_clip  # noqa: F401  (kept importable from here)

__all__ = [
    "LoadedModel",
    "clear_model_cache",
    "load_model",
    "model_identity",
    "parse_model_name",
    "resolve_device",
    "resolve_model",
]

_CACHE = {}  # (weights identity, device, precision) -> LoadedModel
_LATEST = {}  # (family, spec, device, precision) -> the key it loaded last
_CACHE_LOCK = threading.Lock()
_MAX_TRIES = 3  # loads retried when the files change while they are read


def _check_name(model, owner="load_model"):
    if isinstance(model, bytes) or not isinstance(model, (str, os.PathLike)):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be a CLIP model name, a checkpoint "
            f"path or a loaded model (clip_fer.load_model(...)). Got {type(model).__name__} "
            "instead."
        )
    return parse_model_name(os.fspath(model))


def _identify(prefix, spec, download_root):
    try:
        parts = _family(prefix).identify(spec, download_root)
    except FileNotFoundError:  # removed between the check and the read: load() names it
        parts = [prefix, "name", spec]
    except OSError as exc:  # no permission, an I/O error
        raise ModelLoadError(
            f"The model {prefix}:{spec} cannot be read to identify it ({describe(exc)}); "
            "check that its files are readable."
        ) from exc
    return digest(prefix, parts)


def model_identity(model, download_root=None):
    """The ``weights_identity`` the model ``model`` names, without loading it.

    Parameters
    ----------
    model : str, path-like or LoadedModel
        As :func:`load_model` takes it, or a loaded model.
    download_root : str, default=None
        As :func:`load_model` takes it.

    Returns
    -------
    identity : str
        A hash of the weights' bytes and of the architecture, tokenizer and
        processor files or settings (a name whose files are not on this machine
        by its name). Files are read once per process while their ``stat`` is
        unchanged.
    """
    if isinstance(model, (LoadedModel, ModelReference)):
        return model.weights_identity
    prefix, spec = _check_name(model, "model_identity")
    return _identify(prefix, spec, download_root)


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
        Shared by every caller that asks for the same model content at the same
        device and precision: a weights file, config or folder that changes on
        disk (even with its size and modification time restored) is another
        model and is loaded again; its ``weights_identity`` says which it is.
    """
    prefix, spec = _check_name(model)
    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    with _CACHE_LOCK:
        for _ in range(_MAX_TRIES):
            identity = _identify(prefix, spec, download_root)
            key = (identity, str(device), precision)
            if key in _CACHE:
                _remember(prefix, spec, key)
                return _CACHE[key]
            # a load that failed (no network, a bad file) is not tried again for the same key
            loaded = load_once(
                key, functools.partial(_family(prefix).load, spec, device, precision, download_root)
            )
            if not isinstance(loaded, LoadedModel):
                raise ModelLoadError(
                    f"The model family {prefix!r} loaded {model!r} as {type(loaded).__name__}; "
                    "a family's load() must return a clip_fer.backends.LoadedModel."
                )
            if _identify(prefix, spec, download_root) == identity:  # not replaced while read
                loaded.weights_identity = identity
                _CACHE[key] = loaded
                _remember(prefix, spec, key)
                return loaded
        raise ModelLoadError(
            f"The model {model!r} changed on disk while it was being loaded, {_MAX_TRIES} "
            "times; load it again once it is written."
        )


def _remember(prefix, spec, key):
    """Note what ``spec`` names now; a model no name names any more is dropped (a
    training loop rewriting ``best.pt`` keeps one model in memory, not one per epoch)."""
    name = (prefix, spec, key[1], key[2])
    old = _LATEST.get(name)
    _LATEST[name] = key
    if old is not None and old != key and old not in _LATEST.values():
        _CACHE.pop(old, None)


def resolve_model(model, device="auto", precision="auto", download_root=None, owner="load_model"):
    """The :class:`LoadedModel` that ``model`` is or names.

    Parameters
    ----------
    model : str, path-like or LoadedModel
        A name or path (loaded through :func:`load_model`), or a loaded model,
        used as it is.
    device, precision, download_root
        As :func:`load_model` takes them. With a loaded model, ``device`` and
        ``precision`` must be ``"auto"`` or what the model runs at.
    owner : str, default="load_model"
        Named in error messages.

    Returns
    -------
    loaded : LoadedModel
    """
    if isinstance(model, ModelReference):
        raise model.error(owner)
    if not isinstance(model, LoadedModel):
        return load_model(model, device, precision, download_root)
    if device != "auto" and resolve_device(device, owner) != model.device:
        raise InvalidParameterError(
            f"The 'device' parameter of {owner} is {device!r} but the model object given "
            f"runs on {str(model.device)!r}; use device='auto' (the model's own), or move the "
            "model and build it again."
        )
    if precision != "auto" and precision != model.precision:
        raise InvalidParameterError(
            f"The 'precision' parameter of {owner} is {precision!r} but the model object "
            f"given runs at {model.precision!r}; use precision='auto' (the model's own)."
        )
    return model


def clear_model_cache():
    """Forget every loaded model, failed load and network probe, so the next use loads again."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _LATEST.clear()
        forget()


def encode_text(loaded, sentences, batch_size=256, cache_dir=None):
    """L2-normalised text embeddings, float32 array of shape (n_sentences, dim).

    Sentences already encoded with this model come from the process-wide
    sentence cache, or with ``cache_dir`` from that folder (kept there by the
    model's identity and a hash of the sentence, so a new process encodes no
    sentence twice); the rest are tokenised and encoded by the model's family.
    """
    out = np.empty((len(sentences), loaded.embed_dim), dtype=np.float32)
    identity = loaded.identity
    keys = [sentence_key(sentence) for sentence in sentences]
    missing = []
    for i, key in enumerate(keys):
        found = text_embedding_cache.get(identity, key, cache_dir, loaded.embed_dim)
        if found is None:
            missing.append(i)
        else:
            out[i] = found
    write_error = None
    for start in range(0, len(missing), batch_size):
        chunk = missing[start : start + batch_size]
        with torch.inference_mode(), loaded.autocast():
            features = encode_checked(loaded, "encode_text", [sentences[i] for i in chunk], len(chunk))
        for i, row in zip(chunk, features):
            out[i] = row
            text_embedding_cache.put(identity, keys[i], row)
            if cache_dir is not None and write_error is None:
                try:
                    text_embedding_cache.save(identity, keys[i], row, cache_dir)
                except OSError as exc:  # results stand; only the next process re-encodes
                    write_error = exc
    if write_error is not None:
        warn_cache_write(write_error, cache_dir, "Sentence embeddings", stacklevel=3)
    return out
