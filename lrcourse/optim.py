"""SGD and Adam written from their equations, as drop-in ``torch.optim.Optimizer`` classes.

With float hyper-parameters they take the same steps as ``torch.optim.SGD``,
``torch.optim.Adam`` and ``torch.optim.AdamW`` (tested to 1e-12 in float64). One addition:
``lr``, ``momentum``, each of ``betas`` and ``weight_decay`` may also be a 1-D tensor with
one value per member of a batched model. It scales each parameter along its leading
(member) dimension, so M runs with M different values take one optimizer step. A trainer
sets ``group["lr"]`` (or ``group["momentum"]``, ``group["betas"]``, ...) before every
step, as torch's schedulers do; a float keeps the float path, step for step torch's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from lrcourse.validate import in_range, number

__all__ = ["SGD", "Adam", "AdamW", "per_member"]


def per_member(value: float | Tensor, p: Tensor, name: str = "lr") -> float | Tensor:
    """``value`` shaped to scale ``p``: a float as is; a (M,) tensor viewed as (M, 1, ..., 1)."""
    if not isinstance(value, Tensor):
        return value
    if value.dim() != 1 or value.shape[0] != p.shape[0]:
        raise ValueError(
            f"{name} must be a float or a 1-D tensor of length {p.shape[0]} (the parameter's "
            f"leading member dimension), got shape {tuple(value.shape)}"
        )
    return value.to(p.dtype).view(-1, *([1] * (p.dim() - 1)))


def _active(value: float | Tensor) -> bool:
    """Whether a hyper-parameter takes part in the update: a float unless it is 0; a
    per-member tensor always (a member whose value is 0 then gets the same update)."""
    return isinstance(value, Tensor) or value != 0


def _check(name: str, value: float | Tensor, high: float = math.inf) -> None:
    """A float in [0, high) (or [0, inf) when high is inf), or a 1-D tensor of them."""
    if isinstance(value, Tensor):
        ok = value.dim() == 1 and bool(
            torch.isfinite(value).all() and (value >= 0).all()
        )
        if not ok or (high < math.inf and not bool((value < high).all())):
            raise ValueError(
                f"{name} must be a 1-D tensor of finite values in [0, {high:g})"
            )
    elif high < math.inf:
        in_range(name, value, 0, high, high_open=True)
    else:
        number(name, value)


def _unwrapped(method):
    """``method`` without torch's ``_disable_dynamo`` wrapper, whose first call imports
    ``torch._dynamo``: 2.7 s on the course's machine, once per process, for a compiler the
    course never uses. The method itself runs the same (``tests/test_optim.py``)."""
    return getattr(method, "__wrapped__", method)


_TORCH = torch.optim.Optimizer
_ADD_PARAM_GROUP = _unwrapped(_TORCH.add_param_group)
_ZERO_GRAD = _unwrapped(_TORCH.zero_grad)
_STATE_DICT = _unwrapped(_TORCH.state_dict)
_LOAD_STATE_DICT = _unwrapped(_TORCH.load_state_dict)


class _PerParameter(torch.optim.Optimizer):
    """``step`` calls ``_update(p, p.grad, state, group)`` for each parameter with a gradient:
    the loop, the closure and ``no_grad`` are written once, the update rules below."""

    # torch's own methods, without the wrapper that imports its compiler (_unwrapped)
    def add_param_group(self, param_group: dict) -> None:
        _ADD_PARAM_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _ZERO_GRAD(self, set_to_none)

    def state_dict(self) -> dict:
        return _STATE_DICT(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _LOAD_STATE_DICT(self, state_dict)

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
    is the L2 penalty (wd/2)|p|^2 added to the loss, as in torch. A ``momentum`` that a
    schedule changes between steps is read at every step, as torch's is under
    ``OneCycleLR(cycle_momentum=True)``.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float | Tensor = 1e-3,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        _check("lr", lr)
        _check("momentum", momentum, high=1)
        _check("weight_decay", weight_decay)
        super().__init__(
            params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay)
        )

    def _update(self, p: Tensor, g: Tensor, state: dict, group: dict) -> None:
        """One SGD step for one parameter: the equations of the class docstring."""
        momentum = per_member(group["momentum"], p, "momentum")
        wd = per_member(group["weight_decay"], p, "weight_decay")
        if _active(wd):
            g = g + wd * p if isinstance(wd, Tensor) else g.add(p, alpha=wd)
        if _active(momentum):
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
    Betas that a schedule changes between steps are read at every step, and the bias
    corrections use the current ones (1 - b1^t), as torch's Adam does under ``OneCycleLR``.
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
        _check("lr", lr)
        _check("betas[0]", betas[0], high=1)
        _check("betas[1]", betas[1], high=1)
        number("eps", eps, strict=True)
        _check("weight_decay", weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled=decoupled,
        )
        super().__init__(params, defaults)

    def _update(self, p: Tensor, g: Tensor, state: dict, group: dict) -> None:
        """One Adam step for one parameter: the equations of the class docstring."""
        b1, b2 = (per_member(b, p, f"betas[{i}]") for i, b in enumerate(group["betas"]))
        eps, wd = group["eps"], per_member(group["weight_decay"], p, "weight_decay")
        lr = per_member(group["lr"], p)
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)  # m
            state["exp_avg_sq"] = torch.zeros_like(p)  # v
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if _active(wd):
            if group["decoupled"]:
                p.mul_(1 - lr * wd)
            else:
                g = g + wd * p if isinstance(wd, Tensor) else g.add(p, alpha=wd)
        if isinstance(b1, Tensor):  # one beta per member: alpha= takes only a number
            m.mul_(b1).add_((1 - b1) * g)
        else:
            m.mul_(b1).add_(g, alpha=1 - b1)
        if isinstance(b2, Tensor):
            v.mul_(b2).add_((1 - b2) * g * g)
        else:
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
