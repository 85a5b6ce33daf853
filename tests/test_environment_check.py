"""Notebook 00's environment check: it reads the lock, and it reports each difference."""

import sys
from importlib import metadata

import pytest

from lrcourse.course.environment import (
    COURSE_PACKAGES,
    DEFAULT_LOCK,
    PackageCheck,
    check_environment,
    read_lock,
)

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def write_lock(tmp_path, pins, python=PYTHON):
    lines = [f"# Exact versions (Python {python}, CPU)", ""]
    lines += [f"{name}=={version}" for name, version in pins.items()]
    path = tmp_path / "requirements-lock.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def installed_pins(names=COURSE_PACKAGES):
    return {name: metadata.version(name).split("+")[0] for name in names}


def test_this_environment_is_the_locked_one():
    # The course's own .venv must match the repository's lock; that is what make setup builds.
    result = check_environment(verbose=False)
    assert DEFAULT_LOCK.is_file()
    assert result.mismatches == []
    assert result.ok
    assert result.report() == (
        f"environment OK: {len(COURSE_PACKAGES)} packages match requirements-lock.txt, "
        f"Python {PYTHON}"
    )


def test_the_report_holds_nothing_machine_dependent():
    report = check_environment(verbose=False).report()
    assert "/" not in report  # no paths
    assert f"{PYTHON}.{sys.version_info.micro}" not in report  # no patch version


def test_a_different_version_is_reported_with_both_versions(tmp_path):
    pins = installed_pins()
    pins["numpy"] = "1.0.0"
    result = check_environment(write_lock(tmp_path, pins), verbose=False)
    assert not result.ok
    assert result.mismatches == [
        f"numpy: installed {metadata.version('numpy')}, lock pins 1.0.0",
    ]
    report = result.report()
    assert report.startswith(
        "environment NOT OK: 1 difference(s) from requirements-lock.txt"
    )
    assert "make setup" in report


def test_a_package_the_lock_does_not_pin_is_reported(tmp_path):
    pins = installed_pins()
    del pins["nbval"]
    result = check_environment(write_lock(tmp_path, pins), verbose=False)
    assert result.mismatches == [
        f"nbval: installed {metadata.version('nbval')}, but requirements-lock.txt does not pin it"
    ]


def test_a_missing_package_is_reported(tmp_path):
    name = "lrcourse-surely-not-installed"
    lock = write_lock(tmp_path, {name: "1.0"})
    result = check_environment(lock, packages=(name,), verbose=False)
    assert result.mismatches == [f"{name}: not installed (lock pins 1.0)"]


def test_another_python_minor_version_is_reported(tmp_path):
    result = check_environment(
        write_lock(tmp_path, installed_pins(), "2.7"), verbose=False
    )
    assert result.mismatches == [f"Python: running {PYTHON}, lock is for 2.7"]
    assert not result.ok


def test_a_lock_that_names_no_python_checks_packages_only(tmp_path):
    path = tmp_path / "lock.txt"
    path.write_text("numpy==" + metadata.version("numpy") + "\n", encoding="utf-8")
    result = check_environment(path, packages=("numpy",), verbose=False)
    assert result.ok
    assert result.report().endswith("(requirements-lock.txt names no Python version)")


def test_a_missing_lock_is_not_checked_and_says_so(tmp_path, capsys):
    result = check_environment(tmp_path / "absent.txt")
    assert not result.lock_found and not result.ok
    out = capsys.readouterr().out
    assert out.startswith("environment NOT CHECKED: requirements-lock.txt not found.")
    assert f"numpy {metadata.version('numpy')}" in out


def test_verbose_prints_the_report(capsys):
    result = check_environment()
    assert capsys.readouterr().out == result.report() + "\n"


def test_read_lock_parses_pins_and_the_python_version(tmp_path):
    path = tmp_path / "lock.txt"
    path.write_text(
        "# built for Python 3.11, CPU\n"
        "# another comment naming Python 3.9\n"
        "\n"
        "Scikit_Learn==1.9.1\n"
        "numpy == 2.4.6  # a trailing comment\n"
        "tomli==2.0.1 ; python_version < '3.11'\n"
        "-e .\n"
        "torch>=2\n",
        encoding="utf-8",
    )
    pins, python = read_lock(path)
    assert python == "3.11"  # the first Python the header names
    assert pins == {"scikit-learn": "1.9.1", "numpy": "2.4.6", "tomli": "2.0.1"}


@pytest.mark.parametrize(
    ("locked", "installed", "ok"),
    [
        (
            "2.13.0",
            "2.13.0+cpu",
            True,
        ),  # a local build label is not a different release
        ("2.13.0", "2.13.0", True),
        ("2.13.1", "2.13.0+cpu", False),
        ("2.13.0", "2.13.0.post1", False),
        (None, "2.13.0", False),
        ("2.13.0", None, False),
    ],
)
def test_package_check_compares_the_public_version(locked, installed, ok):
    assert PackageCheck("torch", locked, installed).ok is ok
    assert (PackageCheck("torch", locked, installed).problem() == "") is ok
