"""The trainer: each member is textbook PyTorch, batching changes nothing, divergence is data."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse.schedules import cosine_schedule, step_decay_schedule
from lrcourse.training.data import digits_task
from lrcourse.training.models import BatchedMLP, mlp_loss
from lrcourse.training.train import train, train_grid

TASK = digits_task(torch.float64)
STEPS = 30  # 23 batches of 64 per epoch: 30 steps cross an epoch boundary


def _textbook(seed, lrs, opt_name, batch_size=64, **opt_kwargs):
    """The same run written the way a PyTorch tutorial would: one network, one seed."""
    torch.manual_seed(seed)
    f64 = torch.float64
    net = nn.Sequential(
        nn.Linear(64, 128, dtype=f64), nn.ReLU(), nn.Linear(128, 10, dtype=f64)
    )
    make = {
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }
    opt = make[opt_name](net.parameters(), lr=float(lrs[0]), **opt_kwargs)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for t in range(len(lrs)):
        if t % math.ceil(TASK.n_train / batch_size) == 0:  # a new epoch: reshuffle
            perm = torch.randperm(TASK.n_train, generator=gen)
        start = (t % math.ceil(TASK.n_train / batch_size)) * batch_size
        idx = perm[start : start + batch_size]
        for group in opt.param_groups:
            group["lr"] = float(lrs[t])
        loss = F.cross_entropy(net(TASK.X_train[idx]), TASK.y_train[idx])
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses), net


@pytest.mark.parametrize(
    ("opt_name", "kwargs", "ours"),
    [
        (
            "sgd",
            {"momentum": 0.9, "weight_decay": 1e-3},
            {"momentum": 0.9, "weight_decay": 1e-3},
        ),
        ("adam", {"weight_decay": 1e-3}, {"weight_decay": 1e-3}),
        (
            "adamw",
            {"weight_decay": 0.1, "betas": (0.8, 0.99)},
            {"weight_decay": 0.1, "betas": (0.8, 0.99)},
        ),
    ],
)
def test_member_equals_textbook_pytorch(opt_name, kwargs, ours):
    peak = 0.1 if opt_name == "sgd" else 3e-3
    lrs = cosine_schedule(np.arange(STEPS), lr_max=peak, lr_min=0.0, total_steps=STEPS)
    (hist,) = train(TASK, lrs, steps=STEPS, seeds=3, optimizer=opt_name, **ours)
    ref_loss, net = _textbook(3, lrs, opt_name, **kwargs)
    np.testing.assert_allclose(hist.loss, ref_loss, rtol=1e-12)
    np.testing.assert_array_equal(hist.lr, lrs)  # the schedule, applied at every step
    W0, b0, W1, b1 = hist.params
    for ours_p, theirs in [
        (W0, net[0].weight.T),
        (b0, net[0].bias),
        (W1, net[2].weight.T),
    ]:
        torch.testing.assert_close(ours_p, theirs.detach(), rtol=1e-12, atol=1e-13)
    # The final full-train loss is that of the final weights.
    full = F.cross_entropy(net(TASK.X_train), TASK.y_train).item()
    assert hist.final_train_loss == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize(
    "opt", [{"optimizer": "sgd", "momentum": 0.9}, {"optimizer": "adam"}]
)
def test_batched_equals_sequential(opt):
    seeds = [0, 1, 2, 7]
    t = np.arange(STEPS)
    scale = 1.0 if opt["optimizer"] == "sgd" else 0.03
    table = scale * np.stack(
        [
            cosine_schedule(t, lr_max=0.1, lr_min=0.0, total_steps=STEPS),
            step_decay_schedule(t, lr=0.2, drop_factor=0.5, drop_every=10),
            np.full(STEPS, 0.05),
            cosine_schedule(t, lr_max=0.3, lr_min=0.01, total_steps=STEPS),
        ],
        axis=1,
    )
    batched = train(TASK, table, steps=STEPS, seeds=seeds, eval_every=10, **opt)
    for m, seed in enumerate(seeds):
        (solo,) = train(
            TASK, table[:, m], steps=STEPS, seeds=seed, eval_every=10, **opt
        )
        for name in ["loss", "lr", "grad_norm", "train_loss", "val_loss", "val_acc"]:
            np.testing.assert_allclose(
                getattr(batched[m], name), getattr(solo, name), rtol=1e-12
            )
        for a, b in zip(batched[m].params, solo.params, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
    assert len({h.loss[-1] for h in batched}) == len(seeds)  # the members differ


def test_divergence_is_recorded_at_the_right_step_and_isolated():
    # lr 0 for 5 steps, then far too high: the loss must overflow, and not before step 5.
    steps = 60
    lrs = np.r_[np.zeros(5), np.full(steps - 5, 1e6)]
    (solo,) = train(TASK, lrs, steps=steps, seeds=1)
    ref_loss, _ = _textbook(1, lrs, "sgd")
    k = solo.diverged_at
    assert k is not None and 5 < k < steps and k == len(ref_loss) - 1
    assert not np.isfinite(solo.loss[k]) and np.isfinite(solo.loss[:k]).all()
    assert len(solo.loss) == len(solo.lr) == len(solo.grad_norm) == k + 1
    assert solo.status == f"diverged at step {k} (loss {solo.loss[k]})"
    assert solo.final_train_loss == math.inf and solo.eval_step[-1] <= k

    # Beside a healthy member, the diverging one changes nothing and is frozen where it died.
    table = np.stack([lrs, np.full(steps, 0.05)], axis=1)
    bad, good = train(TASK, table, steps=steps, seeds=[1, 2], eval_every=20)
    (good_solo,) = train(TASK, 0.05, steps=steps, seeds=2, eval_every=20)
    assert bad.diverged_at == k and good.diverged_at is None
    np.testing.assert_allclose(bad.loss, solo.loss, rtol=1e-12)
    np.testing.assert_allclose(good.loss, good_solo.loss, rtol=1e-12)
    np.testing.assert_allclose(good.train_loss, good_solo.train_loss, rtol=1e-12)
    assert list(good.eval_step) == [0, 20, 40, 60]
    for a, b in zip(bad.params, solo.params, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


def test_max_loss_counts_a_finite_blow_up_as_divergence():
    lrs = np.r_[np.zeros(5), np.full(STEPS - 5, 50.0)]
    (free,) = train(TASK, lrs, steps=STEPS, seeds=1)
    (capped,) = train(TASK, lrs, steps=STEPS, seeds=1, max_loss=1e3)
    assert (
        free.diverged_at is None and np.isfinite(free.loss).all()
    )  # float64: 1e77 is finite
    k = int(np.argmax(free.loss > 1e3))
    assert capped.diverged_at == k > 5
    np.testing.assert_array_equal(capped.loss, free.loss[: k + 1])
    assert capped.status == f"diverged at step {k} (loss {free.loss[k]:.3g} > max_loss)"


def test_full_batch_gradient_descent_and_the_lr_is_applied():
    # Full batch: the step-t loss IS the full train loss, and lr = 0 stops all change.
    lrs = np.r_[np.full(10, 0.5), np.zeros(10)]
    for batch_size in [None, TASK.n_train]:
        (h,) = train(TASK, lrs, steps=20, seeds=0, batch_size=batch_size, eval_every=5)
        assert h.config["batch_size"] == TASK.n_train
        np.testing.assert_allclose(
            h.train_loss[:-1], h.loss[h.eval_step[:-1]], rtol=1e-13
        )
        assert np.all(np.diff(h.loss[:11]) < 0)  # GD at a small lr descends
        assert np.all(h.loss[10:] == h.loss[10])  # lr 0: nothing moves
        assert h.train_loss[-1] == h.loss[10]


def test_schedule_callable_equals_array_and_model_exposes_a_member_loss():
    def sched(t):
        return cosine_schedule(t, lr_max=0.1, lr_min=0.0, total_steps=10)

    (a,) = train(TASK, sched, steps=10, seeds=4)
    (b,) = train(TASK, sched(np.arange(10)), steps=10, seeds=4)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.lr, sched(np.arange(10)))
    # mlp_loss on member_params is the member's full-batch loss (what sharpness needs).
    model = BatchedMLP([4, 5], dtype=torch.float64)
    (h0,) = train(TASK, 0.0, steps=1, seeds=5)
    assert mlp_loss(
        model.member_params(1), TASK.X_train, TASK.y_train
    ).item() == pytest.approx(h0.train_loss[0], rel=1e-13)


def test_history_helpers_and_grid():
    lrs = {
        "constant": 0.05,
        "cosine": lambda t: cosine_schedule(t, lr_max=0.1, total_steps=40),
    }
    grid = train_grid(TASK, lrs, seeds=[0, 1], steps=40, eval_every=10, momentum=0.5)
    assert list(grid) == ["constant", "cosine"] and all(
        len(v) == 2 for v in grid.values()
    )
    h = grid["cosine"][1]
    assert (
        h.config["label"] == "cosine"
        and h.config["seed"] == 1
        and h.config["n_members"] == 4
    )
    np.testing.assert_array_equal(h.lr, lrs["cosine"](np.arange(40)))
    assert h.steps_to_loss(h.train_loss[0] + 1) == 0
    assert h.steps_to_loss(h.final_train_loss) <= 40 and h.steps_to_loss(-1.0) is None
    assert h.summary().startswith("cosine [sgd, seed 1]: trained 40 steps (train loss ")
    assert h.wall_time > 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2000}, "batch_size"),
        ({"lr": np.ones(7)}, "lr"),
        ({"lr": np.ones((5, 2))}, "lr"),
        ({"lr": -0.1}, "lr"),
        ({"lr": np.r_[np.ones(4), np.nan]}, "lr"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum"),
        ({"optimizer": "sgd", "betas": (0.9, 0.99)}, "betas"),
        ({"optimizer": "adam", "betas": (0.9, 1.5)}, r"betas\[1\]"),
        ({"optimizer": "adam", "eps": 0}, "eps"),
        ({"momentum": 1.0}, "momentum"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"eval_every": 0}, "eval_every"),
        ({"seeds": []}, "seeds"),
        ({"labels": ["a", "b"]}, "labels"),
        ({"dtype": torch.float16}, "dtype"),
        ({"max_loss": -1.0}, "max_loss"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(kwargs, name):
    args = {"lr": 0.1, "steps": 5, "seeds": [0, 1, 2]} | kwargs
    with pytest.raises(ValueError, match=name):
        train(TASK, **args)
