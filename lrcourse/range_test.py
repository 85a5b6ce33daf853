"""The learning-rate range test: train briefly while the lr grows, and read the loss curve.

Smith ("Cyclical Learning Rates for Training Neural Networks", WACV 2017, arXiv 1506.01186,
§3.3) raises the lr linearly over a short run and reads off where the loss starts to fall
and where it stops falling. Two tools have since made the test a one-liner, and this one
follows what they learned:

* fastai's ``lr_find`` (``fastai/callback/schedule.py``): an exponential sweep from 1e-7
  to 10 in 100 steps; the loss smoothed by a bias-corrected exponential moving average
  (beta 0.98); a stop once the smoothed loss exceeds 4x the best; the model and the
  optimizer put back afterwards; suggestions read from the smoothed curve without its
  first 10% and its last 5 points (valley, minimum/10, steep).
* pytorch-lr-finder: the same, with a steepest-descent suggestion and ``reset()``. Its
  issues (#86, #11) show users misled by an early spike or unsure what the number means,
  which is why the result here explains each suggestion and ``plot`` shows the curve.

``lr_range_test`` leaves no trace: the weights and buffers, the optimizer's state and
hyper-parameters, the gradients, the train/eval mode and torch's global random state are
restored exactly, so training after the test is the training without it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from lrcourse.validate import choice, in_range, integer, number

__all__ = ["lr_range_test", "RangeTest", "Suggestion", "valley", "MIN_STEPS"]

#: The fewest steps a sweep may take: the suggestions need a curve, not a handful of points.
MIN_STEPS = 10
#: Points left out of the suggestions at the end of a sweep that diverged (fastai: 5).
SKIP_END = 5


@dataclass(frozen=True)
class Suggestion:
    """A learning rate read off the curve: ``lr``, the ``index`` of the step it was read
    from (for minimum/10, the lowest point, whose lr is ten times ``lr``), and ``why`` in
    one line."""

    name: str
    lr: float
    index: int
    why: str


@dataclass(frozen=True)
class RangeTest:
    """What a range test saw. Step i trained with ``lrs[i]``; ``losses[i]`` is that step's
    mini-batch loss, measured before its update (so it shows the effect of the lrs before
    it); ``smoothed[i]`` their bias-corrected moving average.

    stopped_at: the step at which the sweep stopped on divergence (the smoothed loss above
        ``diverge_factor`` x its best, or a loss that is not finite), else None.
    window: (first, last + 1), the steps the suggestions were read from.
    suggestions: "steepest", "minimum/10" and "valley", each a :class:`Suggestion`.
    """

    lrs: NDArray[np.float64]
    losses: NDArray[np.float64]
    smoothed: NDArray[np.float64]
    stopped_at: int | None
    window: tuple[int, int]
    suggestions: dict[str, Suggestion] = field(repr=False)
    settings: dict[str, Any] = field(repr=False)

    @property
    def diverged(self) -> bool:
        return self.stopped_at is not None

    @property
    def diverged_lr(self) -> float | None:
        """The lr of the step at which the sweep stopped, if it diverged."""
        return None if self.stopped_at is None else float(self.lrs[self.stopped_at])

    def summary(self, digits: int = 2) -> str:
        """One line on how the sweep ended, then one per suggestion, each at most 88 wide."""
        s = self.settings
        head = f"swept {s['start_lr']:g} to {s['end_lr']:g} ({s['mode']}, {s['num_steps']} steps): "
        if self.diverged:
            head += (
                f"stopped at step {self.stopped_at}, lr {self.diverged_lr:.{digits}g}"
            )
        else:
            head += "ran to the end without diverging"
        lines = [head]
        for sug in self.suggestions.values():
            lines.append(f"  {sug.name:<10} {sug.lr:<8.{digits}g} {sug.why}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, *, title: str | None = None) -> Any:
        """The loss (faint) and its smoothed curve against the lr, on log axes, with each
        suggestion marked; the y axis spans the smoothed curve up to its stop."""
        import matplotlib.pyplot as plt  # only when drawing
        from matplotlib.ticker import FuncFormatter

        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 4.0))
        ax.plot(
            self.lrs, self.losses, color="#999999", lw=0.8, label="loss (each step)"
        )
        ax.plot(self.lrs, self.smoothed, color="#2166ac", label="smoothed loss")
        a, b = self.window
        if b - a < self.lrs.size:
            ax.axvspan(self.lrs[a], self.lrs[b - 1], color="#2166ac", alpha=0.07, lw=0)
        markers = {"steepest": ("v", "#1b7837"), "minimum/10": ("s", "#e08214"),
                   "valley": ("o", "#b2182b")}  # fmt: skip
        log_lrs = np.log(self.lrs[: len(self.smoothed)])
        for sug in self.suggestions.values():
            marker, color = markers.get(sug.name, ("D", "black"))
            y = np.interp(
                np.log(sug.lr), log_lrs, self.smoothed
            )  # on the curve, at its lr
            ax.plot(sug.lr, y, marker, ms=9, color=color, ls="none",
                    label=f"{sug.name}: {sug.lr:.2g}")  # fmt: skip
        if self.diverged:
            ax.plot(self.lrs[self.stopped_at], self.smoothed[self.stopped_at], "x", ms=9,
                    mew=2, color="black", label="stopped (diverging)")  # fmt: skip
        finite = self.smoothed[np.isfinite(self.smoothed)]
        if finite.size:
            ax.set_ylim(finite.min() / 1.5, finite.max() * 1.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")  # 2, 3, 10: not 2x10^0
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss (log scale)")
        if title:
            ax.set_title(title)
        ax.legend(loc="upper left")
        return ax


def valley(losses: NDArray[np.float64]) -> int:
    """fastai's "valley": the index about halfway along the longest run of falling
    losses (``valley`` in ``fastai/callback/schedule.py``).

    The longest strictly decreasing subsequence ending at each point (O(n^2), as in
    fastai); from the end of the longest, back by its length, then forward by 1/3 + 1/6
    of it. (fastai's "start", the end minus the length, is kept as fastai has it.)
    """
    n = len(losses)
    longest = [1] * n
    start, end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
            if longest[end] < longest[i]:
                end = i
                start = end - longest[end]
    third = (end - start) / 3
    return start + int(third) + int(third / 2)


def _suggest(lrs: NDArray, smoothed: NDArray, a: int, b: int) -> dict[str, Suggestion]:
    """The three suggestions from ``smoothed[a:b]``."""
    lr, loss = lrs[a:b], smoothed[a:b]
    if loss.size < 3:
        return {}
    slope = np.diff(loss) / np.diff(np.log(lr))  # loss change per unit of log lr
    steep = a + int(np.argmin(slope))
    low = a + int(np.argmin(loss))
    val = a + valley(loss)
    return {
        "steepest": Suggestion(
            "steepest", float(lrs[steep]), steep,
            "where the loss falls fastest per decade: most progress per step",
        ),
        "minimum/10": Suggestion(
            "minimum/10", float(lrs[low]) / 10, low,
            "a tenth of the lr at the lowest loss (that one is near the edge)",
        ),
        "valley": Suggestion(
            "valley", float(lrs[val]), val,
            "halfway along the longest stretch where the loss keeps falling",
        ),
    }  # fmt: skip


def _batches(batches: Iterable) -> Iterator:
    """Cycle ``batches``: a re-iterable (a list, a DataLoader) is iterated again from the
    start, and reshuffles if it shuffles; a one-shot iterator is replayed from memory."""
    if iter(batches) is batches:  # an iterator: keep what it gave, to replay it
        seen = []
        for batch in batches:
            seen.append(batch)
            yield batch
        while seen:
            yield from seen
    else:
        while True:
            empty = True
            for batch in batches:
                empty = False
                yield batch
            if empty:
                return


class _Snapshot:
    """Everything the sweep changes, copied, to be put back bit for bit."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.optimizer = copy.deepcopy(optimizer.state_dict())
        self.grads = [
            None if p.grad is None else p.grad.clone() for p in model.parameters()
        ]
        self.modes = [m.training for m in model.modules()]
        self.rng = torch.get_rng_state()

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        with torch.no_grad():
            model.load_state_dict(self.model)
        optimizer.load_state_dict(self.optimizer)
        for p, g in zip(model.parameters(), self.grads, strict=True):
            p.grad = g
        for m, mode in zip(model.modules(), self.modes, strict=True):
            m.training = mode
        torch.set_rng_state(self.rng)


def lr_range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[tuple[Any, Any]],
    loss_fn: Callable[[Tensor, Any], Tensor],
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: Literal["exp", "linear"] = "exp",
    smooth: float = 0.98,
    diverge_factor: float = 4.0,
) -> RangeTest:
    """Train ``model`` for ``num_steps`` steps with the lr rising from ``start_lr`` to
    ``end_lr``; return what the loss did, with three suggested learning rates.

    batches: (inputs, targets) pairs; a step's loss is ``loss_fn(model(inputs),
        targets)``. Cycled if shorter than ``num_steps``: a list or a DataLoader is
        iterated again, a one-shot iterator replayed.
    mode: "exp", lr_i = start * (end / start) ** (i / (n - 1)), as fastai and
        pytorch-lr-finder do by default; or "linear", lr_i = start + (end - start) *
        i / (n - 1), as in Smith's test. Every param group gets lr_i.
    smooth: beta of the loss's moving average, bias-corrected as Adam's moments are:
        avg_i = beta avg_(i-1) + (1 - beta) loss_i, smoothed_i = avg_i / (1 - beta^(i+1)).
        0: no smoothing.
    diverge_factor: stop once the smoothed loss exceeds this many times its lowest value
        so far (fastai: 4, pytorch-lr-finder: 5); a nan or inf loss stops it too.

    The suggestions are read from the smoothed loss without its first ``num_steps // 10``
    steps (where the average has seen little) and, if the sweep diverged, without its
    last ``SKIP_END`` points (the blow-up). Afterwards ``model`` and ``optimizer`` are as
    they were, bit for bit (see the module docstring).
    """
    start_lr = number("start_lr", start_lr, strict=True)
    end_lr = number("end_lr", end_lr, strict=True)
    if start_lr >= end_lr:
        raise ValueError(
            f"end_lr must be greater than start_lr, got start_lr={start_lr!r} >= end_lr={end_lr!r}"
        )
    num_steps = integer("num_steps", num_steps, MIN_STEPS, why=" (a curve needs them)")
    mode = choice("mode", mode, ("exp", "linear"))
    smooth = in_range("smooth", smooth, 0, 1, high_open=True)
    diverge_factor = in_range("diverge_factor", diverge_factor, 1, math.inf,
                              low_open=True)  # fmt: skip
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, got {loss_fn!r}")
    stream = _batches(batches)
    first = next(stream, None)
    if first is None:
        raise ValueError(
            "batches must yield at least one (inputs, targets) pair, got none"
        )

    i = np.arange(num_steps) / (num_steps - 1)
    if mode == "exp":
        planned = start_lr * (end_lr / start_lr) ** i
    else:
        planned = start_lr + (end_lr - start_lr) * i
    snapshot = _Snapshot(model, optimizer)
    losses, smoothed = [], []
    avg, best, stopped_at = 0.0, math.inf, None
    try:
        model.train()
        batch = first
        for step in range(num_steps):
            if step > 0:
                batch = next(stream)
            for group in optimizer.param_groups:
                group["lr"] = float(planned[step])
            inputs, targets = batch
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):  # nan or inf: diverged, and nothing to step on
                smoothed.append(math.nan)
                stopped_at = step
                break
            loss.backward()
            optimizer.step()
            avg = smooth * avg + (1 - smooth) * value
            smoothed.append(avg / (1 - smooth ** (step + 1)))
            best = min(best, smoothed[-1])
            if smoothed[-1] > diverge_factor * best:
                stopped_at = step
                break
    finally:
        snapshot.restore(model, optimizer)

    n = len(losses)
    lrs = planned[:n]
    smoothed_arr = np.array(smoothed)
    a = num_steps // 10
    b = n - SKIP_END if stopped_at is not None else n
    if b - a < 3:  # a sweep that diverged early: read what there is before the stop
        a, b = 0, (n - 1 if stopped_at is not None else n)
    settings = dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode,
                    smooth=smooth, diverge_factor=diverge_factor)  # fmt: skip
    return RangeTest(
        lrs=lrs,
        losses=np.array(losses),
        smoothed=smoothed_arr,
        stopped_at=stopped_at,
        window=(a, b),
        suggestions=_suggest(lrs, smoothed_arr, a, b),
        settings=settings,
    )
