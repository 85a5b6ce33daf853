"""Argument checks shared by the package: a bad value is a ValueError naming the parameter
and its allowed range, raised before any work is done (never a wrong result, never a crash
deep inside)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["integer", "number"]


def integer(name: str, value: Any, minimum: int, *, why: str = "") -> int:
    """``value`` as an int, if it is an integer (not a bool) >= ``minimum``.

    The message reads "{name} must be an integer >= {minimum}{why}, got {value!r}".
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}{why}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{why}, got {value!r}")
    return int(value)


def number(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a float, if it is a finite real number >= ``minimum`` (> if ``strict``).

    The message reads "{name} must be a finite number >= {minimum}, got {value!r}".
    """
    sign = ">" if strict else ">="
    message = f"{name} must be a finite number {sign} {minimum:g}, got {value!r}"
    real = isinstance(value, int | float | np.integer | np.floating)
    if isinstance(value, bool | np.bool_) or not real or not math.isfinite(value):
        raise ValueError(message)
    if value < minimum or (strict and value == minimum):
        raise ValueError(message)
    return float(value)
