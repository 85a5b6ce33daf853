"""sharpness() against exact eigenvalues, and the 2/lambda stability threshold of GD."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from lrcourse.curvature import (
    Sharpness,
    gradient_descent,
    max_stable_lr,
    power_iteration,
    sharpness,
)


def spd_matrix(eigs: list[float], seed: int = 0) -> np.ndarray:
    """Q diag(eigs) Q^T with a random orthogonal Q: a symmetric matrix with a known spectrum."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(eigs), len(eigs))))
    return q @ np.diag(eigs) @ q.T


def quadratic(A: np.ndarray):
    At = torch.tensor(A)
    return lambda ps: 0.5 * ps[0] @ At @ ps[0]


def least_squares(n: int = 200, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(
        0.5, 2.0, d
    )  # unequal scales: a clear top
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    return X, y, (lambda ps: 0.5 * ((Xt @ ps[0] - yt) ** 2).mean())


def test_quadratic_top_eigenvalue_matches_eigvalsh() -> None:
    A = spd_matrix([0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0])
    s = sharpness(
        quadratic(A), [torch.ones(7, dtype=torch.float64)], tol=1e-12, max_iter=500
    )
    assert isinstance(s, Sharpness) and s.converged and not s.shifted
    assert s.eigenvalue == pytest.approx(np.linalg.eigvalsh(A)[-1], rel=1e-9)
    assert s.residual < 1e-4
    assert s.vector.shape == (7,) and float(s.vector.norm()) == pytest.approx(1.0)


def test_least_squares_hessian_is_xtx_over_n() -> None:
    X, y, loss = least_squares()
    exact = np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    s = sharpness(
        loss, [torch.zeros(X.shape[1], dtype=torch.float64)], tol=1e-12, max_iter=500
    )
    assert s.eigenvalue == pytest.approx(exact, rel=1e-9)


def test_hessian_is_the_same_at_any_point_of_a_quadratic() -> None:
    X, y, loss = least_squares()
    w = torch.tensor(np.random.default_rng(3).normal(size=X.shape[1]))
    a = sharpness(loss, [w], tol=1e-12, max_iter=500).eigenvalue
    b = sharpness(loss, [torch.zeros_like(w)], tol=1e-12, max_iter=500).eigenvalue
    assert a == pytest.approx(b, rel=1e-9)


def test_dominant_negative_eigenvalue_is_shifted_away() -> None:
    # |-10| > 3: plain power iteration would return -10; the sharpness is the most positive, 3.
    A = spd_matrix([-10.0, -2.0, 0.5, 1.0, 3.0], seed=1)
    s = sharpness(
        quadratic(A), [torch.zeros(5, dtype=torch.float64)], tol=1e-12, max_iter=2000
    )
    assert s.shifted and s.converged
    assert s.eigenvalue == pytest.approx(3.0, rel=1e-8)


def gd_final_loss(loss, w0: torch.Tensor, lr: float, steps: int) -> float:
    w = w0.clone().requires_grad_(True)
    for _ in range(steps):
        (g,) = torch.autograd.grad(loss([w]), [w])
        with torch.no_grad():
            w -= lr * g
    return float(loss([w.detach()]))


@pytest.mark.parametrize(
    ("factor", "converges"), [(0.5, True), (0.95, True), (1.05, False)]
)
def test_gd_on_least_squares_is_stable_exactly_below_two_over_lambda(
    factor: float, converges: bool
) -> None:
    X, y, loss = least_squares()
    w0 = torch.zeros(X.shape[1], dtype=torch.float64)
    lr = factor * max_stable_lr(
        sharpness(loss, [w0], tol=1e-12, max_iter=500).eigenvalue
    )
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    best = float(loss([torch.tensor(w_star)]))
    start, end = float(loss([w0])), gd_final_loss(loss, w0, lr, 500)
    if converges:
        assert end == pytest.approx(best, rel=1e-6)
    else:
        assert (
            end > 1e6 * start
        )  # the top-eigenvector component grew by |1 - 2.1| per step


def test_params_are_not_modified_and_results_are_seeded() -> None:
    X, y, loss = least_squares()
    w = torch.ones(X.shape[1], dtype=torch.float64)
    a = sharpness(loss, [w], tol=1e-3, seed=4)
    b = sharpness(loss, [w], tol=1e-3, seed=4)
    assert torch.equal(w, torch.ones_like(w)) and not w.requires_grad
    assert a.eigenvalue == b.eigenvalue and a.iterations == b.iterations
    # Another start vector takes another path to the same eigenvalue.
    c = sharpness(loss, [w], tol=1e-12, max_iter=500, seed=5)
    d = sharpness(loss, [w], tol=1e-12, max_iter=500, seed=4)
    assert not torch.equal(c.vector, d.vector)
    assert c.eigenvalue == pytest.approx(d.eigenvalue, rel=1e-9)


def test_max_iter_reached_reports_not_converged() -> None:
    A = spd_matrix([1.0, 2.0, 3.0, 3.1])  # eigengap 3/3.1: slow convergence
    s = sharpness(
        quadratic(A), [torch.ones(4, dtype=torch.float64)], tol=1e-12, max_iter=3
    )
    assert not s.converged and s.iterations == 3
    assert (
        s.eigenvalue <= 3.1 + 1e-12
    )  # a Rayleigh quotient never exceeds the top eigenvalue


def test_several_parameter_tensors_and_float32() -> None:
    torch.manual_seed(0)
    X, y = torch.randn(50, 4), torch.randn(50)

    def loss(ps: list[torch.Tensor]) -> torch.Tensor:
        return 0.5 * ((X @ ps[0] + ps[1] - y) ** 2).mean()

    Xa = torch.cat([X, torch.ones(50, 1)], dim=1).double()
    exact = float(torch.linalg.eigvalsh(Xa.T @ Xa / 50)[-1])
    s = sharpness(loss, [torch.zeros(4), torch.zeros(())], tol=1e-7, max_iter=500)
    assert s.vector.dtype == torch.float32 and s.vector.shape == (5,)
    assert s.eigenvalue == pytest.approx(exact, rel=1e-4)


def test_max_stable_lr() -> None:
    assert max_stable_lr(4.0) == 0.5
    assert max_stable_lr(1) == 2.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, True, "1", None])
def test_max_stable_lr_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="sharpness must be a finite number > 0"):
        max_stable_lr(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_iter": 1}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"max_iter": True}, "max_iter"),
        ({"tol": 0.0}, "tol"),
        ({"tol": 1.0}, "tol"),
        ({"tol": -1e-3}, "tol"),
        ({"seed": -1}, "seed"),
    ],
)
def test_sharpness_validates_arguments(kwargs: dict, match: str) -> None:
    *_, loss = least_squares()
    with pytest.raises(ValueError, match=match):
        sharpness(loss, [torch.zeros(8, dtype=torch.float64)], **kwargs)


def test_sharpness_validates_params_and_loss() -> None:
    *_, loss = least_squares()
    with pytest.raises(ValueError, match="params"):
        sharpness(loss, [])
    with pytest.raises(ValueError, match="params"):
        sharpness(loss, [torch.zeros(8, dtype=torch.int64)])
    with pytest.raises(ValueError, match="scalar"):
        sharpness(lambda ps: ps[0] * 2, [torch.zeros(3, dtype=torch.float64)])


# --- gradient_descent and the exact quadratic of notebook 01 ---------------------------------


@pytest.mark.parametrize(
    ("factor", "stable"), [(0.9, True), (0.99, True), (1.01, False)]
)
def test_gradient_descent_splits_at_two_over_lambda_on_a_quadratic(
    factor, stable
) -> None:
    X, y, loss = least_squares()
    w0 = [torch.zeros(X.shape[1], dtype=torch.float64)]
    lam = np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    losses = gradient_descent(loss, w0, lr=factor * 2 / lam, steps=2000)
    assert losses.shape == (2001,) and losses[0] == pytest.approx(float(loss(w0)))
    if stable:
        assert np.all(
            np.diff(losses) <= 1e-15
        )  # a quadratic's loss never rises below 2/lambda
    else:
        assert losses[-1] > 1e6 * losses[0]


def test_gradient_descent_equals_the_hand_loop_and_leaves_params_alone() -> None:
    X, y, loss = least_squares()
    w0 = torch.zeros(X.shape[1], dtype=torch.float64)
    losses = gradient_descent(loss, [w0], lr=0.05, steps=40)
    assert losses[-1] == pytest.approx(gd_final_loss(loss, w0, 0.05, 40), rel=1e-12)
    assert torch.equal(w0, torch.zeros_like(w0)) and not w0.requires_grad


def test_gradient_descent_stops_at_the_first_non_finite_loss() -> None:
    losses = gradient_descent(
        lambda ps: (ps[0] ** 2).sum(), [torch.ones(3)], lr=1e3, steps=500
    )
    assert np.isfinite(losses[:-1]).all() and not np.isfinite(losses[-1])
    assert len(losses) < 500


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -0.1, "steps": 5}, "lr"),
        ({"lr": math.nan, "steps": 5}, "lr"),
        ({"lr": 0.1, "steps": 0}, "steps"),
        ({"lr": 0.1, "steps": 2.0}, "steps"),
    ],
)
def test_gradient_descent_validates(kwargs: dict, match: str) -> None:
    *_, loss = least_squares()
    with pytest.raises(ValueError, match=match):
        gradient_descent(loss, [torch.zeros(8, dtype=torch.float64)], **kwargs)


def test_mse_of_a_linear_model_has_the_hessian_of_its_design_matrix() -> None:
    from lrcourse.training.data import digits_task
    from lrcourse.training.models import mse_loss

    task = digits_task(torch.float64)
    X, y = task.X_train[:300], task.y_train[:300]
    params = [
        torch.zeros(64, 10, dtype=torch.float64),
        torch.zeros(10, dtype=torch.float64),
    ]
    s = sharpness(lambda ps: mse_loss(ps, X, y), params, tol=1e-12, max_iter=2000)
    X1 = torch.cat([X, torch.ones(300, 1, dtype=torch.float64)], dim=1)
    assert s.eigenvalue == pytest.approx(
        torch.linalg.eigvalsh(X1.T @ X1 / 300)[-1].item(), 1e-9
    )
    # At W = 0 the outputs are 0, so the loss is half the squared norm of a one-hot: 1/2.
    assert mse_loss(params, X, y).item() == 0.5


# --- power_iteration: public, and shown in notebook 01 ------------------------------------


def test_power_iteration_on_a_known_matrix() -> None:
    A = torch.tensor(spd_matrix([0.5, 1.0, 2.0, 5.0]))
    v0 = torch.ones(4, dtype=torch.float64)
    lam, v, iters, converged = power_iteration(
        lambda x: A @ x, v0, tol=1e-12, max_iter=500
    )
    assert converged and 2 <= iters < 500
    assert lam == pytest.approx(5.0, rel=1e-10)
    assert float(v.norm()) == pytest.approx(1.0)
    torch.testing.assert_close(A @ v, lam * v, rtol=0, atol=1e-5)


def test_power_iteration_shift_finds_the_other_end() -> None:
    # Eigenvalues of A - 5 I: -4.5, -4, -3, 0. The largest in magnitude is -4.5, i.e. 0.5 - 5.
    A = torch.tensor(spd_matrix([0.5, 1.0, 2.0, 5.0]))
    lam, *_ = power_iteration(
        lambda x: A @ x,
        torch.ones(4, dtype=torch.float64),
        shift=5.0,
        tol=1e-12,
        max_iter=2000,
    )
    assert lam + 5.0 == pytest.approx(0.5, rel=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"max_iter": 1}, "max_iter"), ({"tol": 0.0}, "tol")]
)
def test_power_iteration_validates_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        power_iteration(lambda x: x, torch.ones(3), **kwargs)


@pytest.mark.parametrize("fn", [power_iteration, max_stable_lr])
def test_shown_sources_fit_a_notebook_line(fn) -> None:
    """Notebook 01 prints these with show_source: every line within 88 characters."""
    long = [line for line in inspect.getsource(fn).splitlines() if len(line) > 88]
    assert not long, long
