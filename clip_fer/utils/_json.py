"""Strict JSON for every file and stream clip-fer writes.

Python's :mod:`json` writes NaN and infinity as the bare words ``NaN`` and
``Infinity``, which strict parsers (JavaScript's ``JSON.parse``, ``jq``, Go, Rust's
serde) refuse: RFC 8259 has no such numbers. A score that is undefined (NaN, such
as the selective accuracy when every answer is "unsure") is written as ``null``.
"""

import json
import math

import numpy as np

__all__ = ["strict_json", "to_strict"]


def to_strict(value):
    """``value`` with every NaN or infinite float (nested in dicts, lists and tuples)
    replaced by None, and numpy scalars and arrays turned into Python ones."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: to_strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_strict(item) for item in value]
    return value


def strict_json(value, **kwargs):
    """:func:`json.dumps` of :func:`to_strict`\\ ``(value)`` with ``allow_nan=False``.

    Parameters
    ----------
    value : object
        Made of dicts, lists, tuples, str, numbers, bools and None (numpy scalars
        and arrays too).
    **kwargs
        Passed to :func:`json.dumps` (``indent``, ``ensure_ascii``, ...).

    Returns
    -------
    text : str
        Strict JSON: NaN and infinity are ``null``.
    """
    return json.dumps(to_strict(value), allow_nan=False, **kwargs)
