"""Notebook 04's experiment: which (peak lr, warmup) pairs train the tiny Transformer?

The protocol (``PROTOCOL``): the character LM of ``lrcourse.transformer`` (4 layers of
width 64, 4 heads, a context of 32 characters) on CPython's reference text, Adam with
betas (0.9, 0.999) and eps 1e-8, batches of 16 windows, float32, one torch thread. The lr
rises linearly from 0 over ``W`` warmup steps, then holds the peak (``warmup_cosine_schedule``
with lr_min = lr_max). Post-LN and Pre-LN, every peak in ``PEAKS``, every warmup in
``WARMUPS``, every seed in ``SEEDS``: seed s gives every cell the same initial weights and
the same batches. Runs last ``STEPS[W]`` steps: 600, and 1300 for the 1000-step warmup (300
steps at the peak). About 40 minutes on two cores (Post-LN and Pre-LN in two processes; 78
CPU-minutes).

Arrays (A architectures, W warmups, P peaks, N seeds; B = 130 blocks of ``BLOCK`` steps):
``loss_blocks`` (A, W, P, N, B) float32, the mean mini-batch loss of each block (nan past
the run's end); ``grad_norm_blocks`` (A, W, P, N, B) float32, the block's largest gradient
norm; ``loss_first``, ``grad_norm_first`` (A, W, P, N, 100) float32, per step over the first
100 steps; ``final_loss`` (A, W, P, N), the mean loss over the last 100 steps;
``loss_at_300`` (A, W, P, N), the mean over steps 291-300; ``spikes`` (A, W, P, N), gradient
norm spikes (``stability.spikes``); ``wall_time`` (A, W), seconds per batched run.
Adam's statistics at ``RECORD_AT`` (K steps, those a run reaches; nan after):
``update_rms``, ``at_lr`` (A, W, P, N, K); ``step_size`` (A, W, P, N, K, 3), the 10%, 50%
and 90% quantiles of lr / (sqrt(v_hat) + eps); ``rel_change`` (A, W, P, N, K, 19), each weight
matrix's change in units of its spectral norm. Labels: ``archs``, ``warmups``, ``peaks``,
``seeds``, ``steps``, ``record_at``, ``matrices``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

ABOUT = "the tiny Transformer, Post-LN and Pre-LN, 4 peak lrs x 4 warmups x 3 seeds"

ARCHS = ("Post-LN", "Pre-LN")
PEAKS = (1e-3, 3e-3, 1e-2, 3e-2)
WARMUPS = (0, 50, 200, 1000)
SEEDS = (0, 1, 2)
STEPS = {0: 600, 50: 600, 200: 600, 1000: 1300}
BLOCK = 10
FIRST = 100
RECORD_AT = (1, 2, 3, 5, 10, 20, 50, 100, 200, 300, 600, 1300)
PROTOCOL = dict(betas=(0.9, 0.999), eps=1e-8, batch_size=16, dtype="float32")


def warmup_then_constant(peak: float, warmup: int, steps: int) -> np.ndarray:
    """The lr of steps 0 ... steps - 1: linear warmup from 0 over ``warmup`` steps, then
    the peak. The course's ``warmup_cosine_schedule`` with lr_min = lr_max, as in notebook
    01 (nothing decays, so the total it is given only has to cover the warmup)."""
    from lrcourse.schedules import warmup_cosine_schedule

    total = max(steps, warmup)
    return warmup_cosine_schedule(
        np.arange(steps),
        lr_max=peak,
        lr_min=peak,
        warmup_steps=warmup,
        total_steps=total,
    )


def run_cell(
    arch: str,
    warmup: int,
    *,
    peaks: tuple[float, ...] = PEAKS,
    seeds: tuple[int, ...] = SEEDS,
    steps: int | None = None,
) -> dict[str, np.ndarray]:
    """Every peak and seed of one (architecture, warmup) as one batched model; the
    arrays of the module docstring for that cell, shaped (P, N, ...)."""
    import torch

    from lrcourse.transformer import Config, train_lm
    from lrcourse.transformer.stability import final_loss, spikes, window_mean

    steps = STEPS[warmup] if steps is None else steps
    members = [(p, s) for p in peaks for s in seeds]
    table = np.stack(
        [warmup_then_constant(p, warmup, steps) for p, _ in members], axis=1
    )
    at = [t for t in RECORD_AT if t <= steps]
    run = train_lm(
        [s for _, s in members],
        table,
        steps=steps,
        config=Config(post_ln=arch == "Post-LN"),
        betas=PROTOCOL["betas"],
        eps=PROTOCOL["eps"],
        batch_size=PROTOCOL["batch_size"],
        dtype=getattr(torch, PROTOCOL["dtype"]),
        record_at=at,
    )
    P, N = len(peaks), len(seeds)
    loss, grad = run.loss.T, run.grad_norm.T  # (members, steps)
    blocks = steps // BLOCK

    def shaped(x: np.ndarray) -> np.ndarray:
        return x.reshape(P, N, *x.shape[1:])

    s = run.stats
    return {
        "loss_blocks": shaped(loss[:, : blocks * BLOCK].reshape(-1, blocks, BLOCK).mean(-1)),
        "grad_norm_blocks": shaped(grad[:, : blocks * BLOCK].reshape(-1, blocks, BLOCK).max(-1)),
        "loss_first": shaped(loss[:, :FIRST]),
        "grad_norm_first": shaped(grad[:, :FIRST]),
        "final_loss": shaped(final_loss(loss)),
        "loss_at_300": shaped(window_mean(loss, 300)),
        "spikes": shaped(spikes(grad)),
        "update_rms": shaped(s.update_rms.T),
        "at_lr": shaped(s.at_lr.T),
        "step_size": shaped(s.step_size.transpose(1, 0, 2)),
        "rel_change": shaped(s.rel_change.transpose(1, 0, 2)),
        "matrices": np.array(s.matrices),
        "wall_time": np.array(run.wall_time),
    }  # fmt: skip


def _run_arch(arch: str) -> list[dict[str, np.ndarray]]:
    return [run_cell(arch, w) for w in WARMUPS]


def run() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole sweep: Post-LN and Pre-LN in two processes, each warmup batched."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(ARCHS), mp_context=ctx) as pool:
        cells = list(pool.map(_run_arch, ARCHS))
    A, W, P, N = len(ARCHS), len(WARMUPS), len(PEAKS), len(SEEDS)
    B, K = max(STEPS.values()) // BLOCK, len(RECORD_AT)
    n_matrices = len(cells[0][0]["matrices"])
    out = {
        "loss_blocks": np.full((A, W, P, N, B), np.nan, dtype=np.float32),
        "grad_norm_blocks": np.full((A, W, P, N, B), np.nan, dtype=np.float32),
        "loss_first": np.zeros((A, W, P, N, FIRST), dtype=np.float32),
        "grad_norm_first": np.zeros((A, W, P, N, FIRST), dtype=np.float32),
        "final_loss": np.zeros((A, W, P, N)),
        "loss_at_300": np.zeros((A, W, P, N)),
        "spikes": np.zeros((A, W, P, N), dtype=np.int64),
        "update_rms": np.full((A, W, P, N, K), np.nan),
        "at_lr": np.full((A, W, P, N, K), np.nan),
        "step_size": np.full((A, W, P, N, K, 3), np.nan),
        "rel_change": np.full((A, W, P, N, K, n_matrices), np.nan, dtype=np.float32),
        "wall_time": np.zeros((A, W)),
    }
    for a, per_warmup in enumerate(cells):
        for w, cell in enumerate(per_warmup):
            for key, value in cell.items():
                if key == "matrices":
                    out["matrices"] = value
                elif key == "wall_time":
                    out[key][a, w] = value
                else:
                    out[key][a, w][(..., *[slice(0, n) for n in value.shape[2:]])] = (
                        value
                    )
    out |= {
        "archs": np.array(ARCHS),
        "warmups": np.array(WARMUPS),
        "peaks": np.array(PEAKS),
        "seeds": np.array(SEEDS),
        "steps": np.array([STEPS[w] for w in WARMUPS]),
        "record_at": np.array(RECORD_AT),
    }
    meta = {
        "protocol": {
            **PROTOCOL,
            "model": "char LM, 4 layers, d 64, 4 heads, context 32",
        },
        "block": BLOCK,
        "schedule": "linear warmup from 0 over W steps, then the peak",
        "threads": 1,
    }
    return out, meta
