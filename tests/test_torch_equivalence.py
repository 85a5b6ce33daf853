"""Our pure schedules equal PyTorch's schedulers: bit for bit where the course says so.

The course claims, and these tests pin with ``np.array_equal``:

* step decay equals ``StepLR``'s closed form (``base_lr * gamma ** (t // step_size)``);
* cosine equals ``CosineAnnealingLR``'s closed form for t <= T_max;
* warmup + cosine, after its warmup, equals ``CosineAnnealingLR``'s closed form shifted
  by the warmup;
* 1cycle equals ``OneCycleLR(cycle_momentum=False)`` stepped the documented way (its
  closed form is all it has).

Torch's *stepped* ``StepLR`` and ``CosineAnnealingLR`` update the lr recursively (multiply
the previous lr), so they only approximate their closed forms; against those the course
claims "within a few ulp", pinned below with an ulp count.
"""

import math

import numpy as np
import pytest
from torch.optim import lr_scheduler

from lrcourse.schedules import (
    cosine_schedule,
    linear_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)
from lrcourse.schedules.torch import torch_lrs


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many representable float64s apart a and b are (both > 0)."""
    return np.abs(a.view(np.int64) - b.view(np.int64))


@pytest.mark.parametrize(
    "lr, gamma, every", [(1e-2, 0.1, 30), (0.1, 0.5, 7), (3e-4, 0.9, 1)]
)
def test_step_decay_equals_steplr_closed_form_bit_for_bit(lr, gamma, every):
    make = lambda o: lr_scheduler.StepLR(o, step_size=every, gamma=gamma)  # noqa: E731
    closed = torch_lrs(make, 400, lr=lr, closed_form=True)
    ours = step_decay_schedule(
        np.arange(400), lr=lr, drop_factor=gamma, drop_every=every
    )
    assert np.array_equal(ours, closed)


def test_step_decay_within_one_ulp_of_stepped_steplr_over_notebook_02s_run():
    """Notebook 02's run: 300 steps, a cut every 30. StepLR multiplies at each cut."""
    make = lambda o: lr_scheduler.StepLR(o, step_size=30, gamma=0.1)  # noqa: E731
    stepped = torch_lrs(make, 300, lr=0.1)
    ours = step_decay_schedule(np.arange(300), lr=0.1, drop_factor=0.1, drop_every=30)
    assert ulps(ours, stepped).max() <= 1
    assert not np.array_equal(ours, stepped)  # the recursion does round differently


@pytest.mark.parametrize(
    "lr_max, lr_min, total", [(1e-3, 1e-5, 1000), (0.1, 0.0, 37), (1.0, 0.5, 1)]
)
def test_cosine_equals_cosineannealinglr_closed_form_bit_for_bit(lr_max, lr_min, total):
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total, eta_min=lr_min)  # noqa: E731
    closed = torch_lrs(make, total + 1, lr=lr_max, closed_form=True)
    ours = cosine_schedule(
        np.arange(total + 1), lr_max=lr_max, lr_min=lr_min, total_steps=total
    )
    assert np.array_equal(ours, closed)


def test_cosine_within_a_few_ulp_of_stepped_cosineannealinglr():
    """Notebook 03's run. The recursive update drifts from the closed form by rounding."""
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=1000, eta_min=1e-5)  # noqa: E731
    stepped = torch_lrs(make, 1001, lr=1e-3)
    ours = cosine_schedule(np.arange(1001), lr_max=1e-3, lr_min=1e-5, total_steps=1000)
    assert ulps(ours, stepped).max() <= 64
    np.testing.assert_allclose(ours, stepped, rtol=1e-13, atol=0)


def test_cosineannealinglr_is_periodic_ours_holds():
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.0)  # noqa: E731
    theirs = torch_lrs(make, 201, lr=1.0, closed_form=True)
    assert theirs[200] == pytest.approx(1.0)  # back at the peak after 2 * T_max
    assert cosine_schedule(200, lr_max=1.0, lr_min=0.0, total_steps=100) == 0.0


@pytest.mark.parametrize(
    "warmup, total, lr_min", [(100, 1000, 1e-5), (0, 50, 0.0), (30, 300, 3e-3)]
)
def test_warmup_cosine_decay_is_cosineannealinglr_shifted_bit_for_bit(
    warmup, total, lr_min
):
    lr_max = 1e-3 if lr_min < 1e-3 else 0.3
    make = lambda o: lr_scheduler.CosineAnnealingLR(  # noqa: E731
        o, T_max=total - warmup, eta_min=lr_min
    )
    closed = torch_lrs(make, total - warmup + 1, lr=lr_max, closed_form=True)
    ours = warmup_cosine_schedule(
        np.arange(total + 1),
        lr_max=lr_max,
        lr_min=lr_min,
        warmup_steps=warmup,
        total_steps=total,
    )
    assert np.array_equal(ours[warmup:], closed)
    assert np.array_equal(ours[:warmup], lr_max * (np.arange(warmup) / warmup))


@pytest.mark.parametrize(
    "warmup, total, lr_min", [(100, 1000, 1e-5), (0, 50, 0.0), (7, 7, 1e-4)]
)
def test_warmup_cosine_equals_the_lessons_lambdalr_to_rounding(warmup, total, lr_min):
    """The lesson's LambdaLR multiplies base_lr by a factor: the same curve, other roundings."""
    lr_max = 1e-3
    floor = lr_min / lr_max

    def factor(step: int) -> float:  # the lesson's lr_lambda, fixed to decay to lr_min
        if step < warmup:
            return step / warmup
        progress = min(step - warmup, total - warmup) / max(total - warmup, 1)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    steps = total + 20  # and past the end, where ours holds its final value
    ref = torch_lrs(lambda o: lr_scheduler.LambdaLR(o, factor), steps, lr=lr_max)
    ours = warmup_cosine_schedule(np.arange(steps), lr_max=lr_max, lr_min=lr_min,
                                  warmup_steps=warmup, total_steps=total)  # fmt: skip
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-20)


def test_linear_decay_equals_linearlr_to_rounding():
    """LinearLR multiplies step by step, so it agrees to rounding, not to the bit."""
    make = lambda o: lr_scheduler.LinearLR(  # noqa: E731
        o, start_factor=1.0, end_factor=0.01, total_iters=300
    )
    theirs = torch_lrs(make, 400, lr=0.3)
    ours = linear_schedule(np.arange(400), lr_max=0.3, lr_min=0.003, total_steps=300)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


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
def test_one_cycle_equals_onecyclelr_bit_for_bit(case, total):
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
    assert np.array_equal(ours, torch_lrs(make, total, lr=lr_max))


def test_one_cycle_torch_defaults_match_torch_called_with_nothing():
    """torch's own defaults, passed to torch implicitly: pct 0.3, cos, 2 phases, 25, 1e4."""
    make = lambda o: lr_scheduler.OneCycleLR(  # noqa: E731
        o, max_lr=0.1, total_steps=500, cycle_momentum=False
    )
    ours = one_cycle_schedule(np.arange(500), lr_max=0.1, total_steps=500,
                              **ONE_CYCLE_CASES["torch defaults"])  # fmt: skip
    assert np.array_equal(ours, torch_lrs(make, 500, lr=0.1))


def test_torch_lrs_reads_before_stepping_and_never_steps_past_the_end():
    make = lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=5)  # noqa: E731
    lrs = torch_lrs(make, 5, lr=1.0)  # a sixth scheduler.step() would raise in torch
    assert lrs.shape == (5,) and lrs[0] == pytest.approx(1.0 / 25)
    constant = torch_lrs(lambda o: lr_scheduler.LambdaLR(o, lambda s: 1.0), 1, lr=0.5)
    assert constant.tolist() == [0.5]
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        torch_lrs(make, 0, lr=1.0)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        torch_lrs(make, 3, lr=-1.0)
