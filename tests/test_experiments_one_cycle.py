"""Notebook 06's committed data: laid out as a Grid, and what the code makes (a slice re-run).

Healthy runs agree to far better than 1e-3 between float kernels, so the slice compares
them at that tolerance; the chosen peaks (0.05 to 0.1) are healthy.
"""

import numpy as np
import pytest

from lrcourse import experiments
from lrcourse.compare import Grid
from lrcourse.experiments import one_cycle


@pytest.fixture(scope="module")
def saved() -> Grid:
    return Grid.from_results(experiments.load("one_cycle"), one_cycle.STEPS)


def test_layout(saved):
    results = experiments.load("one_cycle")
    assert saved.names == one_cycle.NAMES
    assert saved.peaks.tolist() == list(one_cycle.PEAKS)
    assert saved.seeds.tolist() == list(one_cycle.SEEDS)
    assert (
        results.meta["budgets"] == [one_cycle.STEPS] and saved.steps == one_cycle.STEPS
    )
    assert results.meta["momentum_cycle"] == one_cycle.MOMENTUM_CYCLE
    assert saved.eval_step[-1] == one_cycle.STEPS


def test_slice_reproduces(saved):
    """Two seeds of 1cycle with and without the momentum cycle at 0.1, re-run here."""
    names = ("1cycle", "1cycle + momentum")
    fresh = one_cycle.run_grid(names=names, peaks=(0.1,), seeds=(0, 1))
    for k, name in enumerate(names):
        i, j = saved.index(name, 0.1)
        for key in ("train_loss", "val_loss"):
            np.testing.assert_allclose(
                fresh[key][k, 0], getattr(saved, key)[i, j, :2], rtol=1e-3, err_msg=name
            )
    # the two differ: cycling the momentum changes the run
    assert not np.allclose(
        fresh["train_loss"][0, 0], fresh["train_loss"][1, 0], rtol=1e-2
    )


def test_the_cycled_runs_follow_one_cycle_momentum():
    spec = one_cycle.specs("1cycle + momentum", 0.1, 300)
    assert spec["momentum"][0] == 0.95 and spec["momentum"].min() == 0.85
    assert np.argmin(spec["momentum"]) == np.argmax(spec["lr"])
    assert isinstance(one_cycle.specs("1cycle", 0.1, 300), np.ndarray)
