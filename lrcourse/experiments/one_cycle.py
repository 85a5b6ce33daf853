"""Notebook 06's experiment: 1cycle as Smith meant it, with its momentum cycled, against
1cycle with a held momentum, a constant lr and warmup + cosine, on the digits task.

The protocol is notebook 07's (``five_schedules.PROTOCOL``): an MLP 64-128-10, SGD with
mini-batches of 64, float32, 300 steps, every schedule at every peak of the 2x grid, ten
seeds; the full training and validation losses every ``EVAL_EVERY`` steps. Every run holds
momentum 0.9 except "1cycle + momentum", whose momentum follows ``one_cycle_momentum``:
0.95 -> 0.85 -> 0.95 against the lr (Smith 2018, arXiv 1803.09820). About a minute.

Arrays, laid out as ``five_schedules``' so that ``Grid.from_results(results, 300)`` reads
them: ``300/train_loss``, ``300/val_loss``, ``300/val_acc`` (S, P, N, E); ``300/loss``
(S, P, N, T); ``300/diverged_at`` (S, P, N); ``300/eval_step`` (E,); ``names``, ``peaks``,
``seeds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrcourse.compare import Grid
from lrcourse.experiments import five_schedules
from lrcourse.schedules import SCHEDULES, one_cycle_momentum
from lrcourse.training import digits_task, train_grid

ABOUT = "1cycle with and without cycled momentum, constant, warmup + cosine: 6 peaks x 10 seeds"

NAMES = ("constant", "warmup + cosine", "1cycle", "1cycle + momentum")
PEAKS = five_schedules.PEAKS
SEEDS = tuple(range(10))
STEPS = 300
EVAL_EVERY = 10
PROTOCOL = five_schedules.PROTOCOL  # SGD, momentum 0.9 (held), batches of 64
#: Smith's momentum cycle, 0.95 -> 0.85 -> 0.95 (also torch's OneCycleLR defaults).
MOMENTUM_CYCLE = {"base_momentum": 0.85, "max_momentum": 0.95}


def specs(name: str, peak: float, steps: int) -> Any:
    """What ``train_grid`` needs for one cell: the lr, and for "1cycle + momentum" also the
    momentum, each step; 1cycle is the registry's (Smith's three linear phases)."""
    if name != "1cycle + momentum":
        return SCHEDULES[name].lrs(peak=peak, steps=steps)
    momentum = one_cycle_momentum(np.arange(steps), total_steps=steps, **MOMENTUM_CYCLE)
    return {"lr": SCHEDULES["1cycle"].lrs(peak=peak, steps=steps), "momentum": momentum}


def run_grid(
    steps: int = STEPS,
    *,
    names: tuple[str, ...] = NAMES,
    peaks: tuple[float, ...] = PEAKS,
    seeds: tuple[int, ...] = SEEDS,
) -> dict[str, np.ndarray]:
    """Every schedule at every peak for every seed as one batched model; the arrays of the
    module docstring (without the budget prefix)."""
    runs = {
        five_schedules.label(n, p): specs(n, p, steps) for n in names for p in peaks
    }
    out = train_grid(digits_task(), runs, list(seeds), steps=steps, eval_every=EVAL_EVERY,
                     **PROTOCOL)  # fmt: skip
    grid = Grid.from_runs(out)
    arrays = {
        k: getattr(grid, k) for k in ("train_loss", "val_loss", "val_acc", "eval_step")
    }
    arrays["loss"] = grid.loss.astype(np.float32)
    arrays["diverged_at"] = grid.diverged_at.astype(np.int64)
    return arrays


def run() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole experiment."""
    arrays: dict[str, np.ndarray] = {
        "names": np.array(NAMES),
        "peaks": np.array(PEAKS),
        "seeds": np.array(SEEDS),
    }
    for key, value in run_grid().items():
        arrays[f"{STEPS}/{key}"] = value
    meta = {
        "protocol": {**PROTOCOL, "model": "MLP 64-128-10", "dtype": "float32"},
        "budgets": [STEPS],
        "eval_every": EVAL_EVERY,
        "momentum_cycle": MOMENTUM_CYCLE,
    }
    return arrays, meta
