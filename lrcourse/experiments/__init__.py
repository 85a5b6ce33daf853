"""Experiments too slow for a lesson notebook: run by ``make experiments``, their results
committed as data under ``lrcourse/experiments/data/``, plotted by the notebooks.

A lesson notebook runs in at most 15 s; an experiment may take minutes. Each experiment is a
module here with ``ABOUT`` (one line) and ``run() -> dict[str, np.ndarray]``; ``save`` writes
the arrays with a record of how they were made (``meta``), ``load`` reads them back.
``tests/test_experiments.py`` re-runs a slice of each and compares it with the data, so
committed results cannot drift from the code.

    python -m lrcourse experiments            # run them all, rewrite the data
    python -m lrcourse experiments NAME ...   # run some
"""

from __future__ import annotations

import datetime
import importlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lrcourse.validate import choice

__all__ = ["EXPERIMENTS", "DATA", "Results", "load", "save", "run", "module"]

#: name -> the module that runs it
EXPERIMENTS = {
    "five_schedules": "lrcourse.experiments.five_schedules",
    "failure_modes": "lrcourse.experiments.failure_modes",
    "one_cycle": "lrcourse.experiments.one_cycle",
    "lr_range": "lrcourse.experiments.lr_range",
    "warmup_sweep": "lrcourse.experiments.warmup_sweep",
}
DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Results:
    """An experiment's arrays, and ``meta``: its parameters and how it was made."""

    name: str
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[choice("key", key, self.arrays)]


def module(name: str) -> ModuleType:
    """The module of experiment ``name``."""
    return importlib.import_module(EXPERIMENTS[choice("name", name, EXPERIMENTS)])


def path(name: str) -> Path:
    return DATA / f"{choice('name', name, EXPERIMENTS)}.npz"


def save(name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` (JSON) to ``data/NAME.npz``; return the path."""
    import torch  # only to record its version

    record = {
        **meta,
        "made": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_kernels": torch.backends.cpu.get_cpu_capability(),
    }
    out = path(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, __meta__=np.array(json.dumps(record, sort_keys=True)), **arrays
    )
    return out


def load(name: str) -> Results:
    """The committed results of experiment ``name``."""
    file = path(name)
    if not file.exists():
        raise FileNotFoundError(f"{file} is missing: run `make experiments` to make it")
    with np.load(file, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"]))
    return Results(name, arrays, meta)


def run(name: str) -> Path:
    """Run experiment ``name`` in full and save its results; print how long it took."""
    mod = module(name)
    start = time.perf_counter()
    arrays, meta = mod.run()
    out = save(name, arrays, meta)
    print(f"{name}: {mod.ABOUT} ({time.perf_counter() - start:.0f} s) -> {out.name}")
    return out
