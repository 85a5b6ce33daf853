"""The lesson's original code has the faults the course says it has (lrcourse.lesson)."""

import numpy as np
import pytest

from lrcourse.course import lesson
from lrcourse.schedules import (
    cosine_schedule,
    one_cycle_schedule,
    warmup_cosine_schedule,
)


def test_kwargs_swallow_a_misspelt_argument():
    # the lesson's own table passes total_steps to step decay: silently ignored
    assert lesson.step_decay_schedule(
        700, total_steps=1000, drop_every=333
    ) == pytest.approx(1e-4)
    assert lesson.cosine_schedule(500, total_step=10) == lesson.cosine_schedule(500)


def test_warmup_cosine_climbs_back_after_total_steps():
    end = lesson.warmup_cosine_schedule(1000)
    later = lesson.warmup_cosine_schedule(1900)
    assert later > 10 * end  # the lr rises again: the cosine is periodic
    assert warmup_cosine_schedule(1900) == warmup_cosine_schedule(1000)  # ours holds


def test_warmup_equal_to_total_divides_by_zero():
    with pytest.raises(ZeroDivisionError):
        lesson.warmup_cosine_schedule(10, warmup_steps=10, total_steps=10)
    assert warmup_cosine_schedule(10, warmup_steps=10, total_steps=10) == 1e-3


def test_one_cycle_code_contradicts_its_text():
    lr_max = 0.01
    assert lesson.one_cycle_schedule(0) == 0.0  # text: starts at lr_max / 25
    assert lesson.one_cycle_schedule(899) == pytest.approx(
        lr_max / 450
    )  # falls toward 0 ...
    assert lesson.one_cycle_schedule(900) == pytest.approx(
        lr_max / 1000
    )  # ... then jumps up
    assert one_cycle_schedule(0) == pytest.approx(lr_max / 25)
    assert one_cycle_schedule(999) == pytest.approx(lr_max / 25_000)


def test_cosine_agrees_with_ours_within_the_run():
    steps = np.arange(1001)
    ref = [lesson.cosine_schedule(int(s)) for s in steps]
    np.testing.assert_allclose(cosine_schedule(steps), ref, rtol=1e-14)
