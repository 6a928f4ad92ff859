"""csrc/front.c starts the CLI as `python -I -S` with the package's
directory appended to sys.path (cli.boot): no site module, unless the
dependencies are not beside pyrunc, when site runs after all."""
import os
import subprocess
import sys

import pyrunc

PARENT = os.path.dirname(os.path.dirname(pyrunc.__file__))


def _boot(where):
    script = ("import sys; sys.path.append(%r); import pyrunc.cli as cli; "
              "cli.main = lambda: print('site' in sys.modules, 'cffi' in sys.modules); "
              "cli.boot()" % where)
    r = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_beside_its_dependencies_pyrunc_starts_without_site():
    assert _boot(PARENT) == ["False", "False"]


def test_without_them_site_runs_after_all(tmp_path):
    # a directory with pyrunc alone (a --user install over a system cffi)
    os.symlink(os.path.dirname(pyrunc.__file__), tmp_path / "pyrunc")
    assert _boot(str(tmp_path)) == ["True", "False"]
