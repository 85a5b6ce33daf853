"""Notebooks 02 and 03's training runs, re-run as regression guards.

The notebooks check their claims (inequalities, counts of seeds); these tests pin the
numbers behind them, at tolerances that hold on any CPU: runs that stay healthy (full-batch
descent, the first 120 steps of step decay) agree between float kernels to far better than
the tolerance; a run near instability is pinned by category only.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse.schedules import SCHEDULES, constant_schedule, step_decay_schedule
from lrcourse.training import digits_task, torch_threads, train, train_grid

STEPS, PEAK, BATCH = 300, 0.3, 64
T = np.arange(STEPS)
STEP_DECAY = step_decay_schedule(T, lr=PEAK, drop_every=100)


def test_notebook_02s_plain_loop_is_train_for_the_whole_run_in_float64():
    """The notebook's loop, verbatim but in float64: equal to ``train`` at every step."""
    task = digits_task(torch.float64)
    X, y = task.X_train, task.y_train
    per_epoch = math.ceil(len(X) / BATCH)
    with torch_threads(1):
        torch.manual_seed(0)
        f64 = torch.float64
        model = nn.Sequential(
            nn.Linear(64, 128, dtype=f64), nn.ReLU(), nn.Linear(128, 10, dtype=f64)
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=PEAK, momentum=0.9)
        shuffle = torch.Generator().manual_seed(0)
        losses = []
        for step in range(STEPS):
            if step % per_epoch == 0:
                order = torch.randperm(len(X), generator=shuffle)
            batch = order[(step % per_epoch) * BATCH :][:BATCH]
            for group in optimizer.param_groups:
                group["lr"] = step_decay_schedule(step, lr=PEAK, drop_every=100)
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    (run,) = train(task, STEP_DECAY, steps=STEPS, seeds=0, momentum=0.9)
    np.testing.assert_allclose(run.loss, losses, rtol=1e-8)


@pytest.fixture(scope="module")
def step_decay_runs():
    task = digits_task()
    schedules = {"constant": constant_schedule(T, lr=PEAK), "step decay": STEP_DECAY}
    runs = train_grid(
        task, schedules, [0, 1, 2, 3, 4], steps=STEPS, momentum=0.9, eval_every=20
    )
    full = train(task, PEAK, steps=50, seeds=[0, 1, 2], momentum=0.9, batch_size=None)
    return runs, full


def test_notebook_02_full_batch_descends_without_a_band(step_decay_runs):
    _, full = step_decay_runs
    ends = [h.train_loss[-1] for h in full]
    np.testing.assert_allclose(ends, [0.0035372, 0.0032770, 0.0038968], rtol=1e-3)


def test_notebook_02_first_cut_and_second_cut(step_decay_runs):
    runs, _ = step_decay_runs
    decay = np.array(
        [h.train_loss for h in runs["step decay"]]
    )  # steps 0, 20, ..., 300
    # Up to step 120 the runs differ between float kernels by about 2% at most.
    np.testing.assert_allclose(
        decay[:, 5] / decay[:, 6], [4.51, 7.64, 3.72, 6.99, 6.40], rtol=0.05
    )
    # The second cut slows the fall on every seed, by a wide margin.
    before, after = decay[:, 9] / decay[:, 10], decay[:, 10] / decay[:, 11]
    assert np.all(after < 1.15) and np.all(before > 1.25)
    # The constant run stays in its band (chaotic: by category only).
    constant = np.array([h.train_loss for h in runs["constant"]])
    assert np.all(constant[:, 5:].min(axis=1) > 0.02)


def test_notebook_03_cosine_against_linear_decay():
    task = digits_task()
    names = ("cosine", "linear decay")
    schedules = {name: SCHEDULES[name].lrs(peak=PEAK, steps=STEPS) for name in names}
    runs = train_grid(
        task, schedules, list(range(10)), steps=STEPS, momentum=0.9, eval_every=100
    )
    final = {name: np.array([h.final_train_loss for h in runs[name]]) for name in names}
    log_ratio = np.log(final["cosine"] / final["linear decay"])
    assert (
        int(np.sum(log_ratio < 0)) == 9
    )  # on every kernel measured: seed 0 is the exception
    assert log_ratio[0] > 0 and math.exp(-log_ratio.mean()) == pytest.approx(
        1.43, rel=0.03
    )
