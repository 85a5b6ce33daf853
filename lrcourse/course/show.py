"""Show the package's own source in a notebook, so the lesson cannot drift from the code."""

from __future__ import annotations

import inspect
from collections.abc import Callable


def show_source(obj: Callable | type) -> None:
    """Print the source of a function or class exactly as it is in ``lrcourse``.

    Only the final definition is printed: ``typing.overload`` stubs are left out.
    """
    module = inspect.getmodule(obj)
    print(f"# {module.__name__ if module else '?'}.{obj.__qualname__}")
    print(inspect.getsource(obj).rstrip())
