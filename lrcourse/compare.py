"""Compare schedules fairly: every schedule at every peak over several seeds, a stated rule
for each schedule's peak, and verdicts paired by seed that say "tie" when the seeds say so.

The lesson's exercise asks which schedule converges fastest and which ends lowest. A fair
answer fixes the budget, scales each schedule's shape to it (the registry's recipes), gives
each schedule its own peak from one grid by one rule, and runs several seeds. Seed s gives
every schedule the same initial weights and mini-batches, so two schedules are compared
run against run, seed by seed (:func:`verdict`).

A :class:`Grid` holds one budget's runs as arrays indexed (schedule, peak, seed, ...), made
by ``lrcourse.experiments.five_schedules`` or from ``train_grid`` output. Figures of a grid
are in ``lrcourse.course.plotting``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lrcourse.validate import choice, in_range, integer, number

__all__ = [
    "Grid",
    "METRICS",
    "choose_peaks",
    "sign_test_wins",
    "Verdict",
    "verdict",
    "format_table",
]

Metric = Literal["train_loss", "val_loss", "val_acc", "settle_step"]
#: What each metric measures per run, and which way is better. All are lower-is-better
#: except val_acc.
METRICS: dict[str, str] = {
    "train_loss": "full training-set loss after the last step (inf if diverged)",
    "val_loss": "validation loss after the last step (inf if diverged)",
    "val_acc": "validation accuracy after the last step (nan if diverged)",
    "settle_step": "first evaluation from which the training loss stays <= target to the end "
    "(inf if it never settles)",
}


def _label(name: str, peak: float) -> tuple[str, float]:
    return name, float(peak)


@dataclass(frozen=True)
class Grid:
    """One budget of a comparison: S schedules x P peaks x N seeds.

    ``train_loss``, ``val_loss``, ``val_acc``: (S, P, N, E), measured at ``eval_step`` (E,);
    ``loss``: (S, P, N, T), the mini-batch loss of every step; ``diverged_at``: (S, P, N),
    -1 for a run that never diverged (a diverged run's later entries are nan).
    """

    names: tuple[str, ...]
    peaks: NDArray[np.float64]
    seeds: NDArray[np.int64]
    eval_step: NDArray[np.int64]
    train_loss: NDArray[np.float64]
    val_loss: NDArray[np.float64]
    val_acc: NDArray[np.float64]
    loss: NDArray[np.floating]
    diverged_at: NDArray[np.int64]

    @classmethod
    def from_results(cls, results: Any, budget: int) -> Grid:
        """The grid of one budget from ``lrcourse.experiments.load("five_schedules")``."""
        budgets = results.meta["budgets"]
        budget = choice("budget", budget, budgets)
        part = {
            k: results[f"{budget}/{k}"] for k in ("train_loss", "val_loss", "val_acc")
        }
        return cls(
            names=tuple(str(n) for n in results["names"]),
            peaks=results["peaks"].astype(np.float64),
            seeds=results["seeds"].astype(np.int64),
            eval_step=results[f"{budget}/eval_step"],
            loss=results[f"{budget}/loss"],
            diverged_at=results[f"{budget}/diverged_at"],
            **part,
        )

    @classmethod
    def from_runs(cls, runs: Mapping[str, Sequence[Any]]) -> Grid:
        """The grid of ``train_grid`` output whose labels read ``"<schedule> @ <peak>"``;
        every schedule must be run at every peak with the same seeds and budget."""
        if not runs:
            raise ValueError(
                "runs must map at least one '<schedule> @ <peak>' label to runs"
            )
        cells = {}
        for label, histories in runs.items():
            name, sep, peak = str(label).rpartition(" @ ")
            if not sep or not histories:
                raise ValueError(
                    f"runs must be labelled '<schedule> @ <peak>', got {label!r}"
                )
            cells[_label(name, float(peak))] = list(histories)
        names = tuple(dict.fromkeys(n for n, _ in cells))
        peaks = np.array(sorted({p for _, p in cells}))
        missing = [f"{n} @ {p:g}" for n in names for p in peaks if (n, p) not in cells]
        if missing:
            raise ValueError(
                f"runs must cover every schedule at every peak; missing {missing}"
            )
        first = next(iter(cells.values()))
        seeds = np.array([h.config["seed"] for h in first])
        steps = int(first[0].config["steps"])
        eval_step = max((h.eval_step for hs in cells.values() for h in hs), key=len)
        shape = (len(names), peaks.size, seeds.size)
        arrays = {
            k: np.full((*shape, eval_step.size), np.nan)
            for k in METRICS
            if k != "settle_step"
        }
        loss = np.full((*shape, steps), np.nan)
        diverged_at = np.full(shape, -1)
        for i, name in enumerate(names):
            for j, peak in enumerate(peaks):
                histories = cells[(name, float(peak))]
                if [h.config["seed"] for h in histories] != seeds.tolist():
                    raise ValueError(
                        f"runs must share one list of seeds; {name} @ {peak:g} differs"
                    )
                for k, h in enumerate(histories):
                    for key, values in arrays.items():
                        values[i, j, k, : h.eval_step.size] = getattr(h, key)
                    loss[i, j, k, : h.loss.size] = h.loss
                    diverged_at[i, j, k] = (
                        -1 if h.diverged_at is None else h.diverged_at
                    )
        return cls(
            names, peaks, seeds, eval_step, loss=loss, diverged_at=diverged_at, **arrays
        )

    @property
    def steps(self) -> int:
        """The budget: optimizer steps per run."""
        return int(self.loss.shape[-1])

    def index(self, name: str, peak: float) -> tuple[int, int]:
        """(schedule index, peak index) of a cell."""
        i = self.names.index(choice("name", name, self.names))
        hits = np.flatnonzero(np.isclose(self.peaks, number("peak", peak)))
        if not hits.size:
            raise ValueError(f"peak must be one of {self.peaks.tolist()}, got {peak!r}")
        return i, int(hits[0])

    def final(self, metric: Metric, target: float | None = None) -> NDArray[np.float64]:
        """(S, P, N): each run's ``metric`` (see ``METRICS``); ``target`` for settle_step."""
        metric = choice("metric", metric, METRICS)
        diverged = self.diverged_at >= 0
        if metric == "settle_step":
            if target is None:
                raise ValueError("target must be given for metric='settle_step'")
            return self.settle_step(target)
        values = getattr(self, metric)[..., -1].copy()
        values[diverged] = math.nan if metric == "val_acc" else math.inf
        if metric != "val_acc":
            values[~np.isfinite(values)] = math.inf  # a run that overflowed late
        return values

    def settle_step(self, target: float) -> NDArray[np.float64]:
        """(S, P, N): the first evaluation step from which the full training loss stays at or
        below ``target`` until the end of the run; inf where it never settles there.

        Reaching the target once is not enough: a run that dips below it and then climbs back
        (or diverges) has not converged.
        """
        target = number("target", target, strict=True)
        above = ~(self.train_loss <= target)  # nan (after a divergence) counts as above
        # the last evaluation above the target; the run settles at the one after it
        last_above = np.where(
            above.any(-1), above.shape[-1] - 1 - np.argmax(above[..., ::-1], -1), -1
        )
        settled = last_above < above.shape[-1] - 1
        steps = self.eval_step[np.minimum(last_above + 1, above.shape[-1] - 1)]
        return np.where(settled, steps.astype(np.float64), math.inf)

    def climb(self) -> NDArray[np.float64]:
        """(S, P, N): how far each run's full training loss climbed back above the lowest value
        it had reached before, at its worst, as a factor (1 = it never rose; inf: diverged)."""
        low = np.fmin.accumulate(self.train_loss, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nanmax(self.train_loss / low, axis=-1)
        return np.where(self.diverged_at >= 0, math.inf, ratio)

    def curves(
        self, name: str, peak: float, metric: str = "train_loss"
    ) -> NDArray[np.float64]:
        """(N, E): the ``metric`` curve of every seed of one cell, at ``eval_step``."""
        metric = choice("metric", metric, ("train_loss", "val_loss", "val_acc"))
        i, j = self.index(name, peak)
        return getattr(self, metric)[i, j]


def choose_peaks(
    grid: Grid,
    metric: Metric,
    *,
    seeds: Sequence[int] | None = None,
    target: float | None = None,
) -> dict[str, float]:
    """Each schedule's peak: the one with the best mean ``metric`` over ``seeds``
    (default: all). A run that diverged or never settled counts as infinitely bad;
    a tie goes to the smaller peak."""
    values = grid.final(metric, target)  # (schedules, peaks, seeds)
    if seeds is not None:
        wanted, known = list(seeds), grid.seeds.tolist()
        if not wanted or not set(wanted) <= set(known):
            raise ValueError(f"seeds must be a non-empty subset of {known}")
        values = values[:, :, [known.index(s) for s in wanted]]
    if metric == "val_acc":  # higher is better: rank its negative
        values = -np.nan_to_num(values, nan=-math.inf)
    with np.errstate(invalid="ignore"):
        means = values.mean(axis=2)
    means = np.where(np.isnan(means), math.inf, means)
    best = np.argmin(means, axis=1)  # the first, so the smaller peak, on a tie
    return {name: float(grid.peaks[best[i]]) for i, name in enumerate(grid.names)}


def sign_test_wins(n: int, alpha: float = 0.05) -> int:
    """The fewest wins in ``n`` paired seeds that a coin would reach with probability at most
    ``alpha`` (a one-sided sign test): 9 of 10, 5 of 5, 15 of 20."""
    n = integer("n", n, 1)
    alpha = in_range("alpha", alpha, 0, 1, low_open=True, high_open=True)
    for k in range(n + 1):
        if sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n <= alpha:
            return k
    return n + 1  # too few seeds: no number of wins is convincing


@dataclass(frozen=True)
class Verdict:
    """The best of several schedules on one metric (lower is better) against the runner-up,
    seed by seed. ``clear`` when the best wins on at least ``needed`` of the ``n`` seeds (a
    sign test at 5%); otherwise the two tie."""

    what: str
    best: str
    runner_up: str
    means: dict[str, float]
    wins: int
    n: int
    needed: int

    @property
    def clear(self) -> bool:
        return self.wins >= self.needed

    def __str__(self) -> str:
        b, r = self.best, self.runner_up
        head = (
            f"{self.what}: {b} {_num(self.means[b])}, {r} {_num(self.means[r])} (means)"
        )
        if self.clear:
            return f"{head}\n  {b} is lower on {self.wins} of {self.n} seeds: {b} wins"
        return (
            f"{head}\n  {b} is lower on only {self.wins} of {self.n} seeds "
            f"({self.needed} needed): a tie"
        )


def _num(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3g}"


def verdict(values: Mapping[str, NDArray[np.float64]], what: str = "") -> Verdict:
    """Rank ``values`` ({schedule: a value per seed, the same seeds in the same order})
    by their mean, lower first; weigh the best against the runner-up seed by seed."""
    if len(values) < 2:
        raise ValueError(f"values must hold at least 2 schedules, got {len(values)}")
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"values must be 1-D, one value per seed, got shapes {shapes}")
    means = {k: float(np.mean(a)) for k, a in arrays.items()}
    best, runner_up = sorted(means, key=lambda k: means[k])[:2]  # stable on a tie
    wins = int(np.sum(arrays[best] < arrays[runner_up]))  # seed by seed
    n = arrays[best].size
    return Verdict(what, best, runner_up, means, wins, n, sign_test_wins(n))


def format_table(
    rows: Mapping[str, Mapping[str, NDArray[np.float64]]], *, digits: int = 3
) -> str:
    """A table: one row per schedule, one column per measure, each cell the median over
    seeds with the lowest and highest seed: ``0.115 (0.091-0.136)``.

    ``rows`` maps a row label to {column title: per-seed values}.
    """
    digits = integer("digits", digits, 1)
    if not rows:
        raise ValueError("rows must hold at least one row")
    columns = list(next(iter(rows.values())))
    cells = {
        label: [_spread(np.asarray(values[c], dtype=float), digits) for c in columns]
        for label, values in rows.items()
    }
    width = max(len(label) for label in rows)
    widths = [
        max(len(c), *(len(cells[r][k]) for r in rows)) for k, c in enumerate(columns)
    ]
    head = " " * width + "".join(
        f"  {c:>{w}}" for c, w in zip(columns, widths, strict=True)
    )
    lines = [head]
    for label, row in cells.items():
        lines.append(
            label.ljust(width)
            + "".join(f"  {v:>{w}}" for v, w in zip(row, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines)


def _spread(values: NDArray[np.float64], digits: int) -> str:
    if not np.isfinite(values).all():
        bad = int(np.sum(~np.isfinite(values)))
        return f"{bad} of {values.size} inf"
    lo, med, hi = np.min(values), np.median(values), np.max(values)
    return f"{med:.{digits}g} ({lo:.{digits - 1}g}-{hi:.{digits - 1}g})"
