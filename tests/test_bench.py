"""``make bench`` runs and reports; no timing is asserted (the machine is noisy)."""

import pytest

from lrcourse.__main__ import main as cli
from lrcourse.bench import (
    FLOOR_TARGET,
    ScheduleTiming,
    bench_training,
    best_times,
    format_schedules,
    format_training,
    time_schedules,
)
from lrcourse.schedules import SCHEDULES


def test_best_times_interleaves_and_keeps_the_minimum():
    calls = []
    best = best_times(
        {"a": (lambda: calls.append("a"), 3), "b": (lambda: calls.append("b"), 1)}
    )
    assert calls == ["a", "b", "a", "a"] and set(best) == {"a", "b"}
    assert all(t >= 0 for t in best.values())
    with pytest.raises(ValueError, match="repeats of 'a'"):
        best_times({"a": (lambda: None, 0)})


def test_time_schedules_covers_the_registry():
    timings = time_schedules(1000, repeats=1)
    assert [t.name for t in timings] == list(SCHEDULES)
    assert all(t.schedule_s > 0 and t.floor_s > 0 for t in timings)
    report = format_schedules(timings, repeats=1)
    assert f"<= {FLOOR_TARGET:g}x np.cos" in report


def test_format_schedules_says_which_schedules_miss():
    slow = ScheduleTiming("cosine", 10, schedule_s=4.0, floor_s=1.0)
    fast = ScheduleTiming("constant", 10, schedule_s=0.1, floor_s=1.0)
    assert "MISSED by cosine" in format_schedules([fast, slow], repeats=1)
    assert ": met" in format_schedules([fast], repeats=1)
    with pytest.raises(ValueError, match="timings"):
        format_schedules([], repeats=1)


def test_bench_training_runs_both_ways_with_identical_losses():
    result = bench_training(n_members=2, steps=3, repeats=1)
    assert result["max_loss_difference"] == 0  # batched is the same runs, to the bit
    assert result["ratio"] == pytest.approx(
        result["sequential_s"] / result["batched_s"]
    )
    assert "losses identical" in format_training(result)
    with pytest.raises(ValueError, match="n_members"):
        bench_training(n_members=0)


def test_cli_usage(capsys):
    assert cli(["nothing"]) == 2
    assert "usage: python -m lrcourse bench |" in capsys.readouterr().err


def test_format_grading_reports_seconds_per_submission():
    from lrcourse.bench import bench_grading, format_grading

    text = format_grading(
        {"submissions": 20, "workers": 2, "serial_s": 6.0, "parallel_s": 3.5,
         "speedup": 6.0 / 3.5, "serial_full": 20, "parallel_full": 20}
    )  # fmt: skip
    assert "one at a time 6.0 s, on 2 workers 3.5 s (1.71x)" in text
    assert "full points on 20 of 20" in text
    with pytest.raises(ValueError, match="n_submissions"):
        bench_grading(n_submissions=0)
