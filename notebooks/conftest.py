"""pytest under notebooks/: the learners' exercise notebooks are not collected.

``notebooks/exercises/`` holds what ``make release`` makes from ``notebooks/solutions/``:
stubs that raise ``NotImplementedError``, outputs cleared. nbval has nothing to check in
them; their masters, the solutions, run under nbval strict with the lessons, and
``tests/test_grading.py`` checks the exercises are what release makes.
"""

collect_ignore_glob = ["exercises/*"]
