"""The fair comparison: grids of runs, the peak rule, paired verdicts, and the table."""

import math

import numpy as np
import pytest

from lrcourse.compare import (
    Grid,
    choose_peaks,
    format_table,
    sign_test_wins,
    verdict,
)
from lrcourse.schedules import SCHEDULES
from lrcourse.training import digits_task, train_grid

NAMES = ("constant", "cosine")
PEAKS = (0.05, 0.2)


@pytest.fixture(scope="module")
def grid() -> Grid:
    task = digits_task()
    lrs = {
        f"{n} @ {p:g}": SCHEDULES[n].lrs(peak=p, steps=40) for n in NAMES for p in PEAKS
    }
    runs = train_grid(task, lrs, [0, 1, 2], steps=40, eval_every=10, momentum=0.9)
    return Grid.from_runs(runs)


def toy_grid(train_loss: np.ndarray, val_loss: np.ndarray | None = None) -> Grid:
    """A grid of one schedule at len(train_loss) peaks, from given full-loss curves."""
    train_loss = np.asarray(train_loss, dtype=float)  # (P, N, E)
    P, N, E = train_loss.shape
    val = train_loss if val_loss is None else np.asarray(val_loss, dtype=float)
    return Grid(
        names=("cosine",),
        peaks=np.array([0.1 * 2**i for i in range(P)]),
        seeds=np.arange(N),
        eval_step=np.arange(E) * 10,
        train_loss=train_loss[None],
        val_loss=val[None],
        val_acc=np.zeros((1, P, N, E)),
        loss=np.zeros((1, P, N, 10 * (E - 1))),
        diverged_at=np.full((1, P, N), -1),
    )


def test_from_runs_lays_out_schedules_peaks_seeds(grid):
    assert grid.names == NAMES and grid.peaks.tolist() == list(PEAKS)
    assert grid.seeds.tolist() == [0, 1, 2] and grid.steps == 40
    assert grid.train_loss.shape == (2, 2, 3, 5) and grid.loss.shape == (2, 2, 3, 40)
    assert grid.eval_step.tolist() == [0, 10, 20, 30, 40]
    # every run starts from the seed's initial weights: the same loss at step 0
    assert np.allclose(grid.train_loss[..., 0], grid.train_loss[0, 0, :, 0])
    assert grid.index("cosine", 0.2) == (1, 1)
    assert grid.curves("constant", 0.05).shape == (3, 5)


def test_from_runs_rejects_incomplete_grids():
    task = digits_task()
    runs = train_grid(task, {"cosine @ 0.1": SCHEDULES["cosine"].lrs(peak=0.1, steps=5),
                             "constant @ 0.2": np.full(5, 0.2)}, [0], steps=5)  # fmt: skip
    with pytest.raises(ValueError, match="every schedule at every peak"):
        Grid.from_runs(runs)
    with pytest.raises(ValueError, match="labelled"):
        Grid.from_runs({"cosine": runs["cosine @ 0.1"]})


def test_final_metrics_and_divergence():
    g = toy_grid([[[2.0, 1.0, 0.5]], [[2.0, 5.0, 9.0]]])
    g.diverged_at[0, 1, 0] = 15
    assert g.final("train_loss")[0, :, 0].tolist() == [0.5, math.inf]
    assert math.isnan(g.final("val_acc")[0, 1, 0])
    with pytest.raises(ValueError, match="metric must be one of"):
        g.final("loss")
    with pytest.raises(ValueError, match="target must be given"):
        g.final("settle_step")


def test_settle_step_needs_the_loss_to_stay_below_the_target():
    curves = [[[2.0, 0.5, 0.05, 0.01, 0.01]],  # settles at step 20
              [[2.0, 0.01, 0.5, 0.02, 0.01]],  # dips at 10, climbs back, settles at 30
              [[2.0, 0.01, 0.01, 0.01, 0.5]],  # below, then above at the end: never
              [[2.0, 1.0, 0.5, 0.2, 0.1]]]  # fmt: skip
    settle = toy_grid(curves).settle_step(0.05)[0, :, 0]
    assert settle.tolist() == [20.0, 30.0, math.inf, math.inf]


def test_climb_measures_the_worst_rise_above_the_best_so_far():
    curves = [[[2.0, 1.0, 0.5, 0.25]], [[2.0, 0.1, 0.4, 0.05]]]
    climb = toy_grid(curves).climb()[0, :, 0]
    assert climb.tolist() == [1.0, 4.0]


def test_choose_peaks_takes_the_lowest_mean_and_counts_divergence_as_worst():
    val = np.array([[[1.0, 0.1, 0.5]], [[0.5, 0.5, 0.4]]]).transpose(
        0, 2, 1
    )  # (P=2, N=3, E=1)
    g = toy_grid(np.ones((2, 3, 1)), val)
    assert choose_peaks(g, "val_loss") == {"cosine": 0.2}  # means 0.53 vs 0.47
    assert choose_peaks(g, "val_loss", seeds=[1]) == {"cosine": 0.1}
    g.diverged_at[0, 1, 2] = 3
    assert choose_peaks(g, "val_loss") == {"cosine": 0.1}  # one diverged seed: inf mean
    with pytest.raises(ValueError, match="seeds must be a non-empty subset"):
        choose_peaks(g, "val_loss", seeds=[7])


def test_choose_peaks_breaks_ties_towards_the_smaller_peak():
    g = toy_grid(np.ones((3, 2, 2)))
    assert choose_peaks(g, "train_loss") == {"cosine": 0.1}


def test_sign_test_thresholds():
    assert [sign_test_wins(n) for n in (5, 10, 20)] == [5, 9, 15]
    assert sign_test_wins(3) == 4  # three seeds can never be convincing at 5%
    with pytest.raises(ValueError, match="alpha"):
        sign_test_wins(10, alpha=1.5)


def test_verdict_pairs_seeds_and_calls_ties():
    a = np.array([1.0, 1.1, 0.9, 1.0, 1.0])
    clear = verdict({"slow": a + 0.5, "fast": a}, what="steps")
    assert (clear.best, clear.runner_up, clear.wins, clear.clear) == (
        "fast",
        "slow",
        5,
        True,
    )
    assert "fast wins" in str(clear) and str(clear).startswith("steps: fast 1")
    tied = verdict({"x": a, "y": a[::-1] + np.array([0.0, 0.01, 0.0, -0.01, 0.0])})
    assert not tied.clear and "a tie" in str(tied)
    assert all(len(line) <= 88 for line in str(tied).splitlines())
    with pytest.raises(ValueError, match="at least 2"):
        verdict({"x": a})
    with pytest.raises(ValueError, match="one value per seed"):
        verdict({"x": a, "y": a[:3]})


def test_format_table_gives_median_and_range():
    table = format_table({"cosine": {"val loss": [0.1, 0.2, 0.3]},
                          "constant": {"val loss": [1.0, np.inf, 2.0]}})  # fmt: skip
    lines = table.splitlines()
    assert lines[0].split() == ["val", "loss"]
    assert lines[1].split() == ["cosine", "0.2", "(0.1-0.3)"]
    assert "1 of 3 inf" in lines[2]
