"""diagnose(): synthetic curves with a known answer, edge cases, and real digits runs."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.isotonic import IsotonicRegression

from lrcourse import diagnose as dg
from lrcourse.diagnose import Diagnosis, diagnose

RNG_SEEDS = range(5)


def noisy(clean: np.ndarray, seed: int, sigma: float = 0.4) -> np.ndarray:
    """Mini-batch-like loss: multiplicative log-normal noise, i.i.d. per step."""
    return clean * np.exp(np.random.default_rng(seed).normal(0.0, sigma, clean.size))


def decay(n: int = 2000, floor: float = 0.01) -> np.ndarray:
    t = np.arange(n)
    return 2.3 * np.exp(-t / (n / 6)) + floor


# --- synthetic curves -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_noisy_exponential_decay_is_healthy(seed: int) -> None:
    d = diagnose(noisy(decay(), seed))
    assert d.kind == "healthy", d
    assert d.metrics["fall"] > 0.9
    assert d.metrics["excess"] < 1.5  # batch noise alone stays well under OSC_MIN_EXCESS


def test_noise_free_decay_has_zero_excess() -> None:
    d = diagnose(decay())
    assert d.kind == "healthy"
    assert d.metrics["excess"] == 0.0 and d.metrics["swing"] == 0.0


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_flat_noisy_curve_is_stalled(seed: int) -> None:
    losses = noisy(np.full(2300, 2.3), seed, sigma=0.01) * np.linspace(1.0, 0.95, 2300)
    d = diagnose(losses)
    assert d.kind == "stalled", d
    assert 0.03 < d.metrics["fall"] < 0.07
    assert "fell" in d.evidence and "2300 steps" in d.evidence


def oscillating_curve(n: int, seed: int) -> np.ndarray:
    """Decay to a plateau, then slow swings of the smoothed loss by e^(+-0.8) (~5x peak-to-peak)."""
    t = np.arange(n)
    wander = np.where(t > n // 4, 0.8 * np.sin(2 * np.pi * t / 170), 0.0)
    return noisy(decay(n) * np.exp(wander), seed)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_plateau_with_slow_large_swings_is_oscillating(seed: int) -> None:
    d = diagnose(oscillating_curve(2300, seed))
    assert d.kind == "oscillating", d
    assert d.metrics["swing_factor"] > 2.5 and d.metrics["excess"] > 3


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_large_step_to_step_noise_alone_is_not_oscillation(seed: int) -> None:
    # Per-step std/mean of ~1 at the end (larger than the real oscillating runs' 0.5-3), but
    # i.i.d.: the smoothed loss follows the decay. This is what a healthy mini-batch run does.
    losses = noisy(decay(2300), seed, sigma=0.8)
    tail = losses[-460:]
    assert tail.std() / tail.mean() > 0.8
    assert diagnose(losses).kind == "healthy"


def test_inf_is_diverged_at_that_step() -> None:
    losses = [2.3, 1.9, 50.0, math.inf]
    d = diagnose(losses)
    assert d.kind == "diverged"
    assert d.metrics["diverged_at"] == 3
    assert "became inf at step 3" in d.evidence
    assert "lower the learning rate" in d.fix and "warmup" in d.fix


def test_nan_at_step_zero() -> None:
    d = diagnose([math.nan, 1.0, 2.0])
    assert d.kind == "diverged" and d.metrics["diverged_at"] == 0
    assert "became nan at step 0" in d.evidence


def test_explosive_finite_growth_is_diverged() -> None:
    losses = 2.3 * np.exp(np.arange(300) / 60)  # x148 by the end, never inf
    d = diagnose(losses)
    assert d.kind == "diverged" and d.metrics["diverged_at"] is None
    assert d.metrics["growth"] > 100
    assert "grew" in d.evidence


@pytest.mark.parametrize(("end", "kind"), [(0.89, "healthy"), (0.91, "stalled"), (1.05, "stalled")])
def test_stall_and_growth_boundaries(end: float, kind: str) -> None:
    # Noise-free straight lines from 1 to `end`: fall 11%, 9%, -5% around STALL_MAX_FALL = 10%.
    assert diagnose(np.linspace(1.0, end, 400)).kind == kind


def test_rise_past_diverge_growth_is_diverged() -> None:
    assert dg.DIVERGE_GROWTH == pytest.approx(1.1)
    assert diagnose(np.linspace(1.0, 1.2, 400)).kind == "diverged"


def test_zero_losses_are_floored_not_logged() -> None:
    losses = np.concatenate([np.geomspace(2.3, 1e-9, 300), np.zeros(300)])
    d = diagnose(losses)
    assert d.kind == "healthy" and math.isfinite(d.metrics["excess"])


# --- input handling -------------------------------------------------------------------------


def test_history_duck_typing_uses_loss_and_diverged_at() -> None:
    losses = np.linspace(2.3, 0.1, 500)
    assert diagnose(SimpleNamespace(loss=losses, diverged_at=None)).kind == "healthy"
    run = SimpleNamespace(loss=np.append(losses[:7], math.inf), diverged_at=7)
    d = diagnose(run)
    assert d.kind == "diverged" and d.metrics["diverged_at"] == 7


def test_accepts_list_array_and_tensor_alike() -> None:
    losses = noisy(decay(500), 0)
    a, b, c = diagnose(list(losses)), diagnose(losses), diagnose(torch.tensor(losses))
    assert a == b == c


def test_empty_sequence_raises() -> None:
    with pytest.raises(ValueError, match="losses.*empty"):
        diagnose([])


def test_too_few_steps_raises_naming_the_minimum() -> None:
    with pytest.raises(ValueError, match=f"losses.*MIN_STEPS={dg.MIN_STEPS}.*got 99"):
        diagnose(np.linspace(2.0, 1.0, 99))
    assert diagnose(np.linspace(2.0, 1.0, dg.MIN_STEPS)).kind == "healthy"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.ones((10, 10)), "1-D"),
        ("2.3, 1.0", "losses"),
        (3.0, "losses"),
        (np.linspace(1.0, -1.0, 200), ">= 0"),
        (["a", "b"], "losses"),
    ],
)
def test_bad_input_raises(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        diagnose(bad)


def test_diagnosis_is_frozen_and_prints_kind_evidence_fix() -> None:
    d = diagnose(np.full(200, 2.3))
    assert isinstance(d, Diagnosis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.kind = "healthy"  # type: ignore[misc]
    assert str(d) == f"stalled: {d.evidence}. Fix: {d.fix}."
    assert "raise the learning rate" in d.fix
    assert "decay the learning rate" in dg.FIXES["oscillating"]


def test_nonincreasing_fit_matches_sklearn_isotonic() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.normal(size=20).cumsum()
        ref = IsotonicRegression(increasing=False).fit_transform(np.arange(20), y)
        np.testing.assert_allclose(dg._nonincreasing_fit(y), ref, rtol=0, atol=1e-12)


# --- real runs on digits (plain SGD / Adam, MLP 64-128-10, batch 64) -------------------------

STEPS = 1150  # 50 epochs: long enough for the late windows to average out batch noise


@pytest.fixture(scope="module")
def real_runs() -> dict[str, object]:
    train = pytest.importorskip("lrcourse.train").train
    task = pytest.importorskip("lrcourse.data").digits_task()
    # One thread: these tensors are small, and two threads on a busy 2-core machine ran ~10x
    # slower (measured). Restored afterwards so other tests see the default.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        table = np.tile([1e-4, 0.1], (STEPS, 1))
        stalled, healthy = train(task, table, steps=STEPS, seeds=[0, 0])
        (diverged,) = train(task, 10.0, steps=100, seeds=[0])  # inf within ~30 steps
        t = np.arange(STEPS)
        adam = np.stack([np.full(STEPS, 0.03), 0.015 * (1 + np.cos(np.pi * t / STEPS))], axis=1)
        constant, cosine = train(
            task, adam, steps=STEPS, seeds=[0, 0], optimizer="adam", weight_decay=1e-3
        )
    finally:
        torch.set_num_threads(threads)
    return {
        "sgd 1e-4": stalled,
        "sgd 0.1": healthy,
        "sgd 10": diverged,
        "adam 0.03 wd constant": constant,
        "adam 0.03 wd cosine": cosine,
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sgd 1e-4", "stalled"),
        ("sgd 0.1", "healthy"),
        ("sgd 10", "diverged"),
        ("adam 0.03 wd constant", "oscillating"),
        ("adam 0.03 wd cosine", "healthy"),
    ],
)
def test_real_digits_runs(real_runs: dict[str, object], name: str, kind: str) -> None:
    d = diagnose(real_runs[name])
    assert d.kind == kind, d
    if kind == "diverged":
        assert d.metrics["diverged_at"] < 50
    if kind == "stalled":
        assert 0 < d.metrics["fall"] < 0.05  # the lesson's "barely moves": ~3% in 1150 steps
