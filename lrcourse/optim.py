"""SGD and Adam written from their equations, as drop-in ``torch.optim.Optimizer`` classes.

With a float ``lr`` they take the same steps as ``torch.optim.SGD``, ``torch.optim.Adam``
and ``torch.optim.AdamW`` (tested to 1e-12 in float64). One addition: ``lr`` may also be a
1-D tensor with one learning rate per member of a batched model. It multiplies each
parameter along its leading (member) dimension, so M runs with M different learning
rates take one optimizer step. A trainer sets ``group["lr"]`` before every step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from lrcourse.validate import in_range, number

__all__ = ["SGD", "Adam", "AdamW", "per_member"]


def per_member(lr: float | Tensor, p: Tensor) -> float | Tensor:
    """``lr`` shaped to scale ``p``: a float as is; a (M,) tensor viewed as (M, 1, ..., 1)."""
    if not isinstance(lr, Tensor):
        return lr
    if lr.dim() != 1 or lr.shape[0] != p.shape[0]:
        raise ValueError(
            f"lr must be a float or a 1-D tensor of length {p.shape[0]} (the parameter's "
            f"leading member dimension), got shape {tuple(lr.shape)}"
        )
    return lr.to(p.dtype).view(-1, *([1] * (p.dim() - 1)))


def _check_lr(lr: float | Tensor) -> None:
    if isinstance(lr, Tensor):
        if lr.dim() != 1 or not bool(torch.isfinite(lr).all() and (lr >= 0).all()):
            raise ValueError("lr must be a 1-D tensor of finite values >= 0")
    else:
        number("lr", lr)


class _PerParameter(torch.optim.Optimizer):
    """``step`` calls ``_update(p, p.grad, state, group)`` for each parameter with a gradient:
    the loop, the closure and ``no_grad`` are written once, the update rules below."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state[p], group)
        return loss


class SGD(_PerParameter):
    """g = grad + wd * p;  v = momentum * v + g  (v = g at the first step);  p -= lr * v.

    The same update as ``torch.optim.SGD`` (dampening 0, no Nesterov). ``weight_decay``
    is the L2 penalty (wd/2)|p|^2 added to the loss, as in torch.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float | Tensor = 1e-3,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        _check_lr(lr)
        in_range("momentum", momentum, 0, 1, high_open=True)
        number("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p: Tensor, g: Tensor, state: dict, group: dict) -> None:
        """One SGD step for one parameter: the equations of the class docstring."""
        momentum, wd = group["momentum"], group["weight_decay"]
        if wd != 0:
            g = g.add(p, alpha=wd)
        if momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.clone()
            else:
                state["momentum_buffer"].mul_(momentum).add_(g)
            g = state["momentum_buffer"]
        p.sub_(per_member(group["lr"], p) * g)


class Adam(_PerParameter):
    """Adam (Kingma & Ba, 2015). At step t, with g the gradient:

        m = b1 m + (1 - b1) g            first moment (the momentum)
        v = b2 v + (1 - b2) g^2          second moment (per-coordinate scale)
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)     bias corrections
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    ``weight_decay``: with ``decoupled=False`` (torch's Adam) it is L2, g += wd * p; with
    ``decoupled=True`` (torch's AdamW, Loshchilov & Hutter 2019) p *= 1 - lr * wd first.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        _check_lr(lr)
        in_range("betas[0]", betas[0], 0, 1, high_open=True)
        in_range("betas[1]", betas[1], 0, 1, high_open=True)
        number("eps", eps, strict=True)
        number("weight_decay", weight_decay)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, decoupled=decoupled
        )
        super().__init__(params, defaults)

    def _update(self, p: Tensor, g: Tensor, state: dict, group: dict) -> None:
        """One Adam step for one parameter: the equations of the class docstring."""
        (b1, b2), eps, wd = group["betas"], group["eps"], group["weight_decay"]
        lr = per_member(group["lr"], p)
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)  # m
            state["exp_avg_sq"] = torch.zeros_like(p)  # v
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if wd != 0:
            if group["decoupled"]:
                p.mul_(1 - lr * wd)
            else:
                g = g.add(p, alpha=wd)
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p.sub_(lr * m_hat / (v_hat.sqrt() + eps))


class AdamW(Adam):
    """Adam with decoupled weight decay; defaults as ``torch.optim.AdamW`` (wd = 0.01)."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=True)
