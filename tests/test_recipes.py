"""Real recipes and warmup arithmetic (lrcourse.schedules.recipes), and the warmup
choices notebook 05 compares: warmup from 0 (the lesson, Hugging Face) against nanoGPT's
(t + 1) / (w + 1)."""

import math
import subprocess
import sys

import numpy as np
import pytest

import lrcourse
from lrcourse.schedules import warmup_cosine_schedule
from lrcourse.schedules.recipes import (
    RECIPES,
    recipe,
    recipes_table,
    warmup_steps_from_tokens,
)

# --- warmup_steps_from_tokens ---------------------------------------------------------


@pytest.mark.parametrize(
    "tokens, batch_size, seq_len, steps",
    [
        (375_000_000, 256, 2048, 716),  # 715.26 batches: the partial one is a step too
        (375_000_000, 16, 2048, 11_445),  # GPT-3's first batch, 32k tokens: 11444.09
        (375_000_000, 1562, 2048, 118),  # GPT-3 175B's 3.2M tokens, rounded down ...
        (375_000_000, 1563, 2048, 118),  # ... and up: the same step count
        (0, 8, 512, 0),  # no warmup
        (1, 8, 512, 1),
        (4096, 8, 512, 1),  # exactly one batch: no extra step
        (4097, 8, 512, 2),  # one token more: one step more
    ],
)
def test_warmup_steps_round_up(tokens, batch_size, seq_len, steps):
    assert warmup_steps_from_tokens(tokens, batch_size, seq_len) == steps
    per_step = batch_size * seq_len
    # the warmup covers the tokens, and one step fewer would not
    assert steps * per_step >= tokens and (steps - 1) * per_step < max(tokens, 1)


def test_warmup_steps_are_exact_integers_at_any_size():
    """Float division would round here (2**53 + 1 is not a float64); integers do not."""
    tokens = 2**53 + 1
    assert warmup_steps_from_tokens(tokens, 1, 1) == tokens
    assert warmup_steps_from_tokens(10**18 + 1, 10**9, 1) == 10**9 + 1
    assert type(warmup_steps_from_tokens(np.int64(4097), np.int32(8), 512)) is int


@pytest.mark.parametrize(
    "args, message",
    [
        ((375e6, 256, 2048), "tokens must be an integer"),
        ((-1, 256, 2048), "tokens must be an integer >= 0"),
        ((10, 0, 2048), "batch_size must be an integer >= 1"),
        ((10, 2.0, 2048), "batch_size must be an integer"),
        ((10, 8, True), "seq_len must be an integer >= 1"),
        (("10", 8, 1), "tokens must be an integer"),
    ],
)
def test_warmup_steps_bad_input_names_the_parameter(args, message):
    with pytest.raises(ValueError, match=message):
        warmup_steps_from_tokens(*args)


def test_exported_at_the_top_level_without_torch():
    assert lrcourse.warmup_steps_from_tokens is warmup_steps_from_tokens
    assert lrcourse.schedules.warmup_steps_from_tokens is warmup_steps_from_tokens
    assert "warmup_steps_from_tokens" in lrcourse.__all__
    code = (
        "import sys; from lrcourse import warmup_steps_from_tokens; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# --- the recipes ----------------------------------------------------------------------

#: FACTS.md's measured warmup shares, to the digits it gives.
FACTS_SHARES = {
    "GPT-3 175B": 0.00125,
    "Llama 2 7B, 13B": 0.004,
    "Llama 3 405B": 0.0067,
    "BERT": 0.01,
    "Transformer base": 0.04,
    "ResNet-50, batch 8k": 0.056,
    "BERT fine-tuning": 0.1,
}


@pytest.mark.parametrize("model", FACTS_SHARES)
def test_shares_match_facts(model):
    share = recipe(model).warmup_share
    digits = len(f"{FACTS_SHARES[model]:g}".split(".")[-1])
    assert round(share, digits) == FACTS_SHARES[model]


def test_shares_are_computed_from_the_printed_numbers():
    assert recipe("GPT-3 Small 125M").warmup_share == 375e6 / 300e9
    assert recipe("Llama 2 34B, 70B").warmup_share == 2_000 * 4e6 / 2.0e12
    assert recipe("LLaMA 1 6.7B, 13B").warmup_share == pytest.approx(0.008)
    assert recipe("LLaMA 1 32.5B, 65.2B").warmup_share == pytest.approx(0.004 / 0.7)
    assert recipe("Transformer big").warmup_share == 4_000 / 300_000
    assert recipe("Llama 3 70B").warmup_share is None  # not published


def test_every_gpt3_size_warms_up_over_375m_of_300b_tokens():
    gpt3 = [r for r in RECIPES if r.model.startswith("GPT-3")]
    assert len(gpt3) == 8 and {r.warmup_share for r in gpt3} == {0.00125}
    assert gpt3[0].peak_lr == 6e-4 and gpt3[-1].peak_lr == 6e-5
    assert [r.batch_tokens / 1e6 for r in gpt3] == [0.5, 0.5, 0.5, 1, 1, 2, 2, 3.2]


def test_lesson_claims_against_the_records():
    """The lesson: "LLaMA 3: peak 3e-4, 2000 warmup steps, cosine to 3e-5"; "GPT-3:
    lr 6e-4"; "warmup is usually 1-10% of training"."""
    llama3 = recipe("Llama 3 405B")
    assert llama3.warmup == 8_000 and llama3.peak_lr == 8e-5
    assert {r.model for r in RECIPES if r.peak_lr == 3e-4 and r.warmup == 2_000} == {
        "LLaMA 1 6.7B, 13B",
        "Llama 2 7B, 13B",
    }
    assert [r.model for r in RECIPES if r.peak_lr == 6e-4] == ["GPT-3 Small 125M"]
    llm = [r.warmup_share for r in RECIPES if r.kind == "LLM pretraining"]
    assert max(s for s in llm if s is not None) < 0.01


def test_records_are_complete_and_derived_peaks_follow_their_formulas():
    names = [r.model for r in RECIPES]
    assert len(set(names)) == len(names)
    for r in RECIPES:
        assert (
            r.source
            and r.decay
            and r.kind
            in {
                "LLM pretraining",
                "pretraining",
                "fine-tuning",
            }
        )
        assert (r.warmup is None) == (r.warmup_unit is None)
        assert (r.total is None) == (r.total_unit is None)
    assert recipe("Transformer base").peak_lr == pytest.approx(7.0e-4, rel=0.01)
    assert math.isclose(recipe("ResNet-50, batch 8k").peak_lr, 3.2)


def test_recipe_lookup_names_the_choices():
    with pytest.raises(ValueError, match=r"model must be one of \['LLaMA 1"):
        recipe("LLaMA 3")


def test_table_fits_the_screen_and_lists_every_recipe():
    lines = recipes_table().splitlines()
    assert len(lines) == len(RECIPES) + 1
    assert max(map(len, lines)) <= 88
    assert "0.125%" in lines[[r.model for r in RECIPES].index("GPT-3 175B") + 1]


# --- warmup's first step: from 0, or nanoGPT's (t + 1) / (w + 1) ---------------------


def nanogpt_get_lr(it, *, learning_rate, min_lr, warmup_iters, lr_decay_iters):
    """nanoGPT's train.py get_lr (karpathy/nanoGPT, e2221318), transcribed."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


@pytest.mark.parametrize("warmup, total", [(30, 300), (1, 10), (2000, 20_000), (5, 6)])
def test_nanogpt_warmup_is_ours_one_step_longer_read_one_step_ahead(warmup, total):
    """What notebook 05 shows: warmup_cosine_schedule(t + 1, warmup_steps=w + 1,
    total_steps=T + 1) is nanoGPT's get_lr(t), to rounding, within the run and after."""
    t = np.arange(total + 20)
    ours = warmup_cosine_schedule(
        t + 1, lr_max=6e-4, lr_min=6e-5, warmup_steps=warmup + 1, total_steps=total + 1
    )
    hand = [
        nanogpt_get_lr(int(s), learning_rate=6e-4, min_lr=6e-5, warmup_iters=warmup,
                       lr_decay_iters=total)
        for s in t
    ]  # fmt: skip
    np.testing.assert_allclose(ours, hand, rtol=1e-12, atol=0)
    assert ours[0] == pytest.approx(6e-4 / (warmup + 1))  # step 0 already moves
    # from 0 (ours, the lesson, Hugging Face): the same decay, a warmup one step behind
    from_zero = warmup_cosine_schedule(
        t, lr_max=6e-4, lr_min=6e-5, warmup_steps=warmup, total_steps=total
    )
    assert from_zero[0] == 0.0
    np.testing.assert_array_equal(ours[warmup:], from_zero[warmup:])
    # the lr summed over the warmup: w/2 peaks against (w - 1)/2, one peak step in 2
    gap = (ours[:warmup].sum() - from_zero[:warmup].sum()) / 6e-4
    assert gap == pytest.approx(0.5)
