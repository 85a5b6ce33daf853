"""The lesson's table beside ours: which cells differ, and why, as notebook 00 explains."""

import math
import re

import numpy as np
import pytest

from lrcourse.course.lesson import TABLE_CALLS, TABLE_STEPS
from lrcourse.course.lesson_table import (
    LessonTable,
    lesson_printout,
    lesson_table,
    our_call,
)
from lrcourse.schedules import step_decay_schedule


def test_printout_is_the_lessons_output():
    lines = lesson_printout().splitlines()
    assert lines[0] == "Step     Constant   StepDecay  Cosine     W+Cos      1Cycle    "
    assert len(lines) == 1 + len(TABLE_STEPS)
    # step 500, by hand: 0.001; 0.01 * 0.1**(500 // 333); 1e-5 + 0.495e-3 * (1 + cos(pi/2));
    # 1e-5 + 0.495e-3 * (1 + cos(pi * 400/900)); 0.01 * (1 - 0.05/0.45)
    assert lines[5] == "500      0.001000   0.001000   0.000505   0.000591   0.008889  "


def test_within_the_run_only_one_cycle_differs():
    table = lesson_table()
    assert table.steps == TABLE_STEPS
    assert table.agreeing == ["constant", "step decay", "cosine", "warmup + cosine"]
    assert table.differing == ["1cycle"]
    assert table.differs("1cycle").all()  # every cell of it


def test_one_cycle_lesson_code_against_the_lessons_text():
    table = lesson_table((0, 999))
    lesson, ours = table.lesson["1cycle"], table.ours["1cycle"]
    assert lesson[0] == 0.0 and ours[0] == pytest.approx(1e-2 / 25)
    assert lesson[1] == pytest.approx(1e-2 / 1000) and ours[1] == pytest.approx(
        1e-2 / 25_000
    )


def test_past_the_run_the_lessons_warmup_cosine_climbs_back():
    table = lesson_table((1000, 1500, 1900))
    assert table.differing == ["warmup + cosine", "1cycle"]
    assert list(table.differs("warmup + cosine")) == [False, True, True]
    assert table.lesson["warmup + cosine"][2] == pytest.approx(1e-3)  # back at its peak
    np.testing.assert_allclose(table.ours["warmup + cosine"], 1e-5)  # ours holds lr_min
    lr_1500 = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * 1400 / 900))
    assert table.lesson["warmup + cosine"][1] == pytest.approx(lr_1500)


def test_step_decay_drops_the_argument_the_lessons_kwargs_swallowed():
    fn, kwargs, dropped = our_call("step decay")
    assert fn is step_decay_schedule
    assert kwargs == {"drop_every": 333}
    assert dropped == ("total_steps",)
    with pytest.raises(TypeError, match="total_steps"):
        fn(0, **TABLE_CALLS["step decay"][1])
    for name in ("constant", "cosine", "warmup + cosine", "1cycle"):
        assert our_call(name)[2] == ()


def test_format_flags_exactly_the_differing_cells():
    table = LessonTable(
        steps=(0, 10),
        lesson={"cosine": np.array([1.0, 0.5]), "1cycle": np.array([0.0, 2.0])},
        ours={
            "cosine": np.array([1.0, 0.5 * (1 + 1e-13)]),
            "1cycle": np.array([0.0, 3.0]),
        },
        dropped={"cosine": (), "1cycle": ("pct",)},
        rtol=1e-12,
    )
    assert table.agreeing == ["cosine"] and table.differing == ["1cycle"]
    text = table.format()
    ours_rows = [line for line in text.splitlines() if re.match(r"\s+ours\s+\d", line)]
    assert [row.count("*") for row in ours_rows] == [0, 1]
    assert ours_rows[1].endswith("3.00e+00*")
    assert "1cycle: the lesson also passes pct, which its **kwargs swallows" in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_format_columns_line_up_with_the_header():
    text = lesson_table().format()
    header, name, first = text.splitlines()[:3]
    assert name == "constant" and first.lstrip().startswith("lesson")
    # each step number ends where its values end
    for step in TABLE_STEPS:
        end = header.index(f" {step}") + 1 + len(str(step))
        assert first[end - 1] == "3"  # the last digit of 1.00e-03
    assert max(len(line) for line in text.splitlines()) <= 88


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"steps": ()}, "steps"), ({"steps": (0, -1)}, "steps"), ({"rtol": 0.0}, "rtol")],
)
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        lesson_table(**kwargs)


def test_unknown_column_is_rejected():
    with pytest.raises(ValueError, match="^name must be one of"):
        our_call("linear")
