"""The shared argument checks: the value back on success, a ValueError naming the parameter
and its allowed range otherwise."""

import math

import numpy as np
import pytest

from lrcourse.validate import choice, in_range, integer, number


def test_integer_accepts_ints_and_numpy_ints_at_and_above_the_minimum() -> None:
    assert integer("steps", 1, 1) == 1 and integer("steps", np.int64(7), 1) == 7
    assert type(integer("steps", np.int32(3), 0)) is int


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, np.bool_(True), "5", None])
def test_integer_rejects(bad: object) -> None:
    with pytest.raises(
        ValueError, match=rf"^steps must be an integer >= 1, got {bad!r}$"
    ):
        integer("steps", bad, 1)


def test_integer_says_why() -> None:
    with pytest.raises(
        ValueError, match=r"^steps must be an integer >= 3 \(a reason\), got 2$"
    ):
        integer("steps", 2, 3, why=" (a reason)")


def test_number_bounds_open_and_closed() -> None:
    assert number("lr", 0) == 0.0 and number("lr", np.float32(0.5)) == 0.5
    assert number("eps", 1e-12, strict=True) == 1e-12
    with pytest.raises(ValueError, match=r"^eps must be a finite number > 0, got 0$"):
        number("eps", 0, strict=True)
    with pytest.raises(
        ValueError, match=r"^lr must be a finite number >= 0, got -0.1$"
    ):
        number("lr", -0.1)
    with pytest.raises(ValueError, match=r"^x must be a finite number >= 2, got 1.5$"):
        number("x", 1.5, minimum=2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "1", None, [1.0]])
def test_number_rejects_non_finite_and_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="^lr must be a finite number >= 0, got "):
        number("lr", bad)


def test_in_range_closed_and_open_ends() -> None:
    assert in_range("momentum", 0, 0, 1, high_open=True) == 0.0
    assert in_range("drop_factor", 1, 0, 1, low_open=True) == 1.0
    assert in_range("max_loss", math.inf, 0, math.inf) == math.inf
    assert type(in_range("p", np.float32(0.25), 0, 1)) is float
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1$"):
        in_range("momentum", 1, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"^drop_factor must be in \(0, 1\], got 0$"):
        in_range("drop_factor", 0, 0, 1, low_open=True)
    with pytest.raises(
        ValueError, match=r"^weight_decay must be in \[0, inf\), got -1$"
    ):
        in_range("weight_decay", -1, 0, math.inf, high_open=True)


@pytest.mark.parametrize("bad", [math.nan, True, "0.5", None, [0.5]])
def test_in_range_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^tol must be in \(0, 1\), got "):
        in_range("tol", bad, 0, 1, low_open=True, high_open=True)


def test_choice() -> None:
    assert choice("anneal", "cos", ("linear", "cos")) == "cos"
    assert choice("name", "cosine", {"cosine": 1}) == "cosine"  # a mapping's keys
    with pytest.raises(
        ValueError, match=r"^anneal must be one of \['linear', 'cos'\], got 'x'$"
    ):
        choice("anneal", "x", ("linear", "cos"))
    with pytest.raises(ValueError, match=r"^name must be one of \['a'\], got \[1\]$"):
        choice(
            "name", [1], {"a": 0}
        )  # unhashable: an error that names it, not a TypeError


def test_seeds_are_a_non_empty_run_of_integers_at_least_zero():
    from lrcourse.validate import seeds

    assert seeds([0, np.int64(3), 3]) == (0, 3, 3)
    for bad, where in (([], "seeds must hold"), ([1.5], r"seeds\[0\]"),
                       ([0, True], r"seeds\[1\]"), ([-1], r"seeds\[0\]")):  # fmt: skip
        with pytest.raises(ValueError, match=where):
            seeds(bad)
