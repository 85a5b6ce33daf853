"""The registry: every schedule has a function, a recipe and a colour, in one place."""

import inspect
import math
import re

import matplotlib.colors as mcolors
import numpy as np
import pytest

import lrcourse
from lrcourse.schedules import LESSON_SCHEDULES, SCHEDULES, formulas, get, schedule
from lrcourse.schedules.formulas import powers

NAMES = list(SCHEDULES)


def test_every_schedule_has_its_function_recipe_and_colour():
    colors = [entry.color for entry in SCHEDULES.values()]
    assert len(set(colors)) == len(colors), "two schedules share a colour"
    for name, entry in SCHEDULES.items():
        assert entry.name == name
        assert entry.fn.__name__.endswith("_schedule") and callable(entry.recipe)
        assert mcolors.is_color_like(entry.color)
        assert entry.about
        # the recipe gives arguments the function accepts, and a run of the asked length
        kwargs = entry.kwargs(peak=0.3, steps=300)
        assert set(kwargs) <= set(inspect.signature(entry.fn).parameters)
        lrs = entry.lrs(peak=0.3, steps=300)
        assert lrs.shape == (300,) and math.isclose(lrs.max(), 0.3, rel_tol=0.02)


def test_the_lesson_five_and_every_public_schedule_are_registered():
    assert LESSON_SCHEDULES == (
        "constant",
        "step decay",
        "cosine",
        "warmup + cosine",
        "1cycle",
    )
    assert set(LESSON_SCHEDULES) <= set(SCHEDULES)
    public = {n for n in formulas.__all__ if n.endswith("_schedule")}
    assert public == {entry.fn.__name__ for entry in SCHEDULES.values()}
    for (
        fn_name
    ) in public:  # lrcourse.<name>_schedule and lrcourse.schedules.<name>_schedule
        assert getattr(lrcourse, fn_name) is getattr(lrcourse.schedules, fn_name)


@pytest.mark.parametrize("name", NAMES)
def test_calling_an_entry_calls_its_function(name):
    entry = SCHEDULES[name]
    kwargs = entry.kwargs(peak=0.1, steps=50)
    assert np.array_equal(
        entry(np.arange(50), **kwargs), entry.fn(np.arange(50), **kwargs)
    )
    assert entry(7, **kwargs) == entry.fn(7, **kwargs)


def test_recipes_follow_the_lessons_table_scaled_to_the_run():
    t = np.arange(300)
    expected = {
        "constant": {"lr": 0.3},
        "step decay": {"lr": 0.3, "drop_factor": 0.1, "drop_every": 100},
        "cosine": {"lr_max": 0.3, "lr_min": 0.003, "total_steps": 300},
        "warmup + cosine": {
            "lr_max": 0.3,
            "lr_min": 0.003,
            "warmup_steps": 30,
            "total_steps": 300,
        },
        "1cycle": {"lr_max": 0.3, "total_steps": 300},
        "linear decay": {"lr_max": 0.3, "lr_min": 0.003, "total_steps": 300},
    }
    for name, kwargs in expected.items():
        got = get(name).kwargs(peak=0.3, steps=300)
        assert got.keys() == kwargs.keys()
        assert all(math.isclose(got[k], v, rel_tol=1e-15) for k, v in kwargs.items())
        assert np.array_equal(
            get(name).lrs(peak=0.3, steps=300), SCHEDULES[name].fn(t, **got)
        )


def test_step_decay_recipe_keeps_three_stages_for_any_length():
    for steps in (3, 7, 100, 301, 1000):
        levels = np.unique(get("step decay").lrs(peak=1.0, steps=steps))
        assert len(levels) == 3, steps


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get("linear"), r"name must be one of \["),
        (
            lambda: get("cosine").kwargs(peak=0.0, steps=10),
            "peak must be a finite number > 0",
        ),
        (
            lambda: get("cosine").kwargs(peak=0.1, steps=2),
            r"steps must be an integer >= 3",
        ),
    ],
)
def test_bad_lookups_and_recipes_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_powers_is_pythons_power_for_each_level():
    k = np.array([[0, 3], [1, 3]])
    assert np.array_equal(powers(0.1, k), np.array([[1.0, 0.1**3], [0.1, 0.1**3]]))
    spread = np.array([0, 5000])  # more levels than steps: one power per step
    assert np.array_equal(powers(0.5, spread), np.array([1.0, 0.5**5000]))
    assert powers(0.1, np.zeros((0,), dtype=np.int64)).shape == (0,)


def test_schedule_decorator_takes_ints_and_arrays():
    @schedule
    def double(t, *, by=2.0):
        return by * t

    assert double(3) == 6.0 and type(double(3)) is float
    assert np.array_equal(double(np.arange(3)), [0.0, 2.0, 4.0])
    assert double(np.arange(6).reshape(2, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match="step must be >= 0"):
        double(-1)


@pytest.mark.parametrize("name", NAMES)
def test_each_body_is_short_and_has_no_fast_path(name):
    """Taught code reads like its formula: no in-place tricks (out=, +=) in a schedule."""
    source = inspect.getsource(SCHEDULES[name].fn)
    body = source.split('"""', 2)[2]  # after the docstring
    assert not re.search(r"\bout=|[-+*/]=", body), f"{name} computes in place"
