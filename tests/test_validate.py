"""The shared argument checks: the value back on success, a ValueError naming the parameter
and its allowed range otherwise."""

import math

import numpy as np
import pytest

from lrcourse.validate import integer, number


def test_integer_accepts_ints_and_numpy_ints_at_and_above_the_minimum() -> None:
    assert integer("steps", 1, 1) == 1 and integer("steps", np.int64(7), 1) == 7
    assert type(integer("steps", np.int32(3), 0)) is int


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, np.bool_(True), "5", None])
def test_integer_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=rf"^steps must be an integer >= 1, got {bad!r}$"):
        integer("steps", bad, 1)


def test_integer_says_why() -> None:
    with pytest.raises(ValueError, match=r"^steps must be an integer >= 3 \(a reason\), got 2$"):
        integer("steps", 2, 3, why=" (a reason)")


def test_number_bounds_open_and_closed() -> None:
    assert number("lr", 0) == 0.0 and number("lr", np.float32(0.5)) == 0.5
    assert number("eps", 1e-12, strict=True) == 1e-12
    with pytest.raises(ValueError, match=r"^eps must be a finite number > 0, got 0$"):
        number("eps", 0, strict=True)
    with pytest.raises(ValueError, match=r"^lr must be a finite number >= 0, got -0.1$"):
        number("lr", -0.1)
    with pytest.raises(ValueError, match=r"^x must be a finite number >= 2, got 1.5$"):
        number("x", 1.5, minimum=2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "1", None, [1.0]])
def test_number_rejects_non_finite_and_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="^lr must be a finite number >= 0, got "):
        number("lr", bad)
