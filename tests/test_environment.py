"""The pins agree: requirements-lock.txt, pyproject.toml and environment.yml."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PIP = {"pytorch": "torch", "dask-core": "dask"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements-lock.txt: {line!r} is not an exact pin"
            pins[_norm(name)] = version
    return pins


def test_lock_pins_every_package_exactly():
    pins = lock()
    assert len(pins) > 50
    assert pins["torch"] == "2.13.0"  # the CPU build on this machine's disk


def test_environment_yml_agrees_with_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pins, seen = lock(), 0
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert dep["pip"] == ["-e ."]
            continue
        name, _, version = dep.partition("=")
        if name in ("python", "pip"):
            continue
        pip_name = _norm(CONDA_TO_PIP.get(name, name))
        assert pip_name in pins, f"environment.yml has {name}, the lock does not"
        assert version == pins[pip_name], (
            f"{name}: environment.yml {version}, lock {pins[pip_name]}"
        )
        seen += 1
    assert "python=3.11" in env["dependencies"]
    assert seen >= 10


def test_pyproject_agrees_with_lock():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = lock()
    deps = project["dependencies"] + [d for ds in project["optional-dependencies"].values()
                                      for d in ds]  # fmt: skip
    for dep in deps:
        name, sep, version = dep.partition("==")
        assert sep, f"pyproject.toml: {dep!r} is not an exact pin"
        assert pins.get(_norm(name)) == version, (
            f"{name}: pyproject {version}, lock {pins.get(_norm(name))}"
        )
    assert project["requires-python"].startswith(">=3.11")
