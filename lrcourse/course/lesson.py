"""The source lesson's schedule code, kept verbatim (bugs included) for comparison.

Nothing in the course trains with these. Notebook 00 prints the lesson's table with
them beside ours, and ``make bench`` times them as the per-step Python loop. Their
known faults, each pinned by a test in ``tests/test_lesson.py``:

* ``**kwargs`` swallows misspelt arguments (``step_decay_schedule(s, total_steps=...)``
  in the lesson's own table is silently ignored).
* ``warmup_cosine_schedule`` climbs back up after ``total_steps`` and divides by zero
  when ``warmup_steps == total_steps``.
* ``one_cycle_schedule`` does not follow the lesson's text: it starts at 0 (not
  lr_max/25), falls to 0 at 90% of the steps, then jumps up to lr_max/1000.
"""

import math


def constant_schedule(step, lr=0.001, **kwargs):
    return lr


def step_decay_schedule(step, lr=0.01, drop_factor=0.1, drop_every=30, **kwargs):
    return lr * (drop_factor ** (step // drop_every))


def cosine_schedule(step, lr_max=0.001, lr_min=1e-5, total_steps=1000, **kwargs):
    progress = min(step / total_steps, 1.0)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * progress))


def warmup_cosine_schedule(
    step, lr_max=0.001, lr_min=1e-5, warmup_steps=100, total_steps=1000, **kwargs
):
    if step < warmup_steps:
        return lr_max * (step / warmup_steps)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * progress))


def one_cycle_schedule(step, lr_max=0.01, total_steps=1000, **kwargs):
    pct = step / total_steps
    if pct < 0.45:
        return lr_max * (pct / 0.45)
    elif pct < 0.9:
        progress = (pct - 0.45) / 0.45
        return lr_max * (1 - progress)
    else:
        return lr_max * 0.001


#: The steps the lesson prints its table at, and the arguments each column used.
TABLE_STEPS = (0, 50, 100, 250, 500, 750, 999)
TABLE_TOTAL = 1000
TABLE_CALLS = {
    "constant": (constant_schedule, {}),
    "step decay": (
        step_decay_schedule,
        {"total_steps": TABLE_TOTAL, "drop_every": 333},
    ),
    "cosine": (cosine_schedule, {"total_steps": TABLE_TOTAL}),
    "warmup + cosine": (
        warmup_cosine_schedule,
        {"warmup_steps": 100, "total_steps": TABLE_TOTAL},
    ),
    "1cycle": (one_cycle_schedule, {"total_steps": TABLE_TOTAL}),
}
