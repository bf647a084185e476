"""CPU acceleration: one step after loading, the same for every family, reversible.

A family declares its image tower (:class:`~clip_fer.backends._base.ImageTower`:
which modules, which linear layers to keep, whether its transformer is OpenAI's
sequence-first one) and knows nothing of what follows. :func:`accelerate` makes each
declared module run, for inference, a converted *copy* of itself:

- ``fp32`` (where oneDNN's packed linear layers are available, see ``_onednn``):
  batch-first layout (``_layout``), QuickGELU folded into one SiLU
  (``_activations``), attention of plain linear layers and every linear layer
  packed for oneDNN (``_quantize.convert_tower``);
- ``int8``: the same with dynamically quantised linear layers;
- ``bf16``: batch-first layout and attention of plain linear layers (autocast
  does the rest).

The family's own modules stay where they are and as they are: ``model.parameters()``
and ``model.state_dict()`` are the family's own (every weight, as the family names
it), ``copy.deepcopy`` and pickling give the family's own class, and the copy is used
only for a forward pass that can use it:

- under ``torch.no_grad()`` or ``torch.inference_mode()`` (a pass that needs
  gradients runs the family's own layers, so fine-tuning trains them as the
  family's own model does);
- with every module of the tower in eval mode (``model.train()`` gives back the
  family's own layers, dropout included);
- outside ``torch.jit.trace``, ``torch.onnx.export`` and ``torch.compile``, which
  see the family's own module;
- while the tower's parameters and buffers are the ones the copy was made from
  (same tensors, same version counters, dtype and device). After an update
  (an optimiser step, ``load_state_dict``, ``.to()``), the next eligible pass makes
  a new copy from the weights as they are; until then nothing stale answers.

The copy is made on the first eligible pass, not at load, so a model that is only
trained never holds one. It costs about the tower's size again in memory (at int8, the
fp32 tower stays beside its int8 copy, so an int8 model can be fine-tuned too). The
check before each pass walks the tower's tensors: about 1 ms for a ViT-B/32 tower.
"""

import copy
import threading
import weakref

import torch
from torch import nn

from ._identity import tensor_versions
from ._layout import batch_first_image_tower
from ._onednn import _compiling, onednn_linear_available
from ._quantize import convert_tower, linear_attention

__all__ = ["accelerate", "fast_copy", "is_accelerated"]

_COPIES = weakref.WeakKeyDictionary()  # a routed module -> _Copy
_LOCK = threading.RLock()


class _Copy:
    """How to make a module's fast copy, and the last one made (with what it was made from)."""

    def __init__(self, precision, keep, sequence_first):
        self.precision, self.keep, self.sequence_first = precision, keep, sequence_first
        self.source, self.module = None, None


class _Holder(nn.Module):
    """Holds a copied module as ``inner``, so that the conversions, which replace
    children, reach a module that is itself a linear layer or an attention."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *args, **kwargs):
        return self.inner(*args, **kwargs)


def _convert(module, spec):
    holder = _Holder(module.float().cpu().eval())
    if spec.sequence_first:  # no copies of the sequence-first view in every block
        holder.inner = batch_first_image_tower(holder.inner)
    if spec.precision == "bf16":
        return linear_attention(holder).eval()
    return convert_tower(holder, spec.precision, spec.keep).eval()


def _eligible(module):
    return (
        not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not _compiling()
        and not any(m.training for m in module.modules())
    )


def fast_copy(module):
    """The converted copy ``module``'s next inference pass runs (made now if it is
    missing or stale), or None where it runs its own layers (not accelerated, a pass
    that needs gradients, a module in training mode).

    Parameters
    ----------
    module : torch.nn.Module
        A module of a loaded model's image tower.

    Returns
    -------
    copy : torch.nn.Module or None
    """
    spec = _COPIES.get(module)
    if spec is None or not _eligible(module):
        return None
    source = tensor_versions(module)
    if spec.source == source:
        return spec.module
    with _LOCK:
        if spec.source != source:
            # Made outside inference mode (the conversions update copies in place) and
            # from the family's own class (deepcopy of a routed module gives that).
            with torch.inference_mode(False), torch.no_grad():
                spec.module = _convert(copy.deepcopy(module), spec)
            spec.source = source
        return spec.module


_ROUTED = {}  # the family's class -> its routed subclass


def _new(cls):
    """An empty ``cls`` object, for pickle and deepcopy to fill (``__setstate__``)."""
    return cls.__new__(cls)


def _routed_class(cls):
    """A subclass of ``cls`` whose ``forward`` runs the fast copy where it can; it
    copies and pickles as ``cls`` (a copy is the family's own module)."""
    with _LOCK:
        found = _ROUTED.get(cls)
        if found is None:

            def forward(self, *args, **kwargs):
                fast = fast_copy(self)
                if fast is None:
                    return cls.forward(self, *args, **kwargs)
                return fast(*args, **kwargs)

            def __reduce_ex__(self, protocol):
                # (copyreg.__newobj__, (this class,), state, ...): made as the family's class
                reduced = object.__reduce_ex__(self, protocol)
                return (_new, (cls,), *reduced[2:])

            found = _ROUTED[cls] = type(
                cls.__name__,
                (cls,),
                {
                    "forward": forward,
                    "__reduce_ex__": __reduce_ex__,
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "__doc__": cls.__doc__,
                },
            )
        return found


def is_accelerated(module):
    """Whether ``module`` runs a fast copy for inference (see :func:`accelerate`)."""
    return module in _COPIES


def _worth_it(precision):
    if precision == "fp32":
        return onednn_linear_available()
    return precision in ("int8", "bf16")


def accelerate(loaded):
    """Make ``loaded``'s image tower run its CPU fast path for inference; returns ``loaded``.

    Applied by :func:`~clip_fer.backends.load_model` to every family's model, and
    by the estimators to a model built in memory. Does nothing off the CPU, for a
    family that declares no image tower, where the precision has no fast path
    here (fp32 without oneDNN), or a second time.

    Parameters
    ----------
    loaded : LoadedModel
        Its ``image_tower``, ``device`` and ``precision`` say what to convert.

    Returns
    -------
    loaded : LoadedModel
    """
    tower = loaded.image_tower
    if tower is None or loaded.device.type != "cpu" or not _worth_it(loaded.precision):
        return loaded
    with _LOCK:
        for name in tower.modules:
            module = loaded.model.get_submodule(name)
            if module in _COPIES:
                continue
            _COPIES[module] = _Copy(loaded.precision, tuple(tower.keep), tower.sequence_first)
            module.__class__ = _routed_class(type(module))
    return loaded
