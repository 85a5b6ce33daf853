"""Notebook 07's experiment: the lesson's five schedules on the digits task, every schedule
at every peak of a 2x grid, ten seeds, two budgets; and the controls that explain the
mid-run rise of the large peaks.

The protocol (``PROTOCOL``): an MLP 64-128-10, SGD with momentum 0.9, mini-batches of 64,
float32; each schedule's shape scaled to the run by its registry recipe; the full training
and validation losses measured every ``EVAL_EVERY`` steps. About a minute on two cores.

Arrays (S schedules, P peaks, N seeds, E evaluations, T steps), for each budget B in
``BUDGETS`` under the prefix ``"{B}/"``:
``train_loss``, ``val_loss``, ``val_acc`` (S, P, N, E); ``loss`` (S, P, N, T), the mini-batch
loss of every step (nan after a divergence); ``diverged_at`` (S, P, N), -1 if never;
``eval_step`` (E,). Shared: ``names`` (S,), ``peaks`` (P,), ``seeds`` (N,).

The controls, at ``RISE_PEAK`` for step decay (``"rise/"``): the full training loss with
mini-batches of 64, of 256 and with the full batch, and the weight norm, for ``RISE_SEEDS``;
and the full-batch sharpness (top Hessian eigenvalue) of the batch-64 run of the first seed
at ``SHARPNESS_AT``, against momentum SGD's stability limit 2 (1 + momentum) / lr.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from lrcourse.curvature import sharpness
from lrcourse.schedules import LESSON_SCHEDULES, SCHEDULES
from lrcourse.training import digits_task, mlp_loss, train, train_grid

ABOUT = "the five schedules x 6 peaks x 10 seeds, at 300 and 100 steps, and the rise controls"

PEAKS = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8)
SEEDS = tuple(range(10))
BUDGETS = (300, 100)
EVAL_EVERY = 10
PROTOCOL = dict(optimizer="sgd", momentum=0.9, batch_size=64)
RISE_PEAK = 0.4
RISE_SEEDS = (0, 1, 2)
RISE_BATCHES = (64, 256, None)  # None: the full batch, 1440 images
SHARPNESS_AT = (20, 60, 100)


def label(name: str, peak: float) -> str:
    """The label of one grid cell, e.g. ``"cosine @ 0.1"``."""
    return f"{name} @ {peak:g}"


def run_grid(
    steps: int,
    *,
    names: tuple[str, ...] = LESSON_SCHEDULES,
    peaks: tuple[float, ...] = PEAKS,
    seeds: tuple[int, ...] = SEEDS,
) -> dict[str, np.ndarray]:
    """Every schedule at every peak for every seed, ``steps`` steps each, as one batched
    model; the arrays of the module docstring (without the budget prefix)."""
    task = digits_task()
    lrs = {
        label(n, p): SCHEDULES[n].lrs(peak=p, steps=steps) for n in names for p in peaks
    }
    runs = train_grid(
        task, lrs, list(seeds), steps=steps, eval_every=EVAL_EVERY, **PROTOCOL
    )
    S, P, N = len(names), len(peaks), len(seeds)
    E = steps // EVAL_EVERY + 1
    out = {
        key: np.full((S, P, N, E), np.nan)
        for key in ("train_loss", "val_loss", "val_acc")
    }
    out["loss"] = np.full((S, P, N, steps), np.nan, dtype=np.float32)
    out["diverged_at"] = np.full((S, P, N), -1, dtype=np.int64)
    out["eval_step"] = np.arange(0, steps + 1, EVAL_EVERY)
    for i, n in enumerate(names):
        for j, p in enumerate(peaks):
            for k, h in enumerate(runs[label(n, p)]):
                e = h.eval_step.size  # fewer evaluations once a run diverged
                out["train_loss"][i, j, k, :e] = h.train_loss
                out["val_loss"][i, j, k, :e] = h.val_loss
                out["val_acc"][i, j, k, :e] = h.val_acc
                out["loss"][i, j, k, : h.loss.size] = h.loss
                out["diverged_at"][i, j, k] = (
                    -1 if h.diverged_at is None else h.diverged_at
                )
    return out


def run_rise(
    steps: int = 300, *, seeds: tuple[int, ...] = RISE_SEEDS, batches=RISE_BATCHES
) -> dict[str, np.ndarray]:
    """Step decay at ``RISE_PEAK`` with each batch size: the full training loss every
    ``EVAL_EVERY`` steps, and the weights' norm at the end of the first stage (step 100)."""
    task = digits_task()
    lrs = SCHEDULES["step decay"].lrs(peak=RISE_PEAK, steps=steps)
    stage = SCHEDULES["step decay"].kwargs(peak=RISE_PEAK, steps=steps)["drop_every"]
    train_loss, norm_start, norm_stage = [], [], []
    for batch in batches:
        runs = train(task, lrs, steps=steps, seeds=list(seeds), batch_size=batch,
                     eval_every=EVAL_EVERY, optimizer="sgd", momentum=0.9)  # fmt: skip
        train_loss.append([h.train_loss for h in runs])
        first = train(task, lrs[:stage], steps=stage, seeds=list(seeds), batch_size=batch,
                      eval_every=stage, optimizer="sgd", momentum=0.9)  # fmt: skip
        norm_stage.append([_norm(h.params) for h in first])
        start = train(task, 0.0, steps=1, seeds=list(seeds), eval_every=1)
        norm_start.append([_norm(h.params) for h in start])
    return {
        "sharpness": _sharpness_along(lrs, seeds[0]),
        "sharpness_at": np.array(SHARPNESS_AT),
        "train_loss": np.array(train_loss),  # (batches, seeds, E)
        "batch": np.array([task.n_train if b is None else b for b in batches]),
        "weight_norm_start": np.array(norm_start),
        "weight_norm_stage_end": np.array(norm_stage),
        "stage_end": np.array(stage),
    }


def _sharpness_along(lrs: np.ndarray, seed: int) -> np.ndarray:
    """The full-batch sharpness of the batch-64 run of ``seed`` after each of SHARPNESS_AT."""
    task = digits_task()
    loss = functools.partial(mlp_loss, X=task.X_train, y=task.y_train)
    out = []
    for k in SHARPNESS_AT:
        run = train(task, lrs[:k], steps=k, seeds=[seed], eval_every=k, **PROTOCOL)[0]
        out.append(sharpness(loss, run.params, max_iter=200, tol=1e-4).eigenvalue)
    return np.array(out)


def _norm(params: list[torch.Tensor]) -> float:
    return float(torch.sqrt(sum((p.double() ** 2).sum() for p in params)))


def run() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole experiment: both budgets, then the rise controls."""
    arrays: dict[str, np.ndarray] = {
        "names": np.array(LESSON_SCHEDULES),
        "peaks": np.array(PEAKS),
        "seeds": np.array(SEEDS),
    }
    for steps in BUDGETS:
        for key, value in run_grid(steps).items():
            arrays[f"{steps}/{key}"] = value
    for key, value in run_rise().items():
        arrays[f"rise/{key}"] = value
    meta = {
        "protocol": {**PROTOCOL, "model": "MLP 64-128-10", "dtype": "float32"},
        "budgets": list(BUDGETS),
        "eval_every": EVAL_EVERY,
        "rise": {
            "schedule": "step decay",
            "peak": RISE_PEAK,
            "seeds": list(RISE_SEEDS),
        },
    }
    return arrays, meta
