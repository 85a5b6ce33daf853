"""A tiny character-level Transformer on CPython's reference text: why Adam needs warmup.

* ``data``: the text (``pydoc_data.topics``, shipped with CPython) as character ids.
* ``model``: ``BatchedTransformer``, M independent Post-LN or Pre-LN models as one, and
  ``TransformerLM``, one of them written with ``torch.nn`` layers (the reference).
* ``train``: ``train_lm``, Adam with one lr table per member, on one torch thread.
"""

from lrcourse.transformer.data import Corpus, corpus, sample_batch
from lrcourse.transformer.model import (
    BatchedTransformer,
    Config,
    TransformerLM,
    init_member,
    lm_forward,
)
from lrcourse.transformer.train import LMRun, train_lm

__all__ = [
    "Corpus",
    "corpus",
    "sample_batch",
    "Config",
    "BatchedTransformer",
    "TransformerLM",
    "init_member",
    "lm_forward",
    "LMRun",
    "train_lm",
]
