"""Compare schedules fairly: one step budget, each schedule at its own peak lr, several seeds.

The lesson's exercise is "train the five schedules on one task: which converges fastest,
which ends lowest?". A fair answer needs three things, and this module holds each:

1. **Shapes in proportion to the run.** :func:`scaled_kwargs` maps a schedule name, a step
   budget and a peak lr to the schedule's arguments, following the lesson's defaults (a
   1000-step run peaking at 1e-3 decays cosine to 1e-5, warms up for 100 steps, drops step
   decay every 333 steps): cosine ends at peak/100, warmup takes 10% of the steps, step decay
   cuts x0.1 every third of the run, 1cycle keeps the lesson's 45% / 45% / 10% shape.
2. **Each schedule at its own peak, chosen by a stated rule.** :func:`grid_lrs` builds the
   (schedule x peak) grid for ``lrcourse.train.train_grid``; :meth:`Comparison.select_peaks`
   picks, for every schedule, the peak with the lowest mean over seeds of a metric.
3. **Statistics over seeds, paired by seed.** :func:`summarize` turns the runs into a
   :class:`Comparison` of :class:`Cell` (one schedule at one peak: a value per seed).
   Member ``seed`` of every schedule starts from the same weights and sees the same
   mini-batches (``train`` draws both from the seed), so two schedules are compared seed by
   seed: :func:`head_to_head` counts the seeds one wins, :func:`verdict` says whether the
   best beats the runner-up by more than the spread over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from numpy.typing import NDArray

from lrcourse.course.plotting import color_for, loss_name, spread_over_seeds
from lrcourse.schedules import SCHEDULES
from lrcourse.validate import integer, number

__all__ = [
    "COSINE_FLOOR",
    "WARMUP_FRACTION",
    "STEP_STAGES",
    "DROP_FACTOR",
    "MIN_STEPS",
    "METRICS",
    "scaled_kwargs",
    "scaled_schedule",
    "run_label",
    "parse_label",
    "grid_lrs",
    "Cell",
    "Comparison",
    "summarize",
    "head_to_head",
    "rank",
    "Verdict",
    "verdict",
    "format_table",
    "plot_final_vs_peak",
]

#: Cosine and warmup + cosine decay to ``COSINE_FLOOR * peak``: the lesson's 1e-3 -> 1e-5.
COSINE_FLOOR = 0.01
#: Warmup + cosine warms up over this share of the steps: the lesson's 100 of 1000.
WARMUP_FRACTION = 0.1
#: Step decay runs in this many equal stages, cut by DROP_FACTOR every ``ceil(steps / 3)``
#: steps: peak, peak/10, peak/100. The lesson's table cuts every 333 of its 1000 steps, which
#: adds a fourth level, peak/1000, at its last step (999); rounding up keeps three stages.
STEP_STAGES = 3
#: Step decay's factor per cut: the lesson's x0.1.
DROP_FACTOR = 0.1
#: The shortest budget every schedule accepts: 1cycle needs a step in each of its phases.
MIN_STEPS = 3

Metric = Literal["train_loss", "val_loss", "val_acc", "steps_to_target"]
#: What a Cell holds per seed, and which way is better.
METRICS: dict[str, str] = {
    "train_loss": "lower",  # full training-set loss after the last step (inf if diverged)
    "val_loss": "lower",  # validation loss after the last step (inf if diverged)
    "val_acc": "higher",  # validation accuracy after the last step (nan if diverged)
    "steps_to_target": "lower",  # first evaluation step with train loss <= target (nan: never)
}
_TITLES = {
    "train_loss": "final train loss",
    "val_loss": "final val loss",
    "val_acc": "val acc",
    "steps_to_target": "steps to target",
}


# ---------------------------------------------------------------------------
# Argument checks: ValueError naming the parameter and its allowed range.


def _check_name(name: Any) -> str:
    if name not in SCHEDULES:
        raise ValueError(f"name must be one of {list(SCHEDULES)}, got {name!r}")
    return name


def _check_peak(peak: Any, what: str = "peak") -> float:
    return number(what, peak, strict=True)


def _check_steps(steps: Any) -> int:
    return integer("steps", steps, MIN_STEPS, why=" (1cycle needs a step in each phase)")


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    return metric


def _nonempty(name: str, values: Iterable[Any], *, unique: bool = True) -> list[Any]:
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    if unique and len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat an entry, got {values!r}")
    return values


# ---------------------------------------------------------------------------
# 1. Schedules scaled to a budget and a peak.


def scaled_kwargs(name: str, *, peak: float, steps: int) -> dict[str, Any]:
    """The arguments of ``SCHEDULES[name]`` for a run of ``steps`` steps peaking at ``peak``.

    T = steps, P = peak (the lesson's defaults, made proportional to the run):

    * constant:        lr = P
    * step decay:      lr = P, drop_factor = 0.1, drop_every = ceil(T / 3)
    * cosine:          lr_max = P, lr_min = P / 100, total_steps = T
    * warmup + cosine: lr_max = P, lr_min = P / 100, warmup_steps = round(T / 10),
      total_steps = T
    * 1cycle:          lr_max = P, total_steps = T (the lesson's shape: up from P/25 over 45%,
      down to P/25 over 45%, then to P/25000)
    """
    name = _check_name(name)
    peak = _check_peak(peak)
    steps = _check_steps(steps)
    if name == "constant":
        return {"lr": peak}
    if name == "step decay":
        return {"lr": peak, "drop_factor": DROP_FACTOR, "drop_every": -(-steps // STEP_STAGES)}
    if name == "cosine":
        return {"lr_max": peak, "lr_min": peak * COSINE_FLOOR, "total_steps": steps}
    if name == "warmup + cosine":
        return {
            "lr_max": peak,
            "lr_min": peak * COSINE_FLOOR,
            "warmup_steps": round(WARMUP_FRACTION * steps),
            "total_steps": steps,
        }
    return {"lr_max": peak, "total_steps": steps}  # 1cycle


def scaled_schedule(name: str, *, peak: float, steps: int) -> NDArray[np.float64]:
    """lr at steps 0 .. steps-1: ``SCHEDULES[name](np.arange(steps), **scaled_kwargs(...))``."""
    kwargs = scaled_kwargs(name, peak=peak, steps=steps)
    return SCHEDULES[name](np.arange(steps), **kwargs)


def run_label(name: str, peak: float) -> str:
    """The label of one grid cell, e.g. ``"cosine @ 0.3"``."""
    return f"{_check_name(name)} @ {_check_peak(peak):g}"


def parse_label(label: str) -> tuple[str, float]:
    """The inverse of :func:`run_label`: ``"cosine @ 0.3"`` -> ``("cosine", 0.3)``."""
    name, sep, peak = str(label).rpartition(" @ ")
    if not sep or name not in SCHEDULES:
        raise ValueError(f"label must read '<schedule> @ <peak>', got {label!r}")
    try:
        value = float(peak)
    except ValueError:
        raise ValueError(f"label must read '<schedule> @ <peak>', got {label!r}") from None
    return name, _check_peak(value, "label's peak")


def grid_lrs(
    names: Sequence[str], peaks: Sequence[float], steps: int
) -> dict[str, NDArray[np.float64]]:
    """Every schedule at every peak, scaled to ``steps``: {run_label: lr per step}.

    Ordered peak by peak, then name by name; pass it to ``lrcourse.train.train_grid``.
    """
    names = [_check_name(n) for n in _nonempty("names", names)]
    peaks = [_check_peak(p) for p in _nonempty("peaks", peaks)]
    steps = _check_steps(steps)
    return {run_label(n, p): scaled_schedule(n, peak=p, steps=steps) for p in peaks for n in names}


# ---------------------------------------------------------------------------
# 2. Statistics over seeds.


def _mean_std(values: NDArray[np.float64]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for one value) of the finite-or-inf values.

    nan entries (a target never reached, a diverged run's accuracy) are left out; an inf
    (a diverged run's loss) makes the mean inf and the std nan.
    """
    kept = values[~np.isnan(values)]
    if kept.size == 0:
        return math.nan, math.nan
    if not np.isfinite(kept).all():
        return float(np.mean(kept)), math.nan
    std = float(np.std(kept, ddof=1)) if kept.size > 1 else 0.0
    return float(np.mean(kept)), std


@dataclass(frozen=True)
class Cell:
    """One schedule at one peak lr: the final metrics of each seed's run.

    ``seeds[i]`` owns entry i of every array. ``steps_to_target[i]`` is
    ``History.steps_to_loss(target)`` (nan when that seed never reached ``target``).
    """

    name: str
    peak: float
    steps: int
    target: float
    seeds: tuple[int, ...]
    train_loss: NDArray[np.float64]
    val_loss: NDArray[np.float64]
    val_acc: NDArray[np.float64]
    steps_to_target: NDArray[np.float64]
    diverged: int

    def values(self, metric: Metric, seeds: Iterable[int] | None = None) -> NDArray[np.float64]:
        """The per-seed values of ``metric``, for ``seeds`` (default: all, in order)."""
        values = getattr(self, _check_metric(metric))
        if seeds is None:
            return values
        index = {s: i for i, s in enumerate(self.seeds)}
        wanted = _nonempty("seeds", seeds)
        missing = [s for s in wanted if s not in index]
        if missing:
            raise ValueError(f"seeds must be among {list(self.seeds)}, got {missing}")
        return values[[index[s] for s in wanted]]

    def mean(self, metric: Metric, seeds: Iterable[int] | None = None) -> float:
        """Mean over seeds (for steps_to_target: over the seeds that reached the target)."""
        return _mean_std(self.values(metric, seeds))[0]

    def std(self, metric: Metric, seeds: Iterable[int] | None = None) -> float:
        """Sample standard deviation over seeds (ddof = 1), as :meth:`mean` counts them."""
        return _mean_std(self.values(metric, seeds))[1]

    @property
    def reached(self) -> int:
        """How many seeds reached the target train loss within the budget."""
        return int(np.sum(~np.isnan(self.steps_to_target)))

    @property
    def label(self) -> str:
        return run_label(self.name, self.peak)


def _sort_key(cell: Cell, metric: Metric, seeds: Iterable[int] | None = None) -> tuple:
    """Better first: steps_to_target counts more seeds reaching first, then fewer steps."""
    mean = cell.mean(metric, seeds)
    if math.isnan(mean):
        mean = math.inf
    if metric == "steps_to_target":
        reached = int(np.sum(~np.isnan(cell.values(metric, seeds))))
        return (-reached, mean)
    return (-mean,) if METRICS[metric] == "higher" else (mean,)


@dataclass(frozen=True)
class Comparison:
    """Every (schedule, peak) cell of one budget; built by :func:`summarize`."""

    steps: int
    target: float
    names: tuple[str, ...]
    peaks: tuple[float, ...]
    seeds: tuple[int, ...]
    cells: dict[tuple[str, float], Cell]

    def cell(self, name: str, peak: float) -> Cell:
        """The cell of schedule ``name`` at ``peak``."""
        if name not in self.names:
            raise ValueError(f"name must be one of {list(self.names)}, got {name!r}")
        if float(peak) not in self.peaks:
            raise ValueError(f"peak must be one of {list(self.peaks)}, got {peak!r}")
        return self.cells[(name, float(peak))]

    def at_peak(self, peak: float) -> list[Cell]:
        """The cells of every schedule at one peak, in the order of ``names``."""
        return [self.cell(n, peak) for n in self.names]

    def select_peaks(
        self, metric: Metric = "train_loss", seeds: Iterable[int] | None = None
    ) -> dict[str, float]:
        """For each schedule, the peak whose mean ``metric`` over ``seeds`` is best.

        Rule: argmin over peaks of the mean (argmax for val_acc); a tie goes to the smaller
        peak. For steps_to_target, more seeds reaching the target counts first.
        """
        _check_metric(metric)
        picks = {}
        for name in self.names:
            cells = [self.cell(name, p) for p in sorted(self.peaks)]
            picks[name] = min(cells, key=lambda c: _sort_key(c, metric, seeds)).peak
        return picks

    def chosen(self, picks: Mapping[str, float]) -> list[Cell]:
        """The cells of ``picks`` ({schedule: peak}), in the order of ``names``."""
        unknown = [n for n in picks if n not in self.names]
        if unknown:
            raise ValueError(f"picks must name schedules among {list(self.names)}, got {unknown}")
        return [self.cell(n, picks[n]) for n in self.names if n in picks]

    def grid_table(self, metric: Metric = "train_loss") -> str:
        """Mean ± std of ``metric`` for every schedule (rows) at every peak (columns)."""
        _check_metric(metric)
        width = max(len(n) for n in self.names)
        head = f"{_TITLES[metric]} at peak lr".ljust(width) + "".join(
            f"{p:>22g}" for p in self.peaks
        )
        lines = [head.rstrip()]
        for name in self.names:
            row = name.ljust(width)
            for peak in self.peaks:
                c = self.cell(name, peak)
                row += f"{_pm(c.mean(metric), c.std(metric)):>22}"
            lines.append(row)
        return "\n".join(lines)

    def rankings(self, metric: Metric = "train_loss") -> dict[float, list[str]]:
        """At each peak: the schedules ordered best first by mean ``metric`` (see :func:`rank`)."""
        return {p: [c.name for c in rank(self.at_peak(p), metric)] for p in self.peaks}


def summarize(
    runs: Mapping[str, Sequence[Any]], *, target: float, steps: int | None = None
) -> Comparison:
    """Collect ``train_grid`` output ({run_label: [History per seed]}) into a Comparison.

    Every label must parse (:func:`parse_label`), every cell must hold the same seeds, and
    the grid must be complete (every schedule at every peak). ``target`` is the train loss
    for steps_to_target. ``steps`` defaults to the runs' own budget.
    """
    target = _check_peak(target, "target")
    if not runs:
        raise ValueError("runs must map at least one run label to its Histories")
    cells: dict[tuple[str, float], Cell] = {}
    seeds: tuple[int, ...] | None = None
    for label, histories in runs.items():
        name, peak = parse_label(label)
        if not histories:
            raise ValueError(f"runs[{label!r}] must hold at least one History")
        these = tuple(int(h.config["seed"]) for h in histories)
        if seeds is None:
            seeds = these
        elif these != seeds:
            raise ValueError(f"runs must share one list of seeds: {these} != {seeds}")
        budget = int(histories[0].config["steps"])
        if steps is None:
            steps = budget
        elif budget != steps:
            raise ValueError(f"steps must match every run's budget, got {steps} and {budget}")
        hits = [h.steps_to_loss(target) for h in histories]
        cells[(name, peak)] = Cell(
            name=name,
            peak=peak,
            steps=budget,
            target=target,
            seeds=these,
            train_loss=np.array([h.final_train_loss for h in histories]),
            val_loss=np.array([h.final_val_loss for h in histories]),
            val_acc=np.array([h.final_val_acc for h in histories]),
            steps_to_target=np.array([math.nan if s is None else float(s) for s in hits]),
            diverged=sum(bool(h.diverged) for h in histories),
        )
    names = tuple(dict.fromkeys(n for n, _ in cells))
    peaks = tuple(dict.fromkeys(p for _, p in cells))
    missing = [run_label(n, p) for n in names for p in peaks if (n, p) not in cells]
    if missing:
        raise ValueError(f"runs must cover every schedule at every peak; missing {missing}")
    return Comparison(int(steps), target, names, peaks, seeds, cells)


# ---------------------------------------------------------------------------
# 3. Ranking, paired by seed.


def head_to_head(a: Cell, b: Cell, metric: Metric) -> tuple[int, int]:
    """(seeds on which ``a`` beats ``b``, seeds compared): seed by seed, the same start.

    "Beats" is strictly better (lower loss or steps, higher accuracy); a seed where both
    never reached the target is not compared, one that only ``a`` reached counts for ``a``.
    """
    _check_metric(metric)
    if a.seeds != b.seeds:
        raise ValueError(f"a and b must hold the same seeds, got {a.seeds} and {b.seeds}")
    x, y = a.values(metric), b.values(metric)
    if metric == "steps_to_target":
        x, y = np.nan_to_num(x, nan=math.inf), np.nan_to_num(y, nan=math.inf)
        both_missed = np.isinf(x) & np.isinf(y)
        x, y = x[~both_missed], y[~both_missed]
    wins = x > y if METRICS[metric] == "higher" else x < y
    return int(np.sum(wins)), int(x.size)


def rank(cells: Sequence[Cell], metric: Metric) -> list[Cell]:
    """``cells`` ordered best first by mean ``metric`` over seeds (stable for ties).

    For steps_to_target, cells whose seeds all reached the target come before cells with
    misses, then fewer mean steps (over the seeds that reached it) comes first.
    """
    _check_metric(metric)
    cells = _nonempty("cells", cells, unique=False)
    return sorted(cells, key=lambda c: _sort_key(c, metric))


@dataclass(frozen=True)
class Verdict:
    """The best cell on a metric against the runner-up, with the spread over seeds.

    gap = |mean(runner_up) - mean(best)|; spread = the larger of the two stds; wins = seeds
    (paired) on which best beats runner_up; ``clear`` = gap > spread and best wins every seed.
    """

    metric: Metric
    best: Cell
    runner_up: Cell
    gap: float
    spread: float
    wins: int
    compared: int

    @property
    def within_spread(self) -> bool:
        """True when the best two are within one std of each other (the gap is noise-sized)."""
        return not self.gap > self.spread

    @property
    def clear(self) -> bool:
        return not self.within_spread and self.wins == self.compared

    def __str__(self) -> str:
        b, r, m = self.best, self.runner_up, self.metric
        head = (
            f"{_TITLES[m]}: best {b.name} ({_pm(b.mean(m), b.std(m))}), "
            f"runner-up {r.name} ({_pm(r.mean(m), r.std(m))}); "
            f"{b.name} wins {self.wins}/{self.compared} seeds"
        )
        if self.within_spread:
            return head + f"; the gap {self.gap:.3g} is within one std ({self.spread:.3g})"
        return head + f"; the gap {self.gap:.3g} exceeds one std ({self.spread:.3g})"


def verdict(cells: Sequence[Cell], metric: Metric) -> Verdict:
    """Rank ``cells`` on ``metric`` (:func:`rank`) and weigh the best against the runner-up."""
    ordered = rank(cells, metric)
    if len(ordered) < 2:
        raise ValueError(f"cells must hold at least 2 cells to compare, got {len(ordered)}")
    best, runner = ordered[0], ordered[1]
    gap = abs(runner.mean(metric) - best.mean(metric))
    spread = max(best.std(metric), runner.std(metric))
    wins, compared = head_to_head(best, runner, metric)
    return Verdict(metric, best, runner, gap, spread, wins, compared)


# ---------------------------------------------------------------------------
# Output: a table and a figure helper.


def _pm(mean: float, std: float) -> str:
    """'mean ± std' to 3 significant digits; 'inf' for a diverged mean; '-' for none."""
    if math.isnan(mean):
        return "-"
    if math.isinf(mean):
        return "inf"
    return f"{mean:.3g} ± {std:.2g}"


def format_table(cells: Sequence[Cell], *, steps: bool = True) -> str:
    """One row per cell: peak, then mean ± std over seeds of the final train loss, the final
    validation loss and accuracy, and (if ``steps``) the steps to the target train loss with
    how many seeds reached it. Three significant digits; std is the sample std (ddof = 1).
    Leave ``steps`` out for runs evaluated only at the start and the end."""
    cells = _nonempty("cells", cells, unique=False)
    width = max(len(c.name) for c in cells)
    cols = ["peak", "final train loss", "final val loss", "val acc"]
    widths = [7, 20, 18, 17]
    if steps:
        cols.append(f"steps to {cells[0].target:g}")
        widths.append(22)
    lines = [
        "schedule".ljust(width) + "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True))
    ]
    for c in cells:
        row = [
            f"{c.peak:g}",
            _pm(c.mean("train_loss"), c.std("train_loss")),
            _pm(c.mean("val_loss"), c.std("val_loss")),
            _pm(c.mean("val_acc"), c.std("val_acc")),
        ]
        if steps:
            mean, std = c.mean("steps_to_target"), c.std("steps_to_target")
            row.append(f"{_pm(mean, std)} ({c.reached}/{len(c.seeds)})")
        lines.append(
            c.name.ljust(width) + "".join(f"{v:>{w}}" for v, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines)


def plot_final_vs_peak(
    comparison: Comparison,
    *,
    ax: Axes | None = None,
    metric: Literal["train_loss", "val_loss"] = "train_loss",
    picks: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Axes:
    """Final ``metric`` against peak lr, one line per schedule: the mean over seeds, with
    bars from the lowest to the highest seed (a diverged seed is left out). Log axes on both
    sides. ``picks`` ({schedule: peak}) are ringed. Lines that cross mean the ranking
    depends on the peak.
    """
    what = loss_name(metric)
    if ax is None:
        _, ax = plt.subplots()
    peaks = np.array(sorted(comparison.peaks))
    picks = dict(picks or {})
    stray = {n: p for n, p in picks.items() if n not in comparison.names or p not in peaks}
    if stray:
        raise ValueError(f"picks must map schedules of the comparison to its peaks, got {stray}")
    for name in comparison.names:
        values = np.array([comparison.cell(name, p).values(metric) for p in peaks])
        mean, low, high = spread_over_seeds(values, axis=1)
        color = color_for(name)
        ax.errorbar(
            peaks,
            mean,
            yerr=[mean - low, high - mean],
            color=color,
            marker="o",
            ms=4,
            capsize=3,
            label=name,
        )
        if name in picks:
            i = int(np.flatnonzero(peaks == picks[name])[0])
            ax.plot(peaks[i], mean[i], "o", ms=11, mfc="none", mec=color, mew=1.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(peaks, [f"{p:g}" for p in peaks])
    ax.minorticks_off()
    ax.set_xlabel("peak learning rate (log scale)")
    ax.set_ylabel(f"final {what} loss (log scale)")
    if title:
        ax.set_title(title)
    return ax
