"""The lesson's five learning-rate schedules, as pure functions of the step.

Every schedule takes ``step`` (an ``int`` or a numpy integer array) and keyword-only
hyper-parameters, and returns the learning rate: a ``float`` for an ``int`` step, a
float64 array of the same shape for an array, computed without a Python loop.

Conventions, shared by all five (and stated because peer libraries disagree):

* Past its last step a schedule holds its final value. (torch's ``CosineAnnealingLR``
  rises again after ``T_max``; the lesson's warmup-cosine does too. Ours do not.)
* Warmup starts at 0 at step 0, as in the lesson and Hugging Face's schedules.
* Invalid arguments raise ``ValueError`` naming the parameter and its allowed range.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
from numpy.typing import NDArray

from lrcourse.validate import integer, number

__all__ = [
    "constant_schedule",
    "step_decay_schedule",
    "cosine_schedule",
    "warmup_cosine_schedule",
    "one_cycle_schedule",
    "SCHEDULES",
]

Steps = NDArray[np.integer]
LR = NDArray[np.float64]


# ---------------------------------------------------------------------------
# Argument checks. Each raises ValueError naming the parameter and the range.


def _as_steps(step: int | Steps) -> tuple[NDArray[np.int64], bool]:
    """Return ``step`` as an int64 array, and whether it was a scalar."""
    if isinstance(step, bool | np.bool_):
        raise ValueError(f"step must be an integer or an integer array, got bool {step!r}")
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"step must be an integer or an integer array, got dtype {arr.dtype} ({step!r:.60})"
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"step must be >= 0, got {int(arr.min())}")
    # Scalars take the array path too (as 1-element arrays): numpy's vectorized math can
    # round differently from its scalar math, and fn(s) must equal fn(array)[i] exactly.
    return np.atleast_1d(arr).astype(np.int64, copy=False), arr.ndim == 0


def _out(lr: LR, scalar: bool) -> float | LR:
    return float(lr[0]) if scalar else lr


def _check_open_unit(name: str, value: float) -> float:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not (ok and 0 < float(value) < 1):
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return float(value)


def _check_min_max(lr_min: float, lr_max: float) -> tuple[float, float]:
    lr_max = number("lr_max", lr_max)
    lr_min = number("lr_min", lr_min)
    if lr_min > lr_max:
        raise ValueError(f"lr_min must be <= lr_max, got lr_min={lr_min!r} > lr_max={lr_max!r}")
    return lr_min, lr_max


def _clipped(t: NDArray[np.int64], hi: int) -> LR:
    """min(t, hi) as a new float64 array. (Converting first, then clipping in place, takes
    about half the time of a minimum that converts as it goes.)"""
    x = t.astype(np.float64)
    np.minimum(x, hi, out=x)
    return x


def _cosine_decay(done: LR, length: int, lr_min: float, lr_max: float) -> LR:
    """lr_min + (lr_max - lr_min) * (1 + cos(pi * done / length)) / 2, overwriting ``done``.

    The operations and their order are torch's ``CosineAnnealingLR`` closed form, so the
    results are equal to the bit; working in place saves a temporary array per operation.
    """
    x = done
    x *= np.pi
    x /= length
    np.cos(x, out=x)
    x += 1.0
    x *= lr_max - lr_min
    x /= 2
    x += lr_min
    return x


# ---------------------------------------------------------------------------
# The five schedules.


@overload
def constant_schedule(step: int, *, lr: float = ...) -> float: ...
@overload
def constant_schedule(step: Steps, *, lr: float = ...) -> LR: ...
def constant_schedule(step, *, lr=1e-3):
    """lr(t) = lr."""
    t, scalar = _as_steps(step)
    lr = number("lr", lr)
    return _out(np.full(t.shape, lr), scalar)


@overload
def step_decay_schedule(
    step: int, *, lr: float = ..., drop_factor: float = ..., drop_every: int = ...
) -> float: ...
@overload
def step_decay_schedule(
    step: Steps, *, lr: float = ..., drop_factor: float = ..., drop_every: int = ...
) -> LR: ...
def step_decay_schedule(step, *, lr=1e-2, drop_factor=0.1, drop_every=30):
    """lr(t) = lr * drop_factor ** floor(t / drop_every).   (torch: ``StepLR``)"""
    t, scalar = _as_steps(step)
    lr = number("lr", lr)
    if isinstance(drop_factor, bool) or not isinstance(drop_factor, int | float | np.floating):
        raise ValueError(f"drop_factor must be in (0, 1], got {drop_factor!r}")
    if not 0 < float(drop_factor) <= 1:
        raise ValueError(f"drop_factor must be in (0, 1], got {drop_factor!r}")
    drop_every = integer("drop_every", drop_every, 1)
    drops = t // drop_every
    n_levels = int(drops.max()) + 1 if drops.size else 0
    if n_levels <= drops.size:  # one power per level, then a gather: bit-identical, faster
        levels = lr * np.power(float(drop_factor), np.arange(n_levels, dtype=np.float64))
        return _out(levels[drops], scalar)
    return _out(lr * np.power(float(drop_factor), drops.astype(np.float64)), scalar)


@overload
def cosine_schedule(
    step: int, *, lr_max: float = ..., lr_min: float = ..., total_steps: int = ...
) -> float: ...
@overload
def cosine_schedule(
    step: Steps, *, lr_max: float = ..., lr_min: float = ..., total_steps: int = ...
) -> LR: ...
def cosine_schedule(step, *, lr_max=1e-3, lr_min=1e-5, total_steps=1000):
    """lr(t) = lr_min + (lr_max - lr_min) * (1 + cos(pi * min(t, T) / T)) / 2,  T = total_steps.

    Equal to torch's ``CosineAnnealingLR(T_max=T, eta_min=lr_min)`` for t <= T; after
    T it holds lr_min where torch's rises again.
    """
    t, scalar = _as_steps(step)
    lr_min, lr_max = _check_min_max(lr_min, lr_max)
    total = integer("total_steps", total_steps, 1)
    return _out(_cosine_decay(_clipped(t, total), total, lr_min, lr_max), scalar)


@overload
def warmup_cosine_schedule(
    step: int,
    *,
    lr_max: float = ...,
    lr_min: float = ...,
    warmup_steps: int = ...,
    total_steps: int = ...,
) -> float: ...
@overload
def warmup_cosine_schedule(
    step: Steps,
    *,
    lr_max: float = ...,
    lr_min: float = ...,
    warmup_steps: int = ...,
    total_steps: int = ...,
) -> LR: ...
def warmup_cosine_schedule(step, *, lr_max=1e-3, lr_min=1e-5, warmup_steps=100, total_steps=1000):
    """Linear warmup from 0, then cosine decay to lr_min at ``total_steps``.

    lr(t) = lr_max * t / W                                          for t < W
    lr(t) = lr_min + (lr_max - lr_min) * (1 + cos(pi * p)) / 2      for t >= W,
            p = min(t - W, T - W) / (T - W)

    with W = warmup_steps and T = total_steps. lr(W) = lr_max always; when W == T there
    is no decay phase and the schedule holds lr_max after its warmup (the lesson's code
    divides by zero here).
    """
    t, scalar = _as_steps(step)
    lr_min, lr_max = _check_min_max(lr_min, lr_max)
    total = integer("total_steps", total_steps, 1)
    warmup = integer("warmup_steps", warmup_steps, 0)
    if warmup > total:
        raise ValueError(
            f"warmup_steps must be in [0, total_steps={total}], got warmup_steps={warmup}"
        )
    decay = total - warmup
    done = t.astype(np.float64)
    done -= warmup  # steps since the warmup ended
    np.clip(done, 0, decay, out=done)
    # max(decay, 1): with no decay phase (W == T) the lr stays at lr_max once warmed up.
    lrs = _cosine_decay(done, max(decay, 1), lr_min, lr_max)
    if warmup:
        warming = t < warmup
        lrs[warming] = lr_max * (t[warming] / warmup)
    return _out(lrs, scalar)


@overload
def one_cycle_schedule(
    step: int,
    *,
    lr_max: float = ...,
    total_steps: int = ...,
    pct_start: float = ...,
    div_factor: float = ...,
    final_div_factor: float = ...,
    three_phase: bool = ...,
    anneal: Literal["linear", "cos"] = ...,
) -> float: ...
@overload
def one_cycle_schedule(
    step: Steps,
    *,
    lr_max: float = ...,
    total_steps: int = ...,
    pct_start: float = ...,
    div_factor: float = ...,
    final_div_factor: float = ...,
    three_phase: bool = ...,
    anneal: Literal["linear", "cos"] = ...,
) -> LR: ...
def one_cycle_schedule(
    step,
    *,
    lr_max=1e-2,
    total_steps=1000,
    pct_start=0.45,
    div_factor=25.0,
    final_div_factor=1000.0,
    three_phase=True,
    anneal="linear",
):
    """Smith's 1cycle, step for step as torch's ``OneCycleLR(cycle_momentum=False)``.

    With lr_0 = lr_max / div_factor and lr_end = lr_0 / final_div_factor, the phases end
    at steps (T = total_steps, p = pct_start):

      three_phase=True:  p*T - 1: lr_0 -> lr_max;  2*p*T - 2: lr_max -> lr_0;  T - 1: lr_0 -> lr_end
      three_phase=False: p*T - 1: lr_0 -> lr_max;  T - 1: lr_max -> lr_end

    Each phase interpolates from its start (the previous phase's end step) with
    ``anneal``: "linear" (a + (b - a) * x) or "cos" (b + (a - b) * (1 + cos(pi * x)) / 2).
    The defaults are the lesson's text: up from lr_max/25 for 45% of the steps, down to
    lr_max/25 for 45%, then down to lr_max/25000. After step T - 1 the lr holds lr_end.
    """
    t, scalar = _as_steps(step)
    lr_max = number("lr_max", lr_max)
    total = integer("total_steps", total_steps, 2)
    pct = _check_open_unit("pct_start", pct_start)
    div_factor = number("div_factor", div_factor, strict=True)
    final_div_factor = number("final_div_factor", final_div_factor, strict=True)
    if not isinstance(three_phase, bool | np.bool_):
        raise ValueError(f"three_phase must be True or False, got {three_phase!r}")
    if anneal not in ("linear", "cos"):
        raise ValueError(f"anneal must be 'linear' or 'cos', got {anneal!r}")

    lr_0 = lr_max / float(div_factor)
    lr_end = lr_0 / float(final_div_factor)
    # Same float expressions, in the same order, as torch, so results match to the bit.
    end_up = float(pct * total) - 1
    if end_up <= 0:
        raise ValueError(
            f"pct_start * total_steps must be > 1 so the warm-up phase has a step, "
            f"got pct_start={pct} * total_steps={total} = {pct * total}"
        )
    if three_phase:
        end_down = float(2 * pct * total) - 2
        if not end_down < total - 1:
            raise ValueError(
                f"pct_start must leave the third phase a step when three_phase=True: need "
                f"2 * pct_start * total_steps < total_steps + 1, got pct_start={pct}, "
                f"total_steps={total}"
            )
        phases = [(0.0, end_up, lr_0, lr_max), (end_up, end_down, lr_max, lr_0)]
        phases.append((end_down, float(total - 1), lr_0, lr_end))
    else:
        phases = [(0.0, end_up, lr_0, lr_max), (end_up, float(total - 1), lr_max, lr_end)]

    # One float64 array, converted once and then overwritten phase by phase: a second
    # array of the same size would cost about as much time as all the arithmetic.
    out = _clipped(t, total - 1)
    s = out.reshape(-1)  # a view: writing it fills ``out``
    # Phase i holds the steps in (end of phase i-1, end of phase i]. Sorted steps (the usual
    # np.arange) split into contiguous slices; others need a mask each, all taken before
    # any value is overwritten.
    ends = [end for _, end, _, _ in phases[:-1]]
    if s.size < 2 or bool(np.all(s[1:] >= s[:-1])):
        cuts = [0, *np.searchsorted(s, ends, side="right").tolist(), s.size]
        parts = [slice(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    else:
        bounds = [-np.inf, *ends, np.inf]
        parts = [(s > lo) & (s <= hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for (start, end, a, b), part in zip(phases, parts, strict=True):
        x = s[part]  # a view for a slice, a copy for a mask
        # The same operations, in the same order, as torch: results equal to the bit.
        x -= start
        x /= end - start  # x: progress through the phase, 0 -> 1
        if anneal == "cos":
            x *= np.pi
            np.cos(x, out=x)
            x += 1
            x *= (a - b) / 2.0
            x += b  # b + (a - b) / 2 * (cos(pi x) + 1)
        else:
            x *= b - a
            x += a  # (b - a) * x + a
        if not isinstance(part, slice):
            s[part] = x
    return _out(out, scalar)


#: The five schedules by the names the course uses in tables and plots.
SCHEDULES = {
    "constant": constant_schedule,
    "step decay": step_decay_schedule,
    "cosine": cosine_schedule,
    "warmup + cosine": warmup_cosine_schedule,
    "1cycle": one_cycle_schedule,
}
