"""Sharpness: the loss's top Hessian eigenvalue, and the learning rate it allows.

Near a minimum a loss looks like the quadratic ``L(x) = 1/2 x^T H x``. Gradient descent on it,
``x <- x - lr H x``, multiplies the component of ``x`` along an eigenvector of ``H`` with
eigenvalue ``lam`` by ``1 - lr lam`` every step. That component shrinks iff
``|1 - lr lam| < 1``, i.e. ``0 < lr < 2 / lam``. The largest eigenvalue, the *sharpness*
``lam_max``, is the binding one: above ``lr = 2 / lam_max`` the steepest direction grows by
``|1 - lr lam_max| > 1`` per step and the loss diverges.

The Hessian of a network is too big to form, but a Hessian-vector product costs about two
backward passes (differentiate ``g(x) . v`` once more), and power iteration needs nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from lrcourse.training.threads import one_thread
from lrcourse.validate import in_range, integer, number

__all__ = [
    "Sharpness",
    "sharpness",
    "power_iteration",
    "max_stable_lr",
    "gradient_descent",
]


@dataclass(frozen=True)
class Sharpness:
    """Result of :func:`sharpness`.

    eigenvalue: the largest (most positive) Hessian eigenvalue found.
    iterations: Hessian-vector products used in the final power iteration.
    converged: whether the estimate's relative change fell below ``tol``.
    residual: ``||H v - lam v|| / |lam|`` for the returned unit vector ``v`` (0 for an exact
        eigenpair); a direct check that does not trust the stopping rule.
    shifted: True when the plain power iteration found a negative eigenvalue of larger
        magnitude first, and a second, shifted iteration was run (see :func:`sharpness`).
    vector: the unit eigenvector estimate, flattened over all parameters.
    """

    eigenvalue: float
    iterations: int
    converged: bool
    residual: float
    shifted: bool
    vector: Tensor


def _check_params(params: Sequence[Tensor]) -> list[Tensor]:
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params or not all(
        isinstance(p, Tensor) and p.is_floating_point() for p in params
    ):
        raise ValueError("params must be a non-empty list of floating-point tensors")
    return params


def power_iteration(
    matvec: Callable[[Tensor], Tensor],
    v0: Tensor,
    *,
    shift: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> tuple[float, Tensor, int, bool]:
    """The eigenvalue of largest magnitude of ``A - shift I``; ``matvec(v)`` is ``A v``.

    Multiply and normalise, again and again: ``v <- A v / |A v|``. Each product
    shrinks the parts of ``v`` along the other eigenvectors by ``|lam_i / lam_1|``,
    so ``v`` turns towards the top eigenvector, and the Rayleigh quotient ``v . A v``
    (``v`` a unit vector) estimates its eigenvalue. Stops once that estimate changes
    by at most ``tol`` (relatively), or after ``max_iter`` products. Returns the
    eigenvalue, the unit vector, the number of products used, and whether it
    converged.
    """
    max_iter = integer("max_iter", max_iter, 2)
    tol = in_range("tol", tol, 0, 1, low_open=True, high_open=True)
    v = v0 / v0.norm()
    lam = math.nan
    for it in range(1, max_iter + 1):
        av = matvec(v) - shift * v
        new = float(v @ av)  # the Rayleigh quotient
        norm = av.norm()
        if norm == 0:  # v is in the null space: A - shift I = 0 along it
            return new, v, it, True
        v = av / norm
        if it > 1 and abs(new - lam) <= tol * abs(new):
            return new, v, it, True
        lam = new
    return lam, v, max_iter, False


@one_thread
def sharpness(
    loss_fn: Callable[[list[Tensor]], Tensor],
    params: Sequence[Tensor],
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
) -> Sharpness:
    """Largest eigenvalue of the Hessian of ``loss_fn`` at ``params``, by power iteration.

    ``loss_fn(params)`` must return a scalar computed from the tensors it is given (a closure
    over the data and the model), so any model works. ``params`` are copied, never modified.
    Each iteration is one Hessian-vector product ``H v = d/dx (grad L(x) . v)``; the estimate
    is the Rayleigh quotient ``v^T H v`` with ``v`` unit; it stops when that changes by at most
    ``tol`` relatively, or after ``max_iter`` products. The start vector is Gaussian, drawn
    from ``seed``.

    Power iteration finds the eigenvalue of largest *magnitude*. At a non-convex point that can
    be a negative one. Then the iteration is rerun on ``H - lam_neg I``, whose eigenvalues
    ``lam_i - lam_neg`` are all >= 0, so its top one is ``lam_max - lam_neg`` (``shifted`` is
    True). Negative curvature does not limit the lr (there ``1 - lr lam > 1`` at any lr: the
    loss falls), so the most positive eigenvalue is the one that matters.
    """
    params = _check_params(params)
    max_iter = integer("max_iter", max_iter, 2)
    tol = in_range("tol", tol, 0, 1, low_open=True, high_open=True)
    seed = integer("seed", seed, 0)

    xs = [p.detach().clone().requires_grad_(True) for p in params]
    loss = loss_fn(xs)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn must return a scalar tensor")
    # create_graph: the gradient itself is differentiated again in every product.
    grads = torch.autograd.grad(loss, xs, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v: Tensor) -> Tensor:
        hv = torch.autograd.grad(flat_grad, xs, grad_outputs=v, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).detach()

    gen = torch.Generator().manual_seed(seed)
    v0 = torch.randn(flat_grad.numel(), generator=gen, dtype=torch.float64).to(
        flat_grad.dtype
    )

    lam, v, iters, converged = power_iteration(hvp, v0, max_iter=max_iter, tol=tol)
    shifted = lam < 0
    if shifted:
        top, v, iters, converged = power_iteration(
            hvp, v0, shift=lam, max_iter=max_iter, tol=tol
        )
        lam = top + lam
    residual = float((hvp(v) - lam * v).norm() / abs(lam)) if lam != 0 else math.inf
    return Sharpness(lam, iters, converged, residual, shifted, v)


def max_stable_lr(sharpness: float) -> float:
    """The largest lr at which gradient descent is stable on the quadratic: ``2 / lam``.

    On ``1/2 x^T H x`` a GD step multiplies the top-eigenvector component by
    ``1 - lr lam_max``; it shrinks iff ``lr < 2 / lam_max`` (at exactly
    ``2 / lam_max`` it flips sign forever, neither growing nor shrinking).
    ``sharpness`` must be a finite number > 0: with no positive curvature no lr is
    too large for this argument.
    """
    return 2.0 / number("sharpness", sharpness, strict=True)


@one_thread
def gradient_descent(
    loss_fn: Callable[[list[Tensor]], Tensor],
    params: Sequence[Tensor],
    *,
    lr: float,
    steps: int,
) -> NDArray[np.float64]:
    """Full-batch gradient descent ``x <- x - lr * grad L(x)``; the loss before each step.

    The textbook update and nothing else (no momentum, no schedule), to test the ``2 / lam``
    prediction on the loss it was measured on. ``params`` are copied, never modified. The
    returned array has ``steps + 1`` losses (the last after the final step), or ends at the
    first loss that is not finite: a diverging run is a result, not an error.
    """
    params = _check_params(params)
    lr = number("lr", lr)
    steps = integer("steps", steps, 1)
    xs = [p.detach().clone().requires_grad_(True) for p in params]
    losses = []
    for step in range(steps + 1):
        loss = loss_fn(xs)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or step == steps:
            break
        grads = torch.autograd.grad(loss, xs)
        with torch.no_grad():
            for x, g in zip(xs, grads, strict=True):
                x.sub_(lr * g)
    return np.array(losses)
