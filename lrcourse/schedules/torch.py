"""PyTorch's own schedulers, stepped the documented way: one loop for the whole course.

A torch scheduler is an object with state: each ``scheduler.step()`` advances its counter
and writes the next lr into the optimizer. To compare it with a pure schedule, read the lr
each step trains with, then step, as a training loop does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray

from lrcourse.validate import choice, integer, number

__all__ = ["torch_lrs"]


def torch_lrs(
    make_scheduler: Callable[
        [torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler
    ],
    steps: int,
    *,
    lr: float,
    closed_form: bool = False,
    hyper: Literal["lr", "momentum", "beta1"] = "lr",
) -> NDArray[np.float64]:
    """The lr that steps 0 .. steps-1 train with under ``make_scheduler(optimizer)``.

    ``lr`` is the optimizer's initial lr (torch's ``base_lr``). Each step reads
    ``optimizer.param_groups[0]["lr"]``, then calls ``optimizer.step()`` and
    ``scheduler.step()`` in that order, as torch documents; the last step is not followed by
    a ``scheduler.step()`` (``OneCycleLR`` refuses to step past its total). With
    ``closed_form=True`` each step reads the scheduler's closed form instead
    (``_get_closed_form_lr``), which torch's recursive updates only approximate.

    ``hyper`` reads another hyper-parameter the scheduler writes, in the same loop: "momentum"
    (``group["momentum"]`` of an SGD optimizer) or "beta1" (``group["betas"][0]`` of an
    Adam optimizer), as ``OneCycleLR(cycle_momentum=True)`` cycles them.
    """
    steps = integer("steps", steps, 1)
    lr = number("lr", lr)
    hyper = choice("hyper", hyper, ("lr", "momentum", "beta1"))
    if closed_form and hyper != "lr":
        raise ValueError(f"closed_form=True reads the lr only, got hyper={hyper!r}")
    param = torch.nn.Parameter(torch.zeros(1))
    if hyper == "beta1":
        optimizer = torch.optim.Adam([param], lr=lr)
    else:
        optimizer = torch.optim.SGD(
            [param], lr=lr, momentum=0.9 if hyper == "momentum" else 0
        )
    scheduler = make_scheduler(optimizer)
    group = optimizer.param_groups[0]
    read = {
        "lr": lambda: group["lr"],
        "momentum": lambda: group["momentum"],
        "beta1": lambda: group["betas"][0],
    }[hyper]
    out = []
    for step in range(steps):
        if closed_form:
            out.append(float(scheduler._get_closed_form_lr()[0]))
        else:
            out.append(float(read()))
        if step < steps - 1:
            optimizer.step()  # a real loop computes a loss and its gradients first
            scheduler.step()
    return np.array(out)
