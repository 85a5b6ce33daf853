"""The course's text: CPython's own reference documentation, as characters.

CPython ships the text of its reference docs (``help("for")``, ``help("with")``, ...) as
``pydoc_data.topics.topics``: about 465 KB of English prose and code under the PSF licence.
One import reads it, so nothing is downloaded or committed. ``corpus()`` joins the topics
in sorted order and encodes each character as its index in the sorted set of characters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor

from lrcourse.validate import integer

__all__ = ["Corpus", "corpus", "sample_batch"]


@dataclass(frozen=True)
class Corpus:
    """A text as character ids. ``chars[i]`` is the character of id ``i``."""

    chars: tuple[str, ...]
    tokens: Tensor  # (N,) int64

    @property
    def vocab(self) -> int:
        return len(self.chars)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def unigram_entropy(self) -> float:
        """H = -sum_c p(c) log p(c) in nats: the loss of a model that predicts every
        character from the characters' frequencies alone, ignoring the context."""
        p = torch.bincount(self.tokens, minlength=self.vocab).double() / len(
            self.tokens
        )
        p = p[p > 0]
        return float(-(p * p.log()).sum())


@functools.cache
def corpus() -> Corpus:
    """CPython's reference topics (``pydoc_data.topics``), joined in sorted order."""
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))
    chars = tuple(sorted(set(text)))
    index = {c: i for i, c in enumerate(chars)}
    tokens = torch.tensor([index[c] for c in text], dtype=torch.int64)
    return Corpus(chars, tokens)


def sample_batch(
    tokens: Tensor, batch_size: int, context: int, gen: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``batch_size`` windows of ``context`` characters at random places, drawn from
    ``gen``, and their targets, the same windows shifted by one: (B, T) each."""
    batch_size = integer("batch_size", batch_size, 1)
    context = integer("context", context, 1)
    start = torch.randint(len(tokens) - context, (batch_size, 1), generator=gen)
    at = start + torch.arange(context)
    return tokens[at], tokens[at + 1]
