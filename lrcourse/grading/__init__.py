"""Exercises that check themselves, and a grader that re-checks them where learners cannot.

* ``check(ID, ...)`` (``lrcourse.grading.checks``) is what a check cell calls: feedback for
  the learner at once, and evidence that the grader re-checks in its own process.
* ``release`` makes a learner's notebook from an instructor's master (the solution).
* ``grade`` rebuilds each submission from the master, runs it under nbval with limits, and
  writes a gradebook (``python -m lrcourse grade``).

Importing this package imports neither torch nor the grader: a learner's kernel loads only
what its checks need.
"""

from lrcourse.grading.checks import CHECKS, CheckFailed, check

__all__ = ["check", "CHECKS", "CheckFailed"]
