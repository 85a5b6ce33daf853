"""lrcourse: learning-rate schedules and warmup, taught as tested code.

The notebooks under ``notebooks/`` import everything they teach from here. The schedules
are at the top level; the rest is grouped by idea (importing this package imports no torch):

* ``lrcourse.schedules``  the schedules as formulas, one registry of them, torch's own
* ``lrcourse.training``   the digits task, the batched MLP, ``train``/``train_grid``
* ``lrcourse.optim``      SGD and Adam from their equations
* ``lrcourse.diagnose``, ``lrcourse.curvature``, ``lrcourse.compare``
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

__version__ = "0.2.0"

__all__ = [
    "SCHEDULES",
    "LESSON_SCHEDULES",
    "constant_schedule",
    "step_decay_schedule",
    "cosine_schedule",
    "linear_schedule",
    "warmup_cosine_schedule",
    "one_cycle_schedule",
]
