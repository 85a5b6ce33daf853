"""Training runs torch on one thread: the same numbers everywhere, and no collapse under load.

Measured on the course's 2-core machine, batched digits training (9 to 75 members):

* on an idle machine two threads were 1.2 to 1.6 times faster than one;
* with another process busy on the other core, two threads were 3 to 5 times *slower* than
  one (and up to 100 times when both processes used two), because each of torch's threads
  spins waiting for the others;
* full-batch products over 1440 images split their sums differently on two threads, so the
  last digits change (notebook 01 printed a loss of 1.09e+03 on one thread, 1.1e+03 on two).

One thread gives every machine, busy or idle, the numbers the notebooks were saved with.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import torch

from lrcourse.validate import integer

__all__ = ["torch_threads", "one_thread"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Within the block torch uses ``n`` intra-op threads; the previous number is restored."""
    n = integer("n", n, 1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: ``fn`` runs inside ``torch_threads(1)``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapper
