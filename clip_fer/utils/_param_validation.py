"""Parameter checks: declared constraints and the few hand-written checks left.

Estimators declare ``_parameter_constraints`` with scikit-learn's constraint
objects (``Interval``, ``StrOptions``, ``HasMethods``, ``"boolean"``, types,
``None``; reached through :mod:`clip_fer.utils._sklearn_compat`) and call
``self._validate_params()`` in ``fit`` (or let ``fit_context`` call it). The
check is scikit-learn's; the message is clip-fer's: "The 'x' parameter of Y
must be ... Got ... instead.", raised as :class:`~clip_fer.exceptions.InvalidParameterError`
(a subclass of scikit-learn's own, so code catching either keeps working).

Hand-written checks remain only for what a constraint cannot say: bounds that
depend on fitted state (``top_k`` against a bank's number of classes) and torch
device strings.
"""

import functools
import inspect
import numbers
import os

import numpy as np

from ..exceptions import InvalidParameterError
from ._sklearn_compat import HasMethods, Hidden, Interval, StrOptions, make_constraint

__all__ = [
    "Choices",
    "ParamsValidationMixin",
    "Protocol",
    "check_device",
    "check_int",
    "check_option",
    "validate_args",
    "validate_parameter_constraints",
]


class Choices(StrOptions):
    """``StrOptions`` that keeps the order its options are given in, for messages."""

    def __init__(self, *options):
        super().__init__(set(options))
        self.order = tuple(options)


class Protocol(HasMethods):
    """Any object with these methods (duck typing), not only the named classes.

    Parameters
    ----------
    methods : str or list of str
        Methods the object must have.
    examples : tuple of type
        clip-fer's own classes with the protocol, named first in messages.
    role : str
        What such an object is, e.g. "a decider", for the message.
    signature : str
        The protocol in words, e.g. "fit() and decide(class_scores) -> Decision".
    """

    def __init__(self, methods, examples, role, signature):
        super().__init__(methods)
        self.examples = tuple(examples)
        self.role = role
        self.signature = signature


_TYPE_NAMES = {str: "a str", os.PathLike: "a path", bool: "a bool", int: "an int", float: "a float"}


def _number(value):
    if value is None:
        return None
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value) if isinstance(value, float) and not float(value).is_integer() else str(value)


def _describe_interval(interval):
    lo, hi = _number(interval.left), _number(interval.right)
    if interval.type is numbers.Integral:
        return f"an int in [{lo or '-inf'}, {hi or 'inf'}]"
    left_open = interval.closed in ("right", "neither")
    right_open = interval.closed in ("left", "neither")
    if hi in (None, "inf") and right_open and lo is not None:
        return f"a finite float {'>' if left_open else '>='} {lo}"
    left = "(" if left_open else "["
    right = ")" if right_open else "]"
    return f"a float in {left}{lo or '-inf'}, {hi or 'inf'}{right}"


def _describe(constraint):
    if constraint is None:
        return "None"
    if isinstance(constraint, Protocol):
        return "an instance of " + " or ".join(c.__name__ for c in constraint.examples)
    if isinstance(constraint, Choices):
        if len(constraint.order) == 1:
            return repr(constraint.order[0])
        return "one of " + ", ".join(repr(o) for o in constraint.order)
    if isinstance(constraint, StrOptions):
        options = sorted(constraint.options)
        return repr(options[0]) if len(options) == 1 else "one of " + ", ".join(map(repr, options))
    if isinstance(constraint, Interval):
        return _describe_interval(constraint)
    if isinstance(constraint, HasMethods):
        return "an object with the methods " + ", ".join(f"{m}()" for m in constraint.methods)
    if isinstance(constraint, type):
        return _TYPE_NAMES.get(constraint, f"an instance of {constraint.__name__}")
    if constraint == "boolean":
        return "a bool"
    return str(make_constraint(constraint))


def _join(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _satisfied(constraint, value):
    if isinstance(constraint, Interval) and isinstance(value, (bool, np.bool_)):
        return False  # True is not an int of 1 here
    return constraint.is_satisfied_by(value)


def constraint_message(name, owner, constraints, value, description=None, note=None):
    """The message for ``value`` failing ``constraints`` of parameter ``name``.

    ``description`` replaces the generated "must be ..." words; ``note`` is
    added after "Got ... instead".
    """
    shown = [c for c in constraints if not isinstance(c, Hidden)]
    must = description or _join([_describe(c) for c in shown])
    by_type = any(isinstance(c, (HasMethods, type)) for c in shown)
    plain = value is None or isinstance(value, (str, bool, numbers.Number, np.bool_))
    got = type(value).__name__ if by_type or not plain else repr(value)
    message = f"The '{name}' parameter of {owner} must be {must}. Got {got} instead."
    for c in [] if description else shown:
        if isinstance(c, Protocol):
            missing = [m for m in c.methods if not callable(getattr(value, m, None))]
            lacks = f" (it lacks {', '.join(m + '()' for m in missing)})" if missing else ""
            message = message[:-1] + f"{lacks}; {c.role} may also be any object with {c.signature}."
    if note:
        message = message[:-1] + f"; {note}."
    return message


def validate_parameter_constraints(constraints, params, owner, descriptions=None, notes=None):
    """Check ``params`` against declared ``constraints``; raise on the first failure.

    Parameters
    ----------
    constraints : dict of str to list
        ``_parameter_constraints``: each parameter's allowed constraints, or
        ``"no_validation"``.
    params : dict of str to object
        The values, e.g. ``estimator.get_params(deep=False)``.
    owner : str
        The estimator or function named in messages.
    descriptions : dict of str to str, default=None
        Words replacing the generated "must be ..." part for some parameters.
    notes : dict of str to str, default=None
        Words added after "Got ... instead" for some parameters.

    Raises
    ------
    InvalidParameterError
        "The 'x' parameter of Y must be ... Got ... instead."
    """
    descriptions, notes = descriptions or {}, notes or {}
    for name, value in params.items():
        allowed = constraints.get(name, "no_validation")
        if isinstance(allowed, str) and allowed == "no_validation":
            continue
        made = [make_constraint(c) for c in allowed]
        if any(_satisfied(c, value) for c in made):
            continue
        raise InvalidParameterError(
            constraint_message(name, owner, allowed, value, descriptions.get(name), notes.get(name))
        )


class ParamsValidationMixin:
    """``_validate_params`` that reports in clip-fer's message form.

    Put it left of ``BaseEstimator``. A subclass declares
    ``_parameter_constraints``, and optionally ``_parameter_descriptions``
    (words replacing the generated "must be ...") and ``_parameter_notes``
    (words after "Got ... instead").
    """

    _parameter_descriptions = {}
    _parameter_notes = {}

    def _validate_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            type(self).__name__,
            self._parameter_descriptions,
            self._parameter_notes,
        )


def validate_args(constraints, descriptions=None):
    """Decorator: check a public function's arguments against ``constraints``.

    Like scikit-learn's ``validate_params``, with clip-fer's messages. Arguments
    without a constraint are not checked.
    """

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            validate_parameter_constraints(constraints, bound.arguments, function.__name__, descriptions)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def check_device(value, name, owner):
    """Return ``value`` if it is ``"auto"`` or a torch device string, else raise.

    A constraint cannot say which strings torch accepts; torch itself is asked.
    """
    if value == "auto":
        return value
    import torch

    try:
        torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be 'auto' or a torch device such "
            f"as 'cpu' or 'cuda:0'. Got {value!r} instead."
        ) from None
    return value


def check_int(value, name, owner, low=None, high=None):
    """Return ``value`` if it is an int in ``[low, high]``, else raise."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be an int in [{lo}, {hi}]. Got {value!r} instead."
        )
    return int(value)


def check_option(value, name, owner, options):
    """Return ``value`` if it is one of ``options``, else raise."""
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be one of {allowed}. Got {value!r} instead."
        )
    return value
