"""Notebook 08's committed data: its layout, and what the code makes (a slice re-run).

The sweeps' suggestions are robust (a 1e-6 change of the weights moves none of them), so
a re-run must give the same ones; the healthy training runs (lr <= 0.13) agree to far
better than 1e-3 between float kernels. Runs at the steepest suggestion (0.14 to 0.29) are
near instability and are not compared by value.
"""

import numpy as np
import pytest

from lrcourse import experiments
from lrcourse.experiments import lr_range
from lrcourse.training import digits_task, train


@pytest.fixture(scope="module")
def saved():
    return experiments.load("lr_range")


def test_layout(saved):
    n, k = len(lr_range.SEEDS), len(lr_range.SUGGESTIONS)
    assert saved["lrs_grid"].tolist() == list(lr_range.LRS)
    assert saved["seeds"].tolist() == list(lr_range.SEEDS)
    for setting in lr_range.SWEEPS:
        assert saved[f"{setting}/suggested"].shape == (n, k)
        assert saved[f"{setting}/lrs"].shape == saved[f"{setting}/losses"].shape
        assert saved[f"{setting}/stopped_at"].shape == (n,)
    assert saved["grid/val_loss"].shape == (len(lr_range.LRS), n)
    assert (
        saved["tried/val_loss"].shape
        == saved["tried no momentum/val_loss"].shape
        == (n, k)
    )
    assert saved.meta["suggestions"] == list(lr_range.SUGGESTIONS)


@pytest.mark.parametrize("setting", list(lr_range.SWEEPS))
def test_a_sweep_reproduces(saved, setting):
    result = lr_range.sweep(1, setting)
    got = [result.suggestions[s].lr for s in lr_range.SUGGESTIONS]
    np.testing.assert_allclose(got, saved[f"{setting}/suggested"][1], rtol=1e-9)
    assert result.stopped_at == saved[f"{setting}/stopped_at"][1]
    a, b = result.window
    np.testing.assert_allclose(
        result.losses[:b], saved[f"{setting}/losses"][1, :b], rtol=1e-4
    )


def test_healthy_training_runs_reproduce(saved):
    """Seed 0 at its minimum/10 and valley suggestions, and at lr 0.03."""
    sug = saved["default/suggested"][0]
    picks = [lr_range.SUGGESTIONS.index(s) for s in ("minimum/10", "valley")]
    lrs = [float(sug[i]) for i in picks] + [0.03]
    runs = train(digits_task(), np.tile(lrs, (lr_range.STEPS, 1)), steps=lr_range.STEPS,
                 seeds=[0, 0, 0], eval_every=lr_range.STEPS, **lr_range.PROTOCOL)  # fmt: skip
    want = [saved["tried/val_loss"][0, i] for i in picks]
    want.append(saved["grid/val_loss"][list(lr_range.LRS).index(0.03), 0])
    np.testing.assert_allclose([r.final_val_loss for r in runs], want, rtol=1e-3)


def test_course_setup_is_the_trainers_member(saved):
    """The sweep's model is the trainer's member of the same seed: same initial weights."""
    model, _, batches = lr_range.course_setup(3)
    (h,) = train(digits_task(), 0.0, steps=1, seeds=3)
    W0 = model[0].weight.detach().T
    assert np.array_equal(W0.numpy(), h.params[0].numpy())
    assert len(batches) == 23 and batches[-1][0].shape[0] == 32
