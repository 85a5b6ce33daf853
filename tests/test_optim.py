"""lrcourse.optim's SGD and Adam take torch's steps, and a per-member lr equals separate runs."""

import pytest
import torch
from torch import nn

from lrcourse.optim import SGD, Adam, AdamW

LRS = [
    0.05,
    0.2,
    0.0,
    0.1,
    0.03,
] * 4  # changes every step: the trainer sets lr each step


def _problem():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(32, 1, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    return X, y, net


def _run(make_opt):
    X, y, net = _problem()
    opt = make_opt(net.parameters())
    for lr in LRS:
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad()
        ((net(X) - y) ** 2).mean().backward()
        opt.step()
    return [p.detach() for p in net.parameters()]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: SGD(p), lambda p: torch.optim.SGD(p)),
        (lambda p: SGD(p, momentum=0.9), lambda p: torch.optim.SGD(p, momentum=0.9)),
        (
            lambda p: SGD(p, momentum=0.8, weight_decay=1e-2),
            lambda p: torch.optim.SGD(p, momentum=0.8, weight_decay=1e-2),
        ),
        (lambda p: Adam(p), lambda p: torch.optim.Adam(p)),
        (
            lambda p: Adam(p, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
            lambda p: torch.optim.Adam(
                p, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2
            ),
        ),
        (lambda p: AdamW(p), lambda p: torch.optim.AdamW(p)),
        (
            lambda p: Adam(p, weight_decay=0.1, decoupled=True),
            lambda p: torch.optim.AdamW(p, weight_decay=0.1),
        ),
    ],
    ids=[
        "sgd",
        "sgd-momentum",
        "sgd-momentum-wd",
        "adam",
        "adam-l2",
        "adamw",
        "adam-decoupled",
    ],
)
def test_equals_torch_step_for_step(ours, theirs):
    for a, b in zip(_run(ours), _run(theirs), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # The problem is not trivial: the parameters moved.
    assert not torch.equal(_run(ours)[0], _problem()[2][0].weight.detach())


@pytest.mark.parametrize(
    "make", [lambda p, lr: SGD(p, lr, momentum=0.9), lambda p, lr: Adam(p, lr)]
)
def test_per_member_lr_equals_separate_runs(make):
    gen = torch.Generator().manual_seed(1)
    W0 = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    X = torch.randn(3, 10, 4, generator=gen, dtype=torch.float64)
    lrs = torch.tensor([0.01, 0.1, 0.5], dtype=torch.float64)

    def loss(W, X):  # members independent: the loss is a sum of per-member losses
        return (torch.tanh(X @ W) ** 2).mean(dim=(-2, -1)).sum()

    W = W0.clone().requires_grad_()
    opt = make([W], lrs)
    for _ in range(10):
        opt.zero_grad()
        loss(W, X).backward()
        opt.step()
    for m in range(3):
        Wm = W0[m].clone().requires_grad_()
        opt = make([Wm], float(lrs[m]))
        for _ in range(10):
            opt.zero_grad()
            loss(Wm, X[m]).backward()
            opt.step()
        torch.testing.assert_close(W[m].detach(), Wm.detach(), rtol=1e-12, atol=1e-14)


def test_bad_arguments_raise_naming_the_parameter():
    p = [nn.Parameter(torch.zeros(3, 2))]
    for make, name in [
        (lambda: SGD(p, lr=-1.0), "lr"),
        (lambda: SGD(p, lr=float("nan")), "lr"),
        (lambda: SGD(p, momentum=1.0), "momentum"),
        (lambda: SGD(p, weight_decay=-1e-3), "weight_decay"),
        (lambda: Adam(p, betas=(0.9, 1.0)), r"betas\[1\]"),
        (lambda: Adam(p, eps=0.0), "eps"),
        (lambda: Adam(p, lr=torch.ones(2, 2)), "lr"),
    ]:
        with pytest.raises(ValueError, match=name):
            make()
    opt = SGD(p, lr=torch.ones(2))  # 2 lrs for a parameter with 3 members
    p[0].grad = torch.ones(3, 2)
    with pytest.raises(ValueError, match="length 3"):
        opt.step()


def test_our_optimizers_never_import_torchs_compiler():
    """torch wraps Optimizer.add_param_group, zero_grad and (load_)state_dict in a wrapper
    whose first call imports torch._dynamo (seconds, once per process); ours call the
    methods themselves, and behave the same."""
    import subprocess
    import sys

    code = """
import sys, torch
from lrcourse.optim import SGD, Adam
from lrcourse.training import digits_task, train
p = [torch.zeros(3, requires_grad=True)]
for opt in (SGD(p, lr=0.1, momentum=0.9), Adam(p, lr=0.1)):
    p[0].grad = torch.ones(3)
    opt.step()
    opt.load_state_dict(opt.state_dict())
    opt.zero_grad()
    assert p[0].grad is None
train(digits_task(), 0.1, steps=2, seeds=[0, 1])
print("torch._dynamo" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_state_dict_round_trip_matches_torchs_layout():
    import torch

    from lrcourse.optim import Adam

    ours_p = [torch.ones(2, requires_grad=True)]
    theirs_p = [torch.ones(2, requires_grad=True)]
    ours, theirs = Adam(ours_p, lr=0.1), torch.optim.Adam(theirs_p, lr=0.1)
    for p, opt in ((ours_p, ours), (theirs_p, theirs)):
        p[0].grad = torch.tensor([1.0, -2.0])
        opt.step()
    a, b = ours.state_dict(), theirs.state_dict()
    assert a["state"].keys() == b["state"].keys()
    assert torch.equal(a["state"][0]["exp_avg"], b["state"][0]["exp_avg"])
    restored = Adam([torch.ones(2, requires_grad=True)], lr=0.5)
    restored.load_state_dict(a)
    assert restored.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("lr", [0.01, "per member"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adam_on_a_whole_group_is_bit_for_bit_the_per_parameter_update(lr, dtype):
    """Adam.step takes _update_group (torch's _foreach ops) when it can; the parameters
    come out bit for bit as _update, the readable equations, leaves them."""
    gen = torch.Generator().manual_seed(2)
    shapes = [(3, 4, 5), (3, 1, 5), (3, 7, 2)]
    start = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
    rate = torch.tensor([1e-3, 1e-2, 3e-2], dtype=dtype) if lr == "per member" else lr

    def run(whole_group: bool) -> list[torch.Tensor]:
        params = [p.clone().requires_grad_() for p in start]
        opt = Adam(params, lr=rate)
        for step in range(20):
            opt.zero_grad()
            sum((torch.sin(p * (step + 1)) ** 2).sum() for p in params).backward()
            if whole_group:
                opt.step()
            else:
                with torch.no_grad():
                    for p in params:
                        opt._update(p, p.grad, opt.state[p], opt.param_groups[0])
        return [p.detach() for p in params]

    for fast, readable in zip(run(True), run(False), strict=True):
        assert torch.equal(fast, readable)
