"""``make bench``: the schedules against a bare ``np.cos``, and batched against sequential training.

Nothing a learner imports imports this module; ``python -m lrcourse bench`` runs it.

**Schedules.** Each registered schedule, called once on ``N_STEPS`` steps with its recipe,
against a bare ``np.cos`` over the same steps (the floor: the cost of one cosine per step).
Target: at most ``FLOOR_TARGET`` times the floor, for every schedule. The schedules are
their readable formulas, with no fast path: they meet the target as written. (An earlier
target, 50x the lesson's per-step loop, was retired: numpy's float64 cos has no SIMD path,
numpy#23925, so even the floor is less than 50x faster than that loop on this machine,
while equality with torch needs the C library's cos.)

**Training.** ``n_members`` seeds trained as one batched model against one at a time.
Target: at least ``TRAINING_TARGET`` times faster, with identical losses.

**Grading.** 20 copies of exercise E1's solution graded one at a time, then on a local
process pool with a worker per CPU: seconds per submission, and the speed-up (no target:
it reports what an instructor can plan with).

The two sides of each ratio are timed in interleaved rounds (:func:`best_times`) and the
shortest time of each is kept, so a slow minute on this noisy machine falls on both sides.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lrcourse.schedules import SCHEDULES
from lrcourse.training import digits_task, train
from lrcourse.validate import integer

N_STEPS = 10**6
FLOOR_TARGET = 3.0
TRAINING_TARGET = 3.0
PEAK = 1e-3  # the lesson's default peak; the recipes scale every shape to N_STEPS


def best_times(runs: Mapping[str, tuple[Callable[[], Any], int]]) -> dict[str, float]:
    """The shortest wall time, in seconds, of each ``name: (fn, repeats)``.

    The calls are interleaved, one of each per round, so the timings set side by side in a
    ratio sample the same minutes.
    """
    for name, (_, repeats) in runs.items():
        integer(f"repeats of {name!r}", repeats, 1)
    best = dict.fromkeys(runs, float("inf"))
    for round_ in range(max((repeats for _, repeats in runs.values()), default=0)):
        for name, (fn, repeats) in runs.items():
            if round_ < repeats:
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
    return best


@dataclass(frozen=True)
class ScheduleTiming:
    """Best-of-N seconds for one schedule over ``n`` steps, and for ``np.cos`` over them."""

    name: str
    n: int
    schedule_s: float
    floor_s: float

    @property
    def ratio(self) -> float:
        """The schedule's time in units of one bare ``np.cos`` over the same steps."""
        return self.schedule_s / self.floor_s


def time_schedules(n: int = N_STEPS, *, repeats: int = 7) -> list[ScheduleTiming]:
    """Time every registered schedule over ``n`` steps against ``np.cos`` over them."""
    n = integer("n", n, 10)
    steps = np.arange(n, dtype=np.int64)
    timings = []
    for name, entry in SCHEDULES.items():
        kwargs = entry.kwargs(peak=PEAK, steps=n)
        best = best_times(
            {
                "schedule": (lambda: entry.fn(steps, **kwargs), repeats),  # noqa: B023
                "floor": (lambda: np.cos(steps), repeats),
            }
        )
        timings.append(ScheduleTiming(name, n, best["schedule"], best["floor"]))
    return timings


def format_schedules(timings: list[ScheduleTiming], *, repeats: int) -> str:
    """A table of the timings and ratios, and whether the target is met."""
    if not timings:
        raise ValueError("timings must hold at least one ScheduleTiming, got none")
    lines = [
        f"{len(timings)} schedules over {timings[0].n:,} steps, best of {repeats} runs (ms)",
        "",
        f"{'schedule':<16} {'schedule':>9} {'np.cos':>8} {'ratio':>7}",
    ]
    for t in timings:
        lines.append(
            f"{t.name:<16} {t.schedule_s * 1e3:>9.2f} {t.floor_s * 1e3:>8.2f} {t.ratio:>6.2f}x"
        )
    over = [t.name for t in timings if t.ratio > FLOOR_TARGET]
    verdict = "met" if not over else "MISSED by " + ", ".join(over)
    lines += ["", f"target: every schedule <= {FLOOR_TARGET:g}x np.cos: {verdict}"]
    return "\n".join(lines)


def bench_training(
    n_members: int = 25, steps: int = 300, *, repeats: int = 3
) -> dict[str, Any]:
    """Seconds for ``n_members`` runs of ``steps`` SGD steps on the digits task, batched into
    one model and one at a time; their ratio; and the largest difference in their losses."""
    n_members = integer("n_members", n_members, 1)
    steps = integer("steps", steps, 1)
    task = digits_task(torch.float32)
    seeds = list(range(n_members))
    kwargs = dict(
        steps=steps, eval_every=steps
    )  # evaluate at the start and the end only
    out: dict[str, Any] = {}

    def batched() -> None:
        out["batched"] = train(task, 0.1, seeds=seeds, **kwargs)

    def sequential() -> None:
        out["sequential"] = [train(task, 0.1, seeds=s, **kwargs)[0] for s in seeds]

    train(task, 0.1, seeds=[0], steps=5)  # first calls pay one-off costs
    best = best_times(
        {"batched": (batched, repeats), "sequential": (sequential, repeats)}
    )
    diff = max(
        float(np.max(np.abs(a.loss - b.loss)))
        for a, b in zip(out["batched"], out["sequential"], strict=True)
    )
    return {
        "runs": n_members,
        "steps": steps,
        "batched_s": best["batched"],
        "sequential_s": best["sequential"],
        "ratio": best["sequential"] / best["batched"],
        "max_loss_difference": diff,
    }


def format_training(result: Mapping[str, Any]) -> str:
    """The training bench as text, and whether its target is met."""
    verdict = "met" if result["ratio"] >= TRAINING_TARGET else "MISSED"
    same = "identical" if result["max_loss_difference"] == 0 else "DIFFERENT"
    return "\n".join(
        [
            f"{result['runs']} runs of {result['steps']} steps: batched "
            f"{result['batched_s']:.2f} s, one at a time {result['sequential_s']:.2f} s, "
            f"ratio {result['ratio']:.2f}x; losses {same}",
            f"target: batched >= {TRAINING_TARGET:g}x faster: {verdict}",
        ]
    )


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
        f"numpy {np.__version__}, torch {torch.__version__}"
    )


def main(n: int = N_STEPS, *, repeats: int = 7) -> None:
    """Print the machine, the schedules against the floor, then the training bench."""
    print("lrcourse bench:", machine_line())
    print()
    print(format_schedules(time_schedules(n, repeats=repeats), repeats=repeats))
    print()
    print(format_training(bench_training()))
    print()
    print(format_grading(bench_grading()))


def bench_grading(
    n_submissions: int = 20, workers: int | None = None
) -> dict[str, Any]:
    """Seconds per submission to grade ``n_submissions`` copies of E1's solution: one at a
    time in this process, then on a local pool of ``workers`` processes (the CPU count).
    Each submission starts pytest and a kernel of its own, so the kernel's start-up (about
    3 s of CPU) is most of the cost."""
    import tempfile
    from pathlib import Path

    from lrcourse.grading.grade import grade
    from lrcourse.grading.release import ROOT

    n_submissions = integer("n_submissions", n_submissions, 1)
    workers = integer("workers", workers or os.cpu_count() or 1, 1)
    master = ROOT / "notebooks" / "solutions" / "E1_five_schedules.ipynb"
    out: dict[str, Any] = {"submissions": n_submissions, "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k in range(n_submissions):
            path = Path(tmp) / f"student{k:02d}.ipynb"
            path.write_bytes(master.read_bytes())
            paths.append(path)
        for label, n in (("serial", 1), ("parallel", workers)):
            start = time.perf_counter()
            results = grade(master, paths, workers=n)
            out[f"{label}_s"] = (time.perf_counter() - start) / n_submissions
            out[f"{label}_full"] = sum(r.points == r.max_points for r in results)
    out["speedup"] = out["serial_s"] / out["parallel_s"]
    return out


def format_grading(result: Mapping[str, Any]) -> str:
    """The grading bench as text."""
    n = result["submissions"]
    full = min(result["serial_full"], result["parallel_full"])
    return "\n".join(
        [
            f"grading {n} copies of E1's solution (full points on {full} of {n}): "
            "seconds per submission",
            f"one at a time {result['serial_s']:.1f} s, on {result['workers']} workers "
            f"{result['parallel_s']:.1f} s ({result['speedup']:.2f}x)",
        ]
    )


def main_grading() -> None:
    """Only the grading bench (``python -m lrcourse bench grading``)."""
    print("lrcourse bench:", machine_line())
    print()
    print(format_grading(bench_grading()))
