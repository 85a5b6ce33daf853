"""``python -m lrcourse COMMAND``: the course's command line.

bench               time the schedules and the trainer against baselines (``make bench``)
experiments [NAME]  run the slow experiments, rewrite their data (``make experiments``)
grade MASTER SUBMISSION... --out CSV   grade exercises (``make grade``; --help for options)
release [MASTER...] [--out DIR] [--check]   make learners' notebooks (``make release``)
"""

from __future__ import annotations

import sys
import time

USAGE = (
    "usage: python -m lrcourse bench | bench grading | experiments [NAME ...] | "
    "grade MASTER SUBMISSION... --out CSV | release [MASTER ...]"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["bench"]:
        from lrcourse.bench import main as bench  # imports torch: only when asked

        bench()
        return 0
    if args == ["bench", "grading"]:
        from lrcourse.bench import main_grading

        main_grading()
        return 0
    if args[:1] in (["grade"], ["release"]):
        from lrcourse.grading.cli import main as grading

        return grading(args)
    if args[:1] == ["experiments"]:
        from lrcourse import experiments

        names = args[1:] or list(experiments.EXPERIMENTS)
        unknown = [n for n in names if n not in experiments.EXPERIMENTS]
        if unknown:
            print(f"unknown experiments {unknown}; known: {list(experiments.EXPERIMENTS)}",
                  file=sys.stderr)  # fmt: skip
            return 2
        start = time.perf_counter()
        for name in names:
            experiments.run(name)
        total = time.perf_counter() - start
        print(
            f"total: {len(names)} experiments in {total / 60:.1f} min ({total:.0f} s)"
        )
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
