"""One registry of schedules: a name, the function, its recipe for a run, and its colour.

Everything else looks a schedule up here: the notebooks' plots (the colour), the fair
comparison of notebook 07 and ``make bench`` (the recipe), the lesson's table (the
function). A new schedule is one entry below; ``tests/test_registry.py`` checks that every
entry has all of its parts.

A *recipe* turns a run's length and peak lr into the schedule's arguments, following the
lesson's defaults made proportional to the run (its table runs 1000 steps peaking at 1e-3,
decays cosine to 1e-5, warms up for 100 steps, cuts step decay every 333 steps). Each
entry's ``about`` says in words what its recipe gives, for a run of T steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.schedules.formulas import (
    constant_schedule,
    cosine_schedule,
    linear_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)
from lrcourse.validate import choice, integer, number

__all__ = [
    "Schedule",
    "SCHEDULES",
    "LESSON_SCHEDULES",
    "get",
    "COSINE_FLOOR",
    "WARMUP_FRACTION",
    "STEP_STAGES",
    "DROP_FACTOR",
    "MIN_STEPS",
]

#: Cosine and linear decay end at ``COSINE_FLOOR * peak``: the lesson's 1e-3 -> 1e-5.
COSINE_FLOOR = 0.01
#: Warmup + cosine warms up over this share of the run: the lesson's 100 of 1000 steps.
WARMUP_FRACTION = 0.1
#: Step decay runs in this many equal stages, cut by ``DROP_FACTOR`` every ceil(T / 3)
#: steps: peak, peak/10, peak/100. (The lesson cuts every 333 of its 1000 steps, which adds
#: a fourth level at its last step, 999; rounding up keeps three stages.)
STEP_STAGES = 3
#: Step decay's factor per cut: the lesson's x0.1.
DROP_FACTOR = 0.1
#: The shortest run every recipe accepts: 1cycle needs a step in each of its three phases.
MIN_STEPS = 3


@dataclass(frozen=True)
class Schedule:
    """A schedule in the registry. Calling it calls its function."""

    name: str
    fn: Callable[..., Any]
    recipe: Callable[[float, int], dict[str, Any]]
    color: str
    about: str

    def __call__(self, step, /, **hyper):
        return self.fn(step, **hyper)

    def kwargs(self, *, peak: float, steps: int) -> dict[str, Any]:
        """The arguments of this schedule for a run of ``steps`` steps peaking at ``peak``."""
        peak = number("peak", peak, strict=True)
        steps = integer(
            "steps", steps, MIN_STEPS, why=" (1cycle needs a step in each phase)"
        )
        return self.recipe(peak, steps)

    def lrs(self, *, peak: float, steps: int) -> NDArray[np.float64]:
        """The lr at steps 0 .. steps-1 of a run of ``steps`` steps peaking at ``peak``."""
        return self.fn(np.arange(steps), **self.kwargs(peak=peak, steps=steps))


def _constant(peak: float, steps: int) -> dict[str, Any]:
    return {"lr": peak}


def _step_decay(peak: float, steps: int) -> dict[str, Any]:
    return {
        "lr": peak,
        "drop_factor": DROP_FACTOR,
        "drop_every": -(-steps // STEP_STAGES),
    }


def _to_floor(peak: float, steps: int) -> dict[str, Any]:
    return {"lr_max": peak, "lr_min": peak * COSINE_FLOOR, "total_steps": steps}


def _warmup_cosine(peak: float, steps: int) -> dict[str, Any]:
    warmup = round(WARMUP_FRACTION * steps)
    return {**_to_floor(peak, steps), "warmup_steps": warmup}


def _one_cycle(peak: float, steps: int) -> dict[str, Any]:
    return {"lr_max": peak, "total_steps": steps}


_ALL = (
    Schedule(
        "constant", constant_schedule, _constant, "#4d4d4d", "lr = peak throughout"
    ),
    Schedule(
        "step decay",
        step_decay_schedule,
        _step_decay,
        "#e08214",
        "peak, x0.1 every ceil(T/3) steps: peak, peak/10, peak/100",
    ),
    Schedule(
        "cosine",
        cosine_schedule,
        _to_floor,
        "#2166ac",
        "cosine from peak down to peak/100 over T steps",
    ),
    Schedule(
        "warmup + cosine",
        warmup_cosine_schedule,
        _warmup_cosine,
        "#1b7837",
        "0 up to peak over T/10 steps, then cosine to peak/100",
    ),
    Schedule(
        "1cycle",
        one_cycle_schedule,
        _one_cycle,
        "#b2182b",
        "the lesson's: peak/25 -> peak -> peak/25 -> peak/25000",
    ),
    Schedule(
        "linear decay",
        linear_schedule,
        _to_floor,
        "#762a83",
        "a straight line from peak down to peak/100 over T steps",
    ),
)

#: Every schedule by name.
SCHEDULES: dict[str, Schedule] = {s.name: s for s in _ALL}
#: The lesson's five, in the lesson's order.
LESSON_SCHEDULES: tuple[str, ...] = (
    "constant",
    "step decay",
    "cosine",
    "warmup + cosine",
    "1cycle",
)


def get(name: str) -> Schedule:
    """The registered schedule called ``name``; ValueError naming the choices otherwise."""
    return SCHEDULES[choice("name", name, SCHEDULES)]
