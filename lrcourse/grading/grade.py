"""The grader: ``python -m lrcourse grade MASTER SUBMISSION... --out gradebook.csv``.

nbval alone is not safe for grading: it obeys ``NBVAL_*`` markers and tags written in the
notebook it checks, and learners' code runs in the kernel it reads results from. So, for
each submission:

1. **Rebuild** it from the master: the learner's version of the master
   (``release``), with only the answer cells taken from the submission, matched by
   ``metadata.lrcourse.id`` then cell id, with ``NBVAL_*`` comment lines removed and the
   master's metadata (so no nbval tags). Edited, deleted, added or reordered check cells
   change nothing; a missing answer is the stub.
2. **Run** the rebuilt notebook under ``pytest --nbval-lax`` with JUnit XML, in a
   temporary directory, with a per-cell timeout (nbval's, plus a plugin that reports a
   dead kernel at once), a whole-submission timeout (every process it started is then
   killed), an address-space cap (``RLIMIT_AS``, inherited by the kernel), one thread per
   numeric library, and IPython's colours off (no ANSI codes in the XML).
3. **Re-check** each check in this process, on the evidence its check cell saved
   (``lrcourse.grading.checks``). A check earns its points only if nbval says its cell
   passed *and* the evidence passes here. Code in the learner's kernel that replaces the
   checks, ``np.allclose`` or ``print``s a success therefore earns nothing.
4. For exercises marked ``from_scratch`` (E1, E4), **reject** answer cells that import
   lrcourse or reach into modules by name (an AST check, here). An obfuscated import
   would pass it: that, and the rights the learner's code runs with, are the honest
   limits (README: run the grader in a container with no network).

Every submission gets one row per check, whatever happened to it: a corrupt file, another
exercise's notebook, a dead kernel, a timeout. ``grade`` runs submissions on any
``concurrent.futures`` executor: a local process pool by default, or a Dask cluster's
(``Client.get_executor(pure=False)``); the gradebook does not depend on which.
"""

from __future__ import annotations

import ast
import copy
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

import lrcourse
from lrcourse.grading.checks import (
    CHECK_SEED,
    EVIDENCE_DIR,
    MAX_EVIDENCE_BYTES,
    Context,
    verify,
)
from lrcourse.grading.release import (
    answer_cells,
    cell_id,
    cell_tags,
    check_cells,
    exercise_of,
    release,
)

__all__ = [
    "Limits",
    "Row",
    "Graded",
    "COLUMNS",
    "STATUSES",
    "grade",
    "grade_submission",
    "rebuild",
    "strip_markers",
    "from_scratch_problem",
    "student_names",
    "write_gradebook",
    "feedback_text",
]

COLUMNS = ("student", "check", "points", "max_points", "status", "message")
#: Every status a row can have, and what it means.
STATUSES = {
    "passed": "the check passed in the notebook and its evidence passed in the grader",
    "failed": "the check ran and did not hold (the message says what to look at)",
    "not implemented": "an answer it needs still raises NotImplementedError",
    "rejected": "an answer uses what a from-scratch exercise forbids (lrcourse, importlib...)",
    "error": "the check cell did not run: an earlier cell or the check raised an error",
    "timeout": "a cell ran past the per-cell limit, or the notebook past the whole limit",
    "kernel died": "the code exited or crashed Python before the check could run",
    "invalid notebook": "the file is not a notebook Jupyter can open",
    "wrong exercise": "the notebook is another exercise's",
    "grader error": "the grader itself failed on this submission (tell the instructor)",
}


@dataclass(frozen=True)
class Limits:
    """Per cell and per submission, in seconds; the address space of the kernel, in GB
    (torch alone maps about 1.5 GB); the largest file a notebook may write, in MB."""

    cell_timeout: float = 60.0
    timeout: float = 300.0
    memory_gb: float = 4.0
    file_mb: float = 256.0


@dataclass(frozen=True)
class Row:
    student: str
    check: str
    points: float
    max_points: float
    status: str
    message: str

    def as_csv(self) -> list[str]:
        return [
            self.student,
            self.check,
            f"{self.points:g}",
            f"{self.max_points:g}",
            self.status,
            self.message,
        ]


@dataclass(frozen=True)
class Graded:
    """One submission: its rows (one per check of the master) and notes about it."""

    student: str
    exercise: str
    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


# --- rebuilding ------------------------------------------------------------------------


def _is_marker(line: str) -> bool:
    s = line.strip()
    return s.startswith("#") and s.lstrip("#").strip().upper().startswith(
        ("NBVAL", "PYTEST_VALIDATE")
    )


def strip_markers(source: str) -> str:
    """``source`` without nbval's comment markers (any comment line naming NBVAL_...)."""
    return "\n".join(line for line in source.splitlines() if not _is_marker(line))


def rebuild(base: Any, submission: Any) -> tuple[nbformat.NotebookNode, list[str]]:
    """``base`` (the learner's version of the master) with the submission's answers.

    Only the source of each answer cell comes from the submission: matched by
    ``metadata.lrcourse.id``, else by cell id; its markers stripped; the master's metadata
    kept. Every other cell is the master's. Returns the notebook and notes on what was
    missing."""
    by_course, by_cell = {}, {}
    for cell in submission.get("cells", []):
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), str):
            continue
        if cell_id(cell) is not None:
            by_course.setdefault(str(cell_id(cell)), cell)
        if cell.get("id") is not None:
            by_cell.setdefault(str(cell.get("id")), cell)
    nb = copy.deepcopy(base)
    notes = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "answer" not in cell_tags(cell):
            continue
        theirs = by_course.get(str(cell_id(cell))) or by_cell.get(str(cell.get("id")))
        if theirs is None:
            notes.append(
                f"answer cell {cell_id(cell)!r} is missing from the submission: graded "
                "as not implemented"
            )
        else:
            cell.source = strip_markers(theirs["source"])
    return nb, notes


# --- from scratch ----------------------------------------------------------------------

_MODULES = ("lrcourse", "importlib", "gc", "inspect", "ctypes", "builtins")
_NAMES = {"__import__", "eval", "exec", "compile", "globals", "vars", "get_ipython"}
_DUNDERS_OK = {"__init__", "__name__", "__doc__"}


def from_scratch_problem(source: str) -> str | None:
    """What in ``source`` a from-scratch answer may not use, or None.

    Imports of lrcourse, importlib, gc, inspect, ctypes or builtins; the names
    ``__import__``, ``eval``, ``exec``, ``compile``, ``globals``, ``vars`` and
    ``get_ipython`` (so magics too); dunder attributes other than ``__init__``,
    ``__name__`` and ``__doc__``; ``sys.modules``; ``getattr`` with a computed or
    private name; a string naming lrcourse. A determined learner can hide an import
    from any such list (``"lrc" + "ourse"``): this catches the obvious, not everything.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
        tree = ast.parse(code)
    except Exception:  # a syntax error fails in the notebook on its own
        return None
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names.append(getattr(node, "module", None) or "")
            for name in names:
                if name.split(".")[0] in _MODULES:
                    return f"imports {name.split('.')[0]} (line {line})"
        elif isinstance(node, ast.Name) and node.id in _NAMES:
            return f"uses {node.id} (line {line})"
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr not in _DUNDERS_OK:
                return f"uses the attribute {node.attr} (line {line})"
            if node.attr == "modules":
                return f"uses sys.modules (line {line})"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "lrcourse" in node.value:
                return f"names lrcourse in a string (line {line})"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "delattr", "hasattr")
        ):
            name = node.args[1] if len(node.args) > 1 else None
            if not (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and not name.value.startswith("_")
            ):
                return f"calls {node.func.id} with a computed or private name (line {line})"
    return None


# --- running ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    passed: bool
    text: str = ""

    @property
    def reason(self) -> str:
        """The first line nbval gave as the reason ("Timeout of ...", "The kernel ...")."""
        match = re.search(r"^Cell \d+: (.*)$", self.text, re.M)
        return match.group(1).strip() if match else ""

    @property
    def error(self) -> str:
        """The exception's last line ("ZeroDivisionError: division by zero"), if any."""
        found = re.findall(
            r"^((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Exit|Interrupt|Failed|Warning)"
            r"\b.*)$",
            self.text,
            re.M,
        )
        lines = [f.strip() for f in found if not f.startswith("Notebook cell")]
        return lines[-1][:300] if lines else self.reason or "the cell failed"

    @property
    def kind(self) -> str:
        reason = self.reason
        if reason.startswith(("The kernel died", "The kernel had died")):
            return "kernel died"
        if reason.startswith("Timeout of"):
            return "timeout"
        if "NotImplementedError" in self.error:
            return "not implemented"
        return "error"


@dataclass(frozen=True)
class Outcome:
    timed_out: bool
    cells: dict[int, CellResult]
    evidence: dict[str, Any]
    log: str


def _kill_marked(token: str) -> None:
    """Kill every process whose environment carries ``token``: the run's pytest, its
    kernel, and whatever the notebook started (unless it cleared its environment)."""
    import psutil

    mine = os.getpid()
    for proc in psutil.process_iter():
        try:
            if proc.pid != mine and proc.environ().get("LRCOURSE_GRADING_RUN") == token:
                proc.kill()
        except (psutil.Error, OSError):
            continue


def _parse_junit(path: Path) -> dict[int, CellResult]:
    cells = {}
    for case in ET.parse(path).iter("testcase"):
        match = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        if not match:
            continue
        bad = [k for k in case if k.tag in ("failure", "error", "skipped")]
        if bad:
            text = "\n".join(
                (k.get("message") or "") + "\n" + (k.text or "") for k in bad
            )
            cells[int(match.group(1))] = CellResult(False, text)
        else:
            cells[int(match.group(1))] = CellResult(True)
    return cells


def _load_evidence(folder: Path) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if not folder.is_dir():
        return evidence
    for path in folder.glob("*.json"):
        try:
            if path.is_file() and path.stat().st_size <= MAX_EVIDENCE_BYTES:
                evidence[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            else:
                evidence[path.stem] = "unreadable"
        except (OSError, ValueError, RecursionError):
            evidence[path.stem] = "unreadable"
    return evidence


def _environment(tmp: Path, seed: int, token: str) -> dict[str, str]:
    home = tmp / "home"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(Path(lrcourse.__file__).resolve().parents[1]),
        "HOME": str(home),
        "IPYTHONDIR": str(tmp / "ipython"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        EVIDENCE_DIR: str(tmp / "evidence"),
        CHECK_SEED: str(seed),
        "LRCOURSE_GRADING_RUN": token,
        # Only nbval and the guard: no other installed pytest plugin takes part (and
        # hypothesis's alone costs 1.5 s of start-up).
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }


def _run(nb: Any, tmp: Path, limits: Limits, seed: int) -> Outcome:
    """Run ``nb`` under nbval in ``tmp``, within ``limits``."""
    work = tmp / "work"
    profile = tmp / "ipython" / "profile_default"
    for folder in (work, profile, tmp / "home", tmp / "runtime"):
        folder.mkdir(parents=True, exist_ok=True)
    (work / "submission.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    # IPython 9's "nocolor" theme: tracebacks without ANSI escape codes.
    (profile / "ipython_kernel_config.py").write_text(
        'c.InteractiveShell.colors = "nocolor"\n'
    )
    (tmp / "pytest.ini").write_text("[pytest]\n")  # this run's only configuration
    junit = tmp / "junit.xml"
    token = uuid.uuid4().hex
    command = [
        sys.executable,
        "-m",
        "lrcourse.grading._run",
        str(int(limits.memory_gb * 2**30)),
        str(int(limits.file_mb * 2**20)),
        "--",
        "-c",
        str(tmp / "pytest.ini"),
        "--rootdir",
        str(work),
        "-p",
        "no:cacheprovider",
        "-p",
        "nbval.plugin",
        "-p",
        "lrcourse.grading._nbval_guard",
        "-q",
        "--color=no",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={limits.cell_timeout:g}",
        f"--junitxml={junit}",
        "submission.ipynb",
    ]
    proc = subprocess.Popen(
        command,
        cwd=work,
        env=_environment(tmp, seed, token),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_marked(token)
        proc.kill()
        out, _ = proc.communicate()
    finally:
        _kill_marked(token)  # what the notebook left running
    log = out.decode("utf-8", "replace")[-4000:]
    cells = {} if timed_out or not junit.exists() else _parse_junit(junit)
    return Outcome(timed_out, cells, _load_evidence(tmp / "evidence"), log)


# --- deciding --------------------------------------------------------------------------


def _title(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return exercise_of(nb) or "the exercise"


def _seed(master_text: str, data: bytes, secret: str) -> int:
    digest = hashlib.sha256(
        master_text.encode() + b"\0" + data + b"\0" + secret.encode()
    ).digest()
    return int.from_bytes(digest[:4], "big")


def _all_rows(student: str, checks: list, status: str, message: str) -> list[Row]:
    return [Row(student, cid, 0.0, pts, status, message) for cid, pts, _ in checks]


def grade_submission(
    master_text: str,
    student: str,
    data: bytes | None,
    limits: Limits = Limits(),
    secret: str = "",
) -> Graded:
    """Grade one submission (its bytes; None if it could not be read) against the master
    (its text). Runs anywhere lrcourse is installed: a process pool's worker or a Dask
    worker on another machine. Never raises: a failure is a row."""
    master = nbformat.reads(master_text, as_version=4)
    base = release(master)
    exercise, title = exercise_of(base) or "?", _title(base)
    codes = [c for c in base.cells if c.cell_type == "code"]
    index = {id(c): k for k, c in enumerate(codes)}
    checks = [
        (cell_id(c), float(c.metadata["lrcourse"]["points"]), index[id(c)])
        for c in check_cells(base)
    ]
    try:
        return _grade(master_text, base, student, data, limits, secret, checks)
    except Exception as err:  # the grader's own failure: still a row per check
        message = f"the grader failed on this submission: {type(err).__name__}: {err}"
        return Graded(
            student,
            exercise,
            title,
            _all_rows(student, checks, "grader error", message),
        )


def _grade(master_text, base, student, data, limits, secret, checks) -> Graded:
    exercise, title = exercise_of(base) or "?", _title(base)
    if data is None:
        rows = _all_rows(
            student, checks, "invalid notebook", "the file could not be read"
        )
        return Graded(student, exercise, title, rows)
    try:
        submission = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(submission.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
        message = (
            f"the file is not a notebook Jupyter can open ({type(err).__name__}"
            f"{': ' + reason if reason else ''}); open it in JupyterLab, save it, and "
            "submit it again"
        )
        rows = _all_rows(student, checks, "invalid notebook", message)
        return Graded(student, exercise, title, rows)
    theirs = exercise_of(submission)
    if theirs and theirs != exercise:
        message = (
            f"this is the notebook of exercise {theirs}, not of {exercise} ({title}): "
            f"submit {exercise}'s notebook"
        )
        rows = _all_rows(student, checks, "wrong exercise", message)
        return Graded(student, exercise, title, rows)

    nb, notes = rebuild(base, submission)
    codes = [c for c in nb.cells if c.cell_type == "code"]
    answers = {k: c for k, c in enumerate(codes) if "answer" in cell_tags(c)}
    rejected = {}
    if nb.metadata.get("lrcourse", {}).get("from_scratch"):
        for k, cell in answers.items():
            problem = from_scratch_problem(cell.source)
            if problem:
                rejected[k] = (
                    f"your answer cell {cell_id(cell)!r} {problem}. This exercise is from "
                    "scratch: the grader does not accept answers that import lrcourse or "
                    "reach into modules by name (importlib, __import__, eval, globals, "
                    "dunder attributes, magics)"
                )
    seed = _seed(master_text, data, secret)
    with tempfile.TemporaryDirectory(prefix="lrcourse-grade-") as tmp:
        outcome = _run(nb, Path(tmp), limits, seed)
    if outcome.timed_out:
        message = (
            f"the notebook did not finish within {limits.timeout:g} s, so nothing could "
            "be graded: look for a cell that runs for very long"
        )
        return Graded(
            student,
            exercise,
            title,
            _all_rows(student, checks, "timeout", message),
            notes,
        )
    if not outcome.cells:
        tail = outcome.log.strip().splitlines()[-1:] or ["no output"]
        message = f"nbval did not run the notebook: {tail[0][:200]}"
        return Graded(
            student,
            exercise,
            title,
            _all_rows(student, checks, "grader error", message),
            notes,
        )
    context = Context(seed=seed, trusted=True, evidence=outcome.evidence)
    rows = [
        _decide(student, cid, points, k, outcome, context, answers, rejected, limits)
        for cid, points, k in checks
    ]
    return Graded(student, exercise, title, rows, notes)


def _decide(
    student, cid, points, k, outcome, context, answers, rejected, limits
) -> Row:
    def row(status: str, message: str, earned: float = 0.0) -> Row:
        return Row(student, cid, earned, points, status, message)

    cell = outcome.cells.get(k, CellResult(False, "the check cell did not run"))
    earlier = [j for j in sorted(answers) if j < k]
    for j in earlier:
        if j in rejected:
            return row("rejected", rejected[j])
    evidence = outcome.evidence.get(cid)
    if evidence is not None:
        status, message = verify(cid, evidence, context)
        if status == "passed" and cell.passed:
            return row("passed", message, points)
        if status == "passed":
            return row(
                "failed",
                f"the check cell failed when the grader ran your notebook: {cell.error}",
            )
        if cell.passed:
            message += (
                " (The check passed inside your notebook but not when the grader "
                "re-checked its evidence: did a cell change lrcourse's checks or numpy?)"
            )
        return row(status, message)
    kind = None if cell.passed else cell.kind
    if kind == "timeout":
        return row(
            "timeout",
            f"this check ran past the limit of {limits.cell_timeout:g} s per cell: does "
            "your answer loop forever?",
        )
    if kind == "kernel died":
        j = next(
            j
            for j in range(k + 1)
            if j in outcome.cells
            and outcome.cells[j].kind in ("kernel died", "timeout")
            and not outcome.cells[j].passed
        )
        if outcome.cells[j].kind == "timeout":
            return row(
                "timeout",
                f"code cell {j} ran past the limit of {limits.cell_timeout:g} s per cell "
                "and could not be interrupted, so the kernel was stopped and this check "
                "could not run",
            )
        return row(
            "kernel died",
            f"the kernel died in code cell {j} (the code exited Python, crashed it, or "
            f"hit the {limits.memory_gb:g} GB memory cap), so this check could not run",
        )
    for j in reversed(earlier):  # the nearest answer first
        result = outcome.cells.get(j)
        if result is None or result.passed:
            continue
        name = cell_id(answers[j])
        if result.kind == "timeout":
            return row(
                "timeout",
                f"your answer cell {name!r} ran past the limit of "
                f"{limits.cell_timeout:g} s per cell, so this check could not run",
            )
        if result.kind == "not implemented":
            return row(
                "not implemented",
                f"not implemented yet: the answer cell {name!r} still raises "
                "NotImplementedError",
            )
    if cell.passed:
        return row(
            "failed",
            "the check cell ran but left no evidence for the grader: did a cell replace "
            "lrcourse's check?",
        )
    first = next(
        (j for j in range(k) if j in outcome.cells and not outcome.cells[j].passed),
        None,
    )
    hint = ""
    if first is not None and cell.error.startswith("NameError"):
        hint = f" (code cell {first} failed first: {outcome.cells[first].error})"
    memory = ""
    if "MemoryError" in cell.error:
        memory = f" (the grader caps memory at {limits.memory_gb:g} GB)"
    return row("error", f"the check did not run: {cell.error}{memory}{hint}")


# --- many submissions ------------------------------------------------------------------


def student_names(paths: Sequence[Path]) -> list[str]:
    """Each submission's student: its file name without .ipynb; if two share a name, the
    path from the folder they have in common (``alice/E1.ipynb`` -> ``alice/E1``)."""
    stems = [Path(p).stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    resolved = [Path(p).resolve() for p in paths]
    common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return [str(p.relative_to(common).with_suffix("")) for p in resolved]


def _read(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def grade(
    master: Path,
    submissions: Sequence[Path],
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    limits: Limits = Limits(),
    secret: str = "",
) -> list[Graded]:
    """Grade ``submissions`` against ``master``, in their order.

    executor: any ``concurrent.futures.Executor`` (a Dask cluster's:
    ``Client(address).get_executor(pure=False)``); by default a local process pool of
    ``workers`` processes (the CPU count), or none when ``workers`` is 1. The master and
    the submissions travel as text and bytes, so the workers need lrcourse installed, not
    the files."""
    master_text = Path(master).read_text(encoding="utf-8")
    release(nbformat.reads(master_text, as_version=4), Path(master).name)  # fail early
    names = student_names(submissions)
    jobs = [
        (master_text, n, _read(p), limits, secret)
        for n, p in zip(names, submissions, strict=True)
    ]
    if executor is None and (workers or os.cpu_count() or 1) == 1:
        return [grade_submission(*job) for job in jobs]
    own = executor is None
    if own:
        import multiprocessing

        executor = ProcessPoolExecutor(
            max_workers=workers or os.cpu_count(),
            mp_context=multiprocessing.get_context("spawn"),
        )
    try:
        futures = [executor.submit(grade_submission, *job) for job in jobs]
        results = []
        for job, future in zip(jobs, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as err:  # a worker lost: still a row per check
                results.append(_lost(job, err))
        return results
    finally:
        if own:
            executor.shutdown()


def _lost(job: tuple, err: Exception) -> Graded:
    master_text, student = job[0], job[1]
    base = release(nbformat.reads(master_text, as_version=4))
    checks = [
        (cell_id(c), float(c.metadata["lrcourse"]["points"]), 0)
        for c in check_cells(base)
    ]
    message = (
        f"the grader's worker failed on this submission: {type(err).__name__}: {err}"
    )
    return Graded(
        student,
        exercise_of(base) or "?",
        _title(base),
        _all_rows(student, checks, "grader error", message),
    )


def feedback_text(graded: Graded) -> str:
    """A learner's feedback, in Markdown."""
    lines = [
        f"# {graded.title}: feedback for {graded.student}",
        "",
        f"**{graded.points:g} of {graded.max_points:g} points.**",
        "",
    ]
    lines += [f"- {note}" for note in graded.notes]
    if graded.notes:
        lines.append("")
    for r in graded.rows:
        lines += [f"## {r.check}: {r.points:g} of {r.max_points:g} ({r.status})", ""]
        lines += [r.message, ""]
    return "\n".join(lines)


def write_gradebook(
    results: Sequence[Graded], csv_path: Path, feedback_dir: Path | None = None
) -> Path:
    """The CSV (one row per submission and check) and one feedback file per student
    (``<csv name>_feedback/<student>.md`` unless ``feedback_dir``). Returns that folder."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for graded in results:
            for r in graded.rows:
                writer.writerow(r.as_csv())
    folder = Path(feedback_dir or csv_path.with_name(csv_path.stem + "_feedback"))
    for graded in results:
        path = folder / f"{graded.student}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback_text(graded), encoding="utf-8")
    return folder


def answers_of(nb: Any) -> list[str]:
    """The course ids of a notebook's answer cells (for instructors' scripts)."""
    return [str(cell_id(c)) for c in answer_cells(nb)]
