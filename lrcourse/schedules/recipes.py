"""Real training recipes as their papers print them, and the arithmetic of warmup.

One place per fact: ``RECIPES`` holds each published recipe once (notebook 05 prints
and plots it; nothing else restates it). Every number is the one printed in its source,
and the papers round ("4M tokens", "2.0T", "0.5M"), so a number derived from them, such
as the warmup's share of the run, is as precise as they are. The sources are cited as
the course's FACTS.md cites them.

``warmup_steps_from_tokens`` turns a warmup stated in tokens (GPT-3's 375M) into
optimizer steps for a given batch. Pure Python: this module imports neither numpy nor
torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lrcourse.validate import choice, integer

__all__ = [
    "Recipe",
    "RECIPES",
    "recipe",
    "recipes_table",
    "warmup_steps_from_tokens",
    "GPT3_SEQ_LEN",
    "GPT3_RAMP_START_TOKENS",
    "GPT3_RAMP_TOKENS",
]

Unit = Literal["steps", "tokens", "epochs", "of the run"]
Kind = Literal["LLM pretraining", "pretraining", "fine-tuning"]


def warmup_steps_from_tokens(tokens: int, batch_size: int, seq_len: int) -> int:
    """The optimizer steps a warmup of ``tokens`` tokens takes, in batches of
    ``batch_size`` sequences of ``seq_len`` tokens each:

        steps = ceil(tokens / (batch_size * seq_len))

    Rounded up, because a partial batch still needs a step: the warmup then covers at
    least ``tokens`` tokens. GPT-3's 375M tokens in batches of 256 sequences of 2048
    tokens: ceil(715.3) = 716 steps.

    Every argument is an integer count (``tokens`` >= 0, the others >= 1), checked
    before any arithmetic; a float such as ``375e6`` is a ValueError, not rounded.
    """
    tokens = integer("tokens", tokens, 0)
    batch_size = integer("batch_size", batch_size, 1)
    seq_len = integer("seq_len", seq_len, 1)
    tokens_per_step = batch_size * seq_len
    # ceil(a / b) in integer arithmetic, -(-a // b): exact at any size, where a float
    # division would round (2**53 + 1 tokens has no float64)
    return -(-tokens // tokens_per_step)


@dataclass(frozen=True)
class Recipe:
    """One published training recipe, in its source's own units.

    model: the model (or models) it trained.
    kind: "LLM pretraining", other "pretraining", or "fine-tuning".
    peak_lr: the peak learning rate; None where the source gives none.
    warmup, warmup_unit: the warmup as the source states it (2000 "steps", 375M
        "tokens", 5 "epochs", or 0.1 "of the run"); None where the source gives none.
    total, total_unit: the length of the run, or of its decay, as the source states it.
    decay: what follows the warmup, in words.
    source: where the numbers are printed.
    batch_tokens: tokens per optimizer step, where the source gives it.
    note: how a number was derived, or what the source leaves out.
    """

    model: str
    kind: Kind
    peak_lr: float | None
    warmup: float | None
    warmup_unit: Unit | None
    total: float | None
    total_unit: Unit | None
    decay: str
    source: str
    batch_tokens: int | None = None
    note: str = ""

    @property
    def warmup_share(self) -> float | None:
        """The warmup's share of the run, warmup / total in one unit (a step holds
        ``batch_tokens`` tokens); None where the record lacks a number."""
        if self.warmup is None:
            return None
        if self.warmup_unit == "of the run":
            return self.warmup
        if self.total is None:
            return None
        if self.warmup_unit == self.total_unit:
            return self.warmup / self.total
        if (self.warmup_unit, self.total_unit) == ("steps", "tokens"):
            if self.batch_tokens is not None:
                return self.warmup * self.batch_tokens / self.total
        return None


_LLAMA1 = "Touvron et al. 2023 (LLaMA), §2.3, Table 2"
_LLAMA2 = "Touvron et al. 2023b (Llama 2), §2.2, Table 1"
_LLAMA3 = "Llama 3 Herd (arXiv 2407.21783), Table 3, §3.4.1, §3.4.3"
_GPT3 = "Brown et al. 2020 (GPT-3), Table 2.1, App. B"
#: GPT-3, App. B: every model trains on sequences of the full n_ctx = 2048 tokens.
GPT3_SEQ_LEN = 2048
#: GPT-3, App. B: "we also gradually increase the batch size linearly from a small value
#: (32k tokens) to the full value over the first 4-12 billion tokens of training,
#: depending on the model size". As printed: 32k tokens, over 4B to 12B tokens.
GPT3_RAMP_START_TOKENS = 32_000
GPT3_RAMP_TOKENS = (4_000_000_000, 12_000_000_000)
_GPT3_DECAY = "cosine to 10% over 260B tokens, then held"
#: GPT-3's Table 2.1: each size, its learning rate and its batch size in tokens.
_GPT3_SIZES = (
    ("GPT-3 Small 125M", 6.0e-4, 500_000),
    ("GPT-3 Medium 350M", 3.0e-4, 500_000),
    ("GPT-3 Large 760M", 2.5e-4, 500_000),
    ("GPT-3 XL 1.3B", 2.0e-4, 1_000_000),
    ("GPT-3 2.7B", 1.6e-4, 1_000_000),
    ("GPT-3 6.7B", 1.2e-4, 2_000_000),
    ("GPT-3 13B", 1.0e-4, 2_000_000),
    ("GPT-3 175B", 0.6e-4, 3_200_000),
)
_TRANSFORMER = "Vaswani et al. 2017, §5.2, §5.3 (Eq. 3)"
_INVERSE_SQRT_PEAK = (
    "peak derived: lr = d_model^-0.5 * min(t^-0.5, t * w^-1.5) peaks at t = w, "
    "at (d_model * w)^-0.5"
)

#: The recipes the course cites, in its FACTS.md order.
RECIPES: tuple[Recipe, ...] = (
    Recipe("LLaMA 1 6.7B, 13B", "LLM pretraining", 3.0e-4, 2_000, "steps",
           1.0e12, "tokens", "cosine to 10% of peak", _LLAMA1, batch_tokens=4_000_000),
    Recipe("LLaMA 1 32.5B, 65.2B", "LLM pretraining", 1.5e-4, 2_000, "steps",
           1.4e12, "tokens", "cosine to 10% of peak", _LLAMA1, batch_tokens=4_000_000),
    Recipe("Llama 2 7B, 13B", "LLM pretraining", 3.0e-4, 2_000, "steps",
           2.0e12, "tokens", "cosine to 10% of peak", _LLAMA2, batch_tokens=4_000_000),
    Recipe("Llama 2 34B, 70B", "LLM pretraining", 1.5e-4, 2_000, "steps",
           2.0e12, "tokens", "cosine to 10% of peak", _LLAMA2, batch_tokens=4_000_000),
    Recipe("Llama 3 8B", "LLM pretraining", 3e-4, None, None, None, None,
           "not published", _LLAMA3,
           note="§3.4 gives the 405B recipe and says the 8B and 70B used 'similar "
                "recipes'"),
    Recipe("Llama 3 70B", "LLM pretraining", 1.5e-4, None, None, None, None,
           "not published", _LLAMA3,
           note="§3.4 gives the 405B recipe and says the 8B and 70B used 'similar "
                "recipes'"),
    Recipe("Llama 3 405B", "LLM pretraining", 8e-5, 8_000, "steps",
           1_200_000, "steps",
           "cosine to 8e-7 over 1.2M steps, then linear to 0 over the last 40M tokens",
           _LLAMA3, note="the total is the cosine's length; the batch grew from 4M "
                         "tokens to 8M and 16M during training"),
    *(
        Recipe(name, "LLM pretraining", lr, 375_000_000, "tokens",
               300_000_000_000, "tokens", _GPT3_DECAY, _GPT3, batch_tokens=batch,
               note="the batch grew linearly to this from 32k tokens over the first "
                    "4-12B tokens (GPT3_RAMP_START_TOKENS, GPT3_RAMP_TOKENS)")
        for name, lr, batch in _GPT3_SIZES
    ),
    Recipe("BERT", "pretraining", 1e-4, 10_000, "steps", 1_000_000, "steps",
           "linear decay", "Devlin et al. 2019, App. A.2"),
    Recipe("BERT fine-tuning", "fine-tuning", None, 0.1, "of the run", None, None,
           "linear to 0",
           "google-research/bert, run_classifier.py: warmup_proportion=0.1",
           note="a code default, not a measured choice"),
    Recipe("Transformer base", "pretraining", (512 * 4_000) ** -0.5, 4_000, "steps",
           100_000, "steps", "inverse square root", _TRANSFORMER,
           note=_INVERSE_SQRT_PEAK + ", d_model = 512"),
    Recipe("Transformer big", "pretraining", (1024 * 4_000) ** -0.5, 4_000, "steps",
           300_000, "steps", "inverse square root", _TRANSFORMER,
           note=_INVERSE_SQRT_PEAK + ", d_model = 1024"),
    Recipe("ResNet-50, batch 8k", "pretraining", 0.1 * 8_192 / 256, 5, "epochs",
           90, "epochs", "step: /10 at epochs 30, 60, 80",
           "Goyal et al. 2017, §2.1, §2.2, §5.1",
           note="peak derived from the linear scaling rule, 0.1 * 8192 / 256"),
)  # fmt: skip


def recipe(model: str) -> Recipe:
    """The recipe of ``model`` (as ``Recipe.model`` names it); ValueError naming the
    choices otherwise."""
    by_name = {r.model: r for r in RECIPES}
    return by_name[choice("model", model, by_name)]


def _amount(value: float | None, unit: str | None) -> str:
    """2000 steps as "2,000 steps", 375e6 tokens as "375M tokens", 0.1 "of the run" as
    "10% of run"."""
    if value is None or unit is None:
        return "-"
    if unit == "of the run":
        return f"{value:.0%} of run"
    if unit == "tokens":
        for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if value >= size:
                return f"{value / size:.3g}{suffix} tokens"
    return f"{value:,.0f} {unit}"


def recipes_table(recipes: tuple[Recipe, ...] = RECIPES) -> str:
    """The recipes as a table, one line each (at most 88 characters): model, peak lr,
    warmup and run as their sources state them, tokens per step where given, and the
    warmup's share of the run."""
    lines = [
        f"{'model':<21} {'peak lr':>8}  {'warmup':<13} {'run':<15} {'batch':>5} "
        f"{'share':>6}",
    ]
    for r in recipes:
        peak = "-" if r.peak_lr is None else f"{r.peak_lr:.1e}"
        batch = "-" if r.batch_tokens is None else f"{r.batch_tokens / 1e6:g}M"
        share = "-" if r.warmup_share is None else f"{100 * r.warmup_share:.3g}%"
        lines.append(
            f"{r.model:<21} {peak:>8}  {_amount(r.warmup, r.warmup_unit):<13} "
            f"{_amount(r.total, r.total_unit):<15} {batch:>5} {share:>6}"
        )
    return "\n".join(line.rstrip() for line in lines)
