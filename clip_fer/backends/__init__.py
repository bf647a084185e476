"""Model backends and the machinery around them.

Loading a model (:func:`load_model`, one process-wide cache keyed by the model's
content), reading any image input as RGB, the one batched encoding loop, int8
quantisation and the embedding caches. A model family is an object with
``identify`` and ``load`` (:class:`ModelFamily`) registered under a name prefix
with :func:`register_family`; the built-in ones are modules of this package:
``openai`` (OpenAI's ``clip``), ``open_clip`` and ``hf`` (``transformers``: CLIP,
SigLIP, SigLIP 2). Each loads into a :class:`LoadedModel` subclass. See
docs/architecture.md, "Where a new model family goes".

Names are imported on first use, so importing this package does not import torch.
"""

import importlib

# Public name -> the module of this package that defines it.
_EXPORTS = {
    "LoadedModel": "._base",
    "ModelReference": "._base",
    "PRECISIONS": "._device",
    "place": "._device",
    "resolve_device": "._device",
    "resolve_precision": "._device",
    "ModelFamily": "._families",
    "parse_model_name": "._families",
    "register_family": "._families",
    "registered_families": "._families",
    "unregister_family": "._families",
    "file_part": "._identity",
    "tree_part": "._identity",
    "clear_model_cache": "._loading",
    "load_model": "._loading",
    "model_identity": "._loading",
    "resolve_model": "._loading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_EXPORTS})
