"""Parameters as data, checked with one voice.

Each estimator declares ``_parameter_constraints``: for every parameter, a list
of constraints of which one must hold.  :func:`validate_params` checks them at
the start of ``fit`` and raises messages in scikit-learn's voice, e.g.

    The 'max_iter' parameter of KMeans must be an int in the range [1, inf). Got 0 instead.

scikit-learn's own machinery for this is private API, so we keep this small
copy of its behaviour rather than import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (``Integral`` or ``Real``) in a range.

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"``, ``"neither"``.
    """

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is Integral:
            if not isinstance(value, (Integral, np.integer)):
                return False
        elif not isinstance(value, (Real, np.floating, np.integer)):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        left_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        right_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(left_ok and right_ok)

    def __str__(self) -> str:
        kind = "an int" if self.kind is Integral else "a float"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        left = "-inf" if self.left is None else f"{self.left}"
        right = "inf" if self.right is None else f"{self.right}"
        return f"{kind} in the range {lb}{left}, {right}{rb}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: frozenset

    def __init__(self, *values: str) -> None:
        object.__setattr__(self, "values", frozenset(values))

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(v) for v in sorted(self.values)) + "}"


class _ArrayLike:
    def is_satisfied_by(self, value: Any) -> bool:
        return hasattr(value, "__array__") or hasattr(value, "__len__") and not isinstance(value, str) or hasattr(value, "shape")

    def __str__(self) -> str:
        return "an array-like"


class _RandomState:
    def is_satisfied_by(self, value: Any) -> bool:
        return (
            value is None
            or (isinstance(value, (Integral, np.integer)) and not isinstance(value, bool) and 0 <= value < 2**32)
            or isinstance(value, (np.random.RandomState, np.random.Generator))
        )

    def __str__(self) -> str:
        return "an int in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None"


class _Boolean:
    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return "an instance of 'bool'"


class _Callable:
    def is_satisfied_by(self, value: Any) -> bool:
        return callable(value)

    def __str__(self) -> str:
        return "a callable"


class _NoneConstraint:
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or value; both a ValueError and a TypeError, as in scikit-learn."""


ARRAY_LIKE = _ArrayLike()
RANDOM_STATE = _RandomState()
BOOLEAN = _Boolean()
CALLABLE = _Callable()
NONE = _NoneConstraint()


def _describe(constraints: list) -> str:
    parts = [str(c) for c in constraints]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def validate_params(constraints: dict[str, list], params: dict[str, Any], caller_name: str) -> None:
    """Check every parameter in ``params`` against its constraints.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` (and ``TypeError``, as in scikit-learn) naming the
        parameter, what it must be, and what it got.
    """
    for name, value in params.items():
        options = constraints.get(name)
        if options is None or options == "no_validation":
            continue
        if any(c.is_satisfied_by(value) for c in options):
            continue
        message = f"The {name!r} parameter of {caller_name} must be {_describe(options)}. Got {value!r} instead."
        raise InvalidParameterError(message)
