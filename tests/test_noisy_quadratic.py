"""Noisy SGD on a quadratic valley: the noise-floor formula, the exact expectation, and the
simulation against both; notebook 02's seeded numbers as regression guards."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse import noisy_quadratic as nq

H = np.array(nq.CURVATURES)
SIGMA = np.array(nq.NOISE)


def test_noise_floor_is_the_formula_and_proportional_to_small_lrs():
    for lr in (0.0, 0.01, 0.3, 1.5):
        expected = sum(
            lr * s**2 / (2 * (2 - lr * h)) for h, s in zip(H, SIGMA, strict=True)
        )
        assert nq.noise_floor(lr) == pytest.approx(expected, rel=1e-15)
    # lr h << 2: F(lr) -> lr * sum(sigma^2) / 4, so doubling the lr doubles the floor.
    assert nq.noise_floor(1e-6) == pytest.approx(1e-6 * np.sum(SIGMA**2) / 4, rel=1e-6)
    assert nq.noise_floor(2e-6) / nq.noise_floor(1e-6) == pytest.approx(2, rel=1e-6)
    # Isotropic noise: every direction holds the same share, whatever its curvature.
    iso = nq.noise_floor(1e-6, curvatures=(0.01, 1.0), noise=1.0)
    assert iso == pytest.approx(2 * 1e-6 / 4, rel=1e-6)


def test_expected_loss_without_noise_is_gradient_descent():
    lr, steps = 0.3, 40
    got = nq.expected_loss(np.full(steps, lr), noise=0.0)
    t = np.arange(steps + 1)[:, None]
    start = np.array(nq.START)
    exact = np.sum(0.5 * H * start**2 * (1 - lr * H) ** (2 * t), axis=1)
    np.testing.assert_allclose(got, exact, rtol=1e-12)
    assert got[0] == pytest.approx(float(nq.loss(nq.START)))


def test_expected_loss_settles_on_the_noise_floor_and_batches_schedules():
    steps = 3000
    table = np.stack([np.full(steps, 0.05), np.full(steps, 0.8)], axis=1)
    both = nq.expected_loss(table)
    assert both.shape == (steps + 1, 2)
    for k, lr in enumerate((0.05, 0.8)):
        np.testing.assert_array_equal(both[:, k], nq.expected_loss(table[:, k]))
        assert both[-1, k] == pytest.approx(nq.noise_floor(lr), rel=1e-9)


def test_simulate_without_noise_is_gradient_descent_for_every_walker():
    lrs = np.r_[np.full(30, 0.5), np.full(30, 0.05)]
    walk = nq.simulate(lrs, walkers=7, seed=3, noise=0.0)
    np.testing.assert_allclose(
        walk.mean_loss[:, 0], nq.expected_loss(lrs, noise=0.0), rtol=1e-12
    )
    assert np.ptp(walk.final[0], axis=0).max() == 0  # all walkers took the same path
    np.testing.assert_array_equal(walk.path[-1, 0], walk.final[0, 0])


def test_simulate_matches_the_expectation_and_the_floor():
    lrs = np.r_[np.full(200, 0.5), np.full(300, 0.05)]
    walk = nq.simulate(lrs, walkers=4000, seed=11)
    exact = nq.expected_loss(lrs)
    # Averages over windows of steps, where 4000 walkers leave ~1% of noise.
    for window in (slice(100, 200), slice(205, 225), slice(400, 500)):
        got, want = walk.mean_loss[window, 0].mean(), exact[window].mean()
        assert got == pytest.approx(want, rel=0.04), window
    assert walk.mean_loss[100:200, 0].mean() == pytest.approx(
        nq.noise_floor(0.5), rel=0.04
    )


def test_simulate_is_seeded_and_schedules_share_their_noise():
    lrs = np.stack([np.full(50, 0.5), np.full(50, 0.1)], axis=1)
    a = nq.simulate(lrs, walkers=20, seed=5)
    b = nq.simulate(lrs, walkers=20, seed=5)
    np.testing.assert_array_equal(a.mean_loss, b.mean_loss)
    assert not np.array_equal(
        a.mean_loss, nq.simulate(lrs, walkers=20, seed=6).mean_loss
    )
    # A schedule's walk does not depend on the schedules run beside it.
    alone = nq.simulate(lrs[:, 1], walkers=20, seed=5)
    np.testing.assert_array_equal(alone.mean_loss[:, 0], a.mean_loss[:, 1])
    np.testing.assert_array_equal(alone.final[0], a.final[1])
    assert a.path.shape == (51, 2, 2) and a.final.shape == (2, 20, 2)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: nq.noise_floor(2.0), "lr"),  # 2 / h_y: the stability limit
        (lambda: nq.noise_floor(-0.1), "lr"),
        (lambda: nq.noise_floor(0.1, curvatures=(0.1, 0.0)), r"curvatures\[1\]"),
        (lambda: nq.noise_floor(0.1, curvatures=()), "curvatures"),
        (lambda: nq.noise_floor(0.1, noise=-1.0), "noise"),
        (lambda: nq.noise_floor(0.1, noise=(1.0, 1.0, 1.0)), "noise"),
        (lambda: nq.expected_loss(np.ones((3, 2, 2))), "lrs"),
        (lambda: nq.expected_loss(np.array([])), "lrs"),
        (lambda: nq.expected_loss([0.1, -0.1]), "lrs"),
        (lambda: nq.expected_loss([0.1], start=(1.0,)), "start"),
        (lambda: nq.simulate([0.1, np.nan]), "lrs"),
        (lambda: nq.simulate([0.1], walkers=0), "walkers"),
        (lambda: nq.simulate([0.1], seed=-1), "seed"),
        (lambda: nq.simulate([0.1], start=(0.0, np.inf)), "start"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


# --- Notebook 02's seeded numbers, pinned: a change in the simulation shows up here first.
# (The notebook itself checks only its claims.) numpy's seeded normals are the same on every
# machine; only the last bits of the sums may differ.


def test_notebook_02_floors():
    lrs = [0.05, 0.1, 0.2, 0.5, 1.0]
    floors = nq.simulate(np.tile(lrs, (900, 1)), walkers=1000, seed=1, start=(0.0, 0.0))
    measured = floors.mean_loss[300:].mean(axis=0)
    expected = [0.01394348, 0.02863798, 0.06029636, 0.17877293, 0.524681]
    np.testing.assert_allclose(measured, expected, rtol=1e-6)


def test_notebook_02_cut():
    t = np.arange(500)
    table = np.stack(
        [np.full(500, 0.5), np.full(500, 0.05), np.where(t < 250, 0.5, 0.05)], 1
    )
    mean = nq.simulate(table, walkers=1000, seed=0).mean_loss
    low = nq.noise_floor(0.05)
    got = [mean[150:251, 2].mean() / nq.noise_floor(0.5), mean[270, 2] / low]
    got += [mean[350, 2] / low, mean[500, 2] / low, mean[500, 1] / low]
    np.testing.assert_allclose(
        got, [1.00199044, 3.19934882, 1.38556438, 1.06769861, 3.37592274], rtol=1e-6
    )
