"""Is this the course's environment? Installed versions against ``requirements-lock.txt``.

Notebook 00 calls :func:`check_environment` in one cell. The committed notebook outputs
were produced with the exact versions in the lock file, so a learner whose numbers differ
from the notebook's should first know whether their packages differ. The report is
deterministic: it names versions only where they are pinned, and nothing about the
machine (paths, thread counts, Python's patch version).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = [
    "COURSE_PACKAGES",
    "EnvironmentCheck",
    "PackageCheck",
    "check_environment",
    "read_lock",
]

#: The packages the notebooks use directly, by their distribution names.
COURSE_PACKAGES = (
    "numpy",
    "matplotlib",
    "torch",
    "scikit-learn",
    "jupyterlab",
    "ipywidgets",
    "ipykernel",
    "nbval",
)

LOCK_NAME = "requirements-lock.txt"
#: Where the lock is in a clone: beside the ``lrcourse`` package folder.
DEFAULT_LOCK = Path(__file__).resolve().parents[2] / LOCK_NAME

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
_PYTHON = re.compile(r"\bPython (\d+)\.(\d+)\b")


def _normalize(name: str) -> str:
    """PEP 503 name normalisation: ``Scikit_Learn`` and ``scikit-learn`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _public(version: str) -> str:
    """The version without its local label: torch's ``2.13.0+cpu`` is release ``2.13.0``."""
    return version.split("+", 1)[0]


def read_lock(path: Path) -> tuple[dict[str, str], str | None]:
    """The ``name==version`` pins of a lock file (names normalised), and the Python
    ``major.minor`` its header comment names (``# ... (Python 3.11, CPU)``), or None."""
    pins: dict[str, str] = {}
    python = None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            found = _PYTHON.search(line)
            if found and python is None:
                python = f"{found[1]}.{found[2]}"
            continue
        pin = _PIN.match(line)
        if pin:
            pins[_normalize(pin[1])] = pin[2]
    return pins, python


@dataclass(frozen=True)
class PackageCheck:
    """One package: the version the lock pins and the version installed (None if absent)."""

    name: str
    locked: str | None
    installed: str | None

    @property
    def ok(self) -> bool:
        return (
            self.locked is not None
            and self.installed is not None
            and _public(self.installed) == self.locked
        )

    def problem(self) -> str:
        """What is wrong, in words; empty when nothing is."""
        if self.ok:
            return ""
        if self.installed is None:
            return f"{self.name}: not installed (lock pins {self.locked})"
        if self.locked is None:
            return f"{self.name}: installed {self.installed}, but {LOCK_NAME} does not pin it"
        return f"{self.name}: installed {self.installed}, lock pins {self.locked}"


@dataclass(frozen=True)
class EnvironmentCheck:
    """The outcome of :func:`check_environment`. ``ok`` is True only if the lock was found
    and every package and the Python version match it."""

    lock_found: bool
    python: str
    python_locked: str | None
    packages: tuple[PackageCheck, ...]

    @property
    def python_ok(self) -> bool:
        return self.python_locked is None or self.python == self.python_locked

    @property
    def mismatches(self) -> list[str]:
        """One line per problem; empty when the environment is the course's."""
        found = [p.problem() for p in self.packages if not p.ok]
        if not self.python_ok:
            found.append(
                f"Python: running {self.python}, lock is for {self.python_locked}"
            )
        return found

    @property
    def ok(self) -> bool:
        return self.lock_found and not self.mismatches

    def report(self) -> str:
        n = len(self.packages)
        if not self.lock_found:
            installed = ", ".join(
                f"{p.name} {p.installed or '(missing)'}" for p in self.packages
            )
            return (
                f"environment NOT CHECKED: {LOCK_NAME} not found. lrcourse looks for it beside "
                "its package folder, where it is when lrcourse is installed editable from a "
                "clone of the course.\n"
                f"  running Python {self.python}; installed: {installed}\n"
                "  fix: clone the course and run `make setup` (or `make lab`) in it."
            )
        if self.ok:
            unpinned = (
                "" if self.python_locked else f" ({LOCK_NAME} names no Python version)"
            )
            return f"environment OK: {n} packages match {LOCK_NAME}, Python {self.python}{unpinned}"
        problems = self.mismatches
        lines = [f"environment NOT OK: {len(problems)} difference(s) from {LOCK_NAME}"]
        lines += [f"  {line}" for line in problems]
        lines.append(
            "  fix: run `make setup` in the course folder, then pick the kernel "
            '"Python 3 (lrcourse)" (Kernel > Change Kernel) and restart it.'
        )
        return "\n".join(lines)


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_environment(
    lock_path: Path | str | None = None,
    *,
    packages: tuple[str, ...] = COURSE_PACKAGES,
    verbose: bool = True,
) -> EnvironmentCheck:
    """Compare the installed course packages and Python's minor version with the lock.

    ``lock_path`` defaults to ``requirements-lock.txt`` beside the package, which exists
    when lrcourse is installed editable from a clone (``make setup``). Prints the report
    unless ``verbose`` is False, and returns it as an :class:`EnvironmentCheck`.
    """
    path = DEFAULT_LOCK if lock_path is None else Path(lock_path)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if path.is_file():
        pins, python_locked = read_lock(path)
        found = True
    else:
        pins, python_locked, found = {}, None, False
    checks = tuple(
        PackageCheck(name, pins.get(_normalize(name)), _installed(name))
        for name in packages
    )
    result = EnvironmentCheck(found, python, python_locked, checks)
    if verbose:
        print(result.report())
    return result
