"""The scikit-learn internals clip-fer builds on, reached in one place.

Parameter constraints (``Interval``, ``StrOptions``, ``HasMethods``, ...) and the
``_fit_context`` decorator (re-exported here as ``fit_context``, so that no part
of clip-fer imports a private name) live in private scikit-learn modules. They have been
stable since scikit-learn 1.3; the floor in ``pyproject.toml`` is 1.6. Should a
release move them, this module is the only one to change.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils._param_validation import (
    InvalidParameterError as SklearnInvalidParameterError,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "SklearnInvalidParameterError",
    "StrOptions",
    "fit_context",
    "make_constraint",
    "validate_parameter_constraints",
    "validate_params",
]
