"""One figure style for the whole course: labelled axes, PNG output, log lr axes."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from numpy.typing import NDArray

from lrcourse.schedules import SCHEDULES
from lrcourse.validate import choice, integer

_STYLE = {
    "figure.figsize": (7.5, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Readable on a projector: no text under 10 pt (DESIGN.md, the screen).
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 12,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    # The course is deterministic; so are its figures.
    "svg.hashsalt": "lrcourse",
}


def use_course_style() -> None:
    """Apply the course's matplotlib style and make notebooks emit PNG (not SVG) figures.

    nbval compares SVG text but skips PNG, so PNG keeps strict mode about the text.
    """
    mpl.rcParams.update(_STYLE)
    try:  # only inside IPython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel there is nothing to set
        pass


def color_for(name: str) -> str | None:
    """The registry's colour for the schedule ``name`` is or starts with ("cosine (peak 0.3)"
    is drawn in cosine's colour), or None to let matplotlib choose."""
    matches = [s for s in SCHEDULES if str(name).startswith(s)]
    return SCHEDULES[max(matches, key=len)].color if matches else None


def plot_lr_curves(
    curves: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    log: bool = True,
    title: str | None = None,
    xlabel: str = "step",
) -> Axes:
    """Plot lr against step for each named curve; a log y axis when the lr spans decades."""
    if ax is None:
        _, ax = plt.subplots()
    for name, lrs in curves.items():
        lrs = np.asarray(lrs, dtype=float)
        ax.plot(np.arange(lrs.size), lrs, label=name, color=color_for(name))
    if log:
        plain_log(ax, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate" + (" (log scale)" if log else ""))
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return ax


def _plain_power(value: float, _pos: object = None) -> str:
    """A tick label for a power of ten: 0.001, 1, 1000; 1e-05 and 1e+37 as 1e-5, 1e37."""
    if value <= 0:
        return ""
    exponent = round(math.log10(value))
    if abs(exponent) >= 5:
        return f"1e{exponent}"
    return f"{value:g}"


def plain_log(ax: Axes, axis: str = "both") -> Axes:
    """Put ``axis`` ("x", "y" or "both") of ``ax`` on a log scale with plain labels at the
    powers of ten (0.01, 1, 100) and no minor ticks. Quicker to read than matplotlib's
    10^k labels on every tick, and about three times quicker to draw."""
    axis = choice("axis", axis, ("x", "y", "both"))
    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"set_{name}scale")("log")
        target = getattr(ax, f"{name}axis")
        target.set_major_locator(LogLocator(base=10))
        target.set_major_formatter(FuncFormatter(_plain_power))
        target.set_minor_locator(NullLocator())
    return ax


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each step (fewer at the start): a trend line
    through the noise of mini-batch losses, with no look-ahead."""
    window = integer("window", window, 1)
    values = np.asarray(values, dtype=float)
    csum = np.cumsum(np.r_[0.0, values])
    lo = np.maximum(np.arange(1, values.size + 1) - window, 0)
    return (csum[1:] - csum[lo]) / (np.arange(1, values.size + 1) - lo)


def plot_loss(
    ax: Axes,
    run: object,
    *,
    label: str,
    color: str | None = None,
    window: int = 1,
    ylabel: str = "training loss (log scale)",
    **style: object,
) -> None:
    """Per-step loss of a run (a ``History`` or an array) against step, on a log axis.

    With ``window > 1`` the raw loss is drawn faintly and its running mean on top. A run
    that diverged (a ``History`` with ``diverged_at``, or a non-finite loss in an array)
    ends in an ``x`` at its last finite loss, and its label says at which step.
    """
    loss = np.asarray(getattr(run, "loss", run), dtype=float)
    bad = np.flatnonzero(~np.isfinite(loss))
    end = getattr(run, "diverged_at", None)
    if end is None and bad.size:
        end = int(bad[0])
    if end is not None:
        label = f"{label} (diverged at step {end})"
    shown = loss.size if end is None else end
    steps = np.arange(shown)
    if window > 1:
        ax.plot(steps, loss[:shown], color=color, alpha=0.2, lw=0.7)
        trend = running_mean(loss[:shown], window)
        (line,) = ax.plot(steps, trend, color=color, label=label, **style)
    else:
        (line,) = ax.plot(steps, loss[:shown], color=color, label=label, **style)
    if end is not None and shown > 0:
        ax.plot(shown - 1, loss[shown - 1], "x", color=line.get_color(), ms=9, mew=2)
    plain_log(ax, "y")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)


def finish(fig: Figure | None = None, *, legend_from: Axes | None = None) -> None:
    """Lay out and show the current figure (``plt.show`` leaves no text repr for nbval).

    ``legend_from``: put that axes' legend entries under the panels, in one row, and keep
    room for them (for panels that share one legend).
    """
    fig = fig or plt.gcf()
    if legend_from is None:
        fig.tight_layout()
    else:
        handles, labels = legend_from.get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels))
        fig.tight_layout(rect=(0, 0.1, 1, 1))
    plt.show()


def spread_over_seeds(
    values: NDArray[np.float64], axis: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Mean, min and max over seeds along ``axis``, leaving out non-finite values (a diverged
    seed leaves a gap, not an inf); where every seed diverged, nan."""
    values = np.where(np.isfinite(values), values, np.nan)
    with warnings.catch_warnings():  # an all-nan slice: nan, and no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(f(values, axis=axis) for f in (np.nanmean, np.nanmin, np.nanmax))


def loss_name(metric: str) -> str:
    """How axis labels name a loss metric of a ``History``: "train" or "validation"."""
    names = {"train_loss": "train", "val_loss": "validation"}
    if metric not in names:
        raise ValueError(f"metric must be 'train_loss' or 'val_loss', got {metric!r}")
    return names[metric]


def plot_bands(
    curves: Mapping[str, tuple[NDArray[np.int64], NDArray[np.float64]]],
    *,
    ax: Axes | None = None,
    ylabel: str = "train loss (cross-entropy, log scale)",
    title: str | None = None,
) -> Axes:
    """For each label, ``(steps, values)`` with values (seeds, len(steps)): the mean over
    seeds as a line and the seeds' min-max range shaded, on a log axis. The colour comes from
    the schedule name the label starts with. A diverged seed (nan, inf) leaves the band."""
    if not curves:
        raise ValueError("curves must hold at least one label")
    if ax is None:
        _, ax = plt.subplots()
    for label, (steps, values) in curves.items():
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[-1] != len(steps):
            raise ValueError(
                f"curves[{label!r}] must hold one value per step, got {values.shape} for "
                f"{len(steps)} steps"
            )
        color = color_for(label)
        mean, low, high = spread_over_seeds(values, axis=0)
        ax.plot(steps, mean, color=color, label=label)
        ax.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
    plain_log(ax, "y")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def plot_loss_bands(
    runs: Mapping[str, Sequence[Any]],
    *,
    ax: Axes | None = None,
    metric: Literal["train_loss", "val_loss"] = "train_loss",
    title: str | None = None,
) -> Axes:
    """:func:`plot_bands` of ``History`` runs: {label: Histories, one per seed}; a diverged
    seed's curve stops at its divergence, the band uses the seeds still running."""
    what = loss_name(metric)
    curves = {}
    for label, histories in runs.items():
        if not histories:
            raise ValueError(f"runs[{label!r}] must hold at least one History")
        steps = max(histories, key=lambda h: h.eval_step.size).eval_step
        values = np.full((len(histories), steps.size), np.nan)
        for i, h in enumerate(histories):
            values[i, : h.eval_step.size] = getattr(h, metric)
        curves[label] = (steps, values)
    return plot_bands(
        curves, ax=ax, ylabel=f"{what} loss (cross-entropy, log scale)", title=title
    )


def plot_metric_vs_peak(
    peaks: NDArray[np.float64],
    values: Mapping[str, NDArray[np.float64]],
    *,
    ax: Axes | None = None,
    picks: Mapping[str, float] | None = None,
    ylabel: str,
    title: str | None = None,
) -> Axes:
    """One line per schedule: the mean over seeds of a final metric against the peak lr,
    with bars from the lowest to the highest seed, on log axes. ``values`` maps a schedule
    to an array (peaks, seeds); a diverged seed is left out of its bar. ``picks``
    ({schedule: peak}) are ringed. Lines that cross: the ranking depends on the peak."""
    if ax is None:
        _, ax = plt.subplots()
    peaks = np.asarray(peaks, dtype=float)
    picks = dict(picks or {})
    for name, per_peak in values.items():
        per_peak = np.asarray(per_peak, dtype=float)
        if per_peak.shape[0] != peaks.size:
            raise ValueError(
                f"values[{name!r}] must have one row per peak ({peaks.size})"
            )
        mean, low, high = spread_over_seeds(per_peak, axis=1)
        color = color_for(name)
        ax.errorbar(peaks, mean, yerr=[mean - low, high - mean], color=color, marker="o",
                    ms=4, capsize=3, label=name)  # fmt: skip
        if name in picks:
            i = int(np.argmin(np.abs(np.log(peaks / picks[name]))))
            ax.plot(peaks[i], mean[i], "o", ms=12, mfc="none", mec=color, mew=1.8)
    plain_log(ax)
    ax.set_xticks(peaks, [f"{p:g}" for p in peaks])
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())  # only the peaks on the x axis
    ax.set_xlabel("peak learning rate (log scale)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax
