"""lrcourse: learning-rate schedules and warmup, taught as tested code.

The notebooks under ``notebooks/`` import everything they teach from here.
"""

from lrcourse.schedules import (
    SCHEDULES,
    constant_schedule,
    cosine_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)

__version__ = "0.1.0"

__all__ = [
    "SCHEDULES",
    "constant_schedule",
    "cosine_schedule",
    "one_cycle_schedule",
    "step_decay_schedule",
    "warmup_cosine_schedule",
]
