"""Parameter checks shared by the estimators; messages follow one pattern."""

import numbers

from ..exceptions import InvalidParameterError


def check_int(value, name, owner, low=None, high=None):
    """Return ``value`` if it is an int in ``[low, high]``, else raise."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be an int in [{lo}, {hi}]. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_positive_float(value, name, owner):
    """Return ``value`` as a float if it is a finite number > 0, else raise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (0 < float(value) < float("inf")):
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a finite float > 0. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_float_in(value, name, owner, low, high, closed=True):
    """Return ``value`` as a float if it lies in ``[low, high]`` (``(low, high)``
    when ``closed`` is False), else raise."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = low <= value <= high if closed else low < value < high
    if not ok:
        interval = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a float in {interval}. "
            f"Got {value!r} instead."
        )
    return float(value)


def check_option(value, name, owner, options):
    """Return ``value`` if it is one of ``options``, else raise."""
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be one of {allowed}. "
            f"Got {value!r} instead."
        )
    return value


def check_instance(value, name, owner, cls, default):
    """Return ``default()`` for None, ``value`` if it is a ``cls``, else raise."""
    if value is None:
        return default()
    if not isinstance(value, cls):
        classes = cls if isinstance(cls, tuple) else (cls,)
        names = " or ".join(c.__name__ for c in classes)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be None or an instance of "
            f"{names}. Got {type(value).__name__} instead."
        )
    return value
