"""The lesson's printed table, recomputed with the lesson's code and with ours, side by side.

The lesson prints the lr of its five schedules at steps 0, 50, 100, 250, 500, 750 and 999
of a 1000-step run (``lrcourse.lesson.TABLE_CALLS`` holds its calls). :func:`lesson_table`
evaluates the same calls with the lesson's functions and with ``lrcourse.schedules``, and
flags every cell where the two differ, so notebook 00 can explain each difference.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lrcourse.course.lesson import TABLE_CALLS, TABLE_STEPS
from lrcourse.schedules import SCHEDULES
from lrcourse.validate import in_range

__all__ = ["LessonTable", "lesson_printout", "lesson_table", "our_call"]


def our_call(name: str) -> tuple[Callable, dict[str, int], tuple[str, ...]]:
    """Our schedule for a column of the lesson's table, the lesson's arguments that it
    accepts, and the names of those it does not (the lesson's ``**kwargs`` swallowed them;
    ours are keyword-only and would raise ``TypeError``)."""
    if name not in TABLE_CALLS:
        raise ValueError(f"name must be one of {list(TABLE_CALLS)}, got {name!r}")
    fn = SCHEDULES[name].fn
    accepted = inspect.signature(fn).parameters
    _, lesson_kwargs = TABLE_CALLS[name]
    kwargs = {k: v for k, v in lesson_kwargs.items() if k in accepted}
    dropped = tuple(k for k in lesson_kwargs if k not in accepted)
    return fn, kwargs, dropped


@dataclass(frozen=True)
class LessonTable:
    """lr per column and step: from the lesson's code and from ours."""

    steps: tuple[int, ...]
    lesson: dict[str, np.ndarray]
    ours: dict[str, np.ndarray]
    dropped: dict[str, tuple[str, ...]]
    rtol: float

    def differs(self, name: str) -> np.ndarray:
        """Per step, whether ours and the lesson's differ by more than ``rtol`` (relative)."""
        return ~np.isclose(self.ours[name], self.lesson[name], rtol=self.rtol, atol=0.0)

    @property
    def agreeing(self) -> list[str]:
        """The columns where ours equals the lesson's code at every step of the table."""
        return [name for name in self.lesson if not self.differs(name).any()]

    @property
    def differing(self) -> list[str]:
        """The columns with at least one differing cell."""
        return [name for name in self.lesson if self.differs(name).any()]

    def format(self) -> str:
        """The table as text, at most 80 characters wide: per schedule, a row of the
        lesson's code and a row of ours, one column per step, ``*`` after each of our
        values that differs."""
        lines = ["lr at step" + "".join(f"{s:>9} " for s in self.steps)]
        for name in self.lesson:
            flags = self.differs(name)
            lines.append(name)
            lines.append(
                "  lesson  " + "".join(f"{v:>9.2e} " for v in self.lesson[name])
            )
            lines.append(
                "  ours    "
                + "".join(
                    f"{v:>9.2e}{'*' if d else ' '}"
                    for v, d in zip(self.ours[name], flags, strict=True)
                )
            )
        lines.append(
            f"* ours differs from the lesson's code by more than {self.rtol:g} (relative)"
        )
        for name, args in self.dropped.items():
            if args:
                lines.append(
                    f"  {name}: the lesson also passes {', '.join(args)}, which its **kwargs "
                    "swallows;\n    ours has no such parameter, so it is left out."
                )
        return "\n".join(line.rstrip() for line in lines)


def lesson_table(
    steps: Sequence[int] = TABLE_STEPS, *, rtol: float = 1e-12
) -> LessonTable:
    """Evaluate the lesson's table calls at ``steps`` with the lesson's code and with ours."""
    steps = tuple(int(s) for s in steps)
    if not steps or min(steps) < 0:
        raise ValueError(
            f"steps must be a non-empty sequence of integers >= 0, got {steps!r}"
        )
    rtol = in_range("rtol", rtol, 0, 1, low_open=True, high_open=True)
    lesson, ours, dropped = {}, {}, {}
    for name, (lesson_fn, lesson_kwargs) in TABLE_CALLS.items():
        lesson[name] = np.array(
            [lesson_fn(s, **lesson_kwargs) for s in steps], dtype=float
        )
        fn, kwargs, dropped[name] = our_call(name)
        ours[name] = fn(np.array(steps), **kwargs)
    return LessonTable(steps, lesson, ours, dropped, rtol)


def lesson_printout(steps: Sequence[int] = TABLE_STEPS) -> str:
    """Exactly what the lesson's printing loop prints (its header, its 6-decimal format)."""
    names = ["Step", "Constant", "StepDecay", "Cosine", "W+Cos", "1Cycle"]
    lines = [" ".join(f"{n:<8}" if i == 0 else f"{n:<10}" for i, n in enumerate(names))]
    for step in steps:
        values = [fn(step, **kwargs) for fn, kwargs in TABLE_CALLS.values()]
        lines.append(f"{step:<8} " + " ".join(f"{v:<10.6f}" for v in values))
    return "\n".join(lines)
