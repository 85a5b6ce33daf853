"""Notebook 08's experiment: the range test on the digits task, checked against training.

For each seed, ``lr_range_test`` with its defaults on the course's textbook setup
(``course_setup``: an MLP 64-128-10, ``torch.optim.SGD`` with momentum 0.9, one shuffled
epoch of batches of 64, cycled), and two variants that mislead: no smoothing
(``smooth=0``) and no momentum. Then the reality check, notebook 07's protocol (SGD,
momentum 0.9, batches of 64, 300 steps): a constant lr at each of ``LRS`` for every seed,
and every seed again at each of its own three suggestions. About 15 s.

Arrays: for each sweep setting S in ``SWEEPS`` under ``"{S}/"``: ``lrs``, ``losses``,
``smoothed`` (N, num_steps), nan after the stop; ``stopped_at`` (N,), -1 if it ran
through; ``suggested`` (N, 3), the lrs of ``SUGGESTIONS``. ``grid/val_loss``,
``grid/train_loss`` (len(LRS), N): final losses (inf if diverged); ``tried/val_loss``,
``tried/train_loss`` (N, 3): each seed at its default sweep's suggestions;
``tried no momentum/val_loss`` (N, 3): at its no-momentum sweep's suggestions, trained
with momentum 0.9 (the mistake of testing one optimizer and training another).
``lrs_grid``, ``seeds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse.range_test import lr_range_test
from lrcourse.training import digits_task, torch_threads, train

ABOUT = "the range test on the digits (3 settings x 5 seeds), checked by 300-step runs"

SEEDS = tuple(range(5))
LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
STEPS = 300
PROTOCOL = dict(optimizer="sgd", momentum=0.9, batch_size=64)
SUGGESTIONS = ("steepest", "minimum/10", "valley")
#: Sweep settings: lr_range_test's keyword arguments and the momentum of the optimizer.
SWEEPS = {
    "default": ({}, 0.9),
    "unsmoothed": ({"smooth": 0.0}, 0.9),
    "no momentum": ({}, 0.0),
}


def course_setup(seed: int, momentum: float = 0.9):
    """The course's MLP and SGD for one seed (the trainer's member ``seed``), and one
    shuffled epoch of (inputs, targets) batches of 64."""
    task = digits_task()
    X, y = task.X_train, task.y_train
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    batches = [
        (X[order[i : i + 64]], y[order[i : i + 64]]) for i in range(0, len(X), 64)
    ]
    return model, optimizer, batches


def sweep(seed: int, setting: str = "default"):
    """The range test of one seed under one of ``SWEEPS``, on one torch thread."""
    kwargs, momentum = SWEEPS[setting]
    model, optimizer, batches = course_setup(seed, momentum)
    with torch_threads(1):
        return lr_range_test(model, optimizer, batches, F.cross_entropy, **kwargs)


def run_sweeps(seeds=SEEDS, settings=tuple(SWEEPS)) -> dict[str, np.ndarray]:
    """The arrays of each sweep setting (module docstring), keyed "{setting}/{name}"."""
    out: dict[str, np.ndarray] = {}
    for setting in settings:
        results = [sweep(seed, setting) for seed in seeds]
        n = max(r.settings["num_steps"] for r in results)
        for key in ("lrs", "losses", "smoothed"):
            table = np.full((len(seeds), n), np.nan)
            for k, r in enumerate(results):
                values = getattr(r, key)
                table[k, : values.size] = values
            out[f"{setting}/{key}"] = table
        out[f"{setting}/stopped_at"] = np.array(
            [-1 if r.stopped_at is None else r.stopped_at for r in results]
        )
        out[f"{setting}/suggested"] = np.array(
            [[r.suggestions[s].lr for s in SUGGESTIONS] for r in results]
        )
    return out


def run_training(suggested: np.ndarray, seeds=SEEDS, lrs=LRS) -> dict[str, np.ndarray]:
    """A constant lr for ``STEPS`` steps: every lr of ``lrs`` for every seed, and seed k at
    each of ``suggested[k]``; one batched model. Final losses (inf if diverged)."""
    columns = [lr for lr in lrs for _ in seeds] + [float(x) for x in suggested.flat]
    members = [s for _ in lrs for s in seeds] + [s for s in seeds for _ in SUGGESTIONS]
    runs = train(digits_task(), np.tile(columns, (STEPS, 1)), steps=STEPS, seeds=members,
                 eval_every=STEPS, **PROTOCOL)  # fmt: skip
    val = np.array([r.final_val_loss for r in runs])
    train_loss = np.array([r.final_train_loss for r in runs])
    g = len(lrs) * len(seeds)  # the grid's members come first
    shape = (len(seeds), len(SUGGESTIONS))
    return {
        "grid/val_loss": val[:g].reshape(len(lrs), len(seeds)),
        "grid/train_loss": train_loss[:g].reshape(len(lrs), len(seeds)),
        "tried/val_loss": val[g:].reshape(shape),
        "tried/train_loss": train_loss[g:].reshape(shape),
    }


def run() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole experiment."""
    arrays = run_sweeps()
    arrays.update(run_training(arrays["default/suggested"]))
    misled = run_training(arrays["no momentum/suggested"], lrs=())
    arrays["tried no momentum/val_loss"] = misled["tried/val_loss"]
    arrays["lrs_grid"] = np.array(LRS)
    arrays["seeds"] = np.array(SEEDS)
    meta = {
        "protocol": {**PROTOCOL, "model": "MLP 64-128-10", "dtype": "float32"},
        "steps": STEPS,
        "suggestions": list(SUGGESTIONS),
        "sweeps": {k: {"kwargs": v[0], "momentum": v[1]} for k, v in SWEEPS.items()},
    }
    return arrays, meta
