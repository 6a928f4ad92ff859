"""The hot path (create, start, state, kill, delete, run) imports only the
standard library and the compiled shim (support/hotpath.py says what is
too heavy).  create and run: tests/integration/test_hot_path_imports.py."""
import subprocess
import sys

import pytest

from support.hotpath import HEAVY, imported_by


@pytest.mark.parametrize("args", [["state", "x"], ["kill", "x", "KILL"], ["delete", "-f", "x"],
                                  ["start", "x"], ["list"]])
def test_a_hot_command_imports_nothing_heavy(args, tmp_path):
    _, mods = imported_by(str(tmp_path), args)
    assert "pyrunc.cli" in mods   # (the measurement works)
    assert not mods & HEAVY, sorted(mods & HEAVY)


def test_the_package_itself_costs_nothing():
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pyrunc"],
                       capture_output=True, text=True)
    mods = {line.split("|")[2].strip() for line in r.stderr.splitlines() if "|" in line}
    assert "pyrunc" in mods and not {m for m in mods if m.startswith("pyrunc.")}, mods
