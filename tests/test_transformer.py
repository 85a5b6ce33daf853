"""The tiny Transformer: a batched member is the textbook torch.nn model, is the same model
trained alone, and Adam's recorder watches without changing a step.

The model here is small (width 16, 2 layers, context 8) so that the tests stay fast; the
code paths are the course's (Post-LN and Pre-LN, causal attention, GELU, Adam). Float64
throughout. Two implementations of one model agree to about 1e-15 at initialisation; in
training, different rounding (our Adam's formula against torch's fused one, a batched
product against a single one) grows by a few bits per step, so trajectories agree to
1e-12 over the first steps and to 1e-8 over 100.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse.optim import Adam, AdamRecorder, AdamW
from lrcourse.transformer import (
    BatchedTransformer,
    Config,
    TransformerLM,
    corpus,
    init_member,
    sample_batch,
    train_lm,
)
from lrcourse.transformer.train import DATA_SEED

SMALL = {"d_model": 16, "heads": 2, "layers": 2, "context": 8}
BATCH = 4


def _close(a, b, rtol):
    torch.testing.assert_close(
        a, b, rtol=rtol, atol=rtol * float(b.detach().abs().max())
    )


def test_corpus_is_cpythons_reference_text():
    c = corpus()
    assert c.vocab == 103 and 400_000 < len(c.tokens) < 500_000
    assert "for" in c.decode(c.tokens[:2000])
    assert 3.2 < c.unigram_entropy() < 3.3  # nats per character


def test_sample_batch_targets_are_the_next_characters():
    gen = torch.Generator().manual_seed(0)
    x, y = sample_batch(corpus().tokens, 3, 5, gen)
    assert x.shape == y.shape == (3, 5)
    assert torch.equal(x[:, 1:], y[:, :-1])


@pytest.mark.parametrize("post_ln", [True, False], ids=["post-ln", "pre-ln"])
def test_a_member_is_the_torch_nn_model_at_initialisation(post_ln):
    c = Config(post_ln=post_ln, **SMALL)
    model = BatchedTransformer([3, 7], c, dtype=torch.float64)
    x, _ = sample_batch(corpus().tokens, BATCH, c.context, torch.Generator())
    logits = model(torch.stack([x, x]))
    for m, seed in enumerate(model.seeds):
        ref = TransformerLM(c).load(init_member(seed, c, torch.float64))
        _close(logits[m], ref(x), rtol=1e-13)
        for name, value in model.member_params(m).items():
            assert torch.equal(value, ref.named()[name]), name
    assert not torch.equal(logits[0], logits[1])  # the seeds differ


def _reference_run(seed, c, lrs, steps, opt_factory):
    """``TransformerLM`` and ``opt_factory`` in the textbook loop, on the batches that
    ``train_lm`` gives a member of ``seed``."""
    ref = TransformerLM(c).load(init_member(seed, c, torch.float64))
    opt = opt_factory(ref.parameters())
    gen = torch.Generator().manual_seed(DATA_SEED + seed)
    losses = []
    for t in range(steps):
        for group in opt.param_groups:
            group["lr"] = lrs[t]
        x, y = sample_batch(corpus().tokens, BATCH, c.context, gen)
        loss = F.cross_entropy(ref(x).reshape(-1, c.vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return ref, np.array(losses)


@pytest.mark.parametrize("post_ln", [True, False], ids=["post-ln", "pre-ln"])
def test_a_member_trains_as_the_torch_nn_model_with_torch_adam(post_ln):
    c = Config(post_ln=post_ln, **SMALL)
    steps, lrs = 30, np.linspace(0, 1e-2, 30)
    run = train_lm([5, 5], np.stack([lrs, lrs / 2], 1), steps=steps, config=c,
                   batch_size=BATCH, dtype=torch.float64, keep_model=True)  # fmt: skip
    ref, losses = _reference_run(5, c, lrs, steps, lambda p: torch.optim.Adam(p))
    np.testing.assert_allclose(run.loss[:5, 0], losses[:5], rtol=1e-12)
    np.testing.assert_allclose(run.loss[:, 0], losses, rtol=1e-9)
    for name, value in run.model.member_params(0).items():
        _close(value, ref.named()[name].detach(), rtol=1e-8)
    # the second member (half the lr, same seed: same start and batches) is another run
    assert run.loss[1, 0] == run.loss[1, 1] and run.loss[-1, 0] != run.loss[-1, 1]


def test_a_batched_member_is_the_member_trained_alone():
    c = Config(**SMALL)
    lrs = np.array([1e-3, 3e-3, 1e-2])
    kw = dict(steps=40, config=c, batch_size=BATCH, dtype=torch.float64)
    together = train_lm([0, 1, 2], lrs[None].repeat(40, 0), **kw)
    for m, seed in enumerate((0, 1, 2)):
        alone = train_lm([seed], lrs[m], **kw)
        np.testing.assert_allclose(together.loss[:, m], alone.loss[:, 0], rtol=1e-10)
        np.testing.assert_allclose(
            together.grad_norm[:, m], alone.grad_norm[:, 0], rtol=1e-8
        )


def _train(opt_factory, record, steps=100):
    """BatchedTransformer with one member, ``steps`` Adam steps on fixed batches; with
    ``record``, an AdamRecorder on the optimizer."""
    c = Config(**SMALL)
    model = BatchedTransformer([0], c, dtype=torch.float64)
    opt = opt_factory(model.parameters())
    rec = None
    if record:
        rec = AdamRecorder(
            opt, members=1, at={1, 2, steps}, names=dict(model.p.items())
        )
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, y = sample_batch(corpus().tokens, BATCH, c.context, gen)
        loss = F.cross_entropy(model(x[None]).reshape(-1, c.vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return dict(model.p.items()), rec


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
        (lambda p: AdamW(p, lr=1e-2, weight_decay=0.1),
         lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
    ],
    ids=["adam", "adamw"],
)  # fmt: skip
def test_recording_changes_no_step_and_equals_torch(ours, theirs):
    recorded, rec = _train(ours, record=True)
    plain, _ = _train(ours, record=False)
    reference, _ = _train(theirs, record=False)
    for name, value in recorded.items():
        assert torch.equal(value, plain[name]), "the recorder changed a step"
        _close(value, reference[name].detach(), rtol=1e-8)
    stats = rec.stats()
    assert stats.step.tolist() == [1, 2, 100]
    assert len(stats.matrices) == 11 and stats.matrices[0] == "embed"


def test_recorder_reads_torch_adam_too_and_step_one_moves_every_coordinate_by_lr():
    _, ours = _train(lambda p: Adam(p, lr=1e-2), record=True, steps=2)
    _, theirs = _train(lambda p: torch.optim.Adam(p, lr=1e-2), record=True, steps=2)
    a, b = ours.stats(), theirs.stats()
    np.testing.assert_allclose(a.update_rms, b.update_rms, rtol=1e-10)
    np.testing.assert_allclose(a.rel_change, b.rel_change, rtol=1e-8)
    # t = 1: |u| = |g| / (|g| + eps) <= 1, and 1 within 1% wherever |g| >> eps = 1e-8;
    # not so for the embedding rows of characters absent from the batch (g = 0), nor for
    # the keys' biases (softmax ignores them: g ~ 1e-17)
    assert a.update_rms[0, 0] <= 1 and 0.75 < a.at_lr[0, 0] < 1
    assert a.update_rms[1, 0] < a.update_rms[0, 0]
    q10, q50, q90 = a.step_size[0, 0]
    assert 0 < q10 <= q50 <= q90 < 1e-2 / 1e-8  # coordinates never touched excluded


def test_recorder_per_member_of_a_batched_model():
    run = train_lm([0, 1], np.array([[1e-3, 1e-2]] * 3), steps=3, config=Config(**SMALL),
                   batch_size=BATCH, record_at=[1, 3])  # fmt: skip
    s = run.stats
    assert s.update_rms.shape == (2, 2) and s.rel_change.shape == (2, 2, 11)
    assert s.step_size.shape == (2, 2, 3)
    # lr 10x larger: step sizes 10x larger at t = 1 (v_hat = g^2 does not depend on lr)
    ratio = s.step_size[0, 1] / s.step_size[0, 0]
    assert np.all((ratio > 5) & (ratio < 20))


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="d_model"):
        Config(d_model=30, heads=4)
    with pytest.raises(ValueError, match="lrs"):
        train_lm([0], np.ones(3), steps=5, config=Config(**SMALL))
    with pytest.raises(ValueError, match="seeds"):
        BatchedTransformer([])
    with pytest.raises(ValueError, match="steps"):
        train_lm([0], 1e-3, steps=0)
