"""The grader, end to end: honest and tampered submissions, graded as a class would be.

All of E1's submissions are graded in one call (two workers), once per test session; each
test then asserts what one submission deserved. E2 to E4 are graded once each, their
solution and their stub. A Dask cluster started here grades two of them again and must
write the same gradebook. About a minute on two cores.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from lrcourse.grading.grade import (
    COLUMNS,
    STATUSES,
    Limits,
    grade,
    grade_submission,
    write_gradebook,
)
from lrcourse.grading.release import cell_id, cell_tags

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions"
EXERCISES = ROOT / "notebooks" / "exercises"
E1 = SOLUTIONS / "E1_five_schedules.ipynb"
E1_CHECKS = [
    "e1-constant",
    "e1-step-decay",
    "e1-cosine",
    "e1-warmup-cosine",
    "e1-one-cycle",
]
#: Small enough to keep the endless loop short, large enough for a busy machine.
LIMITS = Limits(cell_timeout=12, timeout=240)

WRONG = {  # an answer of the right shape that is wrong everywhere
    "e1-constant-answer": "def constant_schedule(step, *, lr):\n    return 0.0",
    "e1-step-decay-answer": (
        "def step_decay_schedule(step, *, lr, drop_factor, drop_every):\n    return 0.0"
    ),
    "e1-cosine-answer": (
        "def cosine_schedule(step, *, lr_max, lr_min, total_steps):\n    return 0.0"
    ),
    "e1-warmup-cosine-answer": (
        "def warmup_cosine_schedule(step, *, lr_max, lr_min, warmup_steps, "
        "total_steps):\n    return 0.0"
    ),
    "e1-one-cycle-answer": (
        "def one_cycle_schedule(step, *, lr_max, total_steps):\n    return 0.0"
    ),
}


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def cells_by_id(nb) -> dict:
    return {cell_id(c): c for c in nb.cells if cell_id(c)}


def with_answers(nb, answers: dict) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for key, source in answers.items():
        cells_by_id(nb)[key].source = source
    return nb


def tampered(tmp: Path) -> dict[str, bytes]:
    """E1 submissions, by student: what each did."""
    solution, stub = load(E1), load(EXERCISES / E1.name)
    wrong = with_answers(stub, WRONG)
    subs = {"solution": solution, "stub": stub}

    # Check cells edited, deleted, switched off with markers and tags; answers wrong.
    markers = copy.deepcopy(wrong)
    cells = cells_by_id(markers)
    cells["e1-constant"].source = "assert True"
    cells["e1-cosine-answer"].source = (
        "# NBVAL_SKIP\n" + cells["e1-cosine-answer"].source
    )
    cells["e1-cosine"].source = "# NBVAL_SKIP\n" + cells["e1-cosine"].source
    cells["e1-warmup-cosine"].metadata["tags"] = ["check", "raises-exception"]
    cells["e1-warmup-cosine-answer"].source = (
        "# NBVAL_RAISES_EXCEPTION\n" + cells["e1-warmup-cosine-answer"].source
    )
    cells["e1-one-cycle"].metadata["tags"] = ["nbval-skip"]
    markers.cells = [c for c in markers.cells if cell_id(c) != "e1-step-decay"]
    markers.cells.append(nbformat.v4.new_code_cell("print('All checks passed: 10/10')"))
    subs["markers"] = markers

    # Runaway answers: an endless loop, a 10 GB allocation, sys.exit(); 1cycle right.
    runaway = copy.deepcopy(solution)
    cells = cells_by_id(runaway)
    cells[
        "e1-constant-answer"
    ].source = "def constant_schedule(step, *, lr):\n    while True:\n        pass"
    cells["e1-step-decay-answer"].source = (
        "import numpy as np\n\n\ndef step_decay_schedule(step, *, lr, drop_factor, "
        "drop_every):\n    return float(np.ones(10**10 // 8)[0]) * lr"
    )
    cells["e1-cosine-answer"].source = (
        "import sys\n\n\ndef cosine_schedule(step, *, lr_max, lr_min, total_steps):\n"
        "    sys.exit()"
    )
    subs["runaway"] = runaway

    # The kernel exits in the second answer cell: the first check was earned before it.
    exits = copy.deepcopy(solution)
    cells_by_id(exits)["e1-step-decay-answer"].source = "import os\n\nos._exit(0)"
    subs["exits"] = exits

    # The checks replaced, a success printed; numpy's and math's comparisons rebound.
    fake = with_answers(wrong, {})
    cells_by_id(fake)["e1-constant-answer"].source += (
        "\n\n\ndef check(*args, **kwargs):\n    print('\\N{CHECK MARK} passed')\n\n\n"
        "print('All checks passed: 10/10')"
    )
    subs["fake_check"] = fake
    rebound = with_answers(wrong, {})
    cells_by_id(rebound)["e1-constant-answer"].source = (
        "import math\n\nimport numpy as np\n\nnp.allclose = lambda *a, **k: True\n"
        "np.isclose = lambda *a, **k: True\nmath.isclose = lambda *a, **k: True\n\n\n"
        + WRONG["e1-constant-answer"]
    )
    subs["allclose"] = rebound

    # The course's own implementation, imported: not from scratch.
    imports = copy.deepcopy(solution)
    cells_by_id(imports)[
        "e1-cosine-answer"
    ].source = "from lrcourse.schedules import cosine_schedule"
    subs["imports"] = imports

    # Cells reordered and one added: the answers are all that count.
    shuffled = copy.deepcopy(solution)
    shuffled.cells = shuffled.cells[::-1] + [nbformat.v4.new_code_cell("x = 1")]
    subs["reordered"] = shuffled

    out = {name: nbformat.writes(nb).encode() for name, nb in subs.items()}
    out["corrupt"] = nbformat.writes(solution).encode()[:5000]
    out["other_exercise"] = (EXERCISES / "E2_compare_schedules.ipynb").read_bytes()
    return out


@pytest.fixture(scope="module")
def e1(tmp_path_factory):
    """Every E1 submission graded in one call, through the command line."""
    from lrcourse.__main__ import main

    tmp = tmp_path_factory.mktemp("e1")
    paths = []
    for name, data in tampered(tmp).items():
        path = tmp / "submitted" / f"{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    out = tmp / "gradebook.csv"
    args = ["grade", str(E1), *map(str, paths), "--out", str(out), "--workers", "2"]
    args += [
        "--cell-timeout",
        f"{LIMITS.cell_timeout:g}",
        "--timeout",
        f"{LIMITS.timeout:g}",
    ]
    assert main(args) == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {"rows": rows, "csv": out, "paths": paths, "tmp": tmp}


def rows_of(e1, student: str) -> dict[str, dict]:
    return {r["check"]: r for r in e1["rows"] if r["student"] == student}


def points(rows: dict) -> float:
    return sum(float(r["points"]) for r in rows.values())


def test_gradebook_has_a_row_per_submission_and_check(e1):
    assert list(e1["rows"][0]) == list(COLUMNS)
    students = {r["student"] for r in e1["rows"]}
    assert len(students) == len(e1["paths"])
    for student in students:
        assert list(rows_of(e1, student)) == E1_CHECKS, student
    assert {r["status"] for r in e1["rows"]} <= set(STATUSES)
    assert all(r["message"] for r in e1["rows"])
    text = e1["csv"].read_text()
    assert "\x1b" not in text and "/tmp/" not in text  # no colours, no grader paths


def test_solution_gets_full_points(e1):
    rows = rows_of(e1, "solution")
    assert {r["status"] for r in rows.values()} == {"passed"}
    assert points(rows) == 10


def test_stub_gets_zero_with_not_implemented(e1):
    rows = rows_of(e1, "stub")
    assert points(rows) == 0
    for check_id, row in rows.items():
        assert row["status"] == "not implemented", check_id
        assert "not implemented yet" in row["message"]


def test_edited_deleted_and_switched_off_checks_change_nothing(e1):
    rows = rows_of(e1, "markers")
    assert points(rows) == 0
    assert {r["status"] for r in rows.values()} == {"failed"}
    assert "returned 0, expected 0.1" in rows["e1-constant"]["message"]


def test_reordered_and_added_cells_change_nothing(e1):
    assert points(rows_of(e1, "reordered")) == 10


def test_runaway_answers_lose_their_checks_and_the_rest_is_graded(e1):
    rows = rows_of(e1, "runaway")
    assert rows["e1-constant"]["status"] == "timeout"
    assert rows["e1-step-decay"]["status"] == "failed"
    assert "MemoryError" in rows["e1-step-decay"]["message"]
    assert rows["e1-cosine"]["status"] == "error"
    assert "SystemExit" in rows["e1-cosine"]["message"]
    # The solution's warmup + cosine calls cosine_schedule, which now exits: nothing.
    assert rows["e1-warmup-cosine"]["status"] == "error"
    assert rows["e1-one-cycle"]["status"] == "passed"
    assert points(rows) == 3


def test_a_kernel_that_exits_earns_nothing_after_it(e1):
    rows = rows_of(e1, "exits")
    assert rows["e1-constant"]["status"] == "passed"
    for check_id in E1_CHECKS[1:]:
        assert rows[check_id]["status"] == "kernel died", check_id
    assert points(rows) == 1


def test_replaced_checks_and_printed_success_earn_nothing(e1):
    rows = rows_of(e1, "fake_check")
    assert points(rows) == 0
    assert all("left no evidence" in r["message"] for r in rows.values())


def test_rebound_allclose_earns_nothing(e1):
    rows = rows_of(e1, "allclose")
    assert points(rows) == 0
    assert {r["status"] for r in rows.values()} == {"failed"}
    # The check passed inside the kernel (it used the rebound isclose), not in the grader.
    assert "passed inside your notebook" in rows["e1-constant"]["message"]


def test_imported_reference_is_rejected(e1):
    rows = rows_of(e1, "imports")
    assert rows["e1-constant"]["status"] == rows["e1-step-decay"]["status"] == "passed"
    for check_id in E1_CHECKS[2:]:
        assert rows[check_id]["status"] == "rejected", check_id
        assert "imports lrcourse" in rows[check_id]["message"]
    assert points(rows) == 3


def test_corrupt_file_and_other_exercise_get_clear_rows(e1):
    corrupt = rows_of(e1, "corrupt")
    assert {r["status"] for r in corrupt.values()} == {"invalid notebook"}
    other = rows_of(e1, "other_exercise")
    assert {r["status"] for r in other.values()} == {"wrong exercise"}
    assert "exercise E2" in other["e1-constant"]["message"]


def test_feedback_file_per_student(e1):
    folder = e1["csv"].with_name("gradebook_feedback")
    files = sorted(p.stem for p in folder.glob("*.md"))
    assert files == sorted(p.stem for p in e1["paths"])
    text = (folder / "runaway.md").read_text()
    assert "**3 of 10 points.**" in text and "## e1-constant: 0 of 1 (timeout)" in text


def test_whole_submission_timeout():
    graded = grade_submission(
        E1.read_text(), "slow", E1.read_bytes(), Limits(timeout=2)
    )
    assert {r.status for r in graded.rows} == {"timeout"}
    assert graded.points == 0


OTHERS = ["E2_compare_schedules", "E3_warmup_sweep", "E4_lr_range_test"]


@pytest.fixture(scope="module")
def others():
    """E2 to E4's solutions and stubs, graded together on one pool of two workers."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    limits = Limits(cell_timeout=120, timeout=300)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = {
            (name, kind): pool.submit(
                grade_submission,
                (SOLUTIONS / f"{name}.ipynb").read_text(),
                kind,
                (folder / f"{name}.ipynb").read_bytes(),
                limits,
            )
            for name in OTHERS
            for kind, folder in (("solution", SOLUTIONS), ("stub", EXERCISES))
        }
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("name", OTHERS)
def test_solution_full_and_stub_zero(name, others):
    solution, stub = others[name, "solution"], others[name, "stub"]
    assert solution.points == solution.max_points == 10, solution.rows
    assert {r.status for r in solution.rows} == {"passed"}
    assert stub.points == 0
    assert {r.status for r in stub.rows} == {"not implemented"}, stub.rows


def test_dask_cluster_grades_the_same(e1, tmp_path):
    """A local Dask cluster, started here, writes the gradebook the process pool wrote."""
    distributed = pytest.importorskip("distributed")
    paths = [p for p in e1["paths"] if p.stem in ("solution", "allclose")]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        results = grade(
            E1, paths, executor=client.get_executor(pure=False), limits=LIMITS
        )
    write_gradebook(results, tmp_path / "dask.csv")
    with (tmp_path / "dask.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [r for r in e1["rows"] if r["student"] in ("solution", "allclose")]
    assert rows == expected


def test_nbval_guard_still_patches_nbval():
    """The guard wraps nbval 0.11's internals; a new nbval must be checked again."""
    import importlib.metadata

    from nbval import kernel, plugin

    from lrcourse.grading import _nbval_guard as guard

    assert importlib.metadata.version("nbval") == "0.11.0"
    assert kernel.RunningKernel.await_reply is guard.await_reply
    assert plugin.IPyNbCell.runtest is guard.runtest


def test_evidence_files_are_json(e1):
    """The grader leaves nothing behind in the submissions' folder."""
    leftovers = [p for p in e1["paths"][0].parent.iterdir() if p.suffix != ".ipynb"]
    assert leftovers == []
    assert json.loads(json.dumps({"ok": True}))  # evidence is plain JSON (see checks)


def test_markers_are_whole_comment_lines_stripped():
    from lrcourse.grading.grade import strip_markers

    source = "# NBVAL_SKIP\nx = 1  # NBVAL_SKIP stays: nbval ignores it\n  #NBVAL_IGNORE_OUTPUT"
    assert strip_markers(source) == "x = 1  # NBVAL_SKIP stays: nbval ignores it"


def test_answer_cells_match_by_course_id_then_cell_id():
    from lrcourse.grading.grade import rebuild

    base = load(EXERCISES / E1.name)
    sub = copy.deepcopy(base)
    answer = cells_by_id(sub)["e1-constant-answer"]
    answer.source = "def constant_schedule(step, *, lr):\n    return lr"
    answer.metadata = {"tags": ["answer", "nbval-skip", "raises-exception"]}  # id lost
    rebuilt, notes = rebuild(base, sub)
    cell = cells_by_id(rebuilt)["e1-constant-answer"]
    assert cell.source.endswith("return lr")  # matched by the cell id
    assert cell_tags(cell) == ["answer"] and notes == []
    sub.cells = [c for c in sub.cells if c is not answer]
    rebuilt, notes = rebuild(base, sub)
    assert (
        "raise NotImplementedError" in cells_by_id(rebuilt)["e1-constant-answer"].source
    )
    assert re.search(r"'e1-constant-answer' is missing", notes[0])


def test_junit_xml_has_no_colour_codes(tmp_path):
    """IPython's colours are off in the grader's kernel: tracebacks reach the XML plain."""
    from lrcourse.grading.grade import _run

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("def f():\n    return 1 / 0\n\n\nf()")]
    outcome = _run(nb, tmp_path, LIMITS, seed=0)
    xml = (tmp_path / "junit.xml").read_text()
    assert "ZeroDivisionError" in xml
    assert "\x1b" not in xml and "#x1B" not in xml
    assert outcome.cells[0].error == "ZeroDivisionError: division by zero"
