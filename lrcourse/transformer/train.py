"""Training the tiny Transformer: M members at once, each with its own seed and lr table.

``train_lm(seeds, lrs, steps=...)`` trains one ``BatchedTransformer`` whose member m starts
from ``init_member(seeds[m])`` and reads its own mini-batches, drawn from a generator seeded
with ``DATA_SEED + seeds[m]``: so two members of one seed start from the same weights and
see the same batches, and differ only in their learning rates (a paired comparison). The
optimizer is ``lrcourse.optim.Adam`` with one lr per member, set before every step from the
table ``lrs`` (steps, M), as a scheduler would. Member m's run is the same run as training
that member alone (``tests/test_transformer.py``). Torch runs on one thread, so the numbers
are the same on a busy machine and an idle one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from lrcourse.optim import Adam, AdamRecorder, AdamStats
from lrcourse.training.threads import one_thread
from lrcourse.training.train import lr_table
from lrcourse.transformer.data import corpus, sample_batch
from lrcourse.transformer.model import BatchedTransformer, Config
from lrcourse.validate import in_range, integer, number

__all__ = ["LMRun", "train_lm", "DATA_SEED", "BATCH_SIZE"]

#: Member m's batches come from ``torch.Generator().manual_seed(DATA_SEED + seeds[m])``.
DATA_SEED = 1000
#: Windows of ``Config.context`` characters per step: 16 x 32 = 512 characters.
BATCH_SIZE = 16


@dataclass(frozen=True)
class LMRun:
    """A batched run: per step and member, the mini-batch loss (nats per character), the
    global gradient norm (before the update) and the lr applied; (steps, M) each."""

    loss: np.ndarray
    grad_norm: np.ndarray
    lr: np.ndarray
    seeds: tuple[int, ...]
    config: Config
    wall_time: float
    stats: AdamStats | None = None
    model: BatchedTransformer | None = field(default=None, repr=False, compare=False)


@one_thread
def train_lm(
    seeds: Sequence[int],
    lrs: float | ArrayLike | Callable,
    *,
    steps: int,
    config: Config | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    batch_size: int = BATCH_SIZE,
    dtype: torch.dtype = torch.float32,
    record_at: Collection[int] | None = None,
    keep_model: bool = False,
) -> LMRun:
    """Train ``len(seeds)`` members for ``steps`` steps with Adam; see the module doc.

    ``config``: the model (default ``Config()``: Post-LN).

    ``record_at``: optimizer steps (1 = the first update) at which an ``AdamRecorder``
    records Adam's statistics (``LMRun.stats``); none by default.
    ``keep_model``: return the trained model in ``LMRun.model``.
    """
    config = Config() if config is None else config
    steps = integer("steps", steps, 1)
    batch_size = integer("batch_size", batch_size, 1)
    in_range("betas[0]", betas[0], 0, 1, high_open=True)
    in_range("betas[1]", betas[1], 0, 1, high_open=True)
    number("eps", eps, strict=True)
    model = BatchedTransformer(seeds, config, dtype=dtype)
    M = model.n_members
    table = lr_table(lrs, steps, M, name="lrs")
    tokens = corpus().tokens
    if int(tokens.max()) >= config.vocab:
        raise ValueError(f"config.vocab must be >= {int(tokens.max()) + 1}")
    gens = [torch.Generator().manual_seed(DATA_SEED + s) for s in model.seeds]
    params = list(model.parameters())
    opt = Adam(params, lr=torch.zeros(M, dtype=dtype), betas=betas, eps=eps)
    recorder = None
    if record_at is not None:
        recorder = AdamRecorder(
            opt, members=M, at=record_at, names=dict(model.p.items())
        )
    loss_log = np.zeros((steps, M))
    norm_log = np.zeros((steps, M))
    start = time.perf_counter()
    for t in range(steps):
        opt.param_groups[0]["lr"] = torch.as_tensor(table[t], dtype=dtype)
        batches = [sample_batch(tokens, batch_size, config.context, g) for g in gens]
        x, y = (torch.stack(z) for z in zip(*batches, strict=True))
        logits = model(x)  # (M, B, T, V)
        losses = F.cross_entropy(
            logits.reshape(-1, config.vocab), y.reshape(-1),
            reduction="none",
        ).view(M, -1).mean(dim=1)  # fmt: skip
        opt.zero_grad()
        losses.sum().backward()
        with torch.no_grad():  # each member's gradient norm, over all its parameters
            flat = torch.cat([p.grad.reshape(M, -1) for p in params], dim=1)
            norm = torch.linalg.vector_norm(flat, dim=1)
        loss_log[t] = losses.detach().numpy()
        norm_log[t] = norm.numpy()
        opt.step()
    wall = time.perf_counter() - start
    if recorder is not None:
        recorder.close()
    return LMRun(
        loss=loss_log,
        grad_norm=norm_log,
        lr=table,
        seeds=model.seeds,
        config=config,
        wall_time=wall,
        stats=None if recorder is None else recorder.stats(),
        model=model if keep_model else None,
    )
