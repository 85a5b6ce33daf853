"""Notebooks are committed executed, in order, thin, and listed in the README.

nbval (``make test``) re-runs each notebook and compares outputs; these checks catch what
it cannot: a notebook saved unexecuted, or executed out of order, passes nbval silently.
"""

import base64
import json
import re
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text())
    return [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_executed_top_to_bottom(path):
    counts = [c["execution_count"] for c in code_cells(path)]
    assert None not in counts, (
        f"{path.name}: cells never run; run it top to bottom and save"
    )
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: run out of order: {counts}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_clean_outputs(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "lrcourse"
    for cell in code_cells(path):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: a cell raised"
            assert "image/svg+xml" not in out.get("data", {}), (
                "figures are PNG (nbval skips PNG)"
            )
            text = json.dumps(out)
            assert "/work/" not in text and "/root/" not in text, (
                "machine paths in outputs"
            )
    assert path.stat().st_size < 1_500_000, f"{path.name} is bloated"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_thin_and_checked(path):
    sources = ["".join(c["source"]) for c in code_cells(path)]
    assert any("import lrcourse" in s or "from lrcourse" in s for s in sources)
    assert any(re.search(r"^\s*assert ", s, re.M) for s in sources), "no check cell"
    defs = sum(len(re.findall(r"^def ", s, re.M)) for s in sources)
    assert defs <= 2, f"{path.name} defines {defs} functions; move them into lrcourse"


def test_readme_maps_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme, f"README's notebook map lacks {path.name}"
    for name in re.findall(r"\b\d\d_[a-z0-9_]+\.ipynb", readme):
        assert (ROOT / "notebooks" / name).exists(), (
            f"README names a missing notebook {name}"
        )


# --- the screen (../shared/DESIGN.md): what a projector at 1280x720 and a laptop can show ---
MAX_FIGURE_PX = 850
MAX_LINE = 88


def _outputs(path: Path):
    for cell in code_cells(path):
        yield from cell.get("outputs", [])


def _png_width(b64: str) -> int:
    return struct.unpack(">I", base64.b64decode(b64)[16:20])[
        0
    ]  # the IHDR chunk's width


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_fit_the_screen(path):
    widths = [
        _png_width(o["data"]["image/png"])
        for o in _outputs(path)
        if "image/png" in o.get("data", {})
    ]
    wide = [w for w in widths if w > MAX_FIGURE_PX]
    assert not wide, (
        f"{path.name}: figures {wide} px wide (at most {MAX_FIGURE_PX}); stack panels"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_printed_lines_fit_the_screen(path):
    long = []
    for out in _outputs(path):
        text = "".join(out.get("text", "")) + "".join(
            out.get("data", {}).get("text/plain", "")
        )
        long += [line for line in text.splitlines() if len(line) > MAX_LINE]
    assert not long, (
        f"{path.name}: {len(long)} printed lines over {MAX_LINE} characters: {long[:2]}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ends_with_links_to_its_neighbours_and_the_map(path):
    nb = json.loads(path.read_text())
    tail = "".join(
        "".join(c["source"]) for c in nb["cells"][-2:] if c["cell_type"] == "markdown"
    )
    linked = set(re.findall(r"\]\((?:\./)?(\d\d_[^)]+\.ipynb)\)", tail))
    i = NOTEBOOKS.index(path)
    expected = {p.name for p in NOTEBOOKS[max(i - 1, 0) : i + 2] if p != path}
    if path.name != "00_start_here.ipynb":
        expected.add("00_start_here.ipynb")
    assert expected <= linked, (
        f"{path.name} should end with links to {sorted(expected - linked)}"
    )
