"""Our pure schedules equal PyTorch's stateful schedulers, step for step."""

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler

from lrcourse.schedules import (
    cosine_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)


def _torch_lrs(make_scheduler, n_steps: int, base_lr: float, closed_form: bool = False):
    """The lr a torch scheduler gives at steps 0..n_steps-1, stepped the documented way."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n_steps):
        out.append(sched._get_closed_form_lr()[0] if closed_form else opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("lr, gamma, every", [(1e-2, 0.1, 30), (0.1, 0.5, 7), (3e-4, 0.9, 1)])
def test_step_decay_equals_steplr(lr, gamma, every):
    ref = _torch_lrs(lambda o: lr_scheduler.StepLR(o, step_size=every, gamma=gamma), 400, lr)
    ours = step_decay_schedule(np.arange(400), lr=lr, drop_factor=gamma, drop_every=every)
    np.testing.assert_allclose(ours, ref, rtol=1e-13)  # StepLR multiplies step by step


@pytest.mark.parametrize(
    "lr_max, lr_min, total", [(1e-3, 1e-5, 1000), (0.1, 0.0, 37), (1.0, 0.5, 1)]
)
def test_cosine_equals_cosineannealinglr_closed_form(lr_max, lr_min, total):
    steps = np.arange(total + 1)  # every step from 0 to total_steps
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=lr_min)  # noqa: E731
    closed = _torch_lrs(make, total + 1, lr_max, closed_form=True)
    ours = cosine_schedule(steps, lr_max=lr_max, lr_min=lr_min, total_steps=total)
    np.testing.assert_allclose(ours, closed, rtol=1e-15, atol=0)
    # torch's default (recursive) form drifts only by rounding from its closed form
    recursive = _torch_lrs(make, total + 1, lr_max)
    np.testing.assert_allclose(ours, recursive, rtol=1e-12, atol=1e-18)


def test_cosineannealinglr_is_periodic_ours_holds():
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.0)  # noqa: E731
    torch_lrs = _torch_lrs(make, 201, 1.0, closed_form=True)
    assert torch_lrs[200] == pytest.approx(1.0)  # back at the peak after 2 * T_max
    assert cosine_schedule(200, lr_max=1.0, lr_min=0.0, total_steps=100) == 0.0


ONE_CYCLE_CASES = {
    "lesson defaults": dict(),
    "torch defaults": dict(pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                           three_phase=False, anneal="cos"),
    "three-phase cos": dict(three_phase=True, anneal="cos"),
    "two-phase linear": dict(three_phase=False, pct_start=0.25, div_factor=10.0),
    "odd sizes": dict(pct_start=0.33, div_factor=7.0, final_div_factor=3.0),
}  # fmt: skip


@pytest.mark.parametrize("total", [1000, 97, 10])
@pytest.mark.parametrize("case", ONE_CYCLE_CASES)
def test_one_cycle_equals_onecyclelr(case, total):
    kw = ONE_CYCLE_CASES[case]
    lr_max = 1e-2
    ours = one_cycle_schedule(np.arange(total), lr_max=lr_max, total_steps=total, **kw)
    torch_kw = dict(
        pct_start=kw.get("pct_start", 0.45),
        div_factor=kw.get("div_factor", 25.0),
        final_div_factor=kw.get("final_div_factor", 1000.0),
        three_phase=kw.get("three_phase", True),
        anneal_strategy=kw.get("anneal", "linear"),
    )
    make = lambda o: lr_scheduler.OneCycleLR(  # noqa: E731
        o, max_lr=lr_max, total_steps=total, cycle_momentum=False, **torch_kw
    )
    ref = _torch_lrs(make, total, lr_max)
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=0)


def test_one_cycle_torch_defaults_match_torch_called_with_nothing():
    """torch's own defaults, passed to torch implicitly: pct 0.3, cos, 2 phases, 25, 1e4."""
    make = lambda o: lr_scheduler.OneCycleLR(  # noqa: E731
        o, max_lr=0.1, total_steps=500, cycle_momentum=False
    )
    ref = _torch_lrs(make, 500, 0.1)
    ours = one_cycle_schedule(np.arange(500), lr_max=0.1, total_steps=500,
                              **ONE_CYCLE_CASES["torch defaults"])  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=0)


@pytest.mark.parametrize("warmup, total, lr_min", [(100, 1000, 1e-5), (0, 50, 0.0), (7, 7, 1e-4)])
def test_warmup_cosine_equals_lambdalr(warmup, total, lr_min):
    lr_max = 1e-3
    floor = lr_min / lr_max

    def factor(step: int) -> float:  # the lesson's lr_lambda, fixed to decay to lr_min
        if step < warmup:
            return step / warmup
        progress = min(step - warmup, total - warmup) / max(total - warmup, 1)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    steps = total + 20  # and past the end, where ours holds its final value
    ref = _torch_lrs(lambda o: lr_scheduler.LambdaLR(o, factor), steps, lr_max)
    ours = warmup_cosine_schedule(np.arange(steps), lr_max=lr_max, lr_min=lr_min,
                                  warmup_steps=warmup, total_steps=total)  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-20)
