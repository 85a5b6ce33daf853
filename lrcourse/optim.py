"""SGD and Adam written from their equations, as drop-in ``torch.optim.Optimizer`` classes.

With float hyper-parameters they take the same steps as ``torch.optim.SGD``,
``torch.optim.Adam`` and ``torch.optim.AdamW`` (tested to 1e-12 in float64). One addition:
``lr``, ``momentum``, each of ``betas`` and ``weight_decay`` may also be a 1-D tensor with
one value per member of a batched model. It scales each parameter along its leading
(member) dimension, so M runs with M different values take one optimizer step. A trainer
sets ``group["lr"]`` (or ``group["momentum"]``, ``group["betas"]``, ...) before every
step, as torch's schedulers do; a float keeps the float path, step for step torch's.

``AdamRecorder(opt)`` watches an Adam (ours or torch's) through torch's step hooks and keeps
per-step statistics of its updates: how far each step moves the parameters relative to lr,
the spread of the per-parameter step size lr / (sqrt(v_hat) + eps), and how much each
weight matrix changes. It reads the optimizer's state and changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lrcourse.validate import in_range, number

__all__ = ["SGD", "Adam", "AdamW", "AdamRecorder", "AdamStats", "per_member"]


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

    @torch.no_grad()
    def step(self, closure=None):
        """One step. A group with float betas, no weight decay and a gradient for every
        parameter takes ``_update_group``: the same operations in the same order, on all
        its parameters at once (torch's ``_foreach`` ops), so the same bits, with about a
        fifth of the Python overhead. Any other group takes ``_update``, one by one."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = group["params"]
            if (
                all(p.grad is not None for p in params)
                and not any(isinstance(b, Tensor) for b in group["betas"])
                and not _active(group["weight_decay"])
                and len({int(self.state[p].get("step", 0)) for p in params}) == 1
            ):
                self._update_group(params, group)
            else:
                for p in params:
                    if p.grad is not None:
                        self._update(p, p.grad, self.state[p], group)
        return loss

    def _update_group(self, params: list[Tensor], group: dict) -> None:
        """``_update`` for every parameter of a group at once (see ``step``)."""
        (b1, b2), eps = group["betas"], group["eps"]
        grads = [p.grad for p in params]
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
        t = self.state[params[0]]["step"]
        m = [self.state[p]["exp_avg"] for p in params]
        v = [self.state[p]["exp_avg_sq"] for p in params]
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, grads, alpha=1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        m_hat = torch._foreach_div(m, 1 - b1**t)
        denom = torch._foreach_div(v, 1 - b2**t)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, eps)
        lr = group["lr"]
        if isinstance(lr, Tensor):
            torch._foreach_mul_(m_hat, [per_member(lr, p) for p in params])
        else:
            torch._foreach_mul_(m_hat, lr)
        torch._foreach_div_(m_hat, denom)
        torch._foreach_sub_(params, m_hat)


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


@dataclass(frozen=True)
class AdamStats:
    """What ``AdamRecorder`` kept, at the K recorded steps, for each of M members.

    step (K,): the optimizer step t (1 = the first update).
    update_rms (K, M): the root-mean-square over all coordinates of
        u = m_hat / (sqrt(v_hat) + eps), Adam's step in units of lr (weight decay aside).
    at_lr (K, M): the share of coordinates whose |u| is within 1% of 1: they moved by lr.
    step_size (K, M, Q): quantiles ``quantiles`` of the step size lr / (sqrt(v_hat) + eps)
        over the coordinates that have had a gradient (v > 0).
    rel_change (K, M, W): for each weight matrix, ||W_t - W_{t-1}||_2 / ||W_{t-1}||_2 in
        the spectral norm (the largest singular value).
    matrices (W,): the weight matrices' names.
    """

    step: np.ndarray
    update_rms: np.ndarray
    at_lr: np.ndarray
    step_size: np.ndarray
    rel_change: np.ndarray
    quantiles: tuple[float, ...]
    matrices: tuple[str, ...]


class AdamRecorder:
    """Per-step statistics of an Adam optimizer, ours or ``torch.optim.Adam``/``AdamW``.

    It hooks the optimizer's ``step`` (``register_step_pre_hook`` and ``..._post_hook``):
    before a recorded step it copies the weight matrices; after it, it reads the moments
    m and v from the optimizer's state. It changes neither the optimizer nor the
    parameters, so a run with a recorder takes exactly the steps of a run without one.

    ``members``: the size of the parameters' leading member dimension for a batched
    model (every statistic is then per member); None (the default) for an ordinary
    model, recorded as one member.
    ``at``: the steps to record (1 = the first update); all of them by default. Each
    record costs a quantile over every coordinate and an SVD of every weight matrix.
    ``names``: ``dict(model.named_parameters())``, to name the matrices.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        members: int | None = None,
        at: Collection[int] | None = None,
        names: Mapping[str, Tensor] | None = None,
        quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    ) -> None:
        self.optimizer, self.quantiles = optimizer, tuple(quantiles)
        self.batched, self.members = members is not None, members or 1
        self.at = None if at is None else frozenset(int(t) for t in at)
        params = [p for g in optimizer.param_groups for p in g["params"]]
        label = {id(p): n for n, p in (names or {}).items()}
        matrix_dim = 3 if self.batched else 2
        matrices = [
            (i, p)
            for i, p in enumerate(params)
            if p.dim() == matrix_dim and min(p.shape[-2:]) > 1
        ]
        self._matrices = [p for _, p in matrices]
        self.matrices = tuple(label.get(id(p), f"param{i}") for i, p in matrices)
        self._calls, self._before, self._rows = 0, None, []
        self._hooks = [
            optimizer.register_step_pre_hook(self._pre),
            optimizer.register_step_post_hook(self._post),
        ]

    def close(self) -> None:
        """Stop recording (remove the hooks)."""
        for hook in self._hooks:
            hook.remove()

    def _recording(self) -> bool:
        return self.at is None or self._calls in self.at

    def _per_member(self, x: Tensor) -> Tensor:
        return x.reshape(self.members, -1)

    @torch.no_grad()
    def _pre(self, optimizer, args, kwargs) -> None:
        self._calls += 1
        if self._recording():
            self._before = [p.detach().clone() for p in self._matrices]

    @torch.no_grad()
    def _post(self, optimizer, args, kwargs) -> None:
        if not self._recording():
            return
        u_all, size_all = [], []
        for group in optimizer.param_groups:
            eps = group["eps"]
            for p in group["params"]:
                state = optimizer.state.get(p)
                if not state:
                    continue
                t = int(state["step"])
                b1, b2 = (per_member(b, p, "betas") for b in group["betas"])
                m_hat = state["exp_avg"] / (1 - b1**t)
                v = state["exp_avg_sq"]
                denom = (v / (1 - b2**t)).sqrt() + eps
                size = torch.where(v > 0, per_member(group["lr"], p) / denom, torch.nan)
                u_all.append(self._per_member(m_hat / denom))
                size_all.append(self._per_member(size))
        u, size = torch.cat(u_all, dim=1), torch.cat(size_all, dim=1)
        q = torch.tensor(self.quantiles, dtype=torch.float64)
        change = [
            torch.linalg.matrix_norm(p - before, ord=2)
            / torch.linalg.matrix_norm(before, ord=2)
            for p, before in zip(self._matrices, self._before, strict=True)
        ]
        self._rows.append(
            (
                self._calls,
                u.pow(2).mean(dim=1).sqrt(),
                ((u.abs() - 1).abs() < 0.01).double().mean(dim=1),
                torch.nanquantile(size.double(), q, dim=1).T,
                torch.stack(change, dim=-1).reshape(self.members, -1)
                if change
                else torch.zeros(self.members, 0),
            )
        )
        self._before = None

    def stats(self) -> AdamStats:
        """The statistics recorded so far, as numpy arrays."""
        rows = self._rows
        M, W, Q = self.members, len(self.matrices), len(self.quantiles)

        def stack(i: int, shape: tuple[int, ...]) -> np.ndarray:
            if not rows:
                return np.zeros((0, *shape))
            return np.stack([r[i].double().numpy() for r in rows])

        return AdamStats(
            step=np.array([r[0] for r in rows], dtype=np.int64),
            update_rms=stack(1, (M,)),
            at_lr=stack(2, (M,)),
            step_size=stack(3, (M, Q)),
            rel_change=stack(4, (M, W)),
            quantiles=tuple(self.quantiles),
            matrices=self.matrices,
        )
