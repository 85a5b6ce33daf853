"""``python -m lrcourse.grading._run AS_BYTES FSIZE_BYTES -- PYTEST_ARGS``: pytest under
resource limits that its kernel inherits (the grader's way to cap memory without
``preexec_fn``, which is unsafe in a threaded process such as a Dask worker)."""

from __future__ import annotations

import resource
import sys


def main(argv: list[str]) -> int:
    address_space, file_size = int(argv[0]), int(argv[1])
    if address_space > 0:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    if file_size > 0:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # nbval imports nbformat, which imports jsonschema, which imports rfc3987_syntax if it
    # is installed (jupyter-events pulls it in) and spends 3 s building a grammar for the
    # "iri" string format, which no notebook uses. Its import is optional there.
    sys.modules.setdefault("rfc3987_syntax", None)
    import pytest

    return int(pytest.main(argv[argv.index("--") + 1 :]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
