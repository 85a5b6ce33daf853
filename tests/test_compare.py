"""lrcourse.compare: the budget/peak mapping, statistics over seeds, ranking, and a real slice.

The last test re-runs a small slice of notebook 07's experiment (2 schedules x 2 peaks x 2
seeds at its 300-step budget) and checks the directions the notebook states.
"""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lrcourse.compare import (  # noqa: E402
    Cell,
    format_table,
    grid_lrs,
    head_to_head,
    parse_label,
    plot_final_vs_peak,
    rank,
    run_label,
    scaled_kwargs,
    scaled_schedule,
    summarize,
    verdict,
)
from lrcourse.course.plotting import plot_loss_bands  # noqa: E402
from lrcourse.schedules import (  # noqa: E402
    LESSON_SCHEDULES,
    constant_schedule,
    cosine_schedule,
    one_cycle_schedule,
    step_decay_schedule,
    warmup_cosine_schedule,
)
from lrcourse.training.train import History  # noqa: E402

NAMES = list(LESSON_SCHEDULES)


# --- schedules scaled to a budget and a peak --------------------------------------------------


@pytest.mark.parametrize(("steps", "peak"), [(300, 0.3), (100, 0.1), (1000, 1e-3), (7, 2.0)])
def test_scaled_schedules_are_the_schedules_called_directly(steps, peak):
    t = np.arange(steps)
    third, tenth = math.ceil(steps / 3), round(steps / 10)
    expected = {
        "constant": constant_schedule(t, lr=peak),
        "step decay": step_decay_schedule(t, lr=peak, drop_factor=0.1, drop_every=third),
        "cosine": cosine_schedule(t, lr_max=peak, lr_min=peak / 100, total_steps=steps),
        "warmup + cosine": warmup_cosine_schedule(
            t, lr_max=peak, lr_min=peak / 100, warmup_steps=tenth, total_steps=steps
        ),
        "1cycle": one_cycle_schedule(t, lr_max=peak, total_steps=steps),
    }
    for name in NAMES:
        got = scaled_schedule(name, peak=peak, steps=steps)
        assert got.shape == (steps,)
        np.testing.assert_allclose(got, expected[name], rtol=1e-14, atol=0)


def test_scaled_kwargs_numbers():
    assert scaled_kwargs("constant", peak=0.3, steps=300) == {"lr": 0.3}
    assert scaled_kwargs("step decay", peak=0.3, steps=300)["drop_every"] == 100
    assert scaled_kwargs("step decay", peak=0.3, steps=100)["drop_every"] == 34
    kw = scaled_kwargs("warmup + cosine", peak=0.3, steps=300)
    assert kw["warmup_steps"] == 30 and kw["total_steps"] == 300
    assert kw["lr_min"] == pytest.approx(0.003, rel=1e-15)
    assert scaled_kwargs("1cycle", peak=0.3, steps=300) == {"lr_max": 0.3, "total_steps": 300}


def test_the_lessons_run_maps_to_the_lessons_defaults():
    """At the lesson's 1000 steps and peak 1e-3, cosine and warmup + cosine are the defaults."""
    t = np.arange(1000)
    np.testing.assert_array_equal(
        scaled_schedule("cosine", peak=1e-3, steps=1000), cosine_schedule(t)
    )
    np.testing.assert_array_equal(
        scaled_schedule("warmup + cosine", peak=1e-3, steps=1000), warmup_cosine_schedule(t)
    )
    # Step decay: three stages. The lesson's drop_every=333 adds a fourth level at step 999.
    ours = scaled_schedule("step decay", peak=1e-3, steps=1000)
    assert list(np.flatnonzero(np.diff(ours)) + 1) == [334, 668]
    lesson = step_decay_schedule(t, lr=1e-3, drop_every=333)
    assert list(np.flatnonzero(np.diff(lesson)) + 1) == [333, 666, 999]


@pytest.mark.parametrize("steps", [3, 10, 100, 300, 1001])
@pytest.mark.parametrize("name", NAMES)
def test_every_scaled_schedule_peaks_at_peak(name, steps):
    lrs = scaled_schedule(name, peak=0.3, steps=steps)
    assert lrs.max() == pytest.approx(0.3, rel=1e-12) or name == "1cycle"
    assert lrs.max() <= 0.3 * (1 + 1e-12) and (lrs >= 0).all()
    if name in ("cosine", "warmup + cosine"):
        assert lrs[-1] >= 0.003 and lrs[-1] < 0.3
    if name == "step decay" and steps >= 100:
        assert np.allclose(np.unique(lrs), [0.003, 0.03, 0.3])


def test_labels_and_grid():
    assert run_label("cosine", 0.3) == "cosine @ 0.3"
    assert parse_label("warmup + cosine @ 0.03") == ("warmup + cosine", 0.03)
    grid = grid_lrs(["constant", "1cycle"], [0.1, 0.3], 50)
    assert list(grid) == ["constant @ 0.1", "1cycle @ 0.1", "constant @ 0.3", "1cycle @ 0.3"]
    np.testing.assert_array_equal(
        grid["1cycle @ 0.3"], scaled_schedule("1cycle", peak=0.3, steps=50)
    )
    for label in grid:
        assert run_label(*parse_label(label)) == label


# --- synthetic Histories with known statistics ------------------------------------------------


def fake_history(
    label: str,
    seed: int,
    final: float,
    *,
    val: float = 0.1,
    acc: float = 0.95,
    hit: int | None = None,
    steps: int = 100,
    diverged_at: int | None = None,
) -> History:
    """A History whose full train loss is 2.3 until ``hit`` (then 0.01), ending at ``final``."""
    eval_step = np.arange(0, steps + 1, 10)
    train_loss = np.full(eval_step.size, 2.3)
    if hit is not None:
        train_loss[eval_step >= hit] = 0.01
    train_loss[-1] = final
    if diverged_at is not None:
        keep = eval_step <= diverged_at
        eval_step, train_loss = eval_step[keep], train_loss[keep]
    n = eval_step.size
    return History(
        loss=np.full(steps if diverged_at is None else diverged_at + 1, 1.0),
        lr=np.zeros(steps),
        grad_norm=np.zeros(steps),
        eval_step=eval_step,
        train_loss=train_loss,
        val_loss=np.full(n, val),
        val_acc=np.full(n, acc),
        wall_time=0.0,
        diverged_at=diverged_at,
        config={"label": label, "seed": seed, "steps": steps},
        params=[],
    )


def grid_of(values: dict[tuple[str, float], list[float]], **kwargs) -> dict[str, list[History]]:
    return {
        run_label(n, p): [fake_history(run_label(n, p), s, v, **kwargs) for s, v in enumerate(vs)]
        for (n, p), vs in values.items()
    }


def test_summary_statistics():
    runs = grid_of({("constant", 0.1): [1.0, 2.0, 3.0], ("constant", 0.3): [4.0, 4.0, 4.0]})
    comparison = summarize(runs, target=0.05)
    c = comparison.cell("constant", 0.1)
    assert c.mean("train_loss") == 2.0 and c.std("train_loss") == 1.0  # sample std, ddof 1
    assert c.mean("train_loss", seeds=[0, 2]) == 2.0 and c.std("train_loss", seeds=[2]) == 0.0
    assert c.seeds == (0, 1, 2) and c.steps == 100 and c.reached == 0
    assert math.isnan(c.mean("steps_to_target"))
    assert comparison.names == ("constant",) and comparison.peaks == (0.1, 0.3)
    assert comparison.steps == 100 and comparison.target == 0.05


def test_steps_to_target_counts_only_seeds_that_reached_it():
    runs = {
        "cosine @ 0.1": [
            fake_history("cosine @ 0.1", 0, 0.001, hit=30),
            fake_history("cosine @ 0.1", 1, 0.001, hit=50),
            fake_history("cosine @ 0.1", 2, 3.0),  # never below the target
        ]
    }
    c = summarize(runs, target=0.05).cell("cosine", 0.1)
    assert c.reached == 2 and c.mean("steps_to_target") == 40.0
    assert c.std("steps_to_target") == pytest.approx(math.sqrt(200))
    assert "40 ± 14 (2/3)" in format_table([c])


def test_a_diverged_run_counts_as_inf():
    runs = {
        "constant @ 1": [
            fake_history("constant @ 1", 0, 0.5),
            fake_history("constant @ 1", 1, 0.5, diverged_at=30),
        ]
    }
    c = summarize(runs, target=0.05).cell("constant", 1.0)
    assert c.diverged == 1 and c.values("train_loss")[1] == math.inf
    assert c.mean("train_loss") == math.inf and math.isnan(c.std("train_loss"))
    assert math.isnan(c.values("val_acc")[1]) and c.mean("val_acc") == 0.95
    assert " inf " in format_table([c]) + " "


def test_select_peaks_rule_ties_and_subsets():
    runs = grid_of(
        {
            ("constant", 0.1): [1.0, 1.0, 1.0],
            ("constant", 0.3): [0.5, 0.5, 6.0],  # lower on seeds 0-1, higher mean
            ("cosine", 0.1): [2.0, 2.0, 2.0],
            ("cosine", 0.3): [2.0, 2.0, 2.0],  # a tie: the smaller peak
        }
    )
    comparison = summarize(runs, target=0.05)
    assert comparison.select_peaks("train_loss") == {"constant": 0.1, "cosine": 0.1}
    assert comparison.select_peaks("train_loss", seeds=[0, 1]) == {"constant": 0.3, "cosine": 0.1}
    picks = comparison.select_peaks()
    assert [c.label for c in comparison.chosen(picks)] == ["constant @ 0.1", "cosine @ 0.1"]
    assert comparison.rankings("train_loss") == {
        0.1: ["constant", "cosine"],
        0.3: ["cosine", "constant"],
    }
    table = comparison.grid_table("train_loss")
    assert table.splitlines()[1].split()[:3] == ["constant", "1", "±"]


def test_accuracy_is_better_higher():
    a = summarize(grid_of({("constant", 0.1): [1, 1]}, acc=0.9), target=0.05).cell("constant", 0.1)
    b = summarize(grid_of({("cosine", 0.1): [1, 1]}, acc=0.8), target=0.05).cell("cosine", 0.1)
    assert [c.name for c in rank([b, a], "val_acc")] == ["constant", "cosine"]
    assert [c.name for c in rank([a, b], "val_loss")] == ["constant", "cosine"]  # stable tie
    assert head_to_head(a, b, "val_acc") == (2, 2) and head_to_head(b, a, "val_acc") == (0, 2)


def make_cell(name: str, values, steps=None) -> Cell:
    values = np.asarray(values, dtype=float)
    steps = np.full(values.size, np.nan) if steps is None else np.asarray(steps, dtype=float)
    return Cell(
        name=name,
        peak=0.1,
        steps=100,
        target=0.05,
        seeds=tuple(range(values.size)),
        train_loss=values,
        val_loss=values,
        val_acc=values,
        steps_to_target=steps,
        diverged=0,
    )


def test_head_to_head_is_paired_by_seed():
    a = make_cell("cosine", [1.0, 2.0, 3.0, 4.0])
    b = make_cell("constant", [1.5, 1.5, 3.5, 4.0])
    assert head_to_head(a, b, "train_loss") == (2, 4)  # seed 3 is a tie: no win
    assert head_to_head(b, a, "train_loss") == (1, 4)
    fast = make_cell("cosine", [1, 1, 1], steps=[10, np.nan, np.nan])
    slow = make_cell("constant", [1, 1, 1], steps=[20, 30, np.nan])
    assert head_to_head(fast, slow, "steps_to_target") == (1, 2)  # seed 2: both missed
    assert head_to_head(slow, fast, "steps_to_target") == (1, 2)  # seed 1: only slow reached
    assert [c.name for c in rank([fast, slow], "steps_to_target")] == ["constant", "cosine"]


def test_verdict_within_spread_or_clear():
    noisy = verdict(
        [make_cell("cosine", [1.0, 3.0]), make_cell("constant", [1.5, 3.5])], "train_loss"
    )
    assert noisy.best.name == "cosine" and noisy.wins == 2 and noisy.within_spread
    assert not noisy.clear and "within one std" in str(noisy)
    clear = verdict(
        [make_cell("constant", [5.0, 5.1]), make_cell("cosine", [1.0, 1.1])], "train_loss"
    )
    assert clear.best.name == "cosine" and clear.runner_up.name == "constant"
    assert clear.gap == pytest.approx(4.0) and clear.clear and "exceeds one std" in str(clear)
    # A gap of exactly one std is within it (means 1 and 2, both stds 1).
    edge = verdict(
        [make_cell("cosine", [0.0, 1.0, 2.0]), make_cell("constant", [1, 2, 3])], "train_loss"
    )
    assert edge.gap == edge.spread == 1.0 and edge.within_spread and not edge.clear
    # A lopsided gap that still loses on one seed is not clear.
    mixed = verdict(
        [make_cell("cosine", [0.0, 0.0, 9.0]), make_cell("constant", [5, 5, 5])], "train_loss"
    )
    assert mixed.wins == 2 and not mixed.clear


def test_format_table_columns():
    runs = grid_of({("constant", 0.1): [0.00123, 0.00125]}, hit=40)
    c = summarize(runs, target=0.03).cell("constant", 0.1)
    full, short = format_table([c]), format_table([c], steps=False)
    assert full.splitlines()[0].split()[-3:] == ["steps", "to", "0.03"]
    assert "0.00124 ± 1.4e-05" in full and "40 ± 0 (2/2)" in full
    assert "steps to" not in short and len(short.splitlines()) == 2


# --- figures ----------------------------------------------------------------------------------


def test_plot_loss_bands_draws_mean_and_band():
    runs = {
        "cosine (peak 0.3)": [fake_history("x", s, 0.01, hit=20) for s in range(3)],
        "constant (peak 0.1)": [
            fake_history("y", 0, 0.02),
            fake_history("y", 1, 0.02, diverged_at=40),  # shorter: the mean uses the others
        ],
    }
    fig, ax = plt.subplots()
    plot_loss_bands(runs, ax=ax, title="t")
    assert [line.get_label() for line in ax.get_lines()] == list(runs)
    assert ax.get_lines()[0].get_color() == "#2166ac"  # the course's colour for cosine
    assert len(ax.collections) == 2 and ax.get_yscale() == "log"
    assert "loss" in ax.get_ylabel() and ax.get_xlabel() == "step"
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata()[-1], 0.02)
    plt.close(fig)


def test_plot_final_vs_peak_rings_the_picks():
    runs = grid_of({(n, p): [0.1 * p, 0.2 * p] for n in ("constant", "cosine") for p in (0.1, 0.3)})
    comparison = summarize(runs, target=0.05)
    fig, ax = plt.subplots()
    plot_final_vs_peak(comparison, ax=ax, picks={"cosine": 0.3})
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "peak learning rate" in ax.get_xlabel() and "final train loss" in ax.get_ylabel()
    ring = [line for line in ax.get_lines() if line.get_markerfacecolor() == "none"]
    assert len(ring) == 1 and ring[0].get_xdata()[0] == 0.3
    plt.close(fig)


def test_plot_final_vs_peak_leaves_a_diverged_seed_out():
    runs = {
        "constant @ 0.1": [fake_history("c", 0, 0.5), fake_history("c", 1, 0.7)],
        "constant @ 1": [fake_history("c", 0, 0.5), fake_history("c", 1, 0.5, diverged_at=30)],
    }
    comparison = summarize(runs, target=0.05)
    assert comparison.cell("constant", 1.0).mean("train_loss") == math.inf
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_final_vs_peak(comparison, ax=ax)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.6, 0.5])
    plt.close(fig)


# --- bad input: ValueError naming the parameter -----------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: scaled_kwargs("linear", peak=0.1, steps=100), "name"),
        (lambda: scaled_kwargs("cosine", peak=0.0, steps=100), "peak"),
        (lambda: scaled_kwargs("cosine", peak=-1.0, steps=100), "peak"),
        (lambda: scaled_kwargs("cosine", peak=math.nan, steps=100), "peak"),
        (lambda: scaled_kwargs("cosine", peak=True, steps=100), "peak"),
        (lambda: scaled_kwargs("1cycle", peak=0.1, steps=2), "steps"),
        (lambda: scaled_kwargs("constant", peak=0.1, steps=2.5), "steps"),
        (lambda: scaled_schedule("constant", peak=0.1, steps=0), "steps"),
        (lambda: grid_lrs([], [0.1], 100), "names"),
        (lambda: grid_lrs(["cosine"], [], 100), "peaks"),
        (lambda: grid_lrs(["cosine"], [0.1, 0.1], 100), "peaks"),
        (lambda: grid_lrs(["cosine", "sgdr"], [0.1], 100), "name"),
        (lambda: parse_label("cosine 0.3"), "label"),
        (lambda: parse_label("cosine @ fast"), "label"),
        (lambda: summarize({}, target=0.1), "runs"),
        (lambda: summarize(grid_of({("cosine", 0.1): [1.0]}), target=0.0), "target"),
        (lambda: summarize({"cosine @ 0.1": []}, target=0.1), "runs"),
        (lambda: make_cell("cosine", [1.0]).values("loss"), "metric"),
        (lambda: make_cell("cosine", [1.0]).values("train_loss", seeds=[7]), "seeds"),
        (lambda: make_cell("cosine", [1.0]).values("train_loss", seeds=[]), "seeds"),
        (lambda: verdict([make_cell("cosine", [1.0])], "train_loss"), "cells"),
        (lambda: rank([], "train_loss"), "cells"),
        (
            lambda: head_to_head(make_cell("a", [1.0]), make_cell("b", [1.0, 2.0]), "train_loss"),
            "a and b",
        ),
        (lambda: format_table([]), "cells"),
        (lambda: plot_loss_bands({}), "runs"),
        (
            lambda: plot_final_vs_peak(
                summarize(grid_of({("cosine", 0.1): [1.0]}), target=0.1), picks={"cosine": 0.3}
            ),
            "picks",
        ),
        (
            lambda: plot_final_vs_peak(
                summarize(grid_of({("cosine", 0.1): [1.0]}), target=0.1), metric="val_acc"
            ),
            "metric",
        ),
        (lambda: plot_loss_bands({"x": [fake_history("x", 0, 1.0)]}, metric="val_acc"), "metric"),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        call()


def test_summarize_rejects_an_incomplete_or_inconsistent_grid():
    runs = grid_of({("constant", 0.1): [1.0], ("cosine", 0.3): [1.0]})
    with pytest.raises(ValueError, match=r"^runs must cover every schedule at every peak"):
        summarize(runs, target=0.05)
    runs = grid_of({("constant", 0.1): [1.0, 1.0]})
    runs.update(grid_of({("cosine", 0.1): [1.0]}))
    with pytest.raises(ValueError, match=r"^runs must share one list of seeds"):
        summarize(runs, target=0.05)
    with pytest.raises(ValueError, match=r"^steps must match"):
        summarize(grid_of({("constant", 0.1): [1.0]}), target=0.05, steps=50)
    comparison = summarize(grid_of({("constant", 0.1): [1.0]}), target=0.05)
    with pytest.raises(ValueError, match=r"^peak must be one of"):
        comparison.cell("constant", 0.3)
    with pytest.raises(ValueError, match=r"^picks must name"):
        comparison.chosen({"cosine": 0.1})


# --- a real slice of notebook 07 --------------------------------------------------------------


def test_a_slice_of_notebook_07_points_the_same_way():
    """Constant and cosine at peaks 0.1 and 0.3, seeds 0-1, 300 steps, as in notebook 07.

    The notebook states (on 5 seeds): constant picks 0.1, the decaying schedules pick 0.3;
    at 0.1 constant ends below cosine on every seed, at 0.3 above it; cosine at its peak ends
    below constant at its peak, and constant reaches 0.03 first.
    """
    from lrcourse.training.data import digits_task
    from lrcourse.training.train import train_grid

    names, peaks = ["constant", "cosine"], [0.1, 0.3]
    runs = train_grid(
        digits_task(), grid_lrs(names, peaks, 300), [0, 1], steps=300, eval_every=20, momentum=0.9
    )
    comparison = summarize(runs, target=0.03)
    picks = comparison.select_peaks("train_loss")
    assert picks == {"constant": 0.1, "cosine": 0.3}
    c = comparison.cell
    assert head_to_head(c("constant", 0.1), c("cosine", 0.1), "train_loss") == (2, 2)
    assert head_to_head(c("cosine", 0.3), c("constant", 0.3), "train_loss") == (2, 2)
    constant, cosine = comparison.chosen(picks)
    assert head_to_head(cosine, constant, "train_loss") == (2, 2)
    assert cosine.mean("train_loss") < constant.mean("train_loss") / 5
    assert head_to_head(constant, cosine, "steps_to_target") == (2, 2)
    assert verdict([constant, cosine], "steps_to_target").best.name == "constant"
    assert comparison.rankings("train_loss") == {0.1: names, 0.3: names[::-1]}
