"""The schedules as formulas: each body is the formula in its docstring, in numpy.

Every schedule takes ``step`` (an ``int`` or a numpy integer array) and keyword-only
hyper-parameters, and returns the learning rate: a ``float`` for an ``int`` step, a
float64 array of the same shape for an array. The ``@schedule`` decorator does that
conversion, so a body only ever sees ``t``, an int64 array of steps, and reads like its
formula.

Conventions, stated because peer libraries disagree:

* Past its last step a schedule holds its final value. (torch's ``CosineAnnealingLR``
  rises again after ``T_max``; so do the lesson's warmup-cosine and Hugging Face's
  cosine.)
* Warmup starts at 0 at step 0, as in the lesson and Hugging Face's schedules.
* Invalid arguments raise ``ValueError`` naming the parameter and its allowed range.

Equal to torch, bit for bit, on every machine: each formula does the same float
operations in the same order as torch's closed form, and takes its cosines and powers
from the C library, as torch does (``tests/test_torch_equivalence.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lrcourse.validate import choice, in_range, integer, number

__all__ = [
    "schedule",
    "constant_schedule",
    "step_decay_schedule",
    "cosine_schedule",
    "linear_schedule",
    "warmup_cosine_schedule",
    "one_cycle_schedule",
    "one_cycle_momentum",
]

Steps = NDArray[np.int64]
LR = NDArray[np.float64]


def as_steps(step: int | NDArray[np.integer]) -> tuple[Steps, bool]:
    """``step`` as an int64 array (at least 1-D), and whether it was a scalar."""
    if isinstance(step, bool | np.bool_):
        raise ValueError(
            f"step must be an integer or an integer array, got bool {step!r}"
        )
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        raise ValueError(
            f"step must be an integer or an integer array, got dtype {arr.dtype} "
            f"({step!r:.60})"
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"step must be >= 0, got {int(arr.min())}")
    # A scalar takes the array path too, as a 1-element array, so that
    # fn(s) == fn(array)[i] exactly: numpy's scalar and array math can round otherwise.
    return np.atleast_1d(arr).astype(np.int64, copy=False), arr.ndim == 0


def schedule(formula: Callable[..., LR]) -> Callable[..., float | LR]:
    """Make ``formula(t, **hyper)`` a schedule: ``step`` may be an int (a float comes
    back) or an integer array (an array of its shape comes back); a bad step raises
    ValueError."""

    @functools.wraps(formula)
    def as_schedule(step, /, **hyper):
        t, scalar = as_steps(step)
        lr = np.broadcast_to(np.asarray(formula(t, **hyper), dtype=np.float64), t.shape)
        return float(lr[0]) if scalar else np.array(lr)

    return as_schedule


def powers(base: float, k: Steps) -> LR:
    """``base ** k`` for every entry of ``k``, with Python's float power (the C
    library's).

    numpy's array power runs SIMD kernels on some CPUs whose last bit differs from the C
    library's; torch's ``StepLR`` uses Python's, so this keeps the two equal on every
    CPU.
    One power per level, then a look-up: a run has few levels and many steps.
    """
    if k.size == 0:
        return np.zeros(k.shape)
    levels = int(k.max()) + 1
    if levels <= k.size:
        return np.array([base**i for i in range(levels)])[k]
    return np.array([base ** int(i) for i in k.flat]).reshape(k.shape)


def _lr_range(lr_min: float, lr_max: float) -> tuple[float, float]:
    lr_max = number("lr_max", lr_max)
    lr_min = number("lr_min", lr_min)
    if lr_min > lr_max:
        raise ValueError(
            f"lr_min must be <= lr_max, got lr_min={lr_min!r} > lr_max={lr_max!r}"
        )
    return lr_min, lr_max


# ---------------------------------------------------------------------------
# The schedules. Argument checks first (short), then the formula.


@schedule
def constant_schedule(t: Steps, *, lr: float = 1e-3) -> LR:
    """lr(t) = lr"""
    lr = number("lr", lr)
    return np.full(t.shape, lr)


@schedule
def step_decay_schedule(
    t: Steps, *, lr: float = 1e-2, drop_factor: float = 0.1, drop_every: int = 30
) -> LR:
    """lr(t) = lr * drop_factor ** floor(t / drop_every)        (torch: ``StepLR``)"""
    lr = number("lr", lr)
    drop_factor = in_range("drop_factor", drop_factor, 0, 1, low_open=True)
    drop_every = integer("drop_every", drop_every, 1)
    return lr * powers(drop_factor, t // drop_every)


@schedule
def cosine_schedule(
    t: Steps, *, lr_max: float = 1e-3, lr_min: float = 1e-5, total_steps: int = 1000
) -> LR:
    """lr(t) = lr_min + (lr_max - lr_min) * (1 + cos(pi * t / T)) / 2,  for t <= T

    with T = total_steps.

    (torch: ``CosineAnnealingLR(T_max=T, eta_min=lr_min)``, which rises again after T.)
    """
    lr_min, lr_max = _lr_range(lr_min, lr_max)
    T = integer("total_steps", total_steps, 1)
    t = np.minimum(t, T)  # hold lr_min after the last step
    return lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * t / T)) / 2


@schedule
def linear_schedule(
    t: Steps, *, lr_max: float = 1e-3, lr_min: float = 1e-5, total_steps: int = 1000
) -> LR:
    """lr(t) = lr_max + (lr_min - lr_max) * t / T,  for t <= T = total_steps

    A straight line from lr_max to lr_min (torch: ``LinearLR``, which multiplies step
    by step).
    """
    lr_min, lr_max = _lr_range(lr_min, lr_max)
    T = integer("total_steps", total_steps, 1)
    t = np.minimum(t, T)  # hold lr_min after the last step
    return lr_max + (lr_min - lr_max) * t / T


@schedule
def warmup_cosine_schedule(
    t: Steps,
    *,
    lr_max: float = 1e-3,
    lr_min: float = 1e-5,
    warmup_steps: int = 100,
    total_steps: int = 1000,
) -> LR:
    """lr(t) = lr_max * t / W                                      for t < W
    lr(t) = cosine_schedule(t - W, total_steps=T - W)              for t >= W

    with W = warmup_steps and T = total_steps: a linear warmup from 0, then the cosine
    decay from lr_max to lr_min over the remaining T - W steps. With W == T the schedule
    holds lr_max after its warmup (the lesson's code divides by zero there).
    """
    lr_min, lr_max = _lr_range(lr_min, lr_max)
    T = integer("total_steps", total_steps, 1)
    W = integer("warmup_steps", warmup_steps, 0)
    if W > T:
        raise ValueError(
            f"warmup_steps must be in [0, total_steps={T}], got warmup_steps={W}"
        )
    warmup = lr_max * (t / max(W, 1))
    since = np.clip(t - W, 0, T - W)  # steps into the decay; 0 throughout the warmup
    decay = lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * since / max(T - W, 1))) / 2
    return np.where(t < W, warmup, decay)


def _linear(start: float, end: float, pct: LR) -> LR:
    """torch's ``_annealing_linear``: ``start`` at pct = 0 to ``end`` at pct = 1."""
    return (end - start) * pct + start


def _cos(start: float, end: float, pct: LR) -> LR:
    """torch's ``_annealing_cos``: half a cosine from ``start`` to ``end``."""
    return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)


ANNEAL = {"linear": _linear, "cos": _cos}


def _one_cycle_ends(T: int, p: float, three_phase: bool) -> list[float]:
    """Where 1cycle's phases end, in torch's float expressions and order."""
    peak_at = float(p * T) - 1
    if peak_at <= 0:
        raise ValueError(
            "pct_start * total_steps must be > 1 so the first phase has a step, "
            f"got pct_start={p} * total_steps={T} = {p * T}"
        )
    if not three_phase:
        return [peak_at, T - 1]
    back_at = float(2 * p * T) - 2
    if not back_at < T - 1:
        raise ValueError(
            "pct_start must leave the third phase a step when three_phase=True: need "
            f"2 * pct_start * total_steps < total_steps + 1, got pct_start={p}, "
            f"total_steps={T}"
        )
    return [peak_at, back_at, T - 1]


def _through_phases(t: Steps, ends: list[float], levels: list[float], move) -> LR:
    """From levels[0] at step 0 to levels[1] at step ends[0], on to levels[2] at
    ends[1], and so on, each phase moved along by ``move``. As torch does, a step
    belongs to the first phase whose end it has not passed."""
    out = np.empty(t.shape)
    todo = np.ones(t.shape, dtype=bool)
    start = 0.0
    for end, a, b in zip(ends, levels[:-1], levels[1:], strict=True):
        now = todo & (t <= end)
        out[now] = move(a, b, (t[now] - start) / (end - start))
        todo &= ~now
        start = end
    return out


@schedule
def one_cycle_schedule(
    t: Steps,
    *,
    lr_max: float = 1e-2,
    total_steps: int = 1000,
    pct_start: float = 0.45,
    div_factor: float = 25.0,
    final_div_factor: float = 1000.0,
    three_phase: bool = True,
    anneal: Literal["linear", "cos"] = "linear",
) -> LR:
    """1cycle, step for step as torch's ``OneCycleLR(cycle_momentum=False)``.

    lr_0 = lr_max / div_factor, lr_end = lr_0 / final_div_factor, T = total_steps,
    p = pct_start. The phases, each from the previous one's end step to its own:

      three_phase=True:   to step p*T - 1: lr_0 -> lr_max,
                          to step 2*p*T - 2: lr_max -> lr_0,  to T - 1: lr_0 -> lr_end
      three_phase=False:  to step p*T - 1: lr_0 -> lr_max,  to T - 1: lr_max -> lr_end

    ``anneal`` moves the lr along a phase in a straight line ("linear") or half a
    cosine ("cos"). The defaults are the lesson's *text*: up from lr_max/25 for 45% of
    the run, down to lr_max/25 for 45%, then to lr_max/25000 (notebook 06 teaches
    Smith's own 1cycle).
    """
    lr_max = number("lr_max", lr_max)
    T = integer("total_steps", total_steps, 2)
    p = in_range("pct_start", pct_start, 0, 1, low_open=True, high_open=True)
    lr_0 = lr_max / number("div_factor", div_factor, strict=True)
    lr_end = lr_0 / number("final_div_factor", final_div_factor, strict=True)
    three_phase = choice("three_phase", three_phase, (True, False))
    move = ANNEAL[choice("anneal", anneal, ANNEAL)]

    ends = _one_cycle_ends(T, p, three_phase)
    levels = [lr_0, lr_max, lr_0, lr_end] if three_phase else [lr_0, lr_max, lr_end]
    t = np.minimum(t, T - 1)  # hold lr_end after the last step
    return _through_phases(t, ends, levels, move)


@schedule
def one_cycle_momentum(
    t: Steps,
    *,
    total_steps: int = 1000,
    pct_start: float = 0.45,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    three_phase: bool = True,
    anneal: Literal["linear", "cos"] = "linear",
) -> LR:
    """1cycle's momentum, step for step as torch's ``OneCycleLR(cycle_momentum=True)``:
    it moves against the lr of ``one_cycle_schedule`` called with the same arguments.

    m_hi = max_momentum, m_lo = base_momentum, T = total_steps, p = pct_start. The
    phases end where the lr's do (Smith 2018: 0.95 -> 0.85 -> 0.95 as the lr rises
    and falls):

      three_phase=True:   to step p*T - 1: m_hi -> m_lo,
                          to step 2*p*T - 2: m_lo -> m_hi,  to T - 1: held at m_hi
      three_phase=False:  to step p*T - 1: m_hi -> m_lo,  to T - 1: m_lo -> m_hi

    For SGD it is the momentum; for Adam, beta1 (torch writes it into ``betas[0]``).
    """
    T = integer("total_steps", total_steps, 2)
    p = in_range("pct_start", pct_start, 0, 1, low_open=True, high_open=True)
    m_lo = in_range("base_momentum", base_momentum, 0, 1, high_open=True)
    m_hi = in_range("max_momentum", max_momentum, 0, 1, high_open=True)
    three_phase = choice("three_phase", three_phase, (True, False))
    move = ANNEAL[choice("anneal", anneal, ANNEAL)]

    ends = _one_cycle_ends(T, p, three_phase)
    levels = [m_hi, m_lo, m_hi, m_hi] if three_phase else [m_hi, m_lo, m_hi]
    t = np.minimum(t, T - 1)  # hold the last value after the last step
    return _through_phases(t, ends, levels, move)
