"""The exercises: masters (solutions) and what release makes of them, and the checks.

nbval (``make test``) runs the solutions in strict mode; the grading tests run them and
their stubs through the grader (``test_grading.py``). These tests cover what neither does:
the committed learners' notebooks are exactly what release makes, the notebooks follow the
conventions and the screen rules, and each check judges evidence as it should.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lrcourse.grading import checks
from lrcourse.grading.checks import CHECKS, CheckFailed, Context, verify
from lrcourse.grading.grade import from_scratch_problem
from lrcourse.grading.release import (
    STUB,
    answer_cells,
    cell_id,
    cell_tags,
    check_cells,
    differs,
    release,
    stub_source,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
IDS = [p.stem for p in SOLUTIONS]


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def test_there_are_four_exercises():
    assert [p.stem[:2] for p in SOLUTIONS] == ["E1", "E2", "E3", "E4"]


# --- release ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_committed_exercise_is_what_release_makes(path):
    exercise = ROOT / "notebooks" / "exercises" / path.name
    assert not differs(path, exercise), (
        f"{exercise.name} is not what release makes from its master: run `make release`"
    )


def test_release_command_checks_every_master():
    from lrcourse.__main__ import main

    assert main(["release", "--check"]) == 0


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_release_stubs_answers_clears_outputs_keeps_ids(path):
    master = load(path)
    student = release(master)
    kept = [c for c in master.cells if "solution" not in cell_tags(c)]
    assert [c.get("id") for c in student.cells] == [c.get("id") for c in kept]
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    for cell in answer_cells(student):
        assert STUB in cell.source and "SOLUTION" not in cell.source
    for cell in check_cells(student):
        assert (
            cell.metadata["editable"] is False and cell.metadata["deletable"] is False
        )
    points = sum(c.metadata["lrcourse"]["points"] for c in check_cells(student))
    assert points == 10
    assert {cell_id(c) for c in check_cells(student)} <= set(CHECKS)
    exercise = student.metadata["lrcourse"]["exercise"]
    assert {CHECKS[cell_id(c)].exercise for c in check_cells(student)} == {exercise}


def test_stub_source_replaces_each_block_at_its_indent():
    source = "def f(x):\n    '''Doc.'''\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION"
    assert stub_source(source) == f"def f(x):\n    '''Doc.'''\n    {STUB}"
    assert stub_source("x = 1") == STUB  # no block: the whole cell is the answer
    for broken in (
        "# BEGIN SOLUTION\nx",
        "# END SOLUTION",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION",
    ):
        with pytest.raises(ValueError):
            stub_source(broken)


def test_release_refuses_a_master_that_breaks_the_conventions():
    nb = load(SOLUTIONS[0])
    check_cells(nb)[0].metadata["lrcourse"]["points"] = 0
    del answer_cells(nb)[0].metadata["lrcourse"]
    with pytest.raises(ValueError) as err:
        release(nb)
    assert "has no points > 0" in str(err.value)
    assert "has no metadata.lrcourse.id" in str(err.value)


# --- the solutions, as notebooks -------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_executed_in_order_without_errors(path):
    nb = load(path)
    assert nb.metadata["kernelspec"]["name"] == "lrcourse"
    codes = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert [c.execution_count for c in codes] == list(range(1, len(codes) + 1))
    for cell in codes:
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: a cell raised"
            assert "image/svg+xml" not in out.get("data", {})
            assert "/work/" not in json.dumps(out) and "/root/" not in json.dumps(out)
    assert path.stat().st_size < 1_500_000


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_fits_the_screen(path):
    for cell in load(path).cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                width = struct.unpack(">I", base64.b64decode(png)[16:20])[0]
                assert width <= 850, f"{path.name}: a figure {width} px wide"
            text = "".join(out.get("text", ""))
            assert all(len(line) <= 88 for line in text.splitlines()), path.name


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_ends_with_links_to_the_map_and_its_lessons(path):
    tail = load(path).cells[-1].source
    assert "](../00_start_here.ipynb)" in tail
    lessons = re.findall(r"\]\(\.\./(\d\d_[^)]+\.ipynb)\)", tail)
    assert len(lessons) >= 2, "link the map and at least one lesson"
    for name in re.findall(r"\]\(\.\./([^)]+\.ipynb)\)", tail):
        assert (ROOT / "notebooks" / name).exists(), name
    for name in re.findall(r"\]\((E\d_[^)]+\.ipynb)\)", tail):
        assert (path.parent / name).exists(), name


# --- the checks, on evidence -----------------------------------------------------------


def test_malformed_evidence_fails_without_raising():
    for check_id in CHECKS:
        for evidence in ({}, {"calls": "x"}, {"runs": 3}, {"axes": None}, []):
            status, message = verify(check_id, evidence, Context())
            assert status == "failed" and message, (check_id, evidence)


def test_schedule_evidence_must_hold_the_grader_s_steps():
    from lrcourse.schedules import cosine_schedule

    evidence = checks._collect_schedule("e1-cosine")(cosine_schedule)
    assert verify("e1-cosine", evidence, Context(seed=0))[0] == "passed"
    status, message = verify("e1-cosine", evidence, Context(seed=12345))
    assert status == "failed" and "calls this check makes" in message


def test_schedule_feedback_names_the_step_and_what_to_check():
    def rises_after_the_end(step, *, lr_max, lr_min, total_steps):
        t = step / total_steps  # the lesson's warmup-cosine does not clamp
        return lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * t)) / 2

    evidence = checks._collect_schedule("e1-cosine")(rises_after_the_end)
    status, message = verify("e1-cosine", evidence, Context())
    assert status == "failed"
    assert message.startswith("cosine_schedule(1001, lr_max=0.001, lr_min=1e-05, ")
    assert "does your schedule hold its final value after total_steps?" in message

    def divides_by_zero(step, *, lr_max, lr_min, warmup_steps, total_steps):
        if step < warmup_steps:
            return lr_max * step / warmup_steps
        progress = (step - warmup_steps) / (total_steps - warmup_steps)
        return lr_min + (lr_max - lr_min) * (1 + np.cos(np.pi * min(progress, 1))) / 2

    evidence = checks._collect_schedule("e1-warmup-cosine")(divides_by_zero)
    status, message = verify("e1-warmup-cosine", evidence, Context())
    assert "raised ZeroDivisionError" in message
    assert "with warmup_steps == total_steps (50) no steps are left to decay" in message


def test_check_saves_evidence_only_for_the_grader(tmp_path, monkeypatch, capsys):
    from lrcourse.grading import check
    from lrcourse.schedules import constant_schedule

    monkeypatch.delenv(checks.EVIDENCE_DIR, raising=False)
    check("e1-constant", constant_schedule)
    assert "\N{CHECK MARK} constant_schedule agrees" in capsys.readouterr().out
    monkeypatch.setenv(checks.EVIDENCE_DIR, str(tmp_path))
    check("e1-constant", constant_schedule)
    saved = json.loads((tmp_path / "e1-constant.json").read_text())
    assert verify("e1-constant", saved, Context())[0] == "passed"
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(
            "e1-constant", lambda step, **kw: (_ for _ in ()).throw(NotImplementedError)
        )
    with pytest.raises(ValueError, match="check_id must be one of"):
        check("e9-nothing", constant_schedule)


def test_labels_name_schedules_and_warmups():
    assert checks.schedule_label("warmup + cosine (seed 0)") == "warmup + cosine"
    assert checks.schedule_label("Cosine") == "cosine"
    assert checks.schedule_label("one-cycle") == "1cycle"
    assert checks.schedule_label("loss") is None
    assert checks.warmup_label("warmup 50 (diverged at step 81)") == 50
    assert checks.warmup_label(0) == 0 and checks.warmup_label("none") is None


def _run(lr, loss, diverged_at=None, seed=0):
    return {"seed": seed, "lr": lr, "loss": loss, "diverged_at": diverged_at,
            "eval_step": [0, 20, 40, 60][: len(loss)], "train_loss": loss}  # fmt: skip


def test_e2_conclusion_accepts_ties_and_names_the_data():
    curves = {
        "constant": [2.3, 0.09, 0.05, 0.020],
        "step decay": [2.3, 0.09, 0.05, 0.021],  # a tie on both counts
        "cosine": [2.3, 0.5, 0.3, 0.05],
        "warmup + cosine": [2.3, 0.5, 0.3, 0.05],
        "1cycle": [2.3, 0.5, 0.3, 0.05],
    }
    runs = {name: [_run([0.1], loss)] for name, loss in curves.items()}
    context = Context(evidence={"e2-runs": {"runs": runs}})
    for answers in (["constant", "constant"], ["step decay", "step decay"]):
        assert verify("e2-conclusion", {"answers": answers}, context)[0] == "passed"
    status, message = verify(
        "e2-conclusion", {"answers": ["cosine", "constant"]}, context
    )
    assert status == "failed" and "'constant' is the first" in message
    status, message = verify(
        "e2-conclusion", {"answers": ["constant", "cosine"]}, context
    )
    assert status == "failed" and "'constant' ends with the lowest" in message
    status, message = verify("e2-conclusion", {"answers": ["cosinus", "x"]}, context)
    assert "none of the five" in message


def test_e3_facts_from_divergence_steps():
    runs = {
        w: [_run([0.0], [1.0], d, seed=s) for s, d in enumerate(steps)]
        for w, steps in {
            0: [40, 50],
            50: [80, 85],
            200: [180, None],
            1000: [None, None],
        }.items()
    }
    assert checks._e3_facts(runs) == ([1000], True)
    runs[50][0]["diverged_at"] = 30  # earlier than the cold start on seed 0
    assert checks._e3_facts(runs) == ([1000], False)


@pytest.mark.parametrize(
    "source, found",
    [
        ("from lrcourse.schedules import cosine_schedule", "imports lrcourse"),
        ("import lrcourse", "imports lrcourse"),
        ("import importlib\nm = importlib.import_module('x')", "imports importlib"),
        ("m = __import__('lrc' + 'ourse')", "uses __import__"),
        ("f = check.__globals__['cosine_schedule']", "attribute __globals__"),
        ("import sys\nm = sys.modules['x']", "sys.modules"),
        ("x = getattr(check, '__glob' + 'als__')", "getattr"),
        ("%run ../solutions/E1_five_schedules.ipynb", "get_ipython"),
        ("path = 'lrcourse/schedules/formulas.py'", "names lrcourse"),
        ("def f(step, *, lr):\n    return lr", None),
        ("import copy, math\nimport numpy as np\nimport torch", None),
        ("class A:\n    def __init__(self):\n        super().__init__()", None),
        ("def broken(:", None),  # a syntax error fails in the notebook on its own
    ],
)
def test_from_scratch_rules(source, found):
    problem = from_scratch_problem(source)
    if found is None:
        assert problem is None
    else:
        assert problem is not None and found in problem


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solutions_follow_their_own_rules(path):
    nb = load(path)
    if nb.metadata["lrcourse"].get("from_scratch"):
        for cell in answer_cells(nb):
            assert from_scratch_problem(cell.source) is None, cell_id(cell)
