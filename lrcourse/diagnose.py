"""Tell a training run's failure mode from its loss curve: diverged, stalled, oscillating, healthy.

The lesson names three ways a learning rate goes wrong and one fix for each:

* **diverged** - the loss becomes ``inf``/``nan`` or grows: the lr is too large. Fix: lower it,
  or warm up.
* **stalled** - the loss barely moves: the lr is too small. Fix: raise it.
* **oscillating** - the loss stops improving and bounces: the lr never decays. Fix: decay it.

:func:`diagnose` reads the per-step *mini-batch* loss. That curve is noisy even for a perfect
run (each batch is a different sample), so "it fluctuates" cannot by itself mean oscillation.
The test used here is: in the late phase of the run, split the log-loss into windows, fit the
best *non-increasing* curve to the window means (any decay, however shaped, fits it exactly),
and ask how far the windows climb back above that curve, compared with the scatter that
batch-to-batch noise alone would give a window mean. Oscillation means the smoothed loss rises
back up by a large factor *and* by far more than noise explains. Every statistic is computed on
log-loss, so it reads as a ratio (the noise of a small cross-entropy loss is multiplicative), and
medians or window means replace single steps, so one odd batch cannot decide the verdict.

Thresholds are the module constants below; each comment says why it has its value.
Calibration (digits MLP 64-128-10, batch 64, 2300 steps, 5 seeds, measured for this course):
healthy runs (SGD 0.1, SGD 1, SGD+momentum, Adam 1e-3, Adam 0.01 + cosine) had excess <= 1.0 and
swing <= 1.2x; Adam 0.01 and 0.03 with weight decay 1e-3 at constant lr had excess 2.6-6.9
and swing 2.6x-74x; plain SGD at lr 1e-4 fell 5%; plain SGD at lr 3 and 10 reached ``inf``
(at steps 159-204 and 25-27). Runs of ~1000+ steps separate cleanly. At 300-700 steps the late
windows hold too few batches and some oscillating Adam runs read as healthy: shorter runs give
the test less power, not more false alarms (on decay plus i.i.d. noise ``excess`` stayed
<= 1.33 even at 100 steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Diagnosis",
    "diagnose",
    "FIXES",
    "LATE_FRACTION",
    "N_WINDOWS",
    "MIN_STEPS",
    "START_STEPS",
    "LOSS_FLOOR",
    "DIVERGE_GROWTH",
    "STALL_MAX_FALL",
    "OSC_MIN_EXCESS",
    "OSC_MIN_SWING",
]

Kind = Literal["diverged", "stalled", "oscillating", "healthy"]

# The late phase is the last half of the run. Oscillation comes in episodes hundreds of steps
# long; with the last 20% only, 2 of 5 clearly oscillating seeds happened to have a calm tail.
LATE_FRACTION = 0.5
# Windows in the late phase. 20 windows resolve episodes (115 steps each on a 2300-step run)
# while each window still averages enough batches (>= 2) to shrink the noise.
N_WINDOWS = 20
# Fewer steps than this leave fewer than 2 steps per late window: too few to separate noise
# from trend. A diverged run needs no minimum: one inf is proof.
MIN_STEPS = 100
# The starting loss is the median of the first few steps: at initialisation consecutive batches
# give nearly the same loss (spread ~1% here), and a median of 5 ignores one odd batch. A whole
# window would not do: a fast run is already far down within its first window.
START_STEPS = 5
# Losses are floored here before the log. float32 cross-entropy is exactly 0 below ~1e-7
# (float32 epsilon is 1.2e-7), so smaller values are rounding, not signal.
LOSS_FLOOR = 1e-7
# Diverged: the final window's median loss is at least this many times the starting loss. The
# mirror image of the stall band below: a change within 10% is "not moving"; a rise beyond it
# cannot come from a too-small lr (the loss at initialisation varies ~1% between batches), so
# the steps are overshooting.
DIVERGE_GROWTH = 1.1
# Stalled: the loss fell less than this fraction from the first to the last window. Healthy
# runs on the course task fall > 95%; plain SGD at lr 1e-4 falls 5% in 2300 steps.
STALL_MAX_FALL = 0.10
# Oscillating needs both conditions. Excess: the windows' rms distance from the best decreasing
# curve, over the scatter batch noise gives a window mean (sigma / sqrt(window)). Pure noise
# gives <= 1 (measured <= 1.0 on healthy runs, 0.0-0.4 typical); oscillating runs gave >= 2.6.
OSC_MIN_EXCESS = 2.0
# Swing: how far the smoothed loss climbs back above that curve, peak to trough, in log units.
# log(2): the loss bounced back up by 2x or more. Healthy runs measured <= 1.2x, oscillating
# ones >= 2.6x.
OSC_MIN_SWING = math.log(2.0)

FIXES: dict[str, str] = {
    "diverged": "lower the learning rate (below 2/sharpness, see lrcourse.curvature) "
    "or add warmup so the first steps are small",
    "stalled": "raise the learning rate (try 10x; an lr range test finds the largest stable one)",
    "oscillating": "decay the learning rate (e.g. cosine annealing), "
    "so the steps shrink as the loss nears its minimum",
    "healthy": "none needed",
}


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one run: its ``kind``, the ``evidence`` in numbers, the lesson's ``fix``.

    ``metrics`` holds every measured statistic (see :func:`diagnose`), so a notebook can assert
    on them.
    """

    kind: Kind
    evidence: str
    fix: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: {self.evidence}. Fix: {self.fix}."


def _read_run(run: Any) -> tuple[NDArray[np.float64], int | None]:
    """Return the per-step losses and the step at which the run diverged (or None)."""
    # Duck typing: a History has .loss and .diverged_at; this module must not import train.py.
    raw = getattr(run, "loss", run)
    if isinstance(raw, str | bytes | dict) or np.isscalar(raw):
        raise ValueError(
            f"losses must be a 1-D sequence of per-step losses or a History, got {type(run)!r}"
        )
    try:
        losses = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"losses must be a 1-D sequence of numbers, got {raw!r:.80}") from err
    if losses.ndim != 1:
        raise ValueError(f"losses must be 1-D (one loss per step), got shape {losses.shape}")
    if losses.size == 0:
        raise ValueError("losses must hold at least one step, got an empty sequence")

    bad = np.flatnonzero(~np.isfinite(losses))
    diverged_at = int(bad[0]) if bad.size else None
    recorded = getattr(run, "diverged_at", None)
    if recorded is not None:
        diverged_at = int(recorded) if diverged_at is None else min(int(recorded), diverged_at)
    finite = losses[: diverged_at if diverged_at is not None else losses.size]
    if finite.size and finite.min() < 0:
        raise ValueError(
            f"losses must be >= 0 (the diagnosis works on log-loss), got {finite.min():.3g}"
        )
    return losses, diverged_at


def _nonincreasing_fit(y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares non-increasing fit to ``y`` (pool-adjacent-violators)."""
    means: list[float] = []
    sizes: list[int] = []
    for value in y:
        means.append(float(value))
        sizes.append(1)
        # An increase violates the constraint: pool the two blocks into their weighted mean.
        while len(means) > 1 and means[-1] > means[-2]:
            size = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / size
            sizes[-2] = size
            means.pop()
            sizes.pop()
    return np.repeat(np.array(means), sizes)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def diagnose(run: Any) -> Diagnosis:
    """Classify a run as ``"diverged"``, ``"stalled"``, ``"oscillating"`` or ``"healthy"``.

    ``run`` is a ``History`` (anything with ``.loss`` and optionally ``.diverged_at``) or a 1-D
    sequence of per-step losses (>= 0). Rules, checked in this order:

    1. diverged if a loss is ``inf``/``nan`` (or ``diverged_at`` is set), or if
       ``end / start >= DIVERGE_GROWTH``;
    2. oscillating if ``excess >= OSC_MIN_EXCESS`` and ``swing >= OSC_MIN_SWING``;
    3. stalled if ``fall = 1 - end / start < STALL_MAX_FALL``;
    4. healthy otherwise.

    The late phase is the last ``N_WINDOWS * m`` steps, ``m = floor(LATE_FRACTION n /
    N_WINDOWS)``. ``start`` is the median of the first ``START_STEPS`` losses, ``end`` the
    median of the last ``m``. Over the late phase: ``z`` = log of the losses floored at
    ``LOSS_FLOOR``; ``sigma = std(diff(z)) / sqrt(2)`` estimates the per-step batch noise
    (differencing removes any slow trend); ``w`` = the windows' mean ``z``; ``f`` = the best
    non-increasing fit to ``w``; ``excess = rms(w - f) / (sigma / sqrt(m))``;
    ``swing = max(w - f) - min(w - f)``. Oscillation is checked before stall because a run
    that bounces around its starting loss needs a smaller lr, not a larger one.

    Raises ``ValueError`` for an empty or non-1-D input, negative losses, or fewer than
    ``MIN_STEPS`` finite steps when the run did not diverge.
    """
    losses, diverged_at = _read_run(run)
    n = losses.size

    if diverged_at is not None:
        value = losses[diverged_at] if diverged_at < n else float("nan")
        what = "non-finite" if math.isfinite(value) else str(value)
        before = losses[:diverged_at]
        metrics: dict[str, Any] = {"steps": n, "diverged_at": diverged_at}
        evidence = f"loss became {what} at step {diverged_at}"
        if before.size:
            metrics["start_loss"] = float(losses[0])
            metrics["max_finite_loss"] = float(before.max())
            evidence += (
                f" (it started at {_fmt(losses[0])}; the largest finite loss was "
                f"{_fmt(before.max())})"
            )
        return Diagnosis("diverged", evidence, FIXES["diverged"], metrics)

    if n < MIN_STEPS:
        raise ValueError(
            f"losses must hold at least MIN_STEPS={MIN_STEPS} steps to tell stalled, "
            f"oscillating and healthy runs apart, got {n}"
        )

    late = int(LATE_FRACTION * n)
    m = late // N_WINDOWS
    start = float(np.median(losses[:START_STEPS]))
    end = float(np.median(losses[-m:]))
    floored_start = max(start, LOSS_FLOOR)
    growth = max(end, LOSS_FLOOR) / floored_start
    fall = 1.0 - growth

    z = np.log(np.maximum(losses[n - N_WINDOWS * m :], LOSS_FLOOR))
    sigma = float(np.std(np.diff(z)) / math.sqrt(2.0))
    windows = z.reshape(N_WINDOWS, m).mean(axis=1)
    residual = windows - _nonincreasing_fit(windows)
    rms = float(np.sqrt(np.mean(residual**2)))
    swing = float(residual.max() - residual.min())
    if rms == 0.0:
        excess = 0.0
    else:
        excess = rms / (sigma / math.sqrt(m)) if sigma > 0 else math.inf

    metrics = {
        "steps": n,
        "diverged_at": None,
        "window": m,
        "late_steps": N_WINDOWS * m,
        "start_loss": start,
        "end_loss": end,
        "fall": fall,
        "growth": growth,
        "noise": sigma,
        "excess": excess,
        "swing": swing,
        "swing_factor": math.exp(swing),
    }
    verb = "fell" if fall >= 0 else "rose"
    changed = f"loss {verb} {100 * abs(fall):.3g}% in {n} steps ({_fmt(start)} -> {_fmt(end)})"

    if growth >= DIVERGE_GROWTH:
        evidence = (
            f"loss grew {growth:.3g}x in {n} steps ({_fmt(start)} -> {_fmt(end)}; "
            f"a rise to >= {DIVERGE_GROWTH:g}x counts as diverging)"
        )
        return Diagnosis("diverged", evidence, FIXES["diverged"], metrics)

    if excess >= OSC_MIN_EXCESS and swing >= OSC_MIN_SWING:
        evidence = (
            f"over the last {N_WINDOWS * m} steps the smoothed loss climbs back up "
            f"{math.exp(swing):.3g}x above the best decreasing curve, with {excess:.3g}x the "
            f"scatter mini-batch noise explains (thresholds: {math.exp(OSC_MIN_SWING):.3g}x "
            f"and {OSC_MIN_EXCESS:g}x)"
        )
        return Diagnosis("oscillating", evidence, FIXES["oscillating"], metrics)

    if fall < STALL_MAX_FALL:
        evidence = f"{changed}; a stall is < {100 * STALL_MAX_FALL:g}%"
        return Diagnosis("stalled", evidence, FIXES["stalled"], metrics)

    evidence = (
        f"{changed}; late swings {math.exp(swing):.3g}x, scatter {excess:.2g}x "
        f"what mini-batch noise explains"
    )
    return Diagnosis("healthy", evidence, FIXES["healthy"], metrics)
