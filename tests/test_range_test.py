"""The learning-rate range test: a known answer, a sweep that leaves no trace, divergence as
data, suggestions as fastai computes them, and bad input named."""

import math
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lrcourse
from lrcourse.range_test import RangeTest, lr_range_test, valley

matplotlib.use("Agg")


def quadratic(seed: int, noise: float = 0.1, d: int = 10, n: int = 200):
    """Least squares with the same inputs in every batch and fresh noise in the targets:
    every batch's loss is a quadratic with Hessian 2 X^T X / n, so plain SGD is stable for
    lr < 2 / L exactly (L its top eigenvalue), and the noise keeps every direction excited."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.linspace(0.3, 3, d, dtype=torch.float64)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) * scale
    w = torch.randn(d, 1, generator=g, dtype=torch.float64)
    batches = [(X, X @ w + noise * torch.randn(n, 1, generator=g, dtype=torch.float64))
               for _ in range(20)]  # fmt: skip
    L = torch.linalg.eigvalsh(2 * X.T @ X / n).max().item()
    torch.manual_seed(seed)
    return nn.Linear(d, 1, bias=False).double(), batches, L


@pytest.mark.parametrize("seed", range(4))
def test_on_a_quadratic_the_sweep_stops_within_2x_above_2_over_L(seed):
    model, batches, L = quadratic(seed)
    limit = 2 / L
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # 100 steps per decade, from 1e-3 to 10 times the limit
    fine = lr_range_test(model, opt, batches, F.mse_loss, start_lr=1e-3 * limit,
                         end_lr=10 * limit, num_steps=400)  # fmt: skip
    assert fine.diverged and limit <= fine.diverged_lr <= 2 * limit, (
        fine.diverged_lr / limit
    )
    # fastai's default sweep (12.5 steps per decade) stops later: the stop lags the lr's growth
    coarse = lr_range_test(model, opt, batches, F.mse_loss)
    assert coarse.diverged and coarse.diverged_lr > fine.diverged_lr
    # never before the instability: every lr below 2/L ran without the stop firing
    assert np.all(fine.lrs[:-1] < fine.diverged_lr)


def test_the_quadratics_regression_values():
    """Seeded values, pinned: the stop at 400 and at 100 steps, as ratios to 2/L."""
    model, batches, L = quadratic(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fine = lr_range_test(model, opt, batches, F.mse_loss, start_lr=1e-3 * 2 / L,
                         end_lr=10 * 2 / L, num_steps=400)  # fmt: skip
    coarse = lr_range_test(model, opt, batches, F.mse_loss)
    assert fine.stopped_at == 316 and coarse.stopped_at == 82
    assert round(fine.diverged_lr * L / 2, 2) == 1.47
    assert round(coarse.diverged_lr * L / 2, 2) == 4.2


def _state(model, opt):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [
            (k, {n: (t.clone() if torch.is_tensor(t) else t) for n, t in s.items()})
            for k, s in opt.state.items()
        ],  # fmt: skip
        [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups],
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
    )


def _same(a, b):
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a is None and b is None)


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
    lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.8, 0.99)),
], ids=["sgd", "adam"])  # fmt: skip
def test_model_and_optimizer_are_restored_bit_for_bit(make_opt):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(16, 3))  # fmt: skip
    opt = make_opt(model.parameters())
    for _ in range(
        3
    ):  # a model mid-training: optimizer state, running stats, a gradient
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    model.eval()
    before, rng = _state(model, opt), torch.get_rng_state()
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    result = lr_range_test(model, opt, batches, F.cross_entropy, num_steps=30)
    assert len(result.lrs) > 10
    assert _same(_state(model, opt), before)
    assert not model.training and torch.equal(torch.get_rng_state(), rng)


def test_training_after_the_test_equals_training_without_it():
    def run(with_test: bool):
        model, batches, L = quadratic(1)
        opt = torch.optim.SGD(model.parameters(), lr=0.5 / L, momentum=0.9)
        for x, y in batches[:3]:
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
        if with_test:
            lr_range_test(model, opt, batches, F.mse_loss, num_steps=50)
        for x, y in batches[3:]:
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
        return model.weight.detach().clone()

    assert torch.equal(run(True), run(False))


def test_a_nan_or_inf_loss_ends_the_sweep_as_divergence():
    model, batches, L = quadratic(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = lr_range_test(model, opt, batches, F.mse_loss, start_lr=1 / L, end_lr=1e30 / L,
                      num_steps=60, diverge_factor=math.inf)  # fmt: skip
    assert r.diverged and not math.isfinite(r.losses[-1]) and math.isnan(r.smoothed[-1])
    assert np.isfinite(r.losses[:-1]).all() and r.stopped_at == len(r.losses) - 1
    assert set(r.suggestions) == {"steepest", "minimum/10", "valley"}
    assert all(np.isfinite(s.lr) for s in r.suggestions.values())
    assert torch.isfinite(model.weight).all()  # restored


def test_batches_are_cycled_in_order_and_a_one_shot_iterator_is_replayed():
    X = torch.arange(6.0).reshape(3, 2)
    batches = [(X[i : i + 1], torch.zeros(1, 1)) for i in range(3)]
    seen = []

    def loss_fn(out, target):
        return F.mse_loss(out, target)

    class Spy(nn.Linear):
        def forward(self, x):
            seen.append(int(x[0, 0]))
            return super().forward(x)

    model = Spy(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    common = dict(start_lr=1e-9, end_lr=1e-8, num_steps=10, diverge_factor=1e9)
    lr_range_test(model, opt, batches, loss_fn, **common)
    assert seen == [0, 2, 4] * 3 + [0]
    seen.clear()
    lr_range_test(model, opt, iter(batches), loss_fn, **common)
    assert seen == [0, 2, 4] * 3 + [0]


def test_sweeps_are_exponential_or_linear_from_start_to_end():
    model, batches, L = quadratic(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    common = dict(start_lr=1e-6, end_lr=1e-4, num_steps=21)
    exp = lr_range_test(model, opt, batches, F.mse_loss, **common)
    lin = lr_range_test(model, opt, batches, F.mse_loss, mode="linear", **common)
    assert not exp.diverged and exp.lrs.size == 21 and np.isclose(exp.lrs[-1], 1e-4)
    np.testing.assert_allclose(exp.lrs[1:] / exp.lrs[:-1], 10**0.1, rtol=1e-12)
    np.testing.assert_allclose(np.diff(lin.lrs), (1e-4 - 1e-6) / 20, rtol=1e-9)
    # smoothing: a bias-corrected moving average, so step 0 is the loss itself
    assert exp.smoothed[0] == exp.losses[0]
    raw = lr_range_test(model, opt, batches, F.mse_loss, smooth=0.0, **common)
    np.testing.assert_array_equal(raw.smoothed, raw.losses)


def test_valley_is_fastais_algorithm():
    # falls from index 10 to 70, with flat ends: the longest decreasing run is 61 long
    losses = np.r_[np.full(10, 3.0), np.linspace(3, 1, 61)[1:], np.linspace(1, 5, 30)]
    # fastai: end = 69, start = end - lds[end] = 69 - 61 = 8, idx = 8 + 20 + 10
    assert valley(losses) == 38
    # falling throughout (7 points): fastai's start is end - length = -1, idx = -1 + 2 + 1
    assert valley(np.arange(7.0)[::-1]) == 2


def test_suggestions_explain_themselves_and_the_plot_marks_them():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    X, y = (
        3 * torch.randn(256, 8, generator=g),
        torch.randint(0, 4, (256,), generator=g),
    )
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]
    r = lr_range_test(model, opt, batches, F.cross_entropy, end_lr=100.0)
    assert isinstance(r, RangeTest) and r.diverged
    a, b = r.window
    assert a == 10 and b == len(r.lrs) - 5
    s = r.suggestions
    assert a <= s["steepest"].index < b and a <= s["valley"].index < b
    assert s["minimum/10"].lr == pytest.approx(
        r.lrs[a + np.argmin(r.smoothed[a:b])] / 10
    )
    assert all(sug.why and len(sug.why) <= 66 for sug in s.values())
    assert all(len(line) <= 88 for line in r.summary().splitlines())
    ax = r.plot(title="t")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(any(label.startswith(name) for label in labels) for name in s)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"start_lr": 1.0, "end_lr": 1.0}, "end_lr must be greater than start_lr"),
        ({"start_lr": 10.0, "end_lr": 1.0}, "end_lr must be greater than start_lr"),
        ({"start_lr": 0.0}, "start_lr"),
        ({"end_lr": math.nan}, "end_lr"),
        ({"num_steps": 5}, "num_steps"),
        ({"num_steps": 50.0}, "num_steps"),
        ({"mode": "log"}, "mode"),
        ({"smooth": 1.0}, "smooth"),
        ({"diverge_factor": 1.0}, "diverge_factor"),
        ({"batches": []}, "batches"),
        ({"batches": iter([])}, "batches"),
        ({"loss_fn": None}, "loss_fn"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    model, batches, _ = quadratic(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    weights = model.weight.detach().clone()
    args = {"batches": batches, "loss_fn": F.mse_loss} | kwargs
    with pytest.raises(ValueError, match=name):
        lr_range_test(model, opt, args.pop("batches"), args.pop("loss_fn"), **args)
    assert torch.equal(model.weight, weights)


def test_exported_lazily_at_the_top_level():
    assert lrcourse.lr_range_test is lr_range_test
    assert "lr_range_test" in dir(lrcourse) and "lr_range_test" in lrcourse.__all__
    code = "import sys, lrcourse; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", "importing lrcourse imports torch"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lrcourse.nope  # noqa: B018
