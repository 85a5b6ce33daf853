"""Run torch on one thread: the course's tensors are small, and threads cost more than they save.

Measured on the course's 2-core machine, batched digits training (3 to 75 members): one
thread was as fast as two on an idle machine, and 8 to 100 times faster when another
process was busy, because each of torch's threads spins waiting for the others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import torch

__all__ = ["torch_threads", "one_thread"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Within the block torch uses ``n`` intra-op threads; the previous number is restored."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
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
