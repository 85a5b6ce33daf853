"""``python -m lrcourse grade ...`` and ``python -m lrcourse release ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lrcourse.grading.release import ROOT

SOLUTIONS = ROOT / "notebooks" / "solutions"
EXERCISES = ROOT / "notebooks" / "exercises"


def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrcourse grade",
        description="Grade submissions of an exercise against its master (the solution).",
    )
    p.add_argument(
        "master", type=Path, help="the master notebook (notebooks/solutions/...)"
    )
    p.add_argument("submissions", type=Path, nargs="+", help="the learners' notebooks")
    p.add_argument("--out", type=Path, required=True, help="the gradebook CSV to write")
    p.add_argument(
        "--feedback", type=Path, help="feedback folder (default: <out>_feedback/)"
    )
    p.add_argument(
        "--workers", type=int, help="local processes in parallel (default: CPU count)"
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="grade on a Dask cluster: its scheduler's address (tcp://host:8786), or "
        "'local' for a LocalCluster of --workers processes on this machine",
    )
    p.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell")
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per submission"
    )
    p.add_argument(
        "--memory", type=float, default=4.0, help="the kernel's address space, in GB"
    )
    p.add_argument(
        "--secret",
        default="",
        help="mixed into the seed of each check's random choices (keep it private)",
    )
    return p


def grade_main(argv: list[str]) -> int:
    from lrcourse.grading.grade import Limits, grade, write_gradebook

    args = _grade_parser().parse_args(argv)
    limits = Limits(args.cell_timeout, args.timeout, args.memory)
    start = time.perf_counter()
    kwargs = dict(limits=limits, secret=args.secret)
    if args.dask:
        from distributed import Client, LocalCluster

        if args.dask == "local":
            cluster = LocalCluster(
                n_workers=args.workers or 2,
                threads_per_worker=1,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            cluster, client = None, Client(args.dask)
        try:
            n = len(client.scheduler_info()["workers"])
            print(
                f"grading on the Dask cluster at {client.scheduler.address} ({n} workers)"
            )
            results = grade(
                args.master,
                args.submissions,
                executor=client.get_executor(pure=False),
                **kwargs,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        results = grade(args.master, args.submissions, workers=args.workers, **kwargs)
    folder = write_gradebook(results, args.out, args.feedback)
    for g in results:
        statuses = sorted({r.status for r in g.rows})
        print(
            f"{g.student:<24} {g.points:g} of {g.max_points:g}  ({', '.join(statuses)})"
        )
    print(
        f"graded {len(results)} submissions in {time.perf_counter() - start:.0f} s: "
        f"{args.out}, feedback in {folder}/"
    )
    return 0


def release_main(argv: list[str]) -> int:
    from lrcourse.grading.release import differs, release_file

    p = argparse.ArgumentParser(
        prog="python -m lrcourse release",
        description="Make the learners' notebooks from the masters: solutions become "
        "stubs, outputs are cleared, ids are kept.",
    )
    p.add_argument(
        "masters",
        type=Path,
        nargs="*",
        help=f"masters (default: every notebook in {SOLUTIONS.relative_to(ROOT)}/)",
    )
    p.add_argument("--out", type=Path, default=EXERCISES, help="where to write them")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if a committed learner's notebook is not what release "
        "makes",
    )
    args = p.parse_args(argv)
    masters = args.masters or sorted(SOLUTIONS.glob("*.ipynb"))
    stale = []
    for master in masters:
        if args.check:
            if differs(master, args.out / master.name):
                stale.append(master.name)
        else:
            print(f"{master} -> {release_file(master, args.out)}")
    if stale:
        print(f"out of date (run `make release`): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "grade":
        return grade_main(argv[1:])
    return release_main(argv[1:])
