"""SGD with noisy gradients in a quadratic valley: why decaying the learning rate helps.

The loss is a valley, ten times flatter along x than across it::

    L(x, y) = (h_x x^2 + h_y y^2) / 2,        (h_x, h_y) = CURVATURES = (0.1, 1.0)

SGD sees the gradient plus noise, as a mini-batch gradient is the full gradient plus the
noise of sampling the batch. Here the noise is Gaussian with standard deviation sigma_i in
direction i (``NOISE``; larger across the valley than along it, as mini-batch noise is
larger where the loss is sharper)::

    g = h * p + sigma * xi,   xi ~ N(0, I);        p <- p - lr * g

In direction i a step is ``x' = (1 - lr h) x - lr sigma xi``, so the mean square obeys
``E[x'^2] = (1 - lr h)^2 E[x^2] + lr^2 sigma^2``. At a constant lr with ``0 < lr h < 2``
it settles where ``E[x'^2] = E[x^2]``::

    E[x^2] = lr sigma^2 / (h (2 - lr h)),      E[h x^2 / 2] = lr sigma^2 / (2 (2 - lr h))

Summed over the directions, the expected loss settles on a *noise floor*::

    F(lr) = sum_i lr sigma_i^2 / (2 (2 - lr h_i))  ~  lr (sum_i sigma_i^2) / 4   when lr h_i << 2

proportional to the lr. After a cut of the lr, each direction's excess over the new floor
shrinks by the factor ``(1 - lr h)^2`` per step: by a factor e in about ``1 / (2 lr h)``
steps, fast across the valley and slower along it.

``noise_floor`` is the formula; ``expected_loss`` the exact expectation after every step of
any schedule (the recursion above, with the mean); ``simulate`` runs SGD itself: many
independent walkers, every schedule fed the same noise (paired, as seeds are in training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.validate import in_range, integer, number

__all__ = [
    "CURVATURES",
    "NOISE",
    "START",
    "Walkers",
    "loss",
    "noise_floor",
    "expected_loss",
    "simulate",
]

#: (h_x, h_y): the valley's curvature along it (flat) and across it (steep).
CURVATURES = (0.1, 1.0)
#: (sigma_x, sigma_y): the gradient noise's standard deviation in each direction, sqrt(h).
NOISE = (0.1**0.5, 1.0)
#: Where every walker starts: far along the valley, a little up its side.
START = (-10.0, 2.0)

Floats = float | Sequence[float]


@dataclass(frozen=True)
class Walkers:
    """The result of :func:`simulate`, for K schedules of ``steps`` steps each.

    mean_loss: (steps + 1, K) the loss averaged over the walkers, at the start and after
        every step: an estimate of the expected loss.
    path: (steps + 1, K, d) the position of walker 0 alone: what a single run does.
    final: (K, walkers, d) every walker's position after the last step.
    """

    mean_loss: NDArray[np.float64]
    path: NDArray[np.float64]
    final: NDArray[np.float64]


def _valley(
    curvatures: Sequence[float], noise: Floats
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The curvatures h and the noise sigma, one per direction, checked."""
    h = np.array(
        [number(f"curvatures[{i}]", c, strict=True) for i, c in enumerate(curvatures)]
    )
    if h.size == 0:
        raise ValueError("curvatures must hold at least one curvature")
    if np.ndim(noise) == 0:
        sigma = np.full(h.size, number("noise", noise))
    else:
        sigma = np.array([number(f"noise[{i}]", s) for i, s in enumerate(noise)])
        if sigma.size != h.size:
            raise ValueError(
                f"noise must be a number or one per curvature ({h.size}), got {sigma.size}"
            )
    return h, sigma


def _start(start: ArrayLike, d: int) -> NDArray[np.float64]:
    p = np.asarray(start, dtype=np.float64)
    if p.shape != (d,) or not np.isfinite(p).all():
        raise ValueError(
            f"start must be {d} finite numbers (one per curvature), got {start!r}"
        )
    return p


def _lr_table(lrs: ArrayLike) -> NDArray[np.float64]:
    """``lrs`` as a (steps, K) table, a schedule per column; one column for a 1-D array."""
    table = np.asarray(lrs, dtype=np.float64)
    if table.ndim == 1:
        table = table[:, None]
    if table.ndim != 2 or 0 in table.shape:
        raise ValueError(
            f"lrs must have shape (steps,) or (steps, K) with steps, K >= 1, got {table.shape}"
        )
    if not (np.isfinite(table).all() and (table >= 0).all()):
        raise ValueError("lrs must hold finite values >= 0")
    return table


def loss(position: ArrayLike, *, curvatures: Sequence[float] = CURVATURES) -> NDArray:
    """L(p) = sum_i h_i p_i^2 / 2, over the last axis of ``position``."""
    h, _ = _valley(curvatures, 0.0)
    return 0.5 * np.sum(h * np.asarray(position, dtype=np.float64) ** 2, axis=-1)


def noise_floor(
    lr: float,
    *,
    curvatures: Sequence[float] = CURVATURES,
    noise: Floats = NOISE,
) -> float:
    """F(lr) = sum_i lr sigma_i^2 / (2 (2 - lr h_i)): the expected loss of SGD at a
    constant lr, once the start is forgotten. Needs 0 <= lr < 2 / max(h) (stable)."""
    h, sigma = _valley(curvatures, noise)
    lr = in_range("lr", lr, 0, 2 / h.max(), high_open=True)
    return float(np.sum(lr * sigma**2 / (2 * (2 - lr * h))))


def expected_loss(
    lrs: ArrayLike,
    *,
    curvatures: Sequence[float] = CURVATURES,
    noise: Floats = NOISE,
    start: ArrayLike = START,
) -> NDArray[np.float64]:
    """The exact expected loss at the start and after every step of a schedule.

    ``lrs``: the lr of each step, shape (steps,), or (steps, K) for K schedules. Returns
    shape (steps + 1,) or (steps + 1, K). In direction i the mean m and the variance v of
    the position follow m' = (1 - lr h) m and v' = (1 - lr h)^2 v + lr^2 sigma^2, and the
    expected loss is sum_i h_i (m_i^2 + v_i) / 2.
    """
    one = np.ndim(lrs) == 1
    table = _lr_table(lrs)
    h, sigma = _valley(curvatures, noise)
    mean = np.tile(_start(start, h.size), (table.shape[1], 1))  # (K, d)
    var = np.zeros_like(mean)
    out = np.empty((table.shape[0] + 1, table.shape[1]))
    out[0] = 0.5 * np.sum(h * mean**2, axis=-1)
    for t, lr in enumerate(table[:, :, None]):  # lr: (K, 1)
        mean = (1 - lr * h) * mean
        var = (1 - lr * h) ** 2 * var + (lr * sigma) ** 2
        out[t + 1] = 0.5 * np.sum(h * (mean**2 + var), axis=-1)
    return out[:, 0] if one else out


def simulate(
    lrs: ArrayLike,
    *,
    walkers: int = 1000,
    seed: int = 0,
    curvatures: Sequence[float] = CURVATURES,
    noise: Floats = NOISE,
    start: ArrayLike = START,
) -> Walkers:
    """Run SGD with noisy gradients: ``walkers`` independent runs of each schedule.

    ``lrs``: the lr of each step, shape (steps,), or (steps, K) for K schedules run
    side by side. Every schedule sees the same noise (walker w's draw at step t is
    shared), so two schedules differ only by their lrs, and a schedule's walk does not
    depend on the others.
    """
    table = _lr_table(lrs)
    walkers = integer("walkers", walkers, 1)
    seed = integer("seed", seed, 0)
    h, sigma = _valley(curvatures, noise)
    steps, K = table.shape
    rng = np.random.default_rng(seed)

    position = np.tile(_start(start, h.size), (K, walkers, 1))  # (K, walkers, d)
    mean_loss, path = np.empty((steps + 1, K)), np.empty((steps + 1, K, h.size))
    for t in range(steps + 1):
        mean_loss[t] = np.mean(0.5 * np.sum(h * position**2, axis=-1), axis=1)
        path[t] = position[:, 0]
        if t < steps:
            gradient = h * position + sigma * rng.standard_normal((walkers, h.size))
            position -= table[t, :, None, None] * gradient  # one SGD step, every walker
    return Walkers(mean_loss=mean_loss, path=path, final=position)
