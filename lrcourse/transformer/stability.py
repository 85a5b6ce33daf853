"""Reading a character LM's run: did it train, stall, or collapse to the unigram plateau?

A collapsed run stops using its context: it predicts each character from the characters'
frequencies alone, so its loss sits near the text's unigram entropy (3.25 nats per
character for the course's text) and stays there. A run that trains falls well below it.
In between, a run can learn a little and stall far above the runs that train: in the
course's sweep, Pre-LN at peak 3e-2 ends at 2.8-3.0 nats. The loss of a chaotic run
differs from CPU to CPU, so a run is reported by its category (``outcome``), and the
categories are counted over seeds.

The per-step mini-batch loss is noisy (16 windows of 32 characters), so every measure here
averages it over a window of steps.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validate import integer, number

__all__ = [
    "PLATEAU",
    "TRAINED",
    "OUTCOMES",
    "window_mean",
    "final_loss",
    "collapsed",
    "outcome",
    "max_early_loss",
    "max_grad_norm",
    "spikes",
]

#: A run whose final loss is above this many nats has collapsed: it sits within 0.15 nats
#: of the unigram entropy (3.25). The sweep's collapsed runs end at 3.15 or above.
PLATEAU = 3.1
#: A run whose final loss is below this many nats has trained. In the sweep (600 steps,
#: 1300 with the longest warmup) the runs that train end at 2.55 or below.
TRAINED = 2.7
#: ``outcome``'s categories, in its codes' order: 0 trained, 1 stalled, 2 collapsed.
OUTCOMES = ("trained", "stalled", "collapsed")


def window_mean(loss: ArrayLike, end: int, window: int = 10) -> NDArray[np.float64]:
    """The mean loss over steps end - window + 1 ... end (step 1 is ``loss[..., 0]``)."""
    end, window = integer("end", end, 1), integer("window", window, 1)
    loss = np.asarray(loss, dtype=float)
    if end > loss.shape[-1] or window > end:
        raise ValueError(f"end must be in [window, {loss.shape[-1]}], got {end}")
    return loss[..., end - window : end].mean(axis=-1)


def final_loss(loss: ArrayLike, last: int = 100) -> NDArray[np.float64]:
    """The mean loss over the last ``last`` steps of each run (along the last axis)."""
    loss = np.asarray(loss, dtype=float)
    return window_mean(loss, loss.shape[-1], last)


def collapsed(final: ArrayLike, threshold: float = PLATEAU) -> NDArray[np.bool_]:
    """Whether each run's final loss (``final_loss``) sits on the unigram plateau: above
    ``threshold`` nats (``PLATEAU`` for the course's model and runs)."""
    threshold = number("threshold", threshold, strict=True)
    return np.asarray(final, dtype=float) > threshold


def outcome(final: ArrayLike) -> NDArray[np.int64]:
    """Each run's category as a code into ``OUTCOMES``: 0 trained (final loss below
    ``TRAINED``), 2 collapsed (above ``PLATEAU``), 1 stalled (in between: it learned a
    little, then stopped far above the runs that train)."""
    final = np.asarray(final, dtype=float)
    return np.where(final < TRAINED, 0, np.where(collapsed(final), 2, 1))


def max_early_loss(loss: ArrayLike, steps: int = 100) -> NDArray[np.float64]:
    """The largest 10-step mean loss in the first ``steps`` steps: a tempting stability
    measure that is wrong for warmup, whose runs start slower on purpose."""
    loss = np.asarray(loss, dtype=float)[..., :steps]
    blocks = loss.reshape(*loss.shape[:-1], -1, 10).mean(axis=-1)
    return blocks.max(axis=-1)


def max_grad_norm(grad_norm: ArrayLike, first: int, last: int) -> NDArray[np.float64]:
    """The largest gradient norm over steps ``first`` ... ``last`` (step 1 is index 0)."""
    return np.asarray(grad_norm, dtype=float)[..., first - 1 : last].max(axis=-1)


def spikes(grad_norm: ArrayLike, factor: float = 5.0, window: int = 50) -> NDArray:
    """The number of steps whose gradient norm exceeds ``factor`` times the median of
    the ``window`` steps before it (counted from step ``window + 1`` on)."""
    g = np.asarray(grad_norm, dtype=float)
    past = np.lib.stride_tricks.sliding_window_view(g[..., :-1], window, axis=-1)
    return np.sum(g[..., window:] > factor * np.median(past, axis=-1), axis=-1)
