"""Argument checks shared by the package: a bad value is a ValueError naming the parameter
and its allowed range, raised before any work is done (never a wrong result, never a crash
deep inside). Every module checks its arguments with these four functions."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

__all__ = ["integer", "number", "in_range", "choice"]

T = TypeVar("T")


def _is_real(value: Any) -> bool:
    real = isinstance(value, int | float | np.integer | np.floating)
    return real and not isinstance(value, bool | np.bool_)


def integer(name: str, value: Any, minimum: int, *, why: str = "") -> int:
    """``value`` as an int, if it is an integer (not a bool) >= ``minimum``.

    The message reads "{name} must be an integer >= {minimum}{why}, got {value!r}".
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}{why}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{why}, got {value!r}")
    return int(value)


def seeds(values: Iterable[Any], name: str = "seeds") -> tuple[int, ...]:
    """``values`` as a tuple of ints, if it holds at least one and each is an integer >= 0
    (a seed per member of a batched model; a seed may repeat)."""
    out = tuple(integer(f"{name}[{i}]", v, 0) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name} must hold at least one seed, got an empty sequence")
    return out


def number(
    name: str, value: Any, *, minimum: float = 0.0, strict: bool = False
) -> float:
    """``value`` as a float, if it is a finite real number >= ``minimum`` (> if ``strict``).

    The message reads "{name} must be a finite number >= {minimum}, got {value!r}".
    """
    sign = ">" if strict else ">="
    message = f"{name} must be a finite number {sign} {minimum:g}, got {value!r}"
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(message)
    if value < minimum or (strict and value == minimum):
        raise ValueError(message)
    return float(value)


def in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float, if it is a real number in the interval from ``low`` to ``high``.

    Each end is closed unless ``low_open``/``high_open``; ``high`` may be ``math.inf``. The
    message names the interval as mathematics writes it: "momentum must be in [0, 1), got 1.5".
    """
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    message = f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}"
    if not _is_real(value) or math.isnan(value):
        raise ValueError(message)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        raise ValueError(message)
    return float(value)


def choice(name: str, value: T, options: Iterable[T]) -> T:
    """``value``, if it is one of ``options``.

    The message reads "anneal must be one of ['linear', 'cos'], got 'x'".
    """
    options = list(options)
    try:
        ok = value in options
    except TypeError:  # an unhashable value looked up in a dict's keys
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value
