"""Committed experiment data: present, loadable, and what the code makes (a slice re-run).

The slices compare at tolerances that hold on any CPU: a healthy run's losses agree to far
better than 1e-3 between float kernels; a run near instability is compared by category
(did it climb, did it diverge), never by its chaotic values.
"""

import numpy as np
import pytest

from lrcourse import experiments
from lrcourse.compare import Grid
from lrcourse.experiments import five_schedules


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_every_experiment_has_committed_data(name):
    results = experiments.load(name)
    assert results.arrays and results.meta["made"] and results.meta["torch"]
    assert experiments.module(name).ABOUT


def test_load_names_the_missing_file_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "DATA", tmp_path)
    with pytest.raises(FileNotFoundError, match="make experiments"):
        experiments.load("five_schedules")
    with pytest.raises(ValueError, match="name must be one of"):
        experiments.load("nothing")


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "DATA", tmp_path)
    experiments.save("five_schedules", {"x": np.arange(3.0)}, {"k": 1})
    back = experiments.load("five_schedules")
    assert back["x"].tolist() == [0.0, 1.0, 2.0] and back.meta["k"] == 1
    with pytest.raises(ValueError, match="key must be one of"):
        back["y"]


@pytest.fixture(scope="module")
def saved() -> Grid:
    return Grid.from_results(experiments.load("five_schedules"), 300)


def test_five_schedules_layout(saved):
    results = experiments.load("five_schedules")
    assert saved.names == five_schedules.LESSON_SCHEDULES
    assert saved.peaks.tolist() == list(five_schedules.PEAKS)
    assert saved.seeds.tolist() == list(five_schedules.SEEDS)
    assert results.meta["budgets"] == list(five_schedules.BUDGETS)
    for budget in five_schedules.BUDGETS:
        g = Grid.from_results(results, budget)
        assert g.steps == budget and g.eval_step[-1] == budget


def test_five_schedules_slice_reproduces(saved):
    """Two seeds of a healthy cell and of a near-unstable one, re-run here."""
    fresh = five_schedules.run_grid(
        300, names=("cosine",), peaks=(0.05, 0.4), seeds=(0, 1)
    )
    i, j = saved.index("cosine", 0.05)
    # healthy: every full-batch loss agrees to 1e-3 (float kernels differ by ~1e-6 here)
    np.testing.assert_allclose(
        fresh["train_loss"][0, 0], saved.train_loss[i, j, :2], rtol=1e-3
    )
    np.testing.assert_allclose(
        fresh["val_loss"][0, 0], saved.val_loss[i, j, :2], rtol=1e-3
    )
    # near instability at 0.4: in both, the loss climbs far back above its best, and no run
    # diverges; the values themselves are chaotic and are not compared
    _, j4 = saved.index("cosine", 0.4)
    low = np.fmin.accumulate(fresh["train_loss"][0, 1], axis=-1)
    assert (np.max(fresh["train_loss"][0, 1] / low, axis=-1) > 3).all()
    assert (saved.climb()[i, j4, :2] > 3).all()
    assert (fresh["diverged_at"][0, 1] < 0).all() and (
        saved.diverged_at[i, j4, :2] < 0
    ).all()


def test_five_schedules_rise_controls_reproduce():
    """At lr 0.4 with momentum, batch 64 climbs back up and its weights grow; batch 256
    falls steadily: the saved finding, re-run for one seed."""
    fresh = five_schedules.run_rise(300, seeds=(0,), batches=(64, 256))
    saved = experiments.load("five_schedules")
    small, large = fresh["train_loss"][0, 0], fresh["train_loss"][1, 0]
    stage = int(saved["rise/stage_end"]) // five_schedules.EVAL_EVERY  # the first cut
    first = small[1 : stage + 1]
    assert first.max() > 3 * first.min(), "batch 64 at lr 0.4 no longer climbs"
    assert np.all(np.diff(large[1:]) < 1e-4), (
        "batch 256 at lr 0.4 no longer falls steadily"
    )
    np.testing.assert_allclose(large, saved["rise/train_loss"][1, 0], rtol=1e-2)
    grew = fresh["weight_norm_stage_end"][:, 0] / fresh["weight_norm_start"][:, 0]
    assert grew[0] > 2 * grew[1], "small batches no longer grow the weights faster"
