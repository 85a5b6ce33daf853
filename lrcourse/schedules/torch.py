"""PyTorch's own schedulers, stepped the documented way: one loop for the whole course.

A torch scheduler is an object with state: each ``scheduler.step()`` advances its counter
and writes the next lr into the optimizer. To compare it with a pure schedule, read the lr
each step trains with, then step, as a training loop does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.typing import NDArray

from lrcourse.validate import integer, number

__all__ = ["torch_lrs"]


def torch_lrs(
    make_scheduler: Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler],
    steps: int,
    *,
    lr: float,
    closed_form: bool = False,
) -> NDArray[np.float64]:
    """The lr that steps 0 .. steps-1 train with under ``make_scheduler(optimizer)``.

    ``lr`` is the optimizer's initial lr (torch's ``base_lr``). Each step reads
    ``optimizer.param_groups[0]["lr"]``, then calls ``optimizer.step()`` and
    ``scheduler.step()`` in that order, as torch documents; the last step is not followed by
    a ``scheduler.step()`` (``OneCycleLR`` refuses to step past its total). With
    ``closed_form=True`` each step reads the scheduler's closed form instead
    (``_get_closed_form_lr``), which torch's recursive updates only approximate.
    """
    steps = integer("steps", steps, 1)
    lr = number("lr", lr)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    out = []
    for step in range(steps):
        if closed_form:
            out.append(float(scheduler._get_closed_form_lr()[0]))
        else:
            out.append(float(optimizer.param_groups[0]["lr"]))
        if step < steps - 1:
            optimizer.step()  # a real loop computes a loss and its gradients first
            scheduler.step()
    return np.array(out)
