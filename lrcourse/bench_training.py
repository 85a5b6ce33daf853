"""Batched against sequential training: the same runs, one model or one at a time.

``bench_batched_vs_sequential`` trains ``n_members`` seeds on the digits task with plain
SGD, once as a single batched model (``train(..., seeds=range(n))``) and once as ``n``
separate calls, and reports both wall times and their ratio (issue 3's target: >= 3x).
Each timing is the best of ``repeats``: the minimum is the run least disturbed by other
work on the machine. The two results are also compared, so a fast but wrong batch shows.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from lrcourse.data import digits_task
from lrcourse.train import train
from lrcourse.validate import integer

__all__ = ["bench_batched_vs_sequential", "RATIO_TARGET"]

RATIO_TARGET = 3.0


def bench_batched_vs_sequential(
    n_members: int = 25, steps: int = 300, *, repeats: int = 3, dtype: torch.dtype = torch.float32
) -> dict[str, Any]:
    """Seconds for ``n_members`` runs of ``steps`` steps, batched and sequential; their ratio."""
    n_members = integer("n_members", n_members, 1)
    steps = integer("steps", steps, 1)
    repeats = integer("repeats", repeats, 1)
    task = digits_task(dtype)
    seeds = list(range(n_members))
    kwargs = dict(steps=steps, eval_every=steps)  # evaluate at the start and the end only

    def batched():
        return train(task, 0.1, seeds=seeds, **kwargs)

    def sequential():
        return [train(task, 0.1, seeds=seed, **kwargs)[0] for seed in seeds]

    train(task, 0.1, seeds=[0], steps=5)  # warm-up: first calls pay one-off costs
    times = {}
    for name, run in [("batched", batched), ("sequential", sequential)]:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - start)
        times[name] = (best, result)
    (t_b, hb), (t_s, hs) = times["batched"], times["sequential"]
    max_rel_diff = max(
        float(np.max(np.abs(a.loss - b.loss) / np.abs(b.loss))) for a, b in zip(hb, hs, strict=True)
    )
    return {
        "n_members": n_members,
        "steps": steps,
        "dtype": str(dtype),
        "batched_s": t_b,
        "sequential_s": t_s,
        "ratio": t_s / t_b,
        "target": RATIO_TARGET,
        "meets_target": t_s / t_b >= RATIO_TARGET,
        "batched_steps_per_s": steps / t_b,
        "max_rel_loss_diff": max_rel_diff,
    }


if __name__ == "__main__":
    for key, value in bench_batched_vs_sequential().items():
        print(f"{key:>20}: {value:.4g}" if isinstance(value, float) else f"{key:>20}: {value}")
