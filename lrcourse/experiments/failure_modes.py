"""Notebook 01's experiment: the lesson's three learning rates for its 100 epochs, the
sharpness measured densely along the runs that diverge and the runs that warmup rescues,
and the oscillation of Adam at a constant lr on many seeds.

Everything is the course task (digits, MLP 64-128-10, float32). About four minutes on two
cores, most of it power iteration.

``"claims/"``: plain SGD, mini-batches of 64, at the lesson's ``CLAIM_LRS`` for
``CLAIM_STEPS`` steps (100 epochs), for ``SEEDS``: ``loss`` (R, N, T) float32, the mini-batch
loss of every step; ``train_acc`` (R, N), the training accuracy after the last step;
``names`` (R,).

``"divergence/"``: plain SGD, mini-batches of 64, at ``DIVERGENCE_RUNS`` (lr 10 and 5 from a
cold start, lr 1, lr 5 after 500 warmup steps) for ``DIVERGENCE_STEPS`` steps and ``SEEDS``:
``loss`` (R, N, T) float32, the mini-batch loss of every step up to the divergence (inf or
nan there) and nan after it; ``diverged_at`` (R, N), -1 if never; ``final_train_loss`` (R, N),
the full training loss after the last step (inf if diverged); ``lr`` (R, T); ``names`` (R,).

``"sharpness/"``: plain SGD, mini-batches of 64, for ``RUNS`` (lr 5 from a cold start, lr 5
after 100 or 500 warmup steps, lr 1) and ``SEEDS``. The limit ``2 / lambda_max`` of the full
training loss is measured after each of ``CHECKPOINTS`` updates (a copy of the run whose lr
is 0 from that step on holds those weights). Arrays (R runs, N seeds, K checkpoints, T steps):
``limit`` (R, N, K), nan once the run has diverged; ``lr`` (R, T + 1), the lr of each step,
the one after the last checkpoint included (``lr[:, checkpoints]`` is the lr that meets each
measured limit); ``loss`` (R, N, T), the mini-batch loss (nan after a divergence);
``diverged_at`` (R, N), -1 if never; ``checkpoints`` (K,); ``names`` (R,); ``seeds`` (N,).

``"edge/"``: full-batch gradient descent at ``EDGE_FACTOR`` times each seed's initial limit,
the limit measured after each of ``EDGE_CHECKPOINTS`` steps: ``limit`` (N, K); ``lr`` (N,);
``loss`` (N, T + 1), the full training loss before each step and after the last;
``checkpoints`` (K,).

``"oscillation/"``: Adam for ``OSC_STEPS`` steps on ``OSC_SEEDS``, ``OSC_RUNS`` (a constant
lr 0.01 and cosine decay from it, both with L2 weight decay 1e-3, and the constant lr with
no weight decay): ``loss`` (R, N, T) float32, the per-step mini-batch loss;
``val_loss``, ``train_loss`` (R, N), full-batch, after the last step; ``names``; ``seeds``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from lrcourse.curvature import max_stable_lr, sharpness
from lrcourse.schedules import cosine_schedule, warmup_cosine_schedule
from lrcourse.training import (
    BatchedMLP,
    digits_task,
    mlp_forward,
    mlp_loss,
    train,
    train_grid,
)

ABOUT = "2/lambda_max along lr 5 with and without warmup, and Adam's oscillation on 16 seeds"

SEEDS = (0, 1, 2)
STEPS = 500
CHECKPOINTS = (
    0,
    5,
    10,
    15,
    20,
    25,
    30,
    35,
    40,
    50,
    60,
    75,
    100,
    125,
    150,
    200,
    250,
    300,
    400,
    500,
)
CLAIM_LRS = {"lr 0.1": 0.1, "lr 0.0001": 1e-4, "lr 0.01": 0.01}
CLAIM_STEPS = 2250  # the lesson's 100 epochs: 22.5 steps of 64 per epoch
DIVERGENCE_STEPS = 750
DIVERGENCE_RUNS = ("lr 10", "lr 5", "lr 1", "lr 5 after 500 warmup steps")
RUNS = ("lr 5, cold start", "lr 5, 100 warmup steps", "lr 5, 500 warmup steps", "lr 1")
EDGE_FACTOR = 0.9
EDGE_CHECKPOINTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30)
OSC_STEPS = 2250  # the lesson's 100 epochs
OSC_SEEDS = tuple(range(16))
OSC_RUNS = ("constant 0.01", "cosine 0.01 -> 0.0001", "constant 0.01, no weight decay")
WEIGHT_DECAY = 1e-3
POWER = dict(tol=1e-4, max_iter=300)  # 2/lambda to about 0.1%, ample for 2 digits


def schedule(name: str, steps: int = STEPS) -> np.ndarray:
    """The learning rate of run ``name`` at each of ``steps`` steps."""
    t = np.arange(steps)
    if name == "lr 1":
        return np.full(steps, 1.0)
    if name == "lr 5, cold start":
        return np.full(steps, 5.0)
    warmup = {"lr 5, 100 warmup steps": 100, "lr 5, 500 warmup steps": 500}[name]
    # lr_min = lr_max: the schedule holds lr 5 after its warmup, nothing decays.
    return warmup_cosine_schedule(
        t, lr_max=5.0, lr_min=5.0, warmup_steps=warmup, total_steps=max(steps, warmup)
    )


def _limit(params) -> float:
    task = digits_task()
    loss = functools.partial(mlp_loss, X=task.X_train, y=task.y_train)
    return max_stable_lr(sharpness(loss, params, **POWER).eigenvalue)


def limits_along(
    lrs: np.ndarray,
    seeds: Sequence[int],
    checkpoints: Sequence[int],
    *,
    batch_size: int | None = 64,
) -> tuple[np.ndarray, list]:
    """``2 / lambda_max`` after each of ``checkpoints`` updates of the run with lr table
    ``lrs`` (steps,) or (steps, len(seeds)), for each seed: an array (seeds, checkpoints),
    nan where the run had diverged; and the Histories of the full runs, one per seed."""
    task = digits_task()
    steps = max(checkpoints)
    lrs = np.asarray(lrs, dtype=np.float64)
    table = lrs[:steps, None] if lrs.ndim == 1 else lrs[:steps]
    table = np.broadcast_to(table, (steps, len(seeds)))
    t = np.arange(steps)[:, None]
    # Member (seed i, checkpoint j) follows seed i's run and stops moving after step k_j.
    columns = [
        np.where(t[:, 0] < k, table[:, i], 0.0)
        for i in range(len(seeds))
        for k in checkpoints
    ]
    members = [s for s in seeds for _ in checkpoints]
    runs = train(task, np.stack(columns, axis=1), steps=max(steps, 1), seeds=members,
                 batch_size=batch_size, eval_every=max(steps, 1))  # fmt: skip
    out = np.full((len(seeds), len(checkpoints)), np.nan)
    full = []
    for i in range(len(seeds)):
        for j, k in enumerate(checkpoints):
            run = runs[i * len(checkpoints) + j]
            if run.diverged_at is None or k < run.diverged_at:
                out[i, j] = _limit(run.params)
        full.append(runs[i * len(checkpoints) + len(checkpoints) - 1])
    return out, full


def run_claims(
    lrs: dict[str, float] = CLAIM_LRS,
    seeds: Sequence[int] = SEEDS,
    steps: int = CLAIM_STEPS,
) -> dict[str, np.ndarray]:
    """The ``"claims/"`` arrays: the lesson's learning rates, plain SGD, every seed."""
    task = digits_task()
    runs = train_grid(task, lrs, list(seeds), steps=steps, eval_every=steps)
    loss = np.full((len(lrs), len(seeds), steps), np.nan, dtype=np.float32)
    acc = np.full((len(lrs), len(seeds)), np.nan)
    for r, histories in enumerate(runs.values()):
        for i, h in enumerate(histories):
            loss[r, i, : h.loss.size] = h.loss
            predicted = mlp_forward(h.params, task.X_train).argmax(dim=1)
            acc[r, i] = float((predicted == task.y_train).double().mean())
    return {"loss": loss, "train_acc": acc, "names": np.array(list(lrs))}


def divergence_lrs(name: str, steps: int = DIVERGENCE_STEPS) -> np.ndarray:
    """The learning rate of divergence run ``name`` at each of ``steps`` steps."""
    if name == "lr 5 after 500 warmup steps":
        # lr_min = lr_max: the schedule holds lr 5 after its warmup, nothing decays.
        return warmup_cosine_schedule(
            np.arange(steps),
            lr_max=5.0,
            lr_min=5.0,
            warmup_steps=500,
            total_steps=max(steps, 500),
        )
    return np.full(steps, float(name.split()[1]))


def run_divergence(
    runs: Sequence[str] = DIVERGENCE_RUNS,
    seeds: Sequence[int] = SEEDS,
    steps: int = DIVERGENCE_STEPS,
) -> dict[str, np.ndarray]:
    """The ``"divergence/"`` arrays: the runs that blow up and the two fixes."""
    task = digits_task()
    lrs = {name: divergence_lrs(name, steps) for name in runs}
    histories = train_grid(task, lrs, list(seeds), steps=steps, eval_every=steps)
    loss = np.full((len(runs), len(seeds), steps), np.nan, dtype=np.float32)
    diverged = np.full((len(runs), len(seeds)), -1, dtype=np.int64)
    final = np.full((len(runs), len(seeds)), np.inf)
    for r, name in enumerate(runs):
        for i, h in enumerate(histories[name]):
            loss[r, i, : h.loss.size] = h.loss
            diverged[r, i] = -1 if h.diverged_at is None else h.diverged_at
            final[r, i] = h.final_train_loss
    return {
        "loss": loss,
        "diverged_at": diverged,
        "final_train_loss": final,
        "lr": np.stack(list(lrs.values())),
        "names": np.array(runs),
    }


def run_sharpness(
    runs: Sequence[str] = RUNS,
    seeds: Sequence[int] = SEEDS,
    checkpoints: Sequence[int] = CHECKPOINTS,
) -> dict[str, np.ndarray]:
    """The ``"sharpness/"`` arrays of the module docstring."""
    steps = max(checkpoints)
    limit = np.full((len(runs), len(seeds), len(checkpoints)), np.nan)
    loss = np.full((len(runs), len(seeds), steps), np.nan)
    diverged = np.full((len(runs), len(seeds)), -1, dtype=np.int64)
    for r, name in enumerate(runs):
        limit[r], full = limits_along(schedule(name, steps), seeds, checkpoints)
        for i, h in enumerate(full):
            loss[r, i, : h.loss.size] = h.loss
            diverged[r, i] = -1 if h.diverged_at is None else h.diverged_at
    return {
        "limit": limit,
        "lr": np.stack([schedule(name, steps + 1) for name in runs]),
        "loss": loss,
        "diverged_at": diverged,
        "checkpoints": np.array(checkpoints),
        "names": np.array(runs),
        "seeds": np.array(seeds),
    }


def run_edge(
    seeds: Sequence[int] = SEEDS, checkpoints: Sequence[int] = EDGE_CHECKPOINTS
) -> dict[str, np.ndarray]:
    """The ``"edge/"`` arrays: full-batch GD at EDGE_FACTOR x each seed's initial limit."""
    lr = np.array(
        [EDGE_FACTOR * _limit(BatchedMLP([s]).member_params(0)) for s in seeds]
    )
    steps = max(checkpoints)
    limit, full = limits_along(
        np.tile(lr, (steps, 1)), seeds, checkpoints, batch_size=None
    )
    task = digits_task()
    after = [float(mlp_loss(h.params, task.X_train, task.y_train)) for h in full]
    return {
        "limit": limit,
        "lr": lr,
        "loss": np.array(
            [np.append(h.loss, a) for h, a in zip(full, after, strict=True)]
        ),
        "checkpoints": np.array(checkpoints),
    }


def run_oscillation(
    runs: Sequence[str] = OSC_RUNS,
    seeds: Sequence[int] = OSC_SEEDS,
    steps: int = OSC_STEPS,
) -> dict[str, np.ndarray]:
    """The ``"oscillation/"`` arrays: Adam at a constant lr, with and without cosine decay
    and weight decay, every run for every seed."""
    task = digits_task()
    t = np.arange(steps)
    lrs = {
        "constant 0.01": np.full(steps, 0.01),
        "cosine 0.01 -> 0.0001": cosine_schedule(
            t, lr_max=0.01, lr_min=1e-4, total_steps=steps
        ),
        "constant 0.01, no weight decay": np.full(steps, 0.01),
    }
    loss = np.full((len(runs), len(seeds), steps), np.nan, dtype=np.float32)
    val, train_loss = np.full((2, len(runs), len(seeds)), np.nan)
    # One batched model per weight decay: every run with it, every seed (run-major columns).
    for wd in sorted({_weight_decay(name) for name in runs}):
        mine = [r for r, name in enumerate(runs) if _weight_decay(name) == wd]
        table = np.stack([lrs[runs[r]] for r in mine for _ in seeds], axis=1)
        members = [s for _ in mine for s in seeds]
        histories = train(task, table, steps=steps, seeds=members, optimizer="adam",
                          weight_decay=wd, eval_every=steps)  # fmt: skip
        for k, h in enumerate(histories):
            r, i = mine[k // len(seeds)], k % len(seeds)
            loss[r, i, : h.loss.size] = h.loss
            val[r, i], train_loss[r, i] = h.final_val_loss, h.final_train_loss
    return {
        "loss": loss,
        "val_loss": val,
        "train_loss": train_loss,
        "names": np.array(runs),
        "seeds": np.array(seeds),
    }


def _weight_decay(name: str) -> float:
    return 0.0 if name.endswith("no weight decay") else WEIGHT_DECAY


def run() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole experiment: the three parts, their arrays under their prefixes."""
    arrays: dict[str, np.ndarray] = {}
    parts = (("claims", run_claims), ("divergence", run_divergence),
             ("sharpness", run_sharpness), ("edge", run_edge),
             ("oscillation", run_oscillation))  # fmt: skip
    for prefix, part in parts:
        for key, value in part().items():
            arrays[f"{prefix}/{key}"] = value
    meta = {
        "model": "MLP 64-128-10, float32, digits",
        "claims": {"optimizer": "sgd", "batch_size": 64, "steps": CLAIM_STEPS},
        "divergence": {"optimizer": "sgd", "batch_size": 64, "steps": DIVERGENCE_STEPS},
        "sharpness": {"optimizer": "sgd", "batch_size": 64, "power_iteration": POWER},
        "edge": {"optimizer": "sgd", "batch_size": "full", "factor": EDGE_FACTOR},
        "oscillation": {
            "optimizer": "adam",
            "weight_decay": WEIGHT_DECAY,
            "steps": OSC_STEPS,
        },
    }
    return arrays, meta
