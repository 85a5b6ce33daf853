"""The five schedules: values, shapes, bounds, monotonicity, continuity, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrcourse.schedules import (
    SCHEDULES,
    constant_schedule,
    cosine_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)

ALL = list(SCHEDULES.values())


# --- values the lesson's text states ------------------------------------------------


def test_step_decay_lesson_example():
    # lr0 = 0.1, gamma = 0.1, a cut every 30 epochs: 0.1, 0.01, 0.001
    lrs = step_decay_schedule(np.array([0, 29, 30, 59, 60, 89]), lr=0.1, drop_every=30)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-15)


def test_cosine_endpoints_and_midpoint():
    assert cosine_schedule(0, lr_max=1.0, lr_min=0.0, total_steps=100) == 1.0
    assert cosine_schedule(
        50, lr_max=1.0, lr_min=0.0, total_steps=100
    ) == pytest.approx(0.5)
    assert cosine_schedule(
        100, lr_max=1.0, lr_min=0.1, total_steps=100
    ) == pytest.approx(0.1)


def test_warmup_cosine_phases():
    kw = dict(lr_max=1e-3, lr_min=1e-5, warmup_steps=100, total_steps=1000)
    assert warmup_cosine_schedule(0, **kw) == 0.0
    assert warmup_cosine_schedule(50, **kw) == pytest.approx(5e-4)
    assert warmup_cosine_schedule(100, **kw) == pytest.approx(1e-3)
    assert warmup_cosine_schedule(550, **kw) == pytest.approx((1e-3 + 1e-5) / 2)
    assert warmup_cosine_schedule(1000, **kw) == pytest.approx(1e-5)


def test_one_cycle_follows_the_lessons_text():
    lr_max, total = 1e-2, 1000
    lrs = one_cycle_schedule(np.arange(total), lr_max=lr_max, total_steps=total)
    assert lrs[0] == pytest.approx(lr_max / 25)  # starts at lr_max/25, not at 0
    assert lrs.max() == pytest.approx(lr_max)
    assert int(np.argmax(lrs)) == 449  # the peak ends the first 45%
    assert lrs[898] == pytest.approx(lr_max / 25)  # back down after another 45%
    assert lrs[-1] == pytest.approx(lr_max / 25_000)  # the last 10% anneal further


def test_one_cycle_cos_anneal_is_smooth_at_the_peak():
    lrs = one_cycle_schedule(np.arange(1000), anneal="cos")
    # cosine annealing has zero slope at both ends of each phase
    assert abs(lrs[449] - lrs[448]) < abs(lrs[225] - lrs[224]) / 50


# --- semantics: scalar vs array, past the end ------------------------------------------


@pytest.mark.parametrize("fn", ALL)
def test_scalar_in_float_out(fn):
    out = fn(7)
    assert type(out) is float
    assert type(fn(np.int32(7))) is float


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("shape", [(0,), (5,), (3, 4)])
def test_array_in_same_shape_out(fn, shape):
    steps = np.arange(math.prod(shape), dtype=np.int64).reshape(shape) * 37
    out = fn(steps)
    assert (
        isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float64
    )
    flat = [fn(int(s)) for s in steps.ravel()]
    np.testing.assert_array_equal(out.ravel(), flat)


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("anneal", ["linear", "cos"])
def test_order_of_steps_does_not_matter(fn, anneal):
    # Unsorted steps take a different path in 1cycle (masks instead of slices).
    kw = {"anneal": anneal} if fn is one_cycle_schedule else {}
    steps = (
        np.random.default_rng(0).permutation(1200).reshape(40, 30)
    )  # past the end too
    out = fn(steps, **kw)
    np.testing.assert_array_equal(
        out, [[fn(int(s), **kw) for s in row] for row in steps]
    )
    order = np.argsort(steps.ravel())
    np.testing.assert_array_equal(fn(steps.ravel()[order], **kw), out.ravel()[order])


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint16, np.uint64])
def test_integer_dtypes_accepted(dtype):
    steps = np.array([0, 5, 100], dtype=dtype)
    np.testing.assert_array_equal(
        cosine_schedule(steps), cosine_schedule(steps.astype(int))
    )


@pytest.mark.parametrize(
    "fn, kw, end",
    [
        (cosine_schedule, dict(total_steps=100), 100),
        (warmup_cosine_schedule, dict(warmup_steps=10, total_steps=100), 100),
        (one_cycle_schedule, dict(total_steps=100), 99),
        (constant_schedule, dict(), 0),
    ],
)
def test_holds_final_value_past_the_end(fn, kw, end):
    late = fn(np.array([end, end + 1, end + 7, 10 * end + 1000]), **kw)
    assert np.all(late == late[0]), late


def test_warmup_equal_to_total_does_not_divide_by_zero():
    lrs = warmup_cosine_schedule(np.arange(12), lr_max=1.0, lr_min=0.1, warmup_steps=10,
                                 total_steps=10)  # fmt: skip
    np.testing.assert_allclose(lrs[:10], np.arange(10) / 10)
    assert np.all(lrs[10:] == 1.0)  # warmed up, and no decay phase to follow


def test_zero_warmup_starts_at_peak():
    assert warmup_cosine_schedule(0, warmup_steps=0, lr_max=2e-3) == 2e-3


# --- properties -----------------------------------------------------------------------

lrs_pair = st.tuples(
    st.floats(1e-8, 10.0, allow_nan=False), st.floats(0.0, 1.0, allow_nan=False)
).map(lambda p: (p[0], p[0] * p[1]))  # (lr_max, lr_min <= lr_max)


@settings(max_examples=60, deadline=None)
@given(lrs_pair, st.integers(1, 5000))
def test_cosine_monotone_and_bounded(pair, total):
    lr_max, lr_min = pair
    lrs = cosine_schedule(
        np.arange(total + 3), lr_max=lr_max, lr_min=lr_min, total_steps=total
    )
    assert np.all(np.diff(lrs) <= 1e-15 * lr_max)
    assert np.all(lrs <= lr_max * (1 + 1e-15)) and np.all(lrs >= lr_min * (1 - 1e-15))


@settings(max_examples=60, deadline=None)
@given(lrs_pair, st.integers(1, 3000), st.floats(0.0, 1.0))
def test_warmup_cosine_rises_then_falls_and_is_bounded(pair, total, frac):
    lr_max, lr_min = pair
    warmup = int(frac * total)
    lrs = warmup_cosine_schedule(
        np.arange(total + 3),
        lr_max=lr_max,
        lr_min=lr_min,
        warmup_steps=warmup,
        total_steps=total,
    )
    tol = 1e-15 * lr_max
    assert np.all(np.diff(lrs[: warmup + 1]) >= -tol)  # up through the warmup
    assert np.all(np.diff(lrs[warmup:]) <= tol)  # down after it
    assert np.all(lrs >= 0) and np.all(lrs <= lr_max * (1 + 1e-15))
    assert lrs[warmup] == pytest.approx(lr_max)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e-6, 1.0),
    st.integers(20, 4000),
    st.floats(0.05, 0.45),
    st.booleans(),
    st.sampled_from(["linear", "cos"]),
    st.floats(1.0, 100.0),
    st.floats(1.0, 1e5),
)
def test_one_cycle_shape(lr_max, total, pct, three, anneal, div, final_div):
    assume(pct * total > 2)
    kw = dict(lr_max=lr_max, total_steps=total, pct_start=pct, three_phase=three, anneal=anneal,
              div_factor=div, final_div_factor=final_div)  # fmt: skip
    lrs = one_cycle_schedule(np.arange(total + 2), **kw)
    peak = int(np.argmax(lrs))
    tol = 1e-12 * lr_max
    assert np.all(np.diff(lrs[: peak + 1]) >= -tol)  # rises to the peak
    assert np.all(np.diff(lrs[peak:]) <= tol)  # then only falls
    assert lrs.max() <= lr_max * (1 + 1e-12)
    assert lrs[-1] == pytest.approx(lr_max / div / final_div, rel=1e-9)
    assert lrs.min() >= lr_max / div / final_div * (1 - 1e-9)


@pytest.mark.parametrize(
    "fn, kw, boundaries",
    [
        (warmup_cosine_schedule, dict(lr_max=1.0, lr_min=0.0, warmup_steps=100, total_steps=10**4),
         [100]),
        (one_cycle_schedule, dict(lr_max=1.0, total_steps=10**4), [4499, 8998]),
        (one_cycle_schedule, dict(lr_max=1.0, total_steps=10**4, anneal="cos"), [4499, 8998]),
        (one_cycle_schedule, dict(lr_max=1.0, total_steps=10**4, three_phase=False, pct_start=0.3),
         [2999]),
    ],
)  # fmt: skip
def test_continuous_at_phase_boundaries(fn, kw, boundaries):
    """No jump at a phase boundary bigger than the largest step inside a phase."""
    lrs = fn(np.arange(kw["total_steps"]), **kw)
    jumps = np.abs(np.diff(lrs))
    typical = np.max(np.delete(jumps, [b - 1 for b in boundaries] + boundaries))
    for b in boundaries:
        assert jumps[b - 1] <= typical * 1.01 and jumps[b] <= typical * 1.01


# --- bad input: ValueError naming the parameter -----------------------------------------

BAD = [
    (constant_schedule, -1, {}, "step"),
    (constant_schedule, 1.5, {}, "step"),
    (constant_schedule, True, {}, "step"),
    (constant_schedule, np.array([0, -3]), {}, "step"),
    (constant_schedule, np.array([0.0, 1.0]), {}, "step"),
    (constant_schedule, 0, {"lr": -1e-3}, "lr"),
    (constant_schedule, 0, {"lr": float("nan")}, "lr"),
    (constant_schedule, 0, {"lr": float("inf")}, "lr"),
    (constant_schedule, 0, {"lr": "0.1"}, "lr"),
    (step_decay_schedule, 0, {"drop_every": 0}, "drop_every"),
    (step_decay_schedule, 0, {"drop_every": 2.5}, "drop_every"),
    (step_decay_schedule, 0, {"drop_factor": 0.0}, "drop_factor"),
    (step_decay_schedule, 0, {"drop_factor": 1.5}, "drop_factor"),
    (cosine_schedule, 0, {"lr_min": 1e-2, "lr_max": 1e-3}, "lr_min"),
    (cosine_schedule, 0, {"lr_max": -1.0}, "lr_max"),
    (cosine_schedule, 0, {"lr_min": -1e-6}, "lr_min"),
    (cosine_schedule, 0, {"total_steps": 0}, "total_steps"),
    (cosine_schedule, 0, {"total_steps": 100.0}, "total_steps"),
    (warmup_cosine_schedule, 0, {"warmup_steps": 1001}, "warmup_steps"),
    (warmup_cosine_schedule, 0, {"warmup_steps": -1}, "warmup_steps"),
    (warmup_cosine_schedule, 0, {"total_steps": 0}, "total_steps"),
    (one_cycle_schedule, 0, {"pct_start": 0.0}, "pct_start"),
    (one_cycle_schedule, 0, {"pct_start": 1.0}, "pct_start"),
    (one_cycle_schedule, 0, {"pct_start": 0.6}, "pct_start"),
    (one_cycle_schedule, 0, {"total_steps": 1}, "total_steps"),
    (one_cycle_schedule, 0, {"total_steps": 2, "pct_start": 0.3}, "pct_start"),
    (one_cycle_schedule, 0, {"anneal": "cosine"}, "anneal"),
    (one_cycle_schedule, 0, {"div_factor": 0}, "div_factor"),
    (one_cycle_schedule, 0, {"final_div_factor": float("inf")}, "final_div_factor"),
    (one_cycle_schedule, 0, {"three_phase": "yes"}, "three_phase"),
    (one_cycle_schedule, 0, {"lr_max": float("nan")}, "lr_max"),
]


@pytest.mark.parametrize("fn, step, kw, name", BAD)
def test_bad_input_names_the_parameter(fn, step, kw, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        fn(step, **kw)


@pytest.mark.parametrize("fn", ALL)
def test_unknown_keyword_is_an_error_not_ignored(fn):
    # The lesson's **kwargs silently swallowed typos such as total_step=...
    with pytest.raises(TypeError):
        fn(0, total_step=10)
