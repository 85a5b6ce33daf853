"""Learning-rate schedules as pure functions of the step, and one registry of them.

``lrcourse.schedules.cosine_schedule`` and the other ``*_schedule`` functions live in
``formulas`` (each body is its formula); ``SCHEDULES`` maps a name to the function, its
recipe for a run and its colour (``registry``); ``torch_lrs`` steps PyTorch's own
schedulers for comparison (``lrcourse.schedules.torch``); ``recipes`` holds real models'
published recipes and ``warmup_steps_from_tokens``.
"""

from lrcourse.schedules.formulas import (
    constant_schedule,
    cosine_schedule,
    linear_schedule,
    one_cycle_momentum,
    one_cycle_schedule,
    schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)
from lrcourse.schedules.recipes import warmup_steps_from_tokens
from lrcourse.schedules.registry import LESSON_SCHEDULES, SCHEDULES, Schedule, get

__all__ = [
    "SCHEDULES",
    "LESSON_SCHEDULES",
    "Schedule",
    "get",
    "schedule",
    "constant_schedule",
    "step_decay_schedule",
    "cosine_schedule",
    "linear_schedule",
    "warmup_cosine_schedule",
    "one_cycle_schedule",
    "one_cycle_momentum",
    "warmup_steps_from_tokens",
]
