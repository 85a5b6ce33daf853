"""Notebook 04's committed sweep: laid out as documented, and what the code makes (a slice
re-run), and ``make experiments`` reports its total time.

The slice is seed 0 of Post-LN at peak 3e-3, with no warmup and with 200 warmup steps, for
its first 150 steps (about 10 s). The warmed-up run is healthy there: its 10-step mean
losses agree with the stored ones to 1e-3 (float kernels differ by about 1e-7 here; the
stored run was one member of a batch of 12, this one of 2). The cold start collapses to
the unigram plateau, which a chaotic run does on every CPU but with different digits: it is
compared by category only.
"""

import numpy as np
import pytest

from lrcourse import experiments
from lrcourse.experiments import warmup_sweep
from lrcourse.transformer import train_lm
from lrcourse.transformer.stability import PLATEAU, window_mean

STEPS = 150


@pytest.fixture(scope="module")
def saved():
    return experiments.load("warmup_sweep")


def _index(saved, arch, warmup, peak):
    return (
        saved["archs"].tolist().index(arch),
        saved["warmups"].tolist().index(warmup),
        saved["peaks"].tolist().index(peak),
    )


def test_layout(saved):
    A, W, P, N = (len(x) for x in (warmup_sweep.ARCHS, warmup_sweep.WARMUPS,
                                  warmup_sweep.PEAKS, warmup_sweep.SEEDS))  # fmt: skip
    assert saved["archs"].tolist() == list(warmup_sweep.ARCHS)
    assert saved["warmups"].tolist() == list(warmup_sweep.WARMUPS)
    assert saved["peaks"].tolist() == list(warmup_sweep.PEAKS)
    assert saved["seeds"].tolist() == list(warmup_sweep.SEEDS)
    assert saved["steps"].tolist() == [
        warmup_sweep.STEPS[w] for w in warmup_sweep.WARMUPS
    ]
    assert saved["final_loss"].shape == (A, W, P, N)
    assert saved["loss_blocks"].shape[:4] == (A, W, P, N)
    assert saved["rel_change"].shape[-1] == len(saved["matrices"]) == 19
    # every run has a finite loss over its whole length, and nan after it
    for w, steps in enumerate(saved["steps"]):
        blocks = saved["loss_blocks"][:, w]
        assert np.isfinite(blocks[..., : steps // warmup_sweep.BLOCK]).all()
        assert np.isnan(blocks[..., steps // warmup_sweep.BLOCK :]).all()
    assert (experiments.path("warmup_sweep").stat().st_size) < 1_200_000


def test_slice_reproduces(saved):
    lrs = np.stack(
        [warmup_sweep.warmup_then_constant(3e-3, w, STEPS) for w in (0, 200)], axis=1
    )
    fresh = train_lm([0, 0], lrs, steps=STEPS, record_at=[1])
    blocks = fresh.loss.T.reshape(2, -1, warmup_sweep.BLOCK).mean(-1)
    cold, warm = _index(saved, "Post-LN", 0, 3e-3), _index(saved, "Post-LN", 200, 3e-3)
    stored_warm = saved["loss_blocks"][(*warm, 0)][: blocks.shape[1]]
    np.testing.assert_allclose(blocks[1], stored_warm, rtol=1e-3)
    # the cold start sits on the plateau over steps 101-150, here and in the stored run;
    # the warmed-up run is below it
    assert window_mean(fresh.loss[:, 0], STEPS, 50) > PLATEAU
    assert saved["loss_blocks"][(*cold, 0)][10:15].mean() > PLATEAU
    assert window_mean(fresh.loss[:, 1], STEPS, 20) < PLATEAU
    # Adam's first step: the same share of weights moved by lr
    np.testing.assert_allclose(
        fresh.stats.at_lr[0, 0], saved["at_lr"][(*cold, 0, 0)], rtol=1e-3
    )


def test_make_experiments_prints_the_total_time(monkeypatch, capsys):
    from lrcourse.__main__ import main

    ran = []
    monkeypatch.setattr(experiments, "run", lambda name: ran.append(name))
    assert main(["experiments", "warmup_sweep", "lr_range"]) == 0
    assert ran == ["warmup_sweep", "lr_range"]
    assert capsys.readouterr().out.startswith("total: 2 experiments in ")
