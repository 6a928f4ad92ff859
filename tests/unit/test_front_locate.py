"""The installed `pyrunc` (csrc/front.c) finds the package and the
interpreter at run time from where it was installed, never from a path of
the build: <prefix>/bin/pyrunc runs pythonX.Y (<prefix>/bin's, else $PATH's,
else /usr/local/bin's or /usr/bin's) with the package of
<prefix>/lib[64]/pythonX.Y/(site|dist)-packages, the newest X.Y that has
both.  Each case copies the installed command into a made-up prefix whose
"interpreter" is a shell script that writes down how it was called."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from support.command import installed_command

FRONT = installed_command()


@pytest.fixture
def front():
    assert FRONT, "the distribution installed no pyrunc command (setup.py's build_scripts)"
    return FRONT


def fake_python(path):
    """An executable at path that records its argv and the package
    directory the front-end hands it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\nprintf "%%s\\n" "$0" "$PYRUNC_PACKAGE_PARENT" "$@" > %s\n'
                    % (path.parent / "called"))
    path.chmod(0o755)
    return path


def package(site):
    (site / "pyrunc").mkdir(parents=True)
    (site / "pyrunc" / "__init__.py").write_text("")
    return site


def install_front(front, prefix):
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(front, prefix / "bin" / "pyrunc")
    return prefix / "bin" / "pyrunc"


def call(cmd, path, cwd=None):
    """Run cmd `list` (never the front-end's own fast path); returns the
    CompletedProcess."""
    return subprocess.run([str(cmd), "--root", "/nonexistent-pyrunc-root", "list"],
                          env={"PATH": path}, cwd=cwd, capture_output=True, text=True)


def called(python):
    lines = (python.parent / "called").read_text().splitlines()
    return lines[0], lines[1], lines[2:]


def test_a_venv_runs_its_own_python_with_its_site_packages(front, tmp_path):
    prefix = tmp_path / "venv"
    cmd = install_front(front, prefix)
    python = fake_python(prefix / "bin" / "python3.99")
    site = package(prefix / "lib" / "python3.99" / "site-packages")
    r = call(cmd, "/nonexistent")
    assert r.returncode == 0, r.stderr
    argv0, parent, args = called(python)
    assert argv0 == str(python) and parent == str(site)
    assert args[:3] == ["-I", "-S", "-c"]
    assert args[4:] == ["--root", "/nonexistent-pyrunc-root", "list"]


def test_the_prefixs_own_interpreter_comes_before_PATHs(front, tmp_path):
    prefix = tmp_path / "venv"
    cmd = install_front(front, prefix)
    own = fake_python(prefix / "bin" / "python3.99")
    package(prefix / "lib" / "python3.99" / "site-packages")
    on_path = fake_python(tmp_path / "path" / "python3.99")
    assert call(cmd, str(on_path.parent)).returncode == 0
    assert called(own)[0] == str(own)
    assert not (on_path.parent / "called").exists()


def test_without_one_beside_or_on_PATH_the_fixed_directories_are_searched(front, tmp_path):
    # a real python3.N of /usr/local/bin or /usr/bin (the first that has
    # it): the made-up package prints the interpreter that imported it
    found = {}
    for d in ("/usr/bin", "/usr/local/bin"):   # (the later one wins: it is searched first)
        for path in glob.glob(d + "/python3.*"):
            if re.fullmatch(r"python3\.\d+", os.path.basename(path)) and os.access(path, os.X_OK):
                found[os.path.basename(path)] = path
    assert found, "no python3.N in /usr/local/bin or /usr/bin"
    name, expected = sorted(found.items())[-1]
    prefix = tmp_path / "p"
    cmd = install_front(front, prefix)
    init = package(prefix / "lib" / name / "site-packages") / "pyrunc" / "__init__.py"
    init.write_text("import sys; print(sys.executable); raise SystemExit(0)\n")
    r = subprocess.run([str(cmd), "--version"], env={"PATH": "/nonexistent"},
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, expected + "\n"), r.stderr


def test_a_system_or_user_install_takes_pythonXY_from_PATH(front, tmp_path):
    # /usr/local/bin/pyrunc with /usr/local/lib/python3.X/dist-packages (Debian),
    # ~/.local/bin/pyrunc with ~/.local/lib/python3.X/site-packages; lib64 (Fedora)
    prefix = tmp_path / "local"
    cmd = install_front(front, prefix)
    site = package(prefix / "lib64" / "python3.99" / "dist-packages")
    python = fake_python(tmp_path / "usr" / "bin" / "python3.99")
    r = call(cmd, "/nonexistent:%s" % python.parent)
    assert r.returncode == 0, r.stderr
    argv0, parent, _ = called(python)
    assert argv0 == str(python) and parent == str(site)


def test_the_newest_version_with_an_interpreter_wins(front, tmp_path):
    prefix = tmp_path / "p"
    cmd = install_front(front, prefix)
    package(prefix / "lib" / "python3.97" / "site-packages")
    site98 = package(prefix / "lib" / "python3.98" / "site-packages")
    site99 = package(prefix / "lib" / "python3.99" / "site-packages")
    py98 = fake_python(tmp_path / "a" / "python3.98")
    assert call(cmd, str(py98.parent)).returncode == 0
    assert called(py98)[1] == str(site98)
    py99 = fake_python(tmp_path / "b" / "python3.99")
    assert call(cmd, "%s:%s" % (py98.parent, py99.parent)).returncode == 0
    assert called(py99)[1] == str(site99)


def test_a_symlink_to_the_command_finds_the_install_it_points_to(front, tmp_path):
    # scripts/install.sh: /usr/local/bin/pyrunc -> /opt/pyrunc/bin/pyrunc
    prefix = tmp_path / "venv"
    cmd = install_front(front, prefix)
    python = fake_python(prefix / "bin" / "python3.99")
    site = package(prefix / "lib" / "python3.99" / "site-packages")
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "pyrunc"
    link.symlink_to(cmd)
    assert call(link, "/nonexistent").returncode == 0
    assert called(python)[1] == str(site)


def test_a_relative_PATH_entry_is_not_searched(front, tmp_path):
    prefix = tmp_path / "p"
    cmd = install_front(front, prefix)
    package(prefix / "lib" / "python3.99" / "site-packages")
    fake_python(tmp_path / "cwd" / "python3.99")
    r = call(cmd, ".:cwd", cwd=tmp_path / "cwd")
    assert r.returncode == 1
    assert not (tmp_path / "cwd" / "called").exists()
    assert r.stderr.startswith("pyrunc: cannot find the pyrunc package and a python3")


@pytest.mark.parametrize("layout", ["no package", "a package without an interpreter",
                                    "a package beside a file named like one",
                                    "a directory not named python3.N"])
def test_without_an_install_beside_it_the_error_is_one_line(front, tmp_path, layout):
    prefix = tmp_path / "p"
    cmd = install_front(front, prefix)
    if layout == "a directory not named python3.N":
        for name in ("python3.99x", "python3.1234", "python3.-1"):
            package(prefix / "lib" / name / "site-packages")
            fake_python(prefix / "bin" / name)
    elif layout != "no package":
        package(prefix / "lib" / "python3.99" / "site-packages")
    if layout == "a package beside a file named like one":
        (prefix / "bin" / "python3.99").write_text("not executable")
    r = call(cmd, "/nonexistent")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert "cannot find the pyrunc package and a python3 to run it" in r.stderr
