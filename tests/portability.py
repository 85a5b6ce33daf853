"""``make portability``: nbval strict over every notebook, with the float kernels switched.

A learner's laptop runs other float kernels than the machine that saved the notebooks:
torch picks AVX-512, AVX2 or plain code at start-up, MKL (torch's BLAS on x86) picks its own
code path, and numpy dispatches its SIMD loops by CPU feature. Different kernels sum floats
in a different order, so the last bits differ, and a chaotic training run amplifies them.
Each setting below makes this machine run the kernels of another CPU, then re-runs every
notebook under nbval strict mode: a saved output that does not hold there fails.

What it cannot simulate: another C library (Apple Silicon's libm computes ``cos`` and
``pow`` differently from glibc), another BLAS (Apple's Accelerate, OpenBLAS), or a CPU
feature this machine lacks (an AVX2 machine cannot run AVX-512 kernels). A setting that does
not apply to this CPU is skipped with a message, not failed.

Usage: ``python tests/portability.py [--all] [NOTEBOOK ...]`` (default: every numbered
notebook and every exercise's solution, ``notebooks/solutions/``). ``--all`` adds each
kernel switched on its own. A setting whose kernels give the same float32 sums as a
setting already run (or as this CPU's own) is skipped: it would re-run the notebooks for
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBVAL = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-cell-timeout=300",
    "--nbval-sanitize-with",
    str(ROOT / "tests" / "nbval_sanitize.cfg"),
]


@dataclass(frozen=True)
class Setting:
    """Environment variables that make this machine run another CPU's kernels."""

    name: str
    torch_capability: str | None = None  # ATEN_CPU_CAPABILITY: "default", "avx2", ...
    mkl_cbwr: str | None = None  # MKL_CBWR: MKL's conditional numerical reproducibility
    numpy_disable: tuple[str, ...] = ()  # NPY_DISABLE_CPU_FEATURES


SETTINGS = (
    Setting(
        "a CPU without SIMD: torch's plain kernels, MKL's compatible path, numpy without AVX-512",
        torch_capability="default",
        mkl_cbwr="COMPATIBLE",
        numpy_disable=("X86_V4", "AVX512_ICL"),
    ),
    Setting("an AVX2 laptop: torch's AVX2 kernels", torch_capability="avx2"),
)
#: With ``--all``: each kernel switched alone, for an author checking a notebook more widely.
EXTRA_SETTINGS = (
    Setting("torch's plain kernels alone", torch_capability="default"),
    Setting("MKL's compatible path alone", mkl_cbwr="COMPATIBLE"),
)

_PROBE = """
import json, torch, numpy as np
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
print(json.dumps({
    "torch": torch.backends.cpu.get_cpu_capability(),
    "mkl": torch.backends.mkl.is_available(),
    "numpy_dispatch": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
}))
"""

# A float32 sum that depends on the kernels: the same seeded data, summed by torch's
# vectorized reduction and multiplied by MKL's sgemm. Printed in hex, to the last bit.
_FINGERPRINT = """
import torch
g = torch.Generator().manual_seed(0)
a = torch.randn(257, 1031, generator=g)
b = torch.randn(1031, 263, generator=g)
print(float((a @ b).sum()).hex(), float(a.exp().sum()).hex())
"""


def _python(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def environment(setting: Setting, native: dict) -> tuple[dict[str, str], list[str]]:
    """The variables of ``setting`` that apply to this CPU, and a note for each that does not."""
    env: dict[str, str] = {}
    notes = []
    if setting.torch_capability:
        wanted = setting.torch_capability.upper()
        have = native["torch"]
        order = ["DEFAULT", "AVX2", "AVX512"]
        if have not in order or wanted not in order:
            notes.append(f"ATEN_CPU_CAPABILITY={setting.torch_capability}: torch runs {have} "
                         "kernels here, not an x86 capability it can switch")  # fmt: skip
        elif wanted == have:
            notes.append(f"ATEN_CPU_CAPABILITY={setting.torch_capability}: torch already runs "
                         f"its {have} kernels on this CPU, nothing to simulate")  # fmt: skip
        elif order.index(wanted) > order.index(have):
            notes.append(f"ATEN_CPU_CAPABILITY={setting.torch_capability}: this CPU cannot run "
                         f"them (torch runs {have} here)")  # fmt: skip
        else:
            env["ATEN_CPU_CAPABILITY"] = setting.torch_capability
    if setting.mkl_cbwr:
        if native["mkl"]:
            env["MKL_CBWR"] = setting.mkl_cbwr
        else:
            notes.append(f"MKL_CBWR={setting.mkl_cbwr}: this torch does not use MKL")
    if setting.numpy_disable:
        present = [f for f in setting.numpy_disable if f in native["numpy_dispatch"]]
        absent = [f for f in setting.numpy_disable if f not in present]
        if present:
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(present)
        if absent:
            notes.append(f"NPY_DISABLE_CPU_FEATURES: this CPU has no {' '.join(absent)} "
                         "for numpy to switch off")  # fmt: skip
    return env, notes


def main(argv: list[str]) -> int:
    settings = SETTINGS + (EXTRA_SETTINGS if "--all" in argv else ())
    argv = [a for a in argv if a != "--all"]
    notebooks = argv or [
        *sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
        *sorted(str(p) for p in (ROOT / "notebooks" / "solutions").glob("*.ipynb")),
    ]
    base = dict(os.environ)
    base.pop("MPLBACKEND", None)  # notebooks draw inline
    native = __import__("json").loads(_python(_PROBE, base))
    print(f"this CPU: torch {native['torch']} kernels, MKL {'yes' if native['mkl'] else 'no'}, "
          f"numpy dispatch {' '.join(native['numpy_dispatch']) or 'none'}")  # fmt: skip
    seen = {_python(_FINGERPRINT, base)}
    failed, ran = [], 0
    for setting in settings:
        env, notes = environment(setting, native)
        print(f"\n== {setting.name}")
        for note in notes:
            print(f"   skipped part: {note}")
        if not env:
            print("   SKIPPED: no part of this setting applies to this CPU")
            continue
        print("   " + " ".join(f"{k}={v!r}" for k, v in env.items()))
        fingerprint = _python(_FINGERPRINT, base | env)
        if fingerprint in seen:
            print(
                "   SKIPPED: its float32 sums equal, to the bit, those of a setting already run"
            )
            continue
        seen.add(fingerprint)
        print("   float32 sums change in their last bits: yes")
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *NBVAL,
                *notebooks,
            ],
            env=base | env,
            cwd=ROOT,
        )
        ran += 1
        print(f"   nbval: {'passed' if result.returncode == 0 else 'FAILED'} "
              f"in {time.perf_counter() - start:.0f} s")  # fmt: skip
        if result.returncode != 0:
            failed.append(setting.name)
    print()
    if failed:
        print("portability FAILED under: " + "; ".join(failed))
        return 1
    print(
        f"portability: passed under {ran} of {len(settings)} settings (the rest do not apply)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
