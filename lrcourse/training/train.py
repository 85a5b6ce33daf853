"""Schedule-driven training: any learning-rate sequence, many runs batched into one model.

``train`` trains M = len(seeds) independent MLPs at once (see ``lrcourse.models``). Member
m draws its initial weights and its mini-batch order from ``seeds[m]`` alone, so it is
the same run as textbook PyTorch with that seed::

    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    gen = torch.Generator().manual_seed(seed)
    # every epoch: perm = torch.randperm(n, generator=gen); batches perm[i:i + batch_size]
    # every step t: set lr = lrs[t], then take one optimizer step on the next batch

(A DataLoader's RandomSampler draws a second, unused permutation per epoch, so its
order differs; the test suite checks equality with the loop above.)

The learning rate of every member is set before every step from a table of shape
(steps, M). Any other hyper-parameter of the optimizer may follow a schedule too, as
fastai's ``ParamScheduler`` allows: ``momentum`` (SGD), each of ``betas`` (Adam: beta1 is
its momentum) and ``weight_decay`` take a number, or a table or schedule like ``lr``, set
into the optimizer's param group before every step, as torch's ``OneCycleLR`` writes
``group["momentum"]`` or ``group["betas"]``. A run whose mini-batch loss turns inf or nan
(or exceeds ``max_loss``) is a result, not an error: the step is recorded in
``History.diverged_at``, that member is frozen, and the others go on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import Tensor

from lrcourse.optim import SGD, Adam
from lrcourse.training.data import Task
from lrcourse.training.models import BatchedMLP, member_losses, mlp_forward
from lrcourse.training.threads import one_thread
from lrcourse.validate import choice, in_range, integer, number

__all__ = ["History", "train", "train_grid", "lr_table", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam", "adamw")
_EVAL_CHUNK = (
    32  # members evaluated together: bounds the (members, N, hidden) activations
)

LRSpec = float | ArrayLike | Callable[[NDArray[np.int64]], ArrayLike]
#: A hyper-parameter other than lr: a number (held), or a table or schedule as ``LRSpec``.
HyperSpec = LRSpec
#: What may be scheduled besides lr: each value must lie in [0, bound) (and be finite).
SCHEDULABLE = {"momentum": 1.0, "betas": 1.0, "weight_decay": math.inf}
_DEFAULTS = {"momentum": 0.0, "betas": (0.9, 0.999), "weight_decay": 0.0}


@dataclass(frozen=True)
class History:
    """One training run. Step t's entries are measured with the weights after t updates.

    loss, lr, grad_norm: per step (mini-batch loss, the lr applied, the global L2 norm of
        the gradient). A diverged run's arrays stop at ``diverged_at``, the first step whose
        loss is not finite or exceeds ``max_loss`` (that loss kept; its grad_norm is nan).
    eval_step, train_loss, val_loss, val_acc: full-batch metrics every ``eval_every`` steps,
        at step 0 and after the last step (``eval_step[-1] == steps`` unless diverged).
    wall_time: seconds for the whole ``train`` call (shared by the members of a batch).
    params: the final weights ``[W_0, b_0, ...]`` as ``mlp_forward`` takes them.
    hypers: the scheduled hyper-parameters besides lr, per step as ``lr``, e.g.
        ``{"momentum": ...}`` or ``{"beta1": ...}``; empty when only the lr was scheduled.
    """

    loss: NDArray[np.float64]
    lr: NDArray[np.float64]
    grad_norm: NDArray[np.float64]
    eval_step: NDArray[np.int64]
    train_loss: NDArray[np.float64]
    val_loss: NDArray[np.float64]
    val_acc: NDArray[np.float64]
    wall_time: float
    diverged_at: int | None
    config: dict[str, Any]
    params: list[Tensor] = field(repr=False, compare=False)
    hypers: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final_train_loss(self) -> float:
        """Full-training-set loss after the last step; inf for a diverged run."""
        return math.inf if self.diverged else float(self.train_loss[-1])

    @property
    def final_val_loss(self) -> float:
        return math.inf if self.diverged else float(self.val_loss[-1])

    @property
    def final_val_acc(self) -> float:
        return math.nan if self.diverged else float(self.val_acc[-1])

    def steps_to_loss(self, target: float) -> int | None:
        """The first evaluation step whose full train loss is <= target; None if never.

        Resolution is ``eval_every`` steps: the full loss, not the noisy mini-batch loss.
        """
        hit = np.flatnonzero(self.train_loss <= target)
        return int(self.eval_step[hit[0]]) if hit.size else None

    @property
    def status(self) -> str:
        """E.g. "diverged at step 3 (loss inf)" or "trained 500 steps (train loss 0.0123)"."""
        if self.diverged:
            loss = self.loss[self.diverged_at]
            why = (
                f"loss {loss}"
                if not np.isfinite(loss)
                else f"loss {loss:.3g} > max_loss"
            )
            return f"diverged at step {self.diverged_at} ({why})"
        return (
            f"trained {len(self.loss)} steps (train loss {self.final_train_loss:.4g}, "
            f"val acc {self.final_val_acc:.3f})"
        )

    def summary(self) -> str:
        """One line: label, optimizer, seed and status."""
        c = self.config
        return f"{c['label']} [{c['optimizer']}, seed {c['seed']}]: {self.status}"


def lr_table(
    lr: LRSpec,
    steps: int,
    n_members: int,
    name: str = "lr",
    high: float = math.inf,
) -> NDArray[np.float64]:
    """The (steps, M) table of ``name`` (the lr by default), from a number, an array or a
    schedule; every value finite, >= 0 and below ``high`` (if finite)."""
    if callable(lr):
        lr = lr(np.arange(steps))
    table = np.asarray(lr, dtype=np.float64)
    if table.ndim == 0:
        table = np.full((steps, n_members), float(table))
    elif table.shape == (steps,):
        table = np.repeat(table[:, None], n_members, axis=1)
    elif table.shape != (steps, n_members):
        raise ValueError(
            f"{name} must be a number or have shape (steps,) = ({steps},) or (steps, n_members) "
            f"= ({steps}, {n_members}), got shape {table.shape}"
        )
    if not (np.isfinite(table).all() and (table >= 0).all()):
        raise ValueError(f"{name} must hold finite values >= 0")
    if high < math.inf and not (table < high).all():
        raise ValueError(f"{name} must hold values in [0, {high:g})")
    return table


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _hyper(
    name: str, spec: HyperSpec, steps: int, n_members: int, high: float
) -> float | NDArray[np.float64]:
    """A held hyper-parameter as a float (checked), a scheduled one as its (steps, M) table.

    A float keeps the optimizer on torch's own float path, step for step as before."""
    if _is_number(spec):
        return in_range(name, spec, 0, high, high_open=True)
    return lr_table(spec, steps, n_members, name, high)


def _hypers(
    optimizer: str, momentum, betas, eps, weight_decay, steps: int, n_members: int
) -> tuple[dict[str, Any], dict[str, NDArray[np.float64]]]:
    """The optimizer's held hyper-parameters, and the (steps, M) table of each scheduled one
    keyed as its param group names it ("momentum", "beta1", "beta2", "weight_decay")."""
    choice("optimizer", optimizer, OPTIMIZERS)
    held: dict[str, Any] = {}
    tables: dict[str, NDArray[np.float64]] = {}

    def put(key: str, name: str, spec: HyperSpec, high: float) -> None:
        value = _hyper(name, spec, steps, n_members, high)
        held[key] = value if isinstance(value, float) else 0.0  # set before every step
        if not isinstance(value, float):
            tables[key] = value

    if optimizer == "sgd":
        if betas is not None or eps is not None:
            raise ValueError("betas and eps apply to optimizer='adam' or 'adamw' only")
        put("momentum", "momentum", momentum, 1.0)
    else:
        if not (_is_number(momentum) and momentum == 0):
            raise ValueError(
                "momentum applies to optimizer='sgd' only (Adam's is betas[0])"
            )
        betas = (0.9, 0.999) if betas is None else tuple(betas)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        put("beta1", "betas[0]", betas[0], 1.0)
        put("beta2", "betas[1]", betas[1], 1.0)
        held["eps"] = number("eps", 1e-8 if eps is None else eps, strict=True)
    put("weight_decay", "weight_decay", weight_decay, math.inf)
    return held, tables


def _make_optimizer(name: str, params, held: dict[str, Any]) -> torch.optim.Optimizer:
    if name == "sgd":
        return SGD(
            params, lr=0.0, momentum=held["momentum"], weight_decay=held["weight_decay"]
        )
    betas = (held["beta1"], held["beta2"])
    return Adam(params, lr=0.0, betas=betas, eps=held["eps"],
                weight_decay=held["weight_decay"], decoupled=name == "adamw")  # fmt: skip


def _config_value(held: dict[str, Any], tables: Mapping[str, Any], key: str) -> Any:
    """A hyper-parameter as ``History.config`` records it: its value, or "scheduled"."""
    return "scheduled" if key in tables else held[key]


def _set_hypers(
    opt: torch.optim.Optimizer, values: Mapping[str, Tensor | float]
) -> None:
    """Write this step's values into every param group, as torch's schedulers do."""
    for group in opt.param_groups:
        for key, value in values.items():
            if key == "beta1":
                group["betas"] = (value, group["betas"][1])
            elif key == "beta2":
                group["betas"] = (group["betas"][0], value)
            else:
                group[key] = value


def _batches(seeds: Sequence[int], task: Task, batch_size: int) -> Iterator[Tensor]:
    """Index tensors (M, B): member m walks its own epochs, each ``randperm(n, generator)``.

    The last batch of an epoch is short (drop_last=False), as DataLoader's default.
    """
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    n = task.n_train
    while True:
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens])
        for start in range(0, n, batch_size):
            yield perms[:, start : start + batch_size]


@torch.no_grad()
def _evaluate(model: BatchedMLP, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Full-batch loss and accuracy of every member: two (M,) tensors."""
    losses, accs = [], []
    params = model.params()
    for lo in range(0, model.n_members, _EVAL_CHUNK):
        chunk = [p[lo : lo + _EVAL_CHUNK] for p in params]
        logits = mlp_forward(chunk, X)
        losses.append(member_losses(logits, y))
        accs.append((logits.argmax(dim=-1) == y).to(torch.float64).mean(dim=1))
    return torch.cat(losses).to(torch.float64), torch.cat(accs)


@one_thread
def train(
    task: Task,
    lr: LRSpec,
    *,
    steps: int,
    seeds: int | Sequence[int] = 0,
    optimizer: str = "sgd",
    momentum: HyperSpec = 0.0,
    betas: tuple[HyperSpec, HyperSpec] | None = None,
    eps: float | None = None,
    weight_decay: HyperSpec = 0.0,
    batch_size: int | None = 64,
    hidden: Sequence[int] = (128,),
    eval_every: int = 100,
    dtype: torch.dtype | None = None,
    labels: str | Sequence[str] | None = None,
    max_loss: float = math.inf,
) -> list[History]:
    """Train one MLP per seed on ``task``, as a single batched model; one History each.

    lr: a number, an array of shape (steps,) for every member or (steps, M) per member,
        or a schedule called as ``lr(np.arange(steps))``. Set before every step.
    optimizer: "sgd" (with ``momentum``), "adam" (L2 ``weight_decay``) or "adamw"
        (decoupled); ``betas``/``eps`` default to torch's (0.9, 0.999) and 1e-8.
    momentum, betas[0], betas[1], weight_decay: a number, held; or, like ``lr``, an array
        (steps,) or (steps, M) or a schedule, set into the param group before every step
        (a momentum schedule for SGD, a beta1 schedule for Adam, as 1cycle cycles them).
    batch_size: mini-batch size, or None (or the training-set size) for full-batch
        gradient descent: every step then sees all the training data, in order.
    dtype: float32 or float64 (default: the task's).
    labels: a name per member (or one for all), kept in ``History.config["label"]``.
    max_loss: a loss above it also counts as divergence. By default only inf and nan do,
        and in float64 a blow-up can take dozens of steps to overflow (1e300 is finite).

    Torch runs on one thread inside the call (see ``lrcourse.threads``).
    """
    steps = integer("steps", steps, 1)
    seeds = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds or not all(isinstance(s, int | np.integer) and s >= 0 for s in seeds):
        raise ValueError(
            f"seeds must be an integer >= 0 or a non-empty list of them, got {seeds}"
        )
    M = len(seeds)
    table = lr_table(lr, steps, M)
    if batch_size is not None:
        batch_size = integer("batch_size", batch_size, 1)
        if batch_size > task.n_train:
            raise ValueError(
                f"batch_size must be <= {task.n_train} (the training set), got {batch_size}"
            )
    full_batch = batch_size is None or batch_size == task.n_train
    eval_every = integer("eval_every", eval_every, 1)
    max_loss = in_range("max_loss", max_loss, 0, math.inf)
    held, tables = _hypers(optimizer, momentum, betas, eps, weight_decay, steps, M)
    if dtype is not None:
        task = task.to(dtype)
    if labels is None or isinstance(labels, str):
        labels = [labels or "run"] * M
    if len(labels) != M:
        raise ValueError(
            f"labels must have one entry per seed ({M}), got {len(labels)}"
        )

    start = time.perf_counter()
    model = BatchedMLP(
        seeds, (task.n_features, *hidden, task.n_classes), dtype=task.dtype
    )
    params = model.params()
    opt = _make_optimizer(optimizer, params, held)
    lrs = torch.tensor(table, dtype=task.dtype)
    scheduled = {key: torch.tensor(t, dtype=task.dtype) for key, t in tables.items()}
    batches = None if full_batch else _batches(seeds, task, batch_size)

    # Per-step records live in numpy: writing a row there costs less than a torch op, and
    # the loop below runs thousands of times.
    loss = np.full((steps, M), math.nan)
    grad_norm = np.full((steps, M), math.nan)
    evals: list[
        tuple[int, Tensor, Tensor, Tensor]
    ] = []  # (step, train loss, val loss, acc)
    alive = torch.ones(M, dtype=torch.bool)
    n_steps = np.full(M, steps)  # entries per member in the per-step arrays
    frozen: list[Tensor] | None = None  # the weights of diverged members, held fixed

    for t in range(steps + 1):
        if t % eval_every == 0 or t == steps:
            train_loss, _ = _evaluate(model, task.X_train, task.y_train)
            val_loss, val_acc = _evaluate(model, task.X_val, task.y_val)
            evals.append((t, train_loss, val_loss, val_acc))
        if t == steps:
            break
        if full_batch:
            xb, yb = task.X_train, task.y_train
        else:
            idx = next(batches)
            xb, yb = task.X_train[idx], task.y_train[idx]
        losses = member_losses(mlp_forward(params, xb), yb)
        row = losses.detach().numpy()
        loss[t] = row
        bad = ~np.isfinite(row) | (row > max_loss)
        bad &= alive.numpy()
        if bad.any():
            n_steps[bad] = t + 1
            dead = torch.from_numpy(bad)
            alive &= ~dead
            if not alive.any():
                break
            # Hold each dead member at the weights it diverged with.
            if frozen is None:
                frozen = [p.detach().clone() for p in params]
            for p, f in zip(params, frozen, strict=True):
                f[dead] = p.detach()[dead]
        opt.zero_grad()
        all_alive = frozen is None
        # Leave dead members out of the sum (their loss is nan); their weights are also
        # restored after the step, since 0 * nan in their gradient would still be nan.
        (losses if all_alive else torch.where(alive, losses, 0.0)).sum().backward()
        with torch.no_grad():
            sq = sum(p.grad.pow(2).flatten(1).sum(dim=1) for p in params)
            grad_norm[t] = sq.sqrt().numpy()
            lr_t = lrs[t] if all_alive else torch.where(alive, lrs[t], 0.0)
            _set_hypers(opt, {"lr": lr_t} | {key: v[t] for key, v in scheduled.items()})
        opt.step()
        if not all_alive:
            grad_norm[t, ~alive.numpy()] = math.nan
            with torch.no_grad():
                for p, f in zip(params, frozen, strict=True):
                    p[~alive] = f[~alive]
    wall = time.perf_counter() - start

    histories = []
    for m in range(M):
        k = int(n_steps[m])
        diverged_at = k - 1 if not bool(alive[m]) else None
        mine = [e for e in evals if diverged_at is None or e[0] <= diverged_at]
        config = dict(
            label=labels[m],
            seed=int(seeds[m]),
            optimizer=optimizer,
            momentum=_config_value(held, tables, "momentum")
            if optimizer == "sgd"
            else 0.0,
            betas=None
            if optimizer == "sgd"
            else tuple(_config_value(held, tables, k) for k in ("beta1", "beta2")),
            eps=None if optimizer == "sgd" else held["eps"],
            weight_decay=_config_value(held, tables, "weight_decay"),
            batch_size=task.n_train if full_batch else batch_size,
            steps=steps,
            peak_lr=float(table[:, m].max()),
            hidden=tuple(hidden),
            dtype=str(task.dtype),
            task=task.name,
            n_members=M,
            max_loss=max_loss,
        )
        histories.append(
            History(
                loss=loss[:k, m].copy(),
                lr=table[:k, m].copy(),
                grad_norm=grad_norm[:k, m].copy(),
                eval_step=np.array([e[0] for e in mine], dtype=np.int64),
                train_loss=np.array([float(e[1][m]) for e in mine]),
                val_loss=np.array([float(e[2][m]) for e in mine]),
                val_acc=np.array([float(e[3][m]) for e in mine]),
                wall_time=wall,
                diverged_at=diverged_at,
                config=config,
                params=model.member_params(m),
                hypers={key: t[:k, m].copy() for key, t in tables.items()},
            )
        )
    return histories


def train_grid(
    task: Task,
    lrs: Mapping[str, LRSpec | Mapping[str, Any]],
    seeds: Sequence[int],
    **kwargs: Any,
) -> dict[str, list[History]]:
    """Train every (label, seed) pair as one batched model: {label: [History per seed]}.

    ``lrs`` maps a label to a learning rate spec of shape (steps,), e.g.
    ``{"cosine": cosine_schedule(np.arange(steps), lr_max=0.1, total_steps=steps)}``, or to
    a dict of that run's hyper-parameter specs, ``{"lr": ..., "momentum": ...}`` (keys:
    "lr", required, and any of ``SCHEDULABLE``; "betas" a pair), which override ``kwargs``
    for that label: ``{"1cycle": lrs, "1cycle + momentum": {"lr": lrs, "momentum": moms}}``.
    ``kwargs`` go to ``train`` (``steps`` is required).
    """
    if not lrs:
        raise ValueError("lrs must map at least one label to a learning-rate spec")
    steps = kwargs.get("steps")
    steps = integer("steps", steps, 1)
    seeds = list(seeds)
    runs = {label: _run_specs(label, spec) for label, spec in lrs.items()}
    for name in SCHEDULABLE:  # one that some label sets: a table over every member
        if not any(name in run for run in runs.values()):
            continue
        shared = kwargs.get(name) if kwargs.get(name) is not None else _DEFAULTS[name]
        if name == "betas":
            kwargs[name] = tuple(_grid_table(name, runs, shared, steps, len(seeds), i)
                                 for i in (0, 1))  # fmt: skip
        else:
            kwargs[name] = _grid_table(name, runs, shared, steps, len(seeds))
    columns, member_seeds, member_labels = [], [], []
    for label, spec in runs.items():
        column = lr_table(spec["lr"], steps, 1)[:, 0]
        for seed in seeds:
            columns.append(column)
            member_seeds.append(seed)
            member_labels.append(label)
    histories = train(
        task,
        np.stack(columns, axis=1),
        seeds=member_seeds,
        labels=member_labels,
        **kwargs,
    )
    out: dict[str, list[History]] = {label: [] for label in lrs}
    for h in histories:
        out[h.config["label"]].append(h)
    return out


def _run_specs(label: str, spec: LRSpec | Mapping[str, Any]) -> dict[str, Any]:
    """One label's specs as a dict with at least "lr"."""
    if not isinstance(spec, Mapping):
        return {"lr": spec}
    unknown = set(spec) - {"lr", *SCHEDULABLE}
    if "lr" not in spec or unknown:
        raise ValueError(
            f"lrs[{label!r}] must hold 'lr' and only keys among {['lr', *SCHEDULABLE]}, "
            f"got {sorted(spec)}"
        )
    return dict(spec)


def _grid_table(
    name: str,
    runs: Mapping[str, dict],
    shared: Any,
    steps: int,
    n_seeds: int,
    index: int | None = None,
) -> NDArray[np.float64]:
    """(steps, M) over the whole grid: each label's own spec of ``name``, or the ``shared``
    one, repeated for its seeds; ``index`` picks one of a pair ("betas")."""
    high = SCHEDULABLE[name]
    what = name if index is None else f"{name}[{index}]"
    columns = []
    for run in runs.values():
        spec = run.get(name, shared)
        spec = spec if index is None else tuple(spec)[index]
        columns.append(lr_table(spec, steps, 1, what, high)[:, 0])
    return np.repeat(np.stack(columns, axis=1), n_seeds, axis=1)
