"""``make bench``: how fast the course's schedules are, against the lesson's loop and a floor.

For each of the five schedules, over ``N_STEPS`` steps, three timings:

* vectorized: our function called once on the whole step array;
* loop: the lesson's function (``lrcourse.lesson``) called once per step in Python, as the
  lesson's code is written to be used;
* floor: a bare ``np.cos`` over the same step array, a lower bound for any schedule that
  takes one cosine per step.

Targets (issue 2): the vectorized schedule is at least ``LOOP_TARGET`` times faster than the
loop, and cosine and warmup + cosine take at most ``FLOOR_TARGET`` times the floor. Each
timing is the best of a few repeats (``time.perf_counter``): the minimum is the run least
disturbed by other work on the machine.

Past the floor: the floor is numpy's cos, which for float64 calls libm one value at a time
(about 10 ns each here). Torch's ``CosineAnnealingLR`` calls the same libm cos through
``math.cos``, which is why our schedules equal torch's to the bit. ``time_cos_kernels``
times the two cosine schedules with faster kernels (numpy's cos on two threads, torch's
vectorized SLEEF cos) and counts the values in which each then differs from torch's: the
price of beating the floor, measured.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lrcourse import schedules
from lrcourse.bench_training import bench_batched_vs_sequential
from lrcourse.lesson import constant_schedule as lesson_constant
from lrcourse.lesson import cosine_schedule as lesson_cosine
from lrcourse.lesson import one_cycle_schedule as lesson_one_cycle
from lrcourse.lesson import step_decay_schedule as lesson_step_decay
from lrcourse.lesson import warmup_cosine_schedule as lesson_warmup_cosine
from lrcourse.schedules import LR, SCHEDULES
from lrcourse.threads import torch_threads
from lrcourse.validate import integer

N_STEPS = 10**6
LOOP_TARGET = 50.0
FLOOR_TARGET = 3.0
#: The schedules held to the floor target: the two whose cost is one cosine per step.
FLOOR_TARGETED = ("cosine", "warmup + cosine")


def bench_arguments(n: int) -> dict[str, dict[str, int]]:
    """Arguments that make each schedule span ``n`` steps, in the proportions of the lesson's
    table (3 drops of step decay, a warmup of 10%); accepted by ours and by the lesson's."""
    n = integer("n", n, 10)
    return {
        "constant": {},
        "step decay": {"drop_every": n // 3},
        "cosine": {"total_steps": n},
        "warmup + cosine": {"warmup_steps": n // 10, "total_steps": n},
        "1cycle": {"total_steps": n},
    }


def best_times(runs: Mapping[str, tuple[Callable[[], Any], int]]) -> dict[str, float]:
    """The shortest wall time, in seconds, of each ``name: (fn, repeats)``.

    The calls are interleaved, one of each per round, so the timings set side by side in a
    ratio all sample the same minutes: on this noisy machine a slow minute otherwise lands
    on one side of a ratio only.
    """
    for name, (_, repeats) in runs.items():
        integer(f"repeats of {name!r}" if name else "repeats", repeats, 1)
    best = dict.fromkeys(runs, float("inf"))
    for round_ in range(max((repeats for _, repeats in runs.values()), default=0)):
        for name, (fn, repeats) in runs.items():
            if round_ < repeats:
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``fn``, in seconds."""
    return best_times({"": (fn, repeats)})[""]


@dataclass(frozen=True)
class ScheduleTiming:
    """Best-of-N seconds for one schedule over ``n`` steps, three ways."""

    name: str
    n: int
    vectorized_s: float
    loop_s: float
    floor_s: float

    @property
    def loop_ratio(self) -> float:
        """How many times faster the vectorized schedule is than the lesson's loop."""
        return self.loop_s / self.vectorized_s

    @property
    def floor_ratio(self) -> float:
        """The vectorized time in units of one bare ``np.cos`` over the same array."""
        return self.vectorized_s / self.floor_s


def lesson_loop(name: str, n: int, kwargs: Mapping[str, int]) -> list[float]:
    """The lesson's way: call its schedule once per step in Python, by its global name and
    with the keywords written out, as in the lesson's table (``**kwargs`` unpacking would
    make each call about 1.5x slower and flatter our ratios)."""
    if name == "constant":
        return [lesson_constant(step) for step in range(n)]
    if name == "step decay":
        every = kwargs["drop_every"]
        return [lesson_step_decay(step, drop_every=every) for step in range(n)]
    if name == "cosine":
        total = kwargs["total_steps"]
        return [lesson_cosine(step, total_steps=total) for step in range(n)]
    if name == "warmup + cosine":
        warm, total = kwargs["warmup_steps"], kwargs["total_steps"]
        return [
            lesson_warmup_cosine(step, warmup_steps=warm, total_steps=total) for step in range(n)
        ]
    if name == "1cycle":
        total = kwargs["total_steps"]
        return [lesson_one_cycle(step, total_steps=total) for step in range(n)]
    raise ValueError(f"name must be one of {list(SCHEDULES)}, got {name!r}")


def time_schedules(
    n: int = N_STEPS,
    *,
    repeats: int = 7,
    loop_repeats: int = 3,
    names: tuple[str, ...] = tuple(SCHEDULES),
) -> list[ScheduleTiming]:
    """Time each named schedule over ``n`` steps: vectorized, the lesson's loop, the floor.

    The three are timed in interleaved rounds (``best_times``), so a burst of load on the
    machine shifts both sides of a ratio rather than one.
    """
    args = bench_arguments(n)
    steps = np.arange(n, dtype=np.int64)
    timings = []
    for name in names:
        fn, kwargs = SCHEDULES[name], args[name]
        best = best_times(
            {
                "vectorized": (lambda: fn(steps, **kwargs), repeats),  # noqa: B023
                "floor": (lambda: np.cos(steps), repeats),
                "loop": (lambda: lesson_loop(name, n, kwargs), loop_repeats),  # noqa: B023
            }
        )
        timings.append(ScheduleTiming(name, n, best["vectorized"], best["loop"], best["floor"]))
    return timings


def format_report(timings: list[ScheduleTiming], *, repeats: int, loop_repeats: int) -> str:
    """A table of the timings and ratios, and a line per target saying whether it is met.

    The last column, loop/floor, is the most that loop/vec could be for a schedule that
    takes one ``np.cos`` per step: where it is below the loop target, no formulation of
    that schedule meets the target on this machine.
    """
    if not timings:
        raise ValueError("timings must hold at least one ScheduleTiming, got none")
    lines = [
        f"{len(timings)} schedules over {timings[0].n:,} steps; best of {repeats} runs "
        f"(the lesson's loop: best of {loop_repeats}), in milliseconds.",
        "",
        f"{'schedule':<16} {'vectorized':>10} {'lesson loop':>12} {'np.cos floor':>13}"
        f" {'loop/vec':>9} {'vec/floor':>10} {'loop/floor':>11}",
    ]
    for t in timings:
        lines.append(
            f"{t.name:<16} {t.vectorized_s * 1e3:>10.2f} {t.loop_s * 1e3:>12.1f}"
            f" {t.floor_s * 1e3:>13.2f} {t.loop_ratio:>8.0f}x {t.floor_ratio:>9.2f}x"
            f" {t.loop_s / t.floor_s:>10.0f}x"
        )
    lines.append("")
    slow = [t.name for t in timings if t.loop_ratio < LOOP_TARGET]
    lines.append(
        f"target loop/vec >= {LOOP_TARGET:.0f}x for every schedule: "
        + ("met" if not slow else "MISSED by " + ", ".join(slow))
    )
    held = [t for t in timings if t.name in FLOOR_TARGETED]
    if held:
        over = [t.name for t in held if t.floor_ratio > FLOOR_TARGET]
        lines.append(
            f"target vec/floor <= {FLOOR_TARGET:.0f}x for {', '.join(t.name for t in held)}: "
            + ("met" if not over else "MISSED by " + ", ".join(over))
        )
        bound = [t for t in held if t.loop_s / t.floor_s < LOOP_TARGET]
        if bound:
            per_step = min(t.floor_s for t in bound) / bound[0].n * 1e9
            lines.append(
                f"note: for {', '.join(t.name for t in bound)} even the floor is less than "
                f"{LOOP_TARGET:.0f}x faster than the loop (one np.cos costs {per_step:.1f} ns "
                "per step here), so no schedule built on np.cos can meet the loop target on "
                "this machine."
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Past the floor: what the loop target would cost the cosine schedule.


class _NumpyWithCos:
    """numpy, but with ``cos`` replaced (attribute lookups fall through to numpy)."""

    def __init__(self, cos: Callable[[LR], None]) -> None:
        self._cos = cos

    def cos(self, x: LR, *, out: LR) -> LR:
        if out is not x:  # the schedules only ever take cosines in place
            raise ValueError("out must be x: the kernels overwrite their argument")
        self._cos(x)
        return x

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


@contextmanager
def schedules_using(cos: Callable[[LR], None]) -> Iterator[None]:
    """Within the block the course's schedules take their cosines with ``cos`` (which
    overwrites its argument) instead of ``np.cos``: the shipped code, another kernel."""
    saved = schedules.np
    schedules.np = _NumpyWithCos(cos)
    try:
        yield
    finally:
        schedules.np = saved


def np_cos(x: LR) -> None:
    """numpy's float64 cos: libm's, one value at a time, like ``math.cos`` in torch."""
    np.cos(x, out=x)


@functools.cache
def _two_workers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(2)  # made once, so no call pays for starting threads


def np_cos_two_threads(x: LR) -> None:
    """numpy's cos on each half of ``x`` in its own thread (numpy releases the GIL)."""
    list(_two_workers().map(np_cos, np.array_split(x, 2)))


def torch_cos(threads: int) -> Callable[[LR], None]:
    """torch's float64 cos (SLEEF's vectorized one on x86) on ``threads`` threads."""

    def cos(x: LR) -> None:
        with torch_threads(threads):
            xt = torch.from_numpy(x)  # shares memory with x
            torch.cos(xt, out=xt)

    return cos


#: The kernels ``time_cos_kernels`` tries, by the name the report gives them.
COS_KERNELS: dict[str, Callable[[LR], None]] = {
    "np.cos, 2 threads": np_cos_two_threads,
    "torch.cos, 1 thread": torch_cos(1),
    "torch.cos, 2 threads": torch_cos(2),
}


@dataclass(frozen=True)
class KernelTiming:
    """One cosine schedule with one cos kernel over ``n`` steps: best-of-N seconds, the
    lesson's loop timed in the same rounds, and how many of the values differ from the
    course's (which are torch's to the bit), by how much."""

    schedule: str
    kernel: str
    n: int
    seconds: float
    loop_s: float
    differing: int
    max_ulps: int

    @property
    def loop_ratio(self) -> float:
        """How many times faster than the lesson's loop the schedule is with this kernel."""
        return self.loop_s / self.seconds


def time_cos_kernels(
    n: int = N_STEPS, *, repeats: int = 7, loop_repeats: int = 3
) -> list[KernelTiming]:
    """Time each of ``FLOOR_TARGETED`` over ``n`` steps with each of ``COS_KERNELS``,
    in rounds with the lesson's loop."""
    args = bench_arguments(n)
    steps = np.arange(n, dtype=np.int64)
    rows = []
    for schedule in FLOOR_TARGETED:
        fn, kwargs = SCHEDULES[schedule], args[schedule]
        exact = fn(steps, **kwargs)

        def with_kernel(cos: Callable[[LR], None]) -> LR:
            with schedules_using(cos):
                return fn(steps, **kwargs)  # noqa: B023

        runs = {"loop": (lambda: lesson_loop(schedule, n, kwargs), loop_repeats)}  # noqa: B023
        for kernel, cos in COS_KERNELS.items():
            runs[kernel] = (functools.partial(with_kernel, cos), repeats)
        best = best_times(runs)
        for kernel, cos in COS_KERNELS.items():
            # Positive floats order like their bit patterns: the difference counts ulps.
            ulps = np.abs(with_kernel(cos).view(np.int64) - exact.view(np.int64))
            differing, worst = int(np.count_nonzero(ulps)), int(ulps.max())
            timing = KernelTiming(schedule, kernel, n, best[kernel], best["loop"], differing, worst)
            rows.append(timing)
    return rows


def format_kernels(rows: list[KernelTiming]) -> str:
    """The kernels' times against the lesson's loop, and the verdict: which schedules meet
    the loop target with some kernel, and at what price."""
    if not rows:
        raise ValueError("rows must hold at least one KernelTiming, got none")
    lines = [
        "past the floor: the cosine schedules with other cos kernels, in milliseconds",
        "",
        f"{'schedule':<16} {'kernel':<21} {'time':>6} {'loop/vec':>9}"
        "  values that differ from torch's",
    ]
    verdicts = {}
    for r in rows:
        ratio = r.loop_ratio
        differ = (
            "none"
            if not r.differing
            else f"{r.differing:,} of {r.n:,} ({r.differing / r.n:.2%}), by up to {r.max_ulps} ulp"
        )
        lines.append(
            f"{r.schedule:<16} {r.kernel:<21} {r.seconds * 1e3:>6.2f} {ratio:>8.0f}x  {differ}"
        )
        if ratio >= LOOP_TARGET:
            verdicts.setdefault(r.schedule, []).append(r)
    lines.append("")
    for schedule in dict.fromkeys(r.schedule for r in rows):
        fast = verdicts.get(schedule, [])
        if not fast:
            verdict = "no kernel tried meets it"
        elif any(not r.differing for r in fast):
            verdict = "met, with torch's values kept by " + ", ".join(
                r.kernel for r in fast if not r.differing
            )
        else:
            verdict = (
                "met only by " + ", ".join(r.kernel for r in fast) + ", which change torch's "
                "values (issue 2 asks for both)"
            )
        lines.append(f"loop target ({LOOP_TARGET:.0f}x) for {schedule}: {verdict}.")
    return "\n".join(lines)


def machine_line() -> str:
    """Where the numbers came from: they mean little without it."""
    cpu = platform.processor() or platform.machine()
    try:  # the model name is only readable on Linux
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(line for line in f if line.startswith("model name"))
        cpu = model.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def main(n: int = N_STEPS, *, repeats: int = 7, loop_repeats: int = 3) -> None:
    """Print the machine, the schedule timings against their targets, what other cos
    kernels would give the cosine schedule, then the training bench."""
    print("lrcourse.bench:", machine_line())
    print()
    timings = time_schedules(n, repeats=repeats, loop_repeats=loop_repeats)
    print(format_report(timings, repeats=repeats, loop_repeats=loop_repeats))
    print()
    print(format_kernels(time_cos_kernels(n, repeats=repeats, loop_repeats=loop_repeats)))
    print()
    print("training bench: batched against sequential runs")
    print(format_training(bench_batched_vs_sequential()))


def format_training(result: Mapping[str, Any]) -> str:
    """The training bench's result as text, one ``key: value`` line each."""
    return "\n".join(
        f"{key:>20}: {value:.4g}" if isinstance(value, float) else f"{key:>20}: {value}"
        for key, value in result.items()
    )


if __name__ == "__main__":
    main()
