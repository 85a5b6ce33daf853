"""Any hyper-parameter on a schedule: 1cycle's momentum equals torch's ``OneCycleLR`` step for
step, and a trainer member with a scheduled momentum (or beta1) is textbook PyTorch under
``OneCycleLR(cycle_momentum=True)``; batching changes nothing."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler

from lrcourse.optim import SGD, Adam
from lrcourse.schedules import cosine_schedule, one_cycle_momentum, one_cycle_schedule
from lrcourse.schedules.torch import torch_lrs
from lrcourse.training.data import digits_task
from lrcourse.training.train import train, train_grid

TASK = digits_task(torch.float64)
STEPS = 30  # crosses an epoch boundary (23 batches of 64)

CASES = {
    "lesson defaults": dict(),
    "torch defaults": dict(pct_start=0.3, three_phase=False, anneal="cos"),
    "three-phase cos": dict(three_phase=True, anneal="cos"),
    "two-phase linear": dict(three_phase=False, pct_start=0.25),
    "odd sizes": dict(pct_start=0.33, base_momentum=0.8, max_momentum=0.99),
}


def _torch_kwargs(kw: dict) -> dict:
    return dict(
        pct_start=kw.get("pct_start", 0.45),
        three_phase=kw.get("three_phase", True),
        anneal_strategy=kw.get("anneal", "linear"),
        base_momentum=kw.get("base_momentum", 0.85),
        max_momentum=kw.get("max_momentum", 0.95),
    )


@pytest.mark.parametrize("hyper", ["momentum", "beta1"])
@pytest.mark.parametrize("total", [1000, 97, 10])
@pytest.mark.parametrize("case", CASES)
def test_one_cycle_momentum_equals_onecyclelr_bit_for_bit(case, total, hyper):
    kw = CASES[case]
    make = lambda o: lr_scheduler.OneCycleLR(  # noqa: E731
        o, max_lr=0.1, total_steps=total, cycle_momentum=True, **_torch_kwargs(kw)
    )
    theirs = torch_lrs(make, total, lr=0.1, hyper=hyper)
    ours = one_cycle_momentum(np.arange(total), total_steps=total, **kw)
    assert np.array_equal(ours, theirs)
    # and torch's lr in the same run is our 1cycle lr: one loop reads either
    lr_kw = {k: v for k, v in kw.items() if k not in ("base_momentum", "max_momentum")}
    lrs = one_cycle_schedule(np.arange(total), lr_max=0.1, total_steps=total,
                             div_factor=25.0, final_div_factor=1e4, **lr_kw)  # fmt: skip
    assert np.array_equal(lrs, torch_lrs(make, total, lr=0.1))


def test_one_cycle_momentum_moves_against_the_lr_and_holds_after_the_end():
    t = np.arange(1000)
    lr = one_cycle_schedule(t, total_steps=1000)
    m = one_cycle_momentum(t, total_steps=1000)
    assert m[0] == 0.95 and m.min() == 0.85 and np.argmin(m) == np.argmax(lr) == 449
    rising = np.diff(lr[:898]) > 0
    assert np.all(np.diff(m[:898])[rising] < 0) and np.all(
        np.diff(m[:898])[~rising] > 0
    )
    assert np.all(m[898:] == 0.95)  # the third phase holds max_momentum
    assert one_cycle_momentum(5000, total_steps=1000) == m[-1]
    ten = one_cycle_momentum(np.arange(10), total_steps=10)
    assert all(one_cycle_momentum(s, total_steps=10) == ten[s] for s in range(10))
    assert type(one_cycle_momentum(3, total_steps=10)) is float


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"total_steps": 1}, "total_steps"),
        ({"pct_start": 1.0}, "pct_start"),
        ({"base_momentum": 1.0}, "base_momentum"),
        ({"max_momentum": -0.1}, "max_momentum"),
        ({"anneal": "exp"}, "anneal"),
        ({"three_phase": "yes"}, "three_phase"),
        ({"total_steps": 10, "pct_start": 0.05}, "pct_start"),
        ({"total_steps": 10, "pct_start": 0.6}, "pct_start"),
    ],
)
def test_one_cycle_momentum_names_a_bad_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        one_cycle_momentum(np.arange(10), **kwargs)


def test_torch_lrs_reads_one_hyper_parameter_at_a_time():
    make = lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=5)  # noqa: E731
    assert torch_lrs(make, 5, lr=1.0, hyper="momentum")[0] == 0.95
    with pytest.raises(ValueError, match="hyper must be one of"):
        torch_lrs(make, 5, lr=1.0, hyper="betas")
    with pytest.raises(ValueError, match="closed_form"):
        torch_lrs(make, 5, lr=1.0, hyper="momentum", closed_form=True)


def _textbook_one_cycle(seed, opt_name, steps, **onecycle):
    """One network, one seed, torch's own optimizer driven by ``OneCycleLR`` the documented
    way: optimizer.step(), then scheduler.step()."""
    torch.manual_seed(seed)
    f64 = torch.float64
    net = nn.Sequential(
        nn.Linear(64, 128, dtype=f64), nn.ReLU(), nn.Linear(128, 10, dtype=f64)
    )
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
            "adam": lambda p: torch.optim.Adam(p, lr=1e-3)}[opt_name]  # fmt: skip
    opt = make(net.parameters())
    sched = lr_scheduler.OneCycleLR(opt, total_steps=steps, **onecycle)
    gen = torch.Generator().manual_seed(seed)
    per_epoch = math.ceil(TASK.n_train / 64)
    losses, momenta = [], []
    for t in range(steps):
        if t % per_epoch == 0:
            perm = torch.randperm(TASK.n_train, generator=gen)
        idx = perm[(t % per_epoch) * 64 : (t % per_epoch) * 64 + 64]
        g = opt.param_groups[0]
        momenta.append(g["momentum"] if opt_name == "sgd" else g["betas"][0])
        loss = F.cross_entropy(net(TASK.X_train[idx]), TASK.y_train[idx])
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if t < steps - 1:
            sched.step()
    return np.array(losses), np.array(momenta), net


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_member_with_cycled_momentum_equals_textbook_onecyclelr(opt_name):
    peak = 0.2 if opt_name == "sgd" else 3e-3
    t = np.arange(STEPS)
    kw = dict(pct_start=0.3, three_phase=False, anneal="cos")  # torch's defaults
    lrs = one_cycle_schedule(t, lr_max=peak, total_steps=STEPS, div_factor=25.0,
                             final_div_factor=1e4, **kw)  # fmt: skip
    moms = one_cycle_momentum(t, total_steps=STEPS, **kw)
    ref_loss, ref_moms, net = _textbook_one_cycle(3, opt_name, STEPS, max_lr=peak)
    np.testing.assert_array_equal(moms, ref_moms)  # what torch set, step by step
    if opt_name == "sgd":
        (h,) = train(TASK, lrs, momentum=moms, steps=STEPS, seeds=3)
        assert h.config["momentum"] == "scheduled"
        np.testing.assert_array_equal(h.hypers["momentum"], moms)
    else:
        (h,) = train(
            TASK, lrs, optimizer="adam", betas=(moms, 0.999), steps=STEPS, seeds=3
        )
        assert h.config["betas"] == ("scheduled", 0.999)
        np.testing.assert_array_equal(h.hypers["beta1"], moms)
    np.testing.assert_allclose(h.loss, ref_loss, rtol=1e-12)
    W0, b0, W1, b1 = h.params
    for ours, theirs in [
        (W0, net[0].weight.T),
        (b0, net[0].bias),
        (W1, net[2].weight.T),
    ]:
        torch.testing.assert_close(ours, theirs.detach(), rtol=1e-12, atol=1e-13)
    # cycling the momentum changed the run: it is not the held-momentum one
    (held,) = train(TASK, lrs, momentum=0.9, steps=STEPS, seeds=3)
    assert opt_name != "sgd" or not np.allclose(held.loss, h.loss, rtol=1e-6)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_batched_equals_sequential_with_scheduled_momentum(opt):
    seeds = [0, 1, 2, 7]
    t = np.arange(STEPS)
    scale = 1.0 if opt == "sgd" else 0.03
    lrs = scale * np.stack(
        [
            one_cycle_schedule(t, lr_max=0.2, total_steps=STEPS),
            cosine_schedule(t, lr_max=0.1, lr_min=0.0, total_steps=STEPS),
            np.full(STEPS, 0.05),
            one_cycle_schedule(t, lr_max=0.3, total_steps=STEPS, three_phase=False),
        ],
        axis=1,
    )
    moms = np.stack(
        [
            one_cycle_momentum(t, total_steps=STEPS),
            np.full(STEPS, 0.9),
            np.linspace(0.5, 0.99, STEPS),
            one_cycle_momentum(t, total_steps=STEPS, three_phase=False, anneal="cos"),
        ],
        axis=1,
    )
    hyper = {"momentum": moms} if opt == "sgd" else {"betas": (moms, 0.999)}
    batched = train(
        TASK, lrs, steps=STEPS, seeds=seeds, optimizer=opt, eval_every=10, **hyper
    )
    for m, seed in enumerate(seeds):
        solo_hyper = (
            {"momentum": moms[:, m]} if opt == "sgd" else {"betas": (moms[:, m], 0.999)}
        )
        (solo,) = train(TASK, lrs[:, m], steps=STEPS, seeds=seed, optimizer=opt, eval_every=10,
                        **solo_hyper)  # fmt: skip
        for name in ["loss", "lr", "grad_norm", "train_loss", "val_loss", "val_acc"]:
            np.testing.assert_allclose(
                getattr(batched[m], name), getattr(solo, name), rtol=1e-12
            )
        for a, b in zip(batched[m].params, solo.params, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
        key = "momentum" if opt == "sgd" else "beta1"
        np.testing.assert_array_equal(batched[m].hypers[key], moms[:, m])


def test_train_grid_takes_a_momentum_per_label_and_the_shared_one_for_the_rest():
    t = np.arange(STEPS)
    lrs = one_cycle_schedule(t, lr_max=0.2, total_steps=STEPS)
    moms = one_cycle_momentum(t, total_steps=STEPS)
    grid = train_grid(TASK, {"held": lrs, "cycled": {"lr": lrs, "momentum": moms}}, [0, 1],
                      steps=STEPS, eval_every=10, momentum=0.9)  # fmt: skip
    for seed, (held, cycled) in enumerate(
        zip(grid["held"], grid["cycled"], strict=True)
    ):
        (alone_held,) = train(
            TASK, lrs, steps=STEPS, seeds=seed, eval_every=10, momentum=0.9
        )
        (alone_cycled,) = train(
            TASK, lrs, steps=STEPS, seeds=seed, eval_every=10, momentum=moms
        )
        np.testing.assert_allclose(held.loss, alone_held.loss, rtol=1e-12)
        np.testing.assert_allclose(cycled.loss, alone_cycled.loss, rtol=1e-12)
        np.testing.assert_array_equal(held.hypers["momentum"], np.full(STEPS, 0.9))
        np.testing.assert_array_equal(cycled.hypers["momentum"], moms)
    # a scheduled weight decay, too: any hyper-parameter of the group
    wd = np.linspace(0.0, 1e-2, STEPS)
    (a,) = train(TASK, lrs, steps=STEPS, seeds=0, momentum=0.9, weight_decay=wd)
    (b,) = train(TASK, lrs, steps=STEPS, seeds=0, momentum=0.9)
    assert a.config["weight_decay"] == "scheduled" and a.loss[0] == b.loss[0]
    assert not np.allclose(a.loss[-5:], b.loss[-5:], rtol=1e-9)


def test_held_hyper_parameters_keep_the_float_path():
    (h,) = train(TASK, 0.1, steps=3, seeds=0, momentum=0.9, weight_decay=1e-4)
    assert (
        h.config["momentum"] == 0.9
        and h.config["weight_decay"] == 1e-4
        and h.hypers == {}
    )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"momentum": np.r_[np.full(4, 0.9), 1.0]}, "momentum"),
        ({"momentum": np.full(7, 0.9)}, "momentum"),
        ({"momentum": np.full((5, 2), 0.9)}, "momentum"),
        ({"momentum": np.r_[np.full(4, 0.9), np.nan]}, "momentum"),
        ({"optimizer": "adam", "momentum": np.full(5, 0.9)}, "momentum"),
        ({"optimizer": "adam", "betas": (np.full(5, 1.2), 0.999)}, r"betas\[0\]"),
        ({"optimizer": "adam", "betas": (0.9, np.full(5, -0.1))}, r"betas\[1\]"),
        ({"weight_decay": np.full(5, -1e-3)}, "weight_decay"),
    ],
)
def test_a_bad_schedule_names_its_hyper_parameter(kwargs, name):
    args = {"lr": 0.1, "steps": 5, "seeds": [0, 1, 2]} | kwargs
    with pytest.raises(ValueError, match=name):
        train(TASK, **args)


@pytest.mark.parametrize(
    "spec",
    [
        {"momentum": np.full(5, 0.9)},
        {"lr": 0.1, "betas2": 0.9},
        {"lr": 0.1, "eps": 1e-8},
    ],
)
def test_train_grid_rejects_a_label_dict_without_lr_or_with_unknown_keys(spec):
    with pytest.raises(ValueError, match=r"lrs\['x'\] must hold 'lr'"):
        train_grid(TASK, {"x": spec}, [0], steps=5)


def test_optimizers_take_a_per_member_momentum_and_betas():
    gen = torch.Generator().manual_seed(1)
    W0 = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    X = torch.randn(3, 10, 4, generator=gen, dtype=torch.float64)
    moms = torch.tensor([0.0, 0.5, 0.9], dtype=torch.float64)

    def loss(W):
        return (torch.tanh(X @ W) ** 2).mean(dim=(-2, -1)).sum()

    for make, one in [
        (lambda p, m: SGD(p, 0.1, momentum=m), lambda p, m: torch.optim.SGD(p, 0.1, momentum=m)),
        (lambda p, m: Adam(p, 0.01, betas=(m, 0.99)),
         lambda p, m: torch.optim.Adam(p, 0.01, betas=(m, 0.99))),
    ]:  # fmt: skip
        W = W0.clone().requires_grad_()
        opt = make([W], moms)
        for _ in range(10):
            opt.zero_grad()
            loss(W).backward()
            opt.step()
        for m in range(3):
            Wm = W0[m].clone().requires_grad_()
            ref = one([Wm], float(moms[m]))
            for _ in range(10):
                ref.zero_grad()
                (torch.tanh(X[m] @ Wm) ** 2).mean().backward()
                ref.step()
            torch.testing.assert_close(
                W[m].detach(), Wm.detach(), rtol=1e-12, atol=1e-14
            )
    with pytest.raises(ValueError, match="momentum"):
        SGD([W0.clone().requires_grad_()], 0.1, momentum=torch.tensor([0.5, 1.0, 0.2]))
