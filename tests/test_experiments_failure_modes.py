"""Notebook 01's committed experiment (lrcourse.experiments.failure_modes): its layout, and a
slice of each part re-run here and compared with the data.

Tolerances come from re-making the whole experiment under other float kernels
(``tests/portability.py``'s settings): a limit 2/lambda_max measured along a healthy run moved
by at most 1.5% (5% allowed below), full-batch GD's by at most 0.1% (2% allowed). Chaotic
runs (lr 5 from a cold start, Adam at a constant lr) are compared by category only.
"""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse import experiments
from lrcourse.diagnose import diagnose
from lrcourse.experiments import failure_modes as fm


@pytest.fixture(scope="module")
def saved() -> experiments.Results:
    return experiments.load("failure_modes")


def test_layout(saved) -> None:
    R, N, K = len(fm.RUNS), len(fm.SEEDS), len(fm.CHECKPOINTS)
    assert [str(n) for n in saved["sharpness/names"]] == list(fm.RUNS)
    assert saved["sharpness/checkpoints"].tolist() == list(fm.CHECKPOINTS)
    assert saved["sharpness/limit"].shape == (R, N, K)
    assert saved["sharpness/lr"].shape == (R, fm.STEPS + 1)
    assert saved["sharpness/loss"].shape == (R, N, fm.STEPS)
    assert saved["edge/limit"].shape == (N, len(fm.EDGE_CHECKPOINTS))
    assert saved["edge/loss"].shape == (N, max(fm.EDGE_CHECKPOINTS) + 1)
    names = [str(n) for n in saved["oscillation/names"]]
    assert names == list(fm.OSC_RUNS)
    assert saved["oscillation/loss"].shape == (
        len(names),
        len(fm.OSC_SEEDS),
        fm.OSC_STEPS,
    )
    # A limit is measured exactly where the run had not yet diverged.
    died = saved["sharpness/diverged_at"]
    for r in range(R):
        for i in range(N):
            at = np.asarray(fm.CHECKPOINTS)
            alive = at >= 0 if died[r, i] < 0 else at < died[r, i]
            assert np.array_equal(np.isfinite(saved["sharpness/limit"][r, i]), alive)


def test_schedules_are_the_notebooks() -> None:
    warm = fm.schedule("lr 5, 500 warmup steps", 501)
    assert warm[0] == 0.0 and warm[250] == pytest.approx(2.5) and warm[500] == 5.0
    assert fm.schedule("lr 5, 100 warmup steps", 200)[100:].tolist() == [5.0] * 100
    assert set(fm.schedule("lr 5, cold start", 10)) == {5.0}


def test_sharpness_along_warmup_reproduces(saved) -> None:
    """A healthy run: the limit after 0, 25 and 100 steps of the 500-step warmup, seed 0."""
    checkpoints = (0, 25, 100)
    name = "lr 5, 500 warmup steps"
    fresh, _ = fm.limits_along(fm.schedule(name, 100), [0], checkpoints)
    r, cols = fm.RUNS.index(name), [fm.CHECKPOINTS.index(k) for k in checkpoints]
    np.testing.assert_allclose(
        fresh[0], saved["sharpness/limit"][r, 0, cols], rtol=0.05
    )


def test_cold_start_diverges_and_starts_above_its_limit(saved) -> None:
    """Chaotic after a few steps: its divergence is compared by category."""
    name = "lr 5, cold start"
    fresh, (run,) = fm.limits_along(fm.schedule(name, 100), [0], (0, 100))
    r = fm.RUNS.index(name)
    assert fresh[0, 0] == pytest.approx(saved["sharpness/limit"][r, 0, 0], rel=0.01)
    assert fresh[0, 0] < 5.0 / 2  # lr 5 is over twice the limit at step 0
    assert run.diverged and saved["sharpness/diverged_at"][r, 0] >= 0
    assert run.diverged_at < 75 and saved["sharpness/diverged_at"][r, 0] < 75


def test_edge_of_stability_slice_reproduces(saved) -> None:
    checkpoints = (0, 4, 10)
    lr = saved["edge/lr"][0]
    fresh, _ = fm.limits_along(np.full(10, lr), [0], checkpoints, batch_size=None)
    cols = [fm.EDGE_CHECKPOINTS.index(k) for k in checkpoints]
    np.testing.assert_allclose(fresh[0], saved["edge/limit"][0, cols], rtol=0.02)
    assert fresh[0, 1] < lr < fresh[0, 2]  # above the limit at step 4, below by step 10


def test_oscillation_slice_reproduces_by_category(saved) -> None:
    """Two seeds of each run: the verdicts (chaotic runs: at least one of two oscillates) and,
    for the runs that are not chaotic at the end, the validation loss."""
    seeds = (0, 1)
    fresh = fm.run_oscillation(seeds=seeds)
    names = list(fm.OSC_RUNS)
    kinds = {
        n: [diagnose(run).kind for run in fresh["loss"][names.index(n)]] for n in names
    }
    assert kinds["constant 0.01"].count("oscillating") >= 1, kinds
    assert kinds["cosine 0.01 -> 0.0001"] == ["healthy"] * 2, kinds
    assert kinds["constant 0.01, no weight decay"] == ["healthy"] * 2, kinds
    r = names.index("constant 0.01, no weight decay")
    np.testing.assert_allclose(
        fresh["val_loss"][r], saved["oscillation/val_loss"][r, : len(seeds)], rtol=0.02
    )


def test_claims_and_divergence_layout(saved) -> None:
    assert [str(n) for n in saved["claims/names"]] == list(fm.CLAIM_LRS)
    assert saved["claims/loss"].shape == (
        len(fm.CLAIM_LRS),
        len(fm.SEEDS),
        fm.CLAIM_STEPS,
    )
    assert saved["claims/train_acc"].shape == (len(fm.CLAIM_LRS), len(fm.SEEDS))
    assert [str(n) for n in saved["divergence/names"]] == list(fm.DIVERGENCE_RUNS)
    R, N = len(fm.DIVERGENCE_RUNS), len(fm.SEEDS)
    assert saved["divergence/loss"].shape == (R, N, fm.DIVERGENCE_STEPS)
    for r, name in enumerate(fm.DIVERGENCE_RUNS):
        assert np.array_equal(saved["divergence/lr"][r], fm.divergence_lrs(name))


def test_claims_slice_reproduces(saved) -> None:
    """Healthy runs: lr 0.1 and 0.01, seed 0, the first 500 steps, to 1e-3."""
    fresh = fm.run_claims({"lr 0.1": 0.1, "lr 0.01": 0.01}, seeds=(0,), steps=500)
    for r, name in enumerate(["lr 0.1", "lr 0.01"]):
        k = list(fm.CLAIM_LRS).index(name)
        np.testing.assert_allclose(
            fresh["loss"][r, 0], saved["claims/loss"][k, 0, :500], rtol=1e-3
        )


def test_divergence_slice_reproduces(saved) -> None:
    """lr 10 blows up within 20-40 steps (a category: the exact step is chaotic); lr 1,
    a healthy run, agrees to 1e-3 over 200 steps."""
    fresh = fm.run_divergence(("lr 10", "lr 1"), seeds=(0,), steps=200)
    assert 20 < fresh["diverged_at"][0, 0] < 40
    saved_at = saved["divergence/diverged_at"][0, 0]
    assert 20 < saved_at < 40
    k = list(fm.DIVERGENCE_RUNS).index("lr 1")
    np.testing.assert_allclose(
        fresh["loss"][1, 0], saved["divergence/loss"][k, 0, :200], rtol=1e-3
    )
