"""lrcourse: learning-rate schedules and warmup, taught as tested code.

The notebooks under ``notebooks/`` import everything they teach from here. The schedules
are at the top level; the rest is grouped by idea (importing this package imports no torch):

* ``lrcourse.schedules``  the schedules as formulas, one registry of them, torch's own
* ``lrcourse.training``   the digits task, the batched MLP, ``train``/``train_grid``
* ``lrcourse.optim``      SGD and Adam from their equations, and Adam's per-step statistics
* ``lrcourse.adam_warmup``, ``lrcourse.transformer``  why Adam needs warmup (notebook 04)
* ``lrcourse.diagnose``, ``lrcourse.curvature``, ``lrcourse.compare``
* ``lrcourse.lr_range_test``  the learning-rate range test (``lrcourse.range_test``), loaded
  on first use, so that importing ``lrcourse`` still imports no torch
* ``lrcourse.course``     what the notebooks need to show things: plots, sources, the lesson
"""

from lrcourse.schedules import (
    LESSON_SCHEDULES,
    SCHEDULES,
    constant_schedule,
    cosine_schedule,
    linear_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)
from lrcourse.schedules.recipes import warmup_steps_from_tokens

__version__ = "0.2.0"

#: Public names that live in a module importing torch: loaded on first use (PEP 562).
_LAZY = {"lr_range_test": "lrcourse.range_test"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'lrcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "SCHEDULES",
    "LESSON_SCHEDULES",
    "constant_schedule",
    "step_decay_schedule",
    "cosine_schedule",
    "linear_schedule",
    "warmup_cosine_schedule",
    "one_cycle_schedule",
    "warmup_steps_from_tokens",
    "lr_range_test",
]
