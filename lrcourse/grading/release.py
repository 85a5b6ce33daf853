"""Make a learner's notebook from an instructor's master: ``python -m lrcourse release``.

The master is the solution, and the single source of an exercise. Its cells follow these
conventions (the README's "Exercises and grading" shows them to instructors):

* an **answer cell** is a code cell tagged ``answer``, with ``metadata.lrcourse.id``. The
  code between a line ``# BEGIN SOLUTION`` and a line ``# END SOLUTION`` is the solution;
  release replaces it with ``raise NotImplementedError(...)`` at the same indent, and keeps
  the rest of the cell (a ``def`` line and its docstring, say). A cell without the two
  lines becomes the stub alone;
* a **check cell** is a code cell tagged ``check``, with ``metadata.lrcourse = {"id": ...,
  "points": ...}``; it calls ``lrcourse.grading.check(ID, ...)``. Release marks it
  read-only in JupyterLab (``editable``/``deletable`` false), a courtesy, not a defence:
  the grader puts back the master's check cells whatever the learner did;
* a cell tagged ``solution`` is the master's alone (a discussion of the results, say):
  release leaves it out, and the grader never runs it;
* the notebook's ``metadata.lrcourse`` says which exercise it is (``{"exercise": "E1"}``),
  and ``"from_scratch": true`` if answers may not use the course's own implementations.

Release clears outputs and execution counts, and keeps every cell's id: the grader matches
a submission's answer cells to the master's by ``metadata.lrcourse.id``, then by cell id.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "BEGIN",
    "END",
    "STUB",
    "release",
    "release_file",
    "stub_source",
    "cell_tags",
    "cell_id",
    "exercise_of",
    "check_cells",
    "answer_cells",
    "ROOT",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = 'raise NotImplementedError("your code here")'
ROOT = Path(__file__).resolve().parents[2]
_MARK = re.compile(r"^(\s*)# (BEGIN|END) SOLUTION\s*$")


def cell_tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def cell_id(cell: Any) -> str | None:
    """A cell's course id (``metadata.lrcourse.id``), or None."""
    meta = cell.get("metadata", {}).get("lrcourse", {})
    return meta.get("id") if isinstance(meta, dict) else None


def exercise_of(nb: Any) -> str | None:
    meta = nb.get("metadata", {}).get("lrcourse", {})
    return meta.get("exercise") if isinstance(meta, dict) else None


def answer_cells(nb: Any) -> list[Any]:
    return [
        c for c in nb["cells"] if c["cell_type"] == "code" and "answer" in cell_tags(c)
    ]


def check_cells(nb: Any) -> list[Any]:
    return [
        c for c in nb["cells"] if c["cell_type"] == "code" and "check" in cell_tags(c)
    ]


def stub_source(source: str) -> str:
    """``source`` with each BEGIN/END SOLUTION block replaced by the stub; the whole cell
    becomes the stub when it has no block."""
    lines = source.splitlines()
    out: list[str] = []
    inside = False
    found = False
    for number, line in enumerate(lines, 1):
        mark = _MARK.match(line)
        if mark and mark.group(2) == "BEGIN":
            if inside:
                raise ValueError(f"line {number}: {BEGIN} inside another block")
            inside, found = True, True
            out.append(mark.group(1) + STUB)
        elif mark:
            if not inside:
                raise ValueError(f"line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    return "\n".join(out) if found else STUB


def _validate(nb: Any, name: str) -> None:
    problems = []
    if not exercise_of(nb):
        problems.append('the notebook has no metadata.lrcourse = {"exercise": ...}')
    seen: set[str] = set()
    for cell in nb["cells"]:
        tags = cell_tags(cell)
        if not {"answer", "check"} & set(tags):
            continue
        cid = cell_id(cell)
        if cell["cell_type"] != "code":
            problems.append(f"a {cell['cell_type']} cell is tagged {tags}")
        if "answer" in tags and "check" in tags:
            problems.append(f"cell {cid!r} is tagged both answer and check")
        if not isinstance(cid, str) or not cid:
            problems.append(f"an {'/'.join(tags)} cell has no metadata.lrcourse.id")
        elif cid in seen:
            problems.append(f"two cells have the id {cid!r}")
        seen.add(str(cid))
        if "check" in tags:
            points = cell["metadata"]["lrcourse"].get("points")
            if (
                not isinstance(points, int | float)
                or isinstance(points, bool)
                or points <= 0
            ):
                problems.append(f"check cell {cid!r} has no points > 0")
        if "answer" in tags:
            try:
                stub_source(cell["source"])
            except ValueError as err:
                problems.append(f"answer cell {cid!r}: {err}")
    if not check_cells(nb):
        problems.append("the notebook has no check cell")
    if problems:
        raise ValueError(
            f"{name} breaks the exercise conventions: " + "; ".join(problems)
        )


def release(master: Any, name: str = "the master") -> nbformat.NotebookNode:
    """The learner's version of ``master`` (a notebook): solutions stubbed, outputs
    cleared, solution-only cells left out, ids kept."""
    nb = nbformat.from_dict(copy.deepcopy(dict(master)))
    _validate(nb, name)
    cells = []
    for cell in nb.cells:
        tags = cell_tags(cell)
        if "solution" in tags:
            continue
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if "answer" in tags:
                cell.source = stub_source(cell.source)
            if "check" in tags:
                cell.metadata["editable"] = False
                cell.metadata["deletable"] = False
        cells.append(cell)
    nb.cells = cells
    return nb


def dumps(nb: Any) -> str:
    return nbformat.writes(nbformat.from_dict(nb), version=4)


def release_file(master: Path, out_dir: Path) -> Path:
    """Write the learner's version of ``master`` into ``out_dir``, under its name."""
    nb = nbformat.read(str(master), as_version=4)
    out = Path(out_dir) / Path(master).name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(release(nb, Path(master).name)), encoding="utf-8")
    return out


def differs(master: Path, exercise: Path) -> bool:
    """Whether the committed learner's version differs from what release makes."""
    nb = nbformat.read(str(master), as_version=4)
    made = dumps(release(nb, Path(master).name))
    return not exercise.exists() or exercise.read_text(encoding="utf-8") != made
