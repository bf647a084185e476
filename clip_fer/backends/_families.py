"""The backend seam: what a model family provides, and the registry of families.

A family is any object (a module works) with two functions:

- ``identify(spec, download_root)``: what determines the outputs of the model
  ``spec`` names, *without loading it*: JSON-able parts built from
  :func:`~clip_fer.backends.file_part` (a weights file), :func:`tree_part` (a
  folder) and the settings that shape the model (an architecture config). A name
  whose files are not on this machine may be identified by the name; the result
  is hashed into the model's ``weights_identity``.
- ``load(spec, device, precision, download_root)``: the model as a
  :class:`LoadedModel` subclass, placed with :func:`~clip_fer.backends.place`.

A family is registered under a prefix: ``register_family("myfam", family)``
makes ``model="myfam:SPEC"`` load through it. The built-in families are
registered here by module name, so their libraries are imported on first use.
"""

import importlib
import importlib.util
import re
import threading
from typing import Any, Protocol, runtime_checkable

from ..exceptions import InvalidParameterError

__all__ = [
    "ModelFamily",
    "builtin",
    "family",
    "on_change",
    "parse_model_name",
    "register_family",
    "registered_families",
]


@runtime_checkable
class ModelFamily(Protocol):
    """What a model family must provide (see the module docstring)."""

    def identify(self, spec: str, download_root: Any) -> Any:
        """JSON-able parts that determine the outputs of the model ``spec`` names."""

    def load(self, spec: str, device: Any, precision: str, download_root: Any) -> Any:
        """The model ``spec`` names as a :class:`LoadedModel`."""


_DEFAULT = "openai"
_BUILTIN = {"openai": ".openai", "open_clip": ".open_clip", "hf_clip": ".hf"}
_REGISTRY: dict = dict(_BUILTIN)  # prefix -> family object, or a module name imported on first use
_LOCK = threading.Lock()
_LISTENERS = []  # called with a prefix whose family was replaced or removed
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]+\Z")  # two characters at least: "C:" is a drive


def register_family(prefix, family, *, replace=False):
    """Make ``model="PREFIX:SPEC"`` load through ``family``.

    Parameters
    ----------
    prefix : str
        Two or more letters, digits, ``_``, ``.`` or ``-``, starting with a
        letter or ``_`` (a one-letter prefix would read ``C:/models/x.pt`` as a
        family).
    family : object
        Has ``identify(spec, download_root)`` and ``load(spec, device,
        precision, download_root)`` (see :class:`ModelFamily`); a module with
        these two functions works.
    replace : bool, default=False
        Allow replacing a registered family (the built-in ones included). Models
        already loaded through the family replaced are dropped from the model
        cache: the next ``load_model("PREFIX:...")`` loads through ``family``.

    Returns
    -------
    family : object
        ``family``, so the function can decorate a class.
    """
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise InvalidParameterError(
            "The 'prefix' parameter of register_family must be two or more letters, digits, "
            f"'_', '.' or '-', starting with a letter or '_'. Got {prefix!r} instead."
        )
    missing = [name for name in ("identify", "load") if not callable(getattr(family, name, None))]
    if missing:
        raise InvalidParameterError(
            f"The 'family' parameter of register_family must have identify(spec, download_root) "
            f"and load(spec, device, precision, download_root); {family!r} lacks "
            f"{' and '.join(missing)}."
        )
    with _LOCK:
        if prefix in _REGISTRY and not replace and _REGISTRY[prefix] is not family:
            raise InvalidParameterError(
                f"A model family is already registered under {prefix!r}; pass replace=True "
                "to replace it, or choose another prefix."
            )
        replaced = prefix in _REGISTRY
        _REGISTRY[prefix] = family
    if replaced:
        _changed(prefix)
    return family


def unregister_family(prefix):
    """Remove the family registered under ``prefix`` (a built-in one comes back)."""
    with _LOCK:
        if prefix in _BUILTIN:
            _REGISTRY[prefix] = _BUILTIN[prefix]
        else:
            _REGISTRY.pop(prefix, None)
    _changed(prefix)


def on_change(listener):
    """Call ``listener(prefix)`` whenever the family under ``prefix`` is replaced or removed."""
    _LISTENERS.append(listener)


def _changed(prefix):
    for listener in list(_LISTENERS):
        listener(prefix)


def builtin(prefix, found):
    """Whether ``found`` is the built-in family module registered under ``prefix``."""
    name = _BUILTIN.get(prefix)
    if name is None:
        return False
    return getattr(found, "__name__", None) == importlib.util.resolve_name(name, __package__)


def registered_families():
    """The registered prefixes, in registration order.

    Returns
    -------
    prefixes : list of str
    """
    with _LOCK:
        return list(_REGISTRY)


def parse_model_name(model):
    """``"family:spec"`` -> ``(family, spec)``; a name with no registered prefix is OpenAI's.

    >>> parse_model_name("open_clip:ViT-B-32/laion2b_s34b_b79k")
    ('open_clip', 'ViT-B-32/laion2b_s34b_b79k')
    >>> parse_model_name("ViT-B/32")
    ('openai', 'ViT-B/32')
    """
    prefix, sep, spec = model.partition(":")
    with _LOCK:
        known = prefix in _REGISTRY
    if sep and known:
        return prefix, spec
    return _DEFAULT, model


def family(prefix):
    """The family object registered under ``prefix`` (built-in modules imported now)."""
    with _LOCK:
        found = _REGISTRY[prefix]
    if isinstance(found, str):
        found = importlib.import_module(found, __package__)
    return found
