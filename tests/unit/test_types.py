"""The package is typed: `mypy --strict` finds nothing in src/pyrunc
(pyproject.toml's [tool.mypy]), and the wheel says so (py.typed)."""
import os
import subprocess
import sys

import pyrunc

TOP = os.path.join(os.path.dirname(__file__), "..", "..")


def test_mypy_strict_finds_nothing():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                        os.path.join(TOP, "src", "pyrunc")],
                       capture_output=True, text=True, cwd=TOP)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "Success: no issues found" in r.stdout


def test_the_installed_package_is_marked_typed():
    assert os.path.exists(os.path.join(os.path.dirname(pyrunc.__file__), "py.typed"))
