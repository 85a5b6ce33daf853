"""RAdam's rectification and the untuned warmup: the formulas, the steps they give, and
torch's RAdam taking exactly the rectified step."""

import numpy as np
import pytest
import torch

from lrcourse.adam_warmup import (
    adam_moments,
    first_step_reaching,
    radam_rectification,
    radam_rho,
    untuned_warmup,
    v_hat_relative_std,
)

T = np.arange(1, 20_001)


@pytest.mark.parametrize(
    ("beta2", "radam_half", "radam_90", "linear_half", "linear_90"),
    [(0.999, 556, 2737, 1000, 1800), (0.95, 16, 58, 20, 36)],
)
def test_the_steps_where_each_reaches_half_and_90_percent(
    beta2, radam_half, radam_90, linear_half, linear_90
):
    r, w = radam_rectification(T, beta2), untuned_warmup(T, beta2)
    assert first_step_reaching(r, 0.5) == radam_half
    assert first_step_reaching(r, 0.9) == radam_90
    assert first_step_reaching(w, 0.5) == linear_half
    assert first_step_reaching(w, 0.9) == linear_90
    # Ma & Yarats' warmup lasts 2 / (1 - beta2) steps: 2000 and 40
    assert first_step_reaching(w, 1.0) == round(2 / (1 - beta2))


def test_rho_starts_at_one_and_tends_to_rho_inf():
    for beta2 in (0.9, 0.95, 0.999):
        rho = radam_rho(np.array([1, 10**6]), beta2)
        assert rho[0] == pytest.approx(1.0)  # one gradient: an average of length 1
        assert rho[1] == pytest.approx(2 / (1 - beta2) - 1)
        # the rectification is off while rho_t <= 4 (the first 4 steps), then rises to 1
        r = radam_rectification(T[:5000], beta2)
        assert np.all(r[:4] == 0) and r[4] > 0 and np.all(np.diff(r[4:]) >= 0)


def test_torch_radam_takes_the_rectified_step():
    """With a constant gradient of 1, m_hat = v_hat = 1, so RAdam moves by lr * r_t once
    rho_t > 5 (torch's switch), and by lr (an unadapted momentum step) before."""
    beta2, lr = 0.95, 0.1
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RAdam([p], lr=lr, betas=(0.9, beta2), eps=1e-30)
    moves = []
    for _ in range(60):
        before = p.item()
        p.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
        moves.append((before - p.item()) / lr)
    moves = np.array(moves)
    t = np.arange(1, 61)
    on = radam_rho(t, beta2) > 5
    np.testing.assert_allclose(moves[on], radam_rectification(t, beta2)[on], rtol=1e-10)
    np.testing.assert_allclose(moves[~on], 1.0, rtol=1e-12)


def test_v_hat_noise_formula_matches_a_simulation():
    gen = np.random.default_rng(0)
    beta2, steps = 0.95, 60
    g = gen.standard_normal((steps, 20_000))
    _, v_hat, _ = adam_moments(g, beta2=beta2)
    sim = v_hat.std(axis=1)  # E[g^2] = 1: the relative std is the std
    np.testing.assert_allclose(sim, v_hat_relative_std(np.arange(1, steps + 1), beta2),
                               rtol=0.05)  # fmt: skip
    assert v_hat_relative_std(1) == pytest.approx(np.sqrt(2))


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.8, 0.95)])
def test_adam_moments_is_torch_adams_step(betas):
    """lr = 1: torch's Adam moves each coordinate by exactly u_t."""
    g = np.random.default_rng(1).standard_normal((50, 7)) * np.logspace(-6, 2, 7)
    p = torch.zeros(7, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1.0, betas=betas, eps=1e-8)
    moves = []
    for row in g:
        before = p.detach().clone()
        p.grad = torch.tensor(row)
        opt.step()
        moves.append((before - p.detach()).numpy())
    m_hat, v_hat, u = adam_moments(g, *betas, eps=1e-8)
    np.testing.assert_allclose(u, np.array(moves), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(v_hat[0], g[0] ** 2)  # one gradient: v_hat_1 = g_1^2
    np.testing.assert_allclose(m_hat[0], g[0])
    # so |u_1| = |g_1| / (|g_1| + eps): 1 to within eps / |g_1|, whatever the gradient's size
    np.testing.assert_allclose(np.abs(u[0]), np.abs(g[0]) / (np.abs(g[0]) + 1e-8))
    assert np.all(np.abs(np.abs(u[0]) - 1) < 1.01e-8 / np.abs(g[0]))


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="t must"):
        radam_rectification(0)
    with pytest.raises(ValueError, match="t must"):
        untuned_warmup(np.array([1.5]))
    with pytest.raises(ValueError, match="beta2"):
        untuned_warmup(1, beta2=1.0)
    with pytest.raises(ValueError, match="level"):
        first_step_reaching([0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="beta1"):
        adam_moments(np.ones((3, 2)), beta1=1.0)
    with pytest.raises(ValueError, match="gradients"):
        adam_moments(np.float64(1.0))
