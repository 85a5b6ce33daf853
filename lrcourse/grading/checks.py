"""The exercises' checks: feedback for the learner now, evidence for the grader later.

A check cell calls ``check(ID, *objects)``. The check

1. **collects** evidence from the learner's objects, into plain JSON: their schedule's
   values at steps the check chooses, their runs, what their figure draws, their
   conclusion. It calls the learner's code; an exception there becomes evidence too;
2. **saves** the evidence to ``$LRCOURSE_EVIDENCE_DIR/ID.json``, only when the grader runs
   the notebook (the variable is unset otherwise, and nothing is written);
3. **verifies** the evidence and prints what held, or raises :class:`CheckFailed` with
   feedback that names what to look at next.

The grader repeats step 3 in its own process, on the saved file (``lrcourse.grading.grade``).
Code in the learner's kernel can replace ``check``, ``np.allclose`` or anything else in
that kernel, but not the grader's copy: points need the check cell to pass in the kernel
*and* the evidence to pass in the grader. Evidence that passes is the learner's code
computing correct answers (for E2 and E3 the grader also re-trains one of the runs, chosen
at random, and needs the same losses).

``LRCOURSE_CHECK_SEED`` picks the extra steps, start lrs and curves a check tries (0 when
unset): the grader sets it per submission, so answers cannot be typed in ahead of time.

Exercises (their notebooks are under ``notebooks/solutions/``):

* E1: the five schedules from scratch (``e1-constant`` ... ``e1-one-cycle``);
* E2: the five compared on one task (``e2-runs``, ``e2-plot``, ``e2-conclusion``);
* E3: the warmup sweep 0 / 50 / 200 / 1000 at lr 5 (``e3-runs``, ``e3-plot``,
  ``e3-conclusion``);
* E4: the LR range test from scratch (``e4-smooth``, ``e4-sweep``, ``e4-restore``,
  ``e4-suggest``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import textwrap
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "check",
    "CHECKS",
    "CheckFailed",
    "Context",
    "verify",
    "EVIDENCE_DIR",
    "CHECK_SEED",
    "E2",
    "E3",
    "E4",
]

#: Where a check saves its evidence, when set (the grader sets it; learners never need to).
EVIDENCE_DIR = "LRCOURSE_EVIDENCE_DIR"
#: The seed of the steps, lrs and curves a check tries (0 when unset).
CHECK_SEED = "LRCOURSE_CHECK_SEED"
#: The largest evidence file the grader reads.
MAX_EVIDENCE_BYTES = 20_000_000


class CheckFailed(AssertionError):
    """A check that did not hold: ``message`` says what and what to try next; ``status``
    is "failed" or "not implemented"."""

    def __init__(self, message: str, status: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _not_implemented(what: str) -> CheckFailed:
    return CheckFailed(
        f"not implemented yet: {what} still raises NotImplementedError. Replace the "
        "`raise NotImplementedError(...)` line in its answer cell with your code, run "
        "that cell, then this one.",
        status="not implemented",
    )


@dataclass(frozen=True)
class Context:
    """What a verification may use besides its own evidence: the seed of the choices,
    whether it runs in the grader (``trusted``: then it also re-trains a run), and the
    evidence of the other checks (a conclusion is checked against the runs' evidence)."""

    seed: int = 0
    trusted: bool = False
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    id: str
    exercise: str
    collect: Callable[..., dict]
    verify: Callable[[dict, Context], str]


CHECKS: dict[str, Check] = {}
#: Evidence collected in this process, for checks that build on another's (in-kernel only).
_SESSION: dict[str, Any] = {}


def _register(check_id: str, exercise: str, collect, verify_fn) -> None:
    CHECKS[check_id] = Check(check_id, exercise, collect, verify_fn)


def current_seed() -> int:
    try:
        return int(os.environ.get(CHECK_SEED, "0"))
    except ValueError:
        return 0


def check(check_id: str, *objects: Any) -> None:
    """Check the learner's ``objects`` against check ``check_id``; print what held, or
    raise :class:`CheckFailed` saying what did not and what to look at."""
    if check_id not in CHECKS:
        raise ValueError(f"check_id must be one of {sorted(CHECKS)}, got {check_id!r}")
    spec = CHECKS[check_id]
    evidence = json.loads(json.dumps(spec.collect(*objects)))  # what the grader reads
    _SESSION[check_id] = evidence
    folder = os.environ.get(EVIDENCE_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{check_id}.json").write_text(json.dumps(evidence))
    try:
        message = spec.verify(evidence, Context(current_seed(), False, _SESSION))
    except CheckFailed as failed:
        raise CheckFailed(failed.message, failed.status) from None
    print(textwrap.fill(f"\N{CHECK MARK} {message}", 88, subsequent_indent="  "))


def verify(check_id: str, evidence: Any, context: Context) -> tuple[str, str]:
    """The grader's side: ``(status, message)`` for ``evidence``; never raises.

    status: "passed", "failed" or "not implemented". Evidence that is not what the check
    wrote (a wrong shape, a wrong type) fails with a message saying so.
    """
    spec = CHECKS.get(check_id)
    if spec is None:
        return "failed", f"the grader has no check called {check_id!r}"
    if not isinstance(evidence, dict):
        return "failed", "the check's evidence is not what the check writes"
    try:
        return "passed", spec.verify(evidence, context)
    except CheckFailed as failed:
        return failed.status, failed.message
    except Exception as err:  # malformed evidence: whatever wrote it, it earns nothing
        return "failed", (
            "the check's evidence could not be read "
            f"({type(err).__name__}); run the notebook top to bottom and submit it unchanged"
        )


def _rng(check_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(check_id.encode())])


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


def _pair(got: float, expected: float) -> tuple[str, str]:
    """The two numbers with just enough digits to tell them apart."""
    for digits in range(2, 18):
        a, b = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if a != b:
            return a, b
    return repr(got), repr(expected)


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (or a one-element array), else None."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(-1)[0])
    if type(value).__name__ == "Tensor" and getattr(value, "numel", lambda: 0)() == 1:
        return float(value.item())
    return None


def _close(got: Any, expected: float, rtol: float = 1e-9) -> bool:
    return (
        isinstance(got, int | float)
        and not isinstance(got, bool)
        and math.isclose(got, expected, rel_tol=rtol, abs_tol=1e-15)
    )


# ---------------------------------------------------------------------------------------
# E1: the five schedules, from scratch. The course's formulas are the reference.

E1_CASES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "e1-constant": ("constant_schedule", [{"lr": 0.1}, {"lr": 3e-4}]),
    "e1-step-decay": (
        "step_decay_schedule",
        [
            {"lr": 0.1, "drop_factor": 0.1, "drop_every": 30},
            {"lr": 1.0, "drop_factor": 0.5, "drop_every": 7},
        ],
    ),
    "e1-cosine": (
        "cosine_schedule",
        [
            {"lr_max": 1e-3, "lr_min": 1e-5, "total_steps": 1000},
            {"lr_max": 0.1, "lr_min": 0.0, "total_steps": 50},
        ],
    ),
    "e1-warmup-cosine": (
        "warmup_cosine_schedule",
        [
            {"lr_max": 1e-3, "lr_min": 1e-5, "warmup_steps": 100, "total_steps": 1000},
            {"lr_max": 0.1, "lr_min": 1e-3, "warmup_steps": 0, "total_steps": 200},
            {"lr_max": 0.1, "lr_min": 1e-3, "warmup_steps": 50, "total_steps": 50},
        ],
    ),
    "e1-one-cycle": (
        "one_cycle_schedule",
        [{"lr_max": 0.01, "total_steps": 1000}, {"lr_max": 1.0, "total_steps": 100}],
    ),
}
#: Extra steps drawn at random per setting, on top of the landmarks.
E1_RANDOM_STEPS = 6


def _landmarks(name: str, kw: Mapping[str, Any]) -> tuple[list[int], int]:
    """The steps every learner's schedule is tried at, and the range of random extras."""
    if name == "constant_schedule":
        return [0, 1, 10, 999, 12345], 2000
    if name == "step_decay_schedule":
        d = kw["drop_every"]
        return [0, 1, d - 1, d, d + 1, 2 * d - 1, 2 * d, 5 * d + 3], 10 * d
    T = kw["total_steps"]
    if name == "cosine_schedule":
        return [0, 1, T // 4, T // 2, T - 1, T, T + 1, 3 * T // 2, 2 * T], 2 * T
    if name == "warmup_cosine_schedule":
        W = kw["warmup_steps"]
        marks = [0, 1, W // 2, W - 1, W, W + 1, (W + T) // 2, T - 1, T, T + 1]
        return [*marks, 3 * T // 2, 2 * T], 2 * T
    a, b = int(0.45 * T - 1), int(0.9 * T - 2)
    return [0, 1, a - 1, a, a + 1, b - 1, b, b + 1, T - 2, T - 1, T, 2 * T], 2 * T


def e1_plan(check_id: str, seed: int) -> list[tuple[dict[str, Any], int]]:
    """The (arguments, step) calls check ``check_id`` makes, in order."""
    name, configs = E1_CASES[check_id]
    rng = _rng(check_id, seed)
    plan = []
    for kw in configs:
        marks, high = _landmarks(name, kw)
        extra = rng.integers(0, high + 1, size=E1_RANDOM_STEPS).tolist()
        plan += [(kw, step) for step in sorted({s for s in marks + extra if s >= 0})]
    return plan


def _reference(name: str, step: int, kw: Mapping[str, Any]) -> float:
    from lrcourse import schedules

    return float(getattr(schedules, name)(step, **kw))


def _collect_schedule(check_id: str) -> Callable[[Any], dict]:
    def collect(fn: Any) -> dict:
        name = E1_CASES[check_id][0]
        if not callable(fn):
            return {"error": f"expected the function {name}, got a {type(fn).__name__}"}
        calls = []
        for kw, step in e1_plan(check_id, current_seed()):
            try:
                value = fn(step, **kw)
            except NotImplementedError:
                return {"not_implemented": True}
            except Exception as err:
                calls.append({"kwargs": kw, "step": step, "error": _describe(err)})
                continue
            got = _number(value)
            if got is None:
                calls.append(
                    {"kwargs": kw, "step": step, "returned": type(value).__name__}
                )
            else:
                calls.append({"kwargs": kw, "step": step, "value": got})
        return {"calls": calls}

    return collect


def _call(name: str, step: int, kw: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return f"{name}({step}, {args})"


def _hint(name: str, kw: Mapping[str, Any], step: int, error: str | None) -> str:
    """What to look at, given where a schedule went wrong."""
    T = kw.get("total_steps")
    if name == "constant_schedule":
        return "a constant schedule returns lr at every step"
    if name == "step_decay_schedule":
        d = kw["drop_every"]
        if step < d:
            return f"before the first drop (steps 0 to {d - 1}) the lr is lr itself"
        k = step // d
        return (
            f"step {step} comes after {k} drop{'s' if k > 1 else ''} (step // drop_every "
            f"= {k}), so its lr is lr * drop_factor ** {k}; do your drops come at steps "
            f"{d}, {2 * d}, ... exactly?"
        )
    if step > T and error is None:
        return "does your schedule hold its final value after total_steps?"
    if name == "cosine_schedule":
        if step == 0:
            return "at step 0 the cosine starts at lr_max"
        return (
            "check the formula lr_min + (lr_max - lr_min) * (1 + cos(pi * step / "
            "total_steps)) / 2"
        )
    if name == "warmup_cosine_schedule":
        W = kw["warmup_steps"]
        if W == T and (error or step >= W):
            return (
                f"with warmup_steps == total_steps ({T}) no steps are left to decay: "
                "hold lr_max after the warmup (the lesson's code divides by zero here)"
            )
        if W == 0 and (error or step == 0):
            return (
                "with warmup_steps=0 there is no warmup: the cosine starts at step 0 "
                "(the lesson's code divides by zero here)"
            )
        if step < W:
            return (
                "during the warmup lr = lr_max * step / warmup_steps: 0 at step 0, "
                "rising in a straight line"
            )
        return (
            "after the warmup the cosine runs from lr_max at step warmup_steps down to "
            "lr_min at step total_steps, over total_steps - warmup_steps steps"
        )
    a, b = 0.45 * T - 1, 0.9 * T - 2
    if step > T - 1:
        return (
            "after its last step (total_steps - 1) 1cycle holds lr_max / 25000; does "
            "yours hold its final value after total_steps?"
        )
    if step <= a:
        return (
            f"phase 1 (steps 0 to 0.45 * total_steps - 1 = {a:g}) rises in a straight "
            "line from lr_max / 25 to lr_max"
        )
    if step <= b:
        return (
            f"phase 2 (steps {a:g} to 0.9 * total_steps - 2 = {b:g}) falls in a "
            "straight line from lr_max back to lr_max / 25"
        )
    return (
        f"phase 3 (steps {b:g} to total_steps - 1 = {T - 1}) falls in a straight line "
        "from lr_max / 25 to lr_max / 25000"
    )


def _verify_schedule(check_id: str) -> Callable[[dict, Context], str]:
    def verify_fn(ev: dict, ctx: Context) -> str:
        name, configs = E1_CASES[check_id]
        if ev.get("not_implemented"):
            raise _not_implemented(f"`{name}`")
        if "error" in ev:
            raise CheckFailed(str(ev["error"]))
        plan = e1_plan(check_id, ctx.seed)
        calls = ev["calls"]
        if len(calls) != len(plan) or any(
            c["step"] != step or c["kwargs"] != kw
            for c, (kw, step) in zip(calls, plan, strict=True)
        ):
            raise CheckFailed(
                "the evidence does not hold the calls this check makes: run the notebook "
                "top to bottom and submit it unchanged"
            )
        wrong = []
        for call, (kw, step) in zip(calls, plan, strict=True):
            expected = _reference(name, step, kw)
            if "error" in call:
                text = f"{_call(name, step, kw)} raised {call['error']}"
                hint = (
                    _hint(name, kw, step, str(call["error"]))
                    if str(call["error"]).startswith("ZeroDivisionError")
                    else "make that call in a cell of your own to see the traceback"
                )
                wrong.append(f"{text}: {hint}")
            elif "returned" in call:
                wrong.append(
                    f"{_call(name, step, kw)} returned a {call['returned']}, not a "
                    f"number (expected {expected:.3g})"
                )
            elif not _close(call["value"], expected):
                got, exp = _pair(call["value"], expected)
                text = f"{_call(name, step, kw)} returned {got}, expected {exp}"
                wrong.append(f"{text}: {_hint(name, kw, step, None)}")
        if wrong:
            more = len(wrong) - 1
            tail = f" ({more} other checked call{'s' if more > 1 else ''} differ too.)"
            raise CheckFailed(wrong[0] + (tail if more else ""))
        return (
            f"{name} agrees with the course's formula at {len(plan)} steps in "
            f"{len(configs)} settings"
        )

    return verify_fn


for _id in E1_CASES:
    _register(_id, "E1", _collect_schedule(_id), _verify_schedule(_id))


# ---------------------------------------------------------------------------------------
# Runs (E2, E3): what a History holds, as JSON, and the checks every run set must pass.


@dataclass(frozen=True)
class RunSetup:
    """An exercise's runs: who (labels), for how long, at which peak."""

    labels: tuple
    peak: float
    steps: int
    min_seeds: int = 2
    eval_every: int = 20
    retrain_steps: int = 300


#: E2: the five schedules, SGD with momentum 0.9, peak 0.03, 300 steps.
E2 = RunSetup(
    labels=("constant", "step decay", "cosine", "warmup + cosine", "1cycle"),
    peak=0.03,
    steps=300,
)
#: The training loss "fastest" is measured to, and how close to the best counts as a tie.
E2_TARGET = 0.1
E2_TIE = 0.10
#: E3: warmup 0, 50, 200, 1000 to a constant lr 5 (plain SGD), 1200 steps.
E3 = RunSetup(labels=(0, 50, 200, 1000), peak=5.0, steps=1200, eval_every=100)


def _run_evidence(history: Any) -> dict:
    c = history.config
    return {
        "seed": int(c["seed"]),
        "steps": int(c["steps"]),
        "optimizer": c["optimizer"],
        "momentum": c["momentum"],
        "betas": None if c["betas"] is None else list(c["betas"]),
        "eps": c["eps"],
        "weight_decay": c["weight_decay"],
        "batch_size": c["batch_size"],
        "hidden": list(c["hidden"]),
        "dtype": c["dtype"],
        "task": c["task"],
        "lr": np.asarray(history.lr, dtype=float).tolist(),
        "loss": np.asarray(history.loss, dtype=float).tolist(),
        "eval_step": np.asarray(history.eval_step).astype(int).tolist(),
        "train_loss": np.asarray(history.train_loss, dtype=float).tolist(),
        "diverged_at": None
        if history.diverged_at is None
        else int(history.diverged_at),
    }


def _collect_runs(results: Any) -> dict:
    if not isinstance(results, Mapping):
        return {"error": f"expected a dict of runs, got a {type(results).__name__}"}
    runs = {}
    for key, histories in results.items():
        if not isinstance(histories, list | tuple):
            histories = [histories]
        try:
            runs[str(key)] = [_run_evidence(h) for h in histories]
        except (AttributeError, KeyError, TypeError) as err:
            return {
                "error": f"results[{key!r}] is not a list of runs from train or "
                f"train_grid ({_describe(err)})"
            }
    return {"runs": runs}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower()).replace("onecycle", "1cycle")


def schedule_label(text: str, names: Sequence[str] = E2.labels) -> str | None:
    """The schedule a label names: the longest of ``names`` it contains ("warmup + cosine
    (seed 0)" names warmup + cosine, not cosine), or None."""
    found = [n for n in names if _norm(n) and _norm(n) in _norm(text)]
    return max(found, key=lambda n: len(_norm(n))) if found else None


def warmup_label(text: Any) -> int | None:
    """The warmup a label or key names: its first whole number ("warmup 50 (seed 0)": 50)."""
    if isinstance(text, int):
        return text
    match = re.search(r"\d+", str(text))
    return int(match.group()) if match else None


def _runs_by(ev: dict, setup: RunSetup, label_of) -> dict:
    if "error" in ev:
        raise CheckFailed(str(ev["error"]))
    runs: dict = {}
    for key, histories in ev["runs"].items():
        label = label_of(key)
        if label in setup.labels and histories:
            runs.setdefault(label, []).extend(histories)
    return runs


def _check_budget(runs: dict, setup: RunSetup, what: Callable[[Any], str]) -> list:
    """Every label ran, for the same steps, seeds and settings. Returns the seeds."""
    missing = [what(label) for label in setup.labels if label not in runs]
    if missing:
        raise CheckFailed(
            f"your results have no runs for {', '.join(missing)}: train every one of "
            f"{', '.join(what(label) for label in setup.labels)}, and key the results "
            "by them"
        )
    for label in setup.labels:
        steps = {r["steps"] for r in runs[label]}
        if steps != {setup.steps}:
            raise CheckFailed(
                f"your {what(label)} runs train for {sorted(steps)} steps; every run "
                f"must get the same budget, STEPS = {setup.steps}"
            )
    seeds = {label: sorted(r["seed"] for r in runs[label]) for label in setup.labels}
    first = seeds[setup.labels[0]]
    for label in setup.labels:
        if seeds[label] != first:
            raise CheckFailed(
                f"your {what(label)} runs use seeds {seeds[label]}, your "
                f"{what(setup.labels[0])} runs {first}: give every run the same seeds"
            )
    if len(set(first)) < setup.min_seeds:
        raise CheckFailed(
            f"your runs use {len(set(first))} seed(s); use at least {setup.min_seeds}, "
            "so that one lucky seed cannot decide"
        )
    keys = ("optimizer", "momentum", "betas", "eps", "weight_decay", "batch_size")
    ref = {k: runs[setup.labels[0]][0][k] for k in (*keys, "hidden")}
    for label in setup.labels:
        for r in runs[label]:
            for k in (*keys, "hidden"):
                if r[k] != ref[k]:
                    raise CheckFailed(
                        f"your {what(label)} runs use {k}={r[k]!r}, your "
                        f"{what(setup.labels[0])} runs {k}={ref[k]!r}: change only the "
                        "learning rate between runs"
                    )
    for label in setup.labels:
        for r in runs[label]:
            if not r["eval_step"] or not r["train_loss"]:
                raise CheckFailed(
                    f"your {what(label)} runs hold no full training loss: train with "
                    "train or train_grid, which evaluate every eval_every steps"
                )
    return first


def _check_lrs(runs: dict, expected: Mapping, what, how: str) -> None:
    for label, want in expected.items():
        for r in runs[label]:
            lr = np.asarray(r["lr"], dtype=float)
            n = min(lr.size, want.size)
            bad = np.flatnonzero(~np.isclose(lr[:n], want[:n], rtol=1e-9, atol=0))
            if lr.size == 0 or bad.size:
                i = int(bad[0]) if bad.size else 0
                got, exp = _pair(float(lr[i]) if lr.size else math.nan, float(want[i]))
                raise CheckFailed(
                    f"the lr of your {what(label)} run (seed {r['seed']}) at step {i} "
                    f"is {got}, expected {exp}: {how}"
                )


def _retrain(runs: dict, seed: int, setup: RunSetup, what) -> None:
    """Re-train one run, chosen by ``seed``, from its recorded settings and learning
    rates; its first losses must be the ones recorded (training here is bit-for-bit
    reproducible on one machine, batched or not)."""
    import torch

    from lrcourse.training import digits_task, train

    pool = [(label, r) for label in setup.labels for r in runs[label]]
    label, run = pool[int(_rng("retrain", seed).integers(len(pool)))]
    dtypes = {"torch.float32": torch.float32, "torch.float64": torch.float64}
    task = digits_task(dtypes[run["dtype"]])
    recorded = np.asarray(run["loss"], dtype=float)
    n = min(len(run["lr"]), setup.retrain_steps)
    if task.name != run["task"] or recorded.size < n:
        raise CheckFailed(
            f"your {what(label)} run (seed {run['seed']}) is not a run of the digits "
            "task from train or train_grid"
        )
    again = train(
        task,
        np.asarray(run["lr"][:n], dtype=float),
        steps=n,
        seeds=int(run["seed"]),
        optimizer=run["optimizer"],
        momentum=run["momentum"],
        betas=None if run["betas"] is None else tuple(run["betas"]),
        eps=run["eps"],
        weight_decay=run["weight_decay"],
        batch_size=run["batch_size"],
        hidden=tuple(run["hidden"]),
        eval_every=n,
    )[0]
    mine = recorded[: again.loss.size]
    same = np.isclose(again.loss, mine, rtol=1e-6, atol=0, equal_nan=True)
    if not same.all():
        i = int(np.flatnonzero(~same)[0])
        got, exp = _pair(float(mine[i]), float(again.loss[i]))
        raise CheckFailed(
            f"the grader re-trained your {what(label)} run (seed {run['seed']}) from its "
            f"recorded settings and learning rates: its loss at step {i} is {exp}, not "
            f"the {got} your results hold. Results must come from train or train_grid, "
            "unchanged"
        )


def _runs_needed(ctx: Context, check_id: str) -> dict:
    ev = ctx.evidence.get(check_id)
    if not isinstance(ev, dict):
        raise CheckFailed(
            f"this check reads your runs: run the check of your runs ({check_id}) first"
        )
    return ev


def _figure_evidence(fig: Any) -> dict:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(fig, np.ndarray) and fig.size and isinstance(fig.flat[0], Axes):
        fig = fig.flat[0]
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        return {"error": f"expected a matplotlib Figure, got a {type(fig).__name__}"}
    axes = []
    for ax in fig.axes:
        lines = []
        for line in ax.get_lines():
            try:
                x = np.asarray(line.get_xdata(), dtype=float)[:5000]
                y = np.asarray(line.get_ydata(), dtype=float)[:5000]
            except (TypeError, ValueError):
                continue
            lines.append(
                {"label": str(line.get_label()), "x": x.tolist(), "y": y.tolist()}
            )
        axes.append({"ylabel": ax.get_ylabel(), "lines": lines})
    return {"axes": axes}


def _labelled_lines(ev: dict):
    if "error" in ev:
        raise CheckFailed(str(ev["error"]))
    for k, ax in enumerate(ev["axes"]):
        for line in ax["lines"]:
            if not str(line["label"]).startswith("_") and len(line["y"]) >= 10:
                yield k, line


# --- E2 --------------------------------------------------------------------------------


def _e2_runs(ev: dict) -> dict:
    return _runs_by(ev, E2, schedule_label)


def _quoted(label: Any) -> str:
    return f"'{label}'"


def _verify_e2_runs(ev: dict, ctx: Context) -> str:
    from lrcourse.schedules import SCHEDULES

    runs = _e2_runs(ev)
    seeds = _check_budget(runs, E2, _quoted)
    recipes = {n: SCHEDULES[n].lrs(peak=E2.peak, steps=E2.steps) for n in E2.labels}
    _check_lrs(
        runs,
        recipes,
        _quoted,
        f"build each table with SCHEDULES[name].lrs(peak=PEAK, steps=STEPS), "
        f"PEAK = {E2.peak:g} and STEPS = {E2.steps}",
    )
    if ctx.trusted:
        _retrain(runs, ctx.seed, E2, _quoted)
    return (
        f"all five schedules ran, on the same {len(seeds)} seeds, each for "
        f"{E2.steps} steps with the same settings"
    )


def _line_is(line: dict, values: np.ndarray) -> bool:
    """Whether a line draws ``values`` against the step (at every integer x it has)."""
    x, y = np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float)
    if x.size != y.size:
        return False
    at = (x >= 0) & (x < values.size) & (x == np.round(x))
    if at.sum() < 10:
        return False
    return bool(np.allclose(y[at], values[x[at].astype(int)], rtol=1e-6, atol=0))


def _verify_e2_plot(ev: dict, ctx: Context) -> str:
    runs = _e2_runs(_runs_needed(ctx, "e2-runs"))
    lr_axes: dict[str, int] = {}
    loss_lines: dict[str, set] = {}
    for k, line in _labelled_lines(ev):
        name = schedule_label(line["label"])
        if name is None or name not in runs:
            continue
        if _line_is(line, np.asarray(runs[name][0]["lr"], dtype=float)):
            lr_axes.setdefault(name, k)
        else:
            loss_lines.setdefault(name, set()).add(k)
    no_lr = [n for n in E2.labels if n not in lr_axes]
    if no_lr:
        raise CheckFailed(
            f"your figure shows no learning-rate curve labelled {_quoted(no_lr[0])}: "
            "plot each schedule's lr against the step, with label=name (for example "
            "plot_lr_curves(lrs, ax=...))"
        )
    no_loss = [n for n in E2.labels if not (loss_lines.get(n, set()) - {lr_axes[n]})]
    if no_loss:
        raise CheckFailed(
            f"your figure shows no loss curve labelled {_quoted(no_loss[0])} in a panel "
            "of its own: plot each schedule's training loss, with label=name, below "
            "the learning rates (for example plot_loss(ax, run, label=name))"
        )
    return "your figure shows each schedule's learning rate and its loss, labelled"


def _e2_summary(runs: dict) -> dict[str, tuple[float, float]]:
    """Per schedule: median step at which the full training loss first reaches the
    target (inf if never), and median final training loss (inf if diverged)."""
    out = {}
    for name, rs in runs.items():
        reach, final = [], []
        for r in rs:
            loss = np.asarray(r["train_loss"], dtype=float)
            hit = np.flatnonzero(loss <= E2_TARGET)
            reach.append(float(r["eval_step"][hit[0]]) if hit.size else math.inf)
            final.append(math.inf if r["diverged_at"] is not None else float(loss[-1]))
        out[name] = (float(np.median(reach)), float(np.median(final)))
    return out


def _collect_conclusion(*answers: Any) -> dict:
    return {
        "answers": [a if isinstance(a, str | int | bool) else repr(a) for a in answers]
    }


def _verify_e2_conclusion(ev: dict, ctx: Context) -> str:
    runs = _e2_runs(_runs_needed(ctx, "e2-runs"))
    if set(runs) != set(E2.labels):
        raise CheckFailed("run the check of your runs (e2-runs) until it passes first")
    fastest, lowest = ev["answers"]
    summary = _e2_summary(runs)
    gap = max(
        (np.diff(r["eval_step"]).max() if len(r["eval_step"]) > 1 else 0)
        for rs in runs.values()
        for r in rs
    )
    named = {}
    for var, answer in (("FASTEST", fastest), ("LOWEST", lowest)):
        found = [n for n in E2.labels if _norm(n) == _norm(answer)]
        if not found:
            raise CheckFailed(
                f"{var} is {answer!r}, which is none of the five: "
                f"{', '.join(E2.labels)}"
            )
        named[var] = found[0]
    fastest, lowest = named["FASTEST"], named["LOWEST"]

    def when(name: str) -> str:
        step = summary[name][0]
        return "never" if math.isinf(step) else f"at step {step:g}"

    best = min(E2.labels, key=lambda n: summary[n][0])
    if summary[fastest][0] > summary[best][0] + gap:
        raise CheckFailed(
            f"your runs say {_quoted(best)} is the first to bring the training loss "
            f"to {E2_TARGET:g} ({when(best)}, median over seeds); {_quoted(fastest)} "
            f"gets there {when(fastest)}. Compute FASTEST from your results"
        )
    low = min(E2.labels, key=lambda n: summary[n][1])
    if not summary[lowest][1] <= (1 + E2_TIE) * summary[low][1]:
        raise CheckFailed(
            f"your runs say {_quoted(low)} ends with the lowest training loss (median "
            f"{summary[low][1]:.2g}); {_quoted(lowest)} ends at "
            f"{summary[lowest][1]:.2g}, more than {E2_TIE:.0%} above it. Compute LOWEST "
            "from your results"
        )
    return (
        f"your conclusion agrees with your runs (fastest to a training loss of "
        f"{E2_TARGET:g}; lowest at the end, ties within {E2_TIE:.0%} allowed)"
    )


_register("e2-runs", "E2", _collect_runs, _verify_e2_runs)
_register("e2-plot", "E2", _figure_evidence, _verify_e2_plot)
_register("e2-conclusion", "E2", _collect_conclusion, _verify_e2_conclusion)


# --- E3 --------------------------------------------------------------------------------


def _warmup(label: Any) -> str:
    return f"warmup-{label}"


def _e3_runs(ev: dict) -> dict:
    return _runs_by(ev, E3, warmup_label)


def warmup_lrs(warmup: int, setup: RunSetup = E3) -> np.ndarray:
    """E3's learning rates: a straight line from 0 to the peak over ``warmup`` steps,
    then the peak (no warmup: the peak from step 0)."""
    t = np.arange(setup.steps)
    return (
        setup.peak * np.minimum(t / max(warmup, 1), 1.0)
        if warmup
        else np.full(setup.steps, setup.peak)
    )


def _verify_e3_runs(ev: dict, ctx: Context) -> str:
    runs = _e3_runs(ev)
    seeds = _check_budget(runs, E3, _warmup)
    _check_lrs(
        runs,
        {w: warmup_lrs(w) for w in E3.labels},
        _warmup,
        f"warm up in a straight line from 0 to lr {E3.peak:g} over the warmup steps, "
        f"then hold {E3.peak:g}",
    )
    if ctx.trusted:
        _retrain(runs, ctx.seed, E3, _warmup)
    return (
        f"all four warmups ran, on the same {len(seeds)} seeds, each for {E3.steps} "
        f"steps at lr {E3.peak:g} with the same settings"
    )


def _verify_e3_plot(ev: dict, ctx: Context) -> str:
    runs = _e3_runs(_runs_needed(ctx, "e3-runs"))
    shown = {warmup_label(line["label"]) for _, line in _labelled_lines(ev)}
    missing = [w for w in E3.labels if w in runs and w not in shown]
    if missing:
        raise CheckFailed(
            f"your figure shows no loss curve labelled with warmup {missing[0]}: plot "
            "each warmup's loss against the step, with a label that starts with its "
            "number of warmup steps (for example label=f'warmup {w}')"
        )
    return "your figure shows a loss curve for each warmup, labelled"


def _e3_facts(runs: dict) -> tuple[list[int], bool]:
    """The warmups that trained on every seed; whether a longer warmup delayed the
    blow-up on every seed (each pair of warmups that both diverged)."""
    trained = [w for w in E3.labels if all(r["diverged_at"] is None for r in runs[w])]
    when = {
        w: {r["seed"]: r["diverged_at"] for r in runs[w]}
        for w in E3.labels
        if w not in trained
    }
    pairs = [
        (when[a][s], when[b][s])
        for i, a in enumerate(when)
        for b in list(when)[i + 1 :]
        for s in when[a]
        if when[a][s] is not None and when[b].get(s) is not None
    ]
    return trained, bool(pairs) and all(x < y for x, y in pairs)


def _verify_e3_conclusion(ev: dict, ctx: Context) -> str:
    runs = _e3_runs(_runs_needed(ctx, "e3-runs"))
    if set(runs) != set(E3.labels):
        raise CheckFailed("run the check of your runs (e3-runs) until it passes first")
    trained_answer, delays_answer = ev["answers"]
    trained, delays = _e3_facts(runs)
    try:
        answer = sorted({int(w) for w in json.loads(str(trained_answer))})
    except (TypeError, ValueError):
        answer = None
    if answer != trained:
        detail = "; ".join(
            f"warmup {w} diverged on {sum(r['diverged_at'] is not None for r in runs[w])}"
            f" of {len(runs[w])} seeds"
            for w in E3.labels
            if w not in trained
        )
        raise CheckFailed(
            f"TRAINED is {trained_answer}, but your runs say the warmups that trained on "
            f"every seed are {trained}"
            + (f" ({detail})" if detail else "")
            + ". Compute TRAINED from your results"
        )
    if not isinstance(delays_answer, bool) or delays_answer != delays:
        raise CheckFailed(
            f"DELAYS is {delays_answer!r}, but your runs say {delays}: compare, seed by "
            "seed, the steps at which the warmups that diverged did so (History."
            "diverged_at)"
        )
    return (
        "your conclusion agrees with your runs (which trained; whether warmup delays)"
    )


def _collect_e3_conclusion(trained: Any, delays: Any) -> dict:
    try:
        listed = json.dumps(sorted(int(w) for w in trained))
    except (TypeError, ValueError):
        listed = repr(trained)
    return {"answers": [listed, delays if isinstance(delays, bool) else repr(delays)]}


_register("e3-runs", "E3", _collect_runs, _verify_e3_runs)
_register("e3-plot", "E3", _figure_evidence, _verify_e3_plot)
_register("e3-conclusion", "E3", _collect_e3_conclusion, _verify_e3_conclusion)


# ---------------------------------------------------------------------------------------
# E4: the LR range test, from scratch. lrcourse.lr_range_test is the reference.


@dataclass(frozen=True)
class RangeSetup:
    """E4's sweep: the model and optimizer of notebook 08, and what the checks vary."""

    end_lr: float = 10.0
    start_lrs: tuple = (1e-6, 1e-5, 1e-4)
    num_steps: tuple = (60, 100)
    beta: float = 0.98
    diverge_factor: float = 4.0
    skip_start: int = 10
    skip_end: int = 5


E4 = RangeSetup()


def range_setup(seed: int = 0):
    """Notebook 08's range test: an MLP 64-128-10, SGD with momentum 0.9 at lr 0.1, one
    shuffled epoch of batches of 64; and the loss function."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from lrcourse.training import digits_task

    task = digits_task()
    X, y = task.X_train, task.y_train
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    batches = [
        (X[order[i : i + 64]], y[order[i : i + 64]]) for i in range(0, len(X), 64)
    ]
    return model, optimizer, batches, F.cross_entropy


def _e4_plan(check_id: str, seed: int) -> tuple[float, int]:
    rng = _rng(check_id, seed)
    low, high = E4.num_steps
    return float(rng.choice(E4.start_lrs)), int(rng.integers(low, high + 1))


def reference_smooth(losses: Sequence[float], beta: float) -> np.ndarray:
    """Bias-corrected moving average: avg_i = beta avg_(i-1) + (1 - beta) loss_i,
    smoothed_i = avg_i / (1 - beta ** (i + 1))."""
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * float(loss)
        out.append(avg / (1 - beta ** (i + 1)))
    return np.array(out)


def reference_suggest(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """A tenth of the lr at the lowest smoothed loss, leaving out the first
    ``skip_start`` and the last ``skip_end`` points."""
    smoothed = reference_smooth(losses, E4.beta)
    window = smoothed[E4.skip_start : len(smoothed) - E4.skip_end]
    return float(lrs[E4.skip_start + int(np.argmin(window))]) / 10


def _smooth_cases(seed: int) -> list[tuple[np.ndarray, float]]:
    rng = _rng("e4-smooth", seed)
    noisy = 2.3 * np.exp(-np.linspace(0, 3, 40)) + rng.uniform(0, 0.3, 40)
    return [
        (np.full(6, 2.0), 0.98),
        (np.linspace(3.0, 1.0, 10), 0.9),
        (noisy, E4.beta),
        (noisy[:12], 0.0),
    ]


def _collect_calls(name: str, fn: Any, cases: list, call: Any) -> dict:
    """Evidence of a student's function ``name`` called on each case: ``call(fn, case)``
    gives the case's record; an exception is recorded, and a stub ends the collection."""
    if not callable(fn):
        return {"error": f"expected the function {name}, got a {type(fn).__name__}"}
    outputs = []
    for case in cases:
        try:
            outputs.append(call(fn, case))
        except NotImplementedError:
            return {"not_implemented": True}
        except Exception as err:
            outputs.append({"error": _describe(err)})
    return {"outputs": outputs}


def _call_outputs(ev: dict, name: str, cases: list) -> list[dict]:
    """The records ``_collect_calls`` made, one per case, once the evidence is usable."""
    if ev.get("not_implemented"):
        raise _not_implemented(f"`{name}`")
    if "error" in ev:
        raise CheckFailed(str(ev["error"]))
    if len(ev["outputs"]) != len(cases):
        raise CheckFailed("the evidence does not hold this check's calls")
    return ev["outputs"]


def _collect_smooth(fn: Any) -> dict:
    def call(fn: Any, case: tuple[np.ndarray, float]) -> dict:
        losses, beta = case
        out = fn(losses.copy(), beta=beta)
        return {"values": np.asarray(out, dtype=float).ravel().tolist()}

    return _collect_calls("smooth", fn, _smooth_cases(current_seed()), call)


def _verify_smooth(ev: dict, ctx: Context) -> str:
    cases = _smooth_cases(ctx.seed)
    for (losses, beta), out in zip(
        cases, _call_outputs(ev, "smooth", cases), strict=True
    ):
        call = f"smooth(<{losses.size} losses>, beta={beta})"
        if "error" in out:
            raise CheckFailed(f"{call} raised {out['error']}")
        want = reference_smooth(losses, beta)
        got = np.asarray(out["values"], dtype=float)
        if got.size != want.size:
            raise CheckFailed(
                f"{call} returned {got.size} values; return one per loss ({want.size})"
            )
        bad = np.flatnonzero(~np.isclose(got, want, rtol=1e-9, atol=1e-12))
        if bad.size:
            i = int(bad[0])
            a, b = _pair(float(got[i]), float(want[i]))
            hint = (
                "the first smoothed value is the first loss itself: divide the average "
                "by 1 - beta ** (i + 1), the bias correction Adam uses"
                if i == 0
                else "avg = beta * avg + (1 - beta) * loss, from avg = 0; then "
                "smoothed = avg / (1 - beta ** (i + 1))"
            )
            raise CheckFailed(f"{call}: value {i} is {a}, expected {b}: {hint}")
    return "smooth agrees with the bias-corrected moving average on 4 curves"


def _state_hash(model, optimizer) -> dict:
    """A fingerprint of the weights and of the optimizer's state (bit for bit)."""
    import torch

    def digest(obj: Any, h) -> None:
        if isinstance(obj, torch.Tensor):
            h.update(obj.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(obj, Mapping):
            for k in sorted(obj, key=str):
                h.update(str(k).encode())
                digest(obj[k], h)
        elif isinstance(obj, list | tuple):
            for item in obj:
                digest(item, h)
        else:
            h.update(repr(obj).encode())

    weights, opt = hashlib.sha256(), hashlib.sha256()
    digest(dict(model.state_dict()), weights)
    digest(optimizer.state_dict(), opt)
    return {"weights": weights.hexdigest(), "optimizer": opt.hexdigest()}


def _run_range_test(check_id: str, fn: Any) -> tuple[dict, Any, Any]:
    from lrcourse.training import torch_threads

    start_lr, num_steps = _e4_plan(check_id, current_seed())
    model, optimizer, batches, loss_fn = range_setup()
    with torch_threads(1):  # the course's numbers, and no thread spinning on a busy CPU
        out = fn(
            model,
            optimizer,
            batches,
            loss_fn,
            start_lr=start_lr,
            end_lr=E4.end_lr,
            num_steps=num_steps,
        )
    return out, model, optimizer


def _collect_sweep(fn: Any) -> dict:
    if not callable(fn):
        return {"error": f"expected the function range_test, got a {type(fn).__name__}"}
    try:
        out, _, _ = _run_range_test("e4-sweep", fn)
        lrs, losses = out
        return {
            "lrs": np.asarray(lrs, dtype=float).ravel().tolist(),
            "losses": np.asarray(losses, dtype=float).ravel().tolist(),
        }
    except NotImplementedError:
        return {"not_implemented": True}
    except Exception as err:
        return {
            "error": f"range_test raised or returned something else: {_describe(err)}"
        }


def _reference_sweep(check_id: str, seed: int):
    from lrcourse.range_test import lr_range_test
    from lrcourse.training import torch_threads

    start_lr, num_steps = _e4_plan(check_id, seed)
    model, optimizer, batches, loss_fn = range_setup()
    with torch_threads(1):
        result = lr_range_test(
            model,
            optimizer,
            batches,
            loss_fn,
            start_lr=start_lr,
            end_lr=E4.end_lr,
            num_steps=num_steps,
            smooth=E4.beta,
            diverge_factor=E4.diverge_factor,
        )
    return start_lr, num_steps, result


def _verify_sweep(ev: dict, ctx: Context) -> str:
    if ev.get("not_implemented"):
        raise _not_implemented("`range_test`")
    if "error" in ev:
        raise CheckFailed(str(ev["error"]))
    start_lr, n, ref = _reference_sweep("e4-sweep", ctx.seed)
    lrs, losses = np.asarray(ev["lrs"], float), np.asarray(ev["losses"], float)
    call = (
        f"range_test(..., start_lr={start_lr:g}, end_lr={E4.end_lr:g}, num_steps={n})"
    )
    if lrs.size != losses.size or lrs.size == 0:
        raise CheckFailed(
            f"{call} returned {lrs.size} lrs and {losses.size} losses: return one lr "
            "and one loss per step taken"
        )
    planned = start_lr * (E4.end_lr / start_lr) ** (np.arange(n) / (n - 1))
    m = min(lrs.size, n)
    bad = np.flatnonzero(~np.isclose(lrs[:m], planned[:m], rtol=1e-9, atol=0))
    if bad.size or lrs.size > n:
        i = int(bad[0]) if bad.size else n
        exp = f"{planned[i]:.3g}" if i < n else "nothing: stop after num_steps steps"
        raise CheckFailed(
            f"{call}: your lr at step {i} is {lrs[i]:.3g}, expected {exp} (start_lr * "
            "(end_lr / start_lr) ** (i / (num_steps - 1)))"
        )
    if not np.isclose(losses[0], ref.losses[0], rtol=1e-5):
        a, b = _pair(float(losses[0]), float(ref.losses[0]))
        raise CheckFailed(
            f"{call}: your first loss is {a}; the model's loss on the first batch, "
            f"before any update, is {b}: record each step's loss before its update"
        )
    k = max(min(lrs.size, ref.losses.size) - 5, 1)  # the blow-up at the end is chaotic
    bad = np.flatnonzero(~np.isclose(losses[:k], ref.losses[:k], rtol=1e-4, atol=1e-7))
    if bad.size:
        i = int(bad[0])
        a, b = _pair(float(losses[i]), float(ref.losses[i]))
        raise CheckFailed(
            f"{call}: at step {i} (lr {planned[i]:.2g}) your loss is {a}, expected {b}: "
            "do you set the lr of every param group before each step, and take the "
            "batches in order, starting again from the first when they run out?"
        )
    end = ref.losses.size
    if abs(losses.size - end) > 2:
        why = (
            f"the smoothed loss (beta {E4.beta}) first exceeds {E4.diverge_factor:g}x "
            f"its lowest at step {ref.stopped_at}, where the sweep should stop"
            if ref.diverged
            else "the sweep should run all num_steps steps"
        )
        raise CheckFailed(f"{call}: your sweep took {losses.size} steps; {why}")
    return (
        "range_test agrees with the course's on the digits: the same learning rates, "
        "the same losses, and it stops where the smoothed loss passes 4x its lowest"
    )


def _collect_restore(fn: Any) -> dict:
    if not callable(fn):
        return {"error": f"expected the function range_test, got a {type(fn).__name__}"}
    try:
        _, model, optimizer = _run_range_test("e4-restore", fn)
    except NotImplementedError:
        return {"not_implemented": True}
    except Exception as err:
        return {"error": f"range_test raised {_describe(err)}"}
    return _state_hash(model, optimizer)


def _verify_restore(ev: dict, ctx: Context) -> str:
    if ev.get("not_implemented"):
        raise _not_implemented("`range_test`")
    if "error" in ev:
        raise CheckFailed(str(ev["error"]))
    model, optimizer, _, _ = range_setup()
    before = _state_hash(model, optimizer)
    if ev["weights"] != before["weights"]:
        raise CheckFailed(
            "after your range test the model's weights are not the ones before it: save "
            "a copy of model.state_dict() (copy.deepcopy) before the sweep and load it "
            "back afterwards, even if the sweep stops early"
        )
    if ev["optimizer"] != before["optimizer"]:
        raise CheckFailed(
            "after your range test the optimizer is not as it was (its lr, or the "
            "momentum buffers it made): save copy.deepcopy(optimizer.state_dict()) "
            "before the sweep and load it back afterwards"
        )
    return "range_test leaves the model and the optimizer as they were, bit for bit"


def _suggest_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = _rng("e4-suggest", seed)
    _, _, ref = _reference_sweep("e4-suggest", seed)
    cases = [(np.asarray(ref.lrs, dtype=float), np.asarray(ref.losses, dtype=float))]
    for n in (50, 80):
        lrs = 1e-5 * (1e5 ** (np.arange(n) / (n - 1)))
        bottom = rng.uniform(0.4, 0.8)
        losses = 2.3 - 2.0 * np.exp(-((np.arange(n) / n - bottom) ** 2) / 0.02)
        cases.append((lrs, losses + rng.uniform(0, 0.05, n)))
    return cases


def _collect_suggest(fn: Any) -> dict:
    def call(fn: Any, case: tuple[np.ndarray, np.ndarray]) -> dict:
        lrs, losses = case
        return {"value": _number(fn(lrs.copy(), losses.copy()))}

    return _collect_calls("suggest", fn, _suggest_cases(current_seed()), call)


def _verify_suggest(ev: dict, ctx: Context) -> str:
    cases = _suggest_cases(ctx.seed)
    outputs = _call_outputs(ev, "suggest", cases)
    for k, ((lrs, losses), out) in enumerate(zip(cases, outputs, strict=True)):
        what = "the digits sweep" if k == 0 else f"a made-up curve of {lrs.size} points"
        if "error" in out:
            raise CheckFailed(f"suggest on {what} raised {out['error']}")
        want = reference_suggest(lrs, losses)
        if not _close(out["value"], want, rtol=1e-9):
            got = "nothing" if out["value"] is None else f"{out['value']:.3g}"
            raise CheckFailed(
                f"suggest on {what} returned {got}, expected {want:.3g}: smooth the "
                f"losses (beta {E4.beta}), leave out the first {E4.skip_start} and the "
                f"last {E4.skip_end} points, and return a tenth of the lr at the lowest "
                "smoothed loss"
            )
    return "suggest picks minimum/10 as the course does, on 3 curves"


_register("e4-smooth", "E4", _collect_smooth, _verify_smooth)
_register("e4-sweep", "E4", _collect_sweep, _verify_sweep)
_register("e4-restore", "E4", _collect_restore, _verify_restore)
_register("e4-suggest", "E4", _collect_suggest, _verify_suggest)
