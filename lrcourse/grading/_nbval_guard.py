"""A pytest plugin the grader loads into nbval (``-p lrcourse.grading._nbval_guard``).

nbval waits for a cell's reply until ``--nbval-cell-timeout``, even when the kernel is
already dead (``os._exit``, a segfault, the memory cap hit in C code), and then reports a
timeout. This plugin polls the kernel while it waits, and reports a dead kernel as one:
"The kernel died while running this cell", at once; cells after it fail with "The kernel
had died in an earlier cell". And after a timeout it lets the cells that follow report
their own errors (nbval would mark them all "expected to fail"). Written against nbval
0.11 (pinned);
``tests/test_grading.py`` checks it still applies.
"""

from __future__ import annotations

import time
from queue import Empty

from nbval import kernel as nbval_kernel
from nbval import plugin as nbval_plugin

POLL_S = 0.25
DIED = "The kernel died while running this cell"
DEAD = "The kernel had died in an earlier cell"


class KernelDied(Exception):
    """The kernel process exited while a cell ran."""


_await_reply = nbval_kernel.RunningKernel.await_reply
_runtest = nbval_plugin.IPyNbCell.runtest


def await_reply(self, msg_id, timeout=None):
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    while True:
        left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
        try:
            return _await_reply(self, msg_id, timeout=max(left, 0.0))
        except Empty:
            if not self.is_alive():
                raise KernelDied() from None
            if deadline is not None and time.monotonic() >= deadline:
                raise


def runtest(self):
    kernel = self.parent.kernel
    if kernel is not None and not kernel.is_alive():
        self.raise_cell_error(DEAD + " (it exited, crashed or hit the memory cap).")
    try:
        _runtest(self)
    except KernelDied:
        self.raise_cell_error(
            DIED + ": the code exited Python (os._exit, a crash, or the memory cap)."
        )
    finally:
        # After a timeout nbval marks every later cell "expected to fail", which reports
        # their failures as skipped, without their errors. The kernel was interrupted
        # (or stopped, which the next cell reports as above): judge each cell on its own.
        self.parent.timed_out = False


nbval_kernel.RunningKernel.await_reply = await_reply
nbval_plugin.IPyNbCell.runtest = runtest
