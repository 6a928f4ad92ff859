"""The distributions as pip gets them: the sdist (built with `python -m
build`, as .github/workflows/wheels.yml does) holds every file of the
repository that setup.py and the tests need, a wheel builds from it, and
that wheel installed in a fresh venv gives a `pyrunc` that is the compiled
front-end and runs.  Needs what scripts/install.sh installs (gcc,
libseccomp-dev) and PyPI (pip's isolated build environments)."""
import email.parser
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import pyrunc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOT_SHIPPED = (".ci/", ".github/", ".gitignore")


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, "%s:\n%s%s" % (" ".join(cmd), r.stdout[-3000:], r.stderr[-3000:])
    return r


def repo_files():
    """The repository's files: git's list in a checkout, else the tree's."""
    if os.path.isdir(os.path.join(REPO, ".git")):
        return run("git", "-C", REPO, "ls-files").stdout.split()
    out = []
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "build", ".pytest_cache")
                   and not d.endswith(".egg-info")]
        out += [os.path.relpath(os.path.join(top, f), REPO) for f in files
                if not f.endswith((".pyc", ".so"))]
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(sdist, wheel built from it), from a copy of the repository's files
    (the build writes its egg-info beside setup.py)."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    for name in repo_files():
        os.makedirs(src / os.path.dirname(name), exist_ok=True)
        shutil.copy2(os.path.join(REPO, name), src / name, follow_symlinks=False)
    run(sys.executable, "-m", "build", "--sdist", "-o", str(tmp / "dist"), str(src))
    sdist, = (tmp / "dist").glob("*.tar.gz")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"),
        str(sdist))
    wheel, = (tmp / "dist").glob("*.whl")
    return sdist, wheel


def test_the_sdist_holds_the_sources_the_schemas_and_the_tests(dists):
    sdist, _ = dists
    top = "pyrunc-%s/" % pyrunc.__version__
    with tarfile.open(sdist) as t:
        names = {n[len(top):] for n in t.getnames() if n.startswith(top)}
    wanted = [f for f in repo_files() if not f.startswith(NOT_SHIPPED)]
    assert [f for f in wanted if f not in names] == []
    for f in ("csrc/front.c", "csrc/shim.c", "csrc/shim.h", "csrc/statedir.h",
              "csrc/build_shim.py", "spec/config.schema.json", "tests/data/seccomp-default.json",
              "MANIFEST.in", "setup.py", "pyproject.toml"):
        assert f in names


def test_the_wheel_is_one_abi3_wheel_whose_script_is_the_front_end(dists):
    _, wheel = dists
    version = pyrunc.__version__
    assert wheel.name == "pyrunc-%s-cp39-abi3-linux_%s.whl" % (version, platform.machine())
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        script = "pyrunc-%s.data/scripts/pyrunc" % version
        assert [n for n in names if "/scripts/" in n] == [script]
        front = z.read(script)
        assert front[:4] == b"\x7fELF"
        # no path of the build: its interpreter (the one pip ran), its
        # directories (pip builds under /tmp)
        for path in {sys.executable, os.path.realpath(sys.executable), sys.prefix, "/tmp/"}:
            assert path.encode() not in front, path
        assert (z.getinfo(script).external_attr >> 16) & 0o777 == 0o755
        for n in ("pyrunc/_shim.abi3.so", "pyrunc/_statedir.py", "pyrunc/py.typed",
                  "pyrunc/spec/config.schema.json", "pyrunc/spec/state.schema.json"):
            assert n in names
        # no console script beside it, no copy of it in the package
        assert not any(n.endswith("entry_points.txt") for n in names)
        assert not any(n.startswith("pyrunc/") and "front" in n for n in names)
        meta = email.parser.Parser().parsestr(
            z.read("pyrunc-%s.dist-info/METADATA" % version).decode())
    requires = meta.get_all("Requires-Dist")
    plain = sorted(re.split(r"[<>=;\s]", r)[0] for r in requires if "extra ==" not in r)
    assert plain == ["cffi", "click", "pyroute2"]
    assert any(r.startswith("jsonschema") and 'extra == "schema"' in r for r in requires)
    assert meta["Requires-Python"] == ">=3.9"


def test_the_wheel_installed_in_a_fresh_venv_runs_its_front_end(dists, tmp_path):
    _, wheel = dists
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    run(str(venv / "bin" / "pip"), "install", "-q", str(wheel))
    cmd = venv / "bin" / "pyrunc"
    assert cmd.read_bytes()[:4] == b"\x7fELF"
    r = run(str(cmd), "--version", env={"PATH": "/usr/bin:/bin"})
    assert r.stdout.startswith("pyrunc version %s\n" % pyrunc.__version__)
    r = run(str(cmd), "features", env={"PATH": "/usr/bin:/bin"})
    assert '"ociVersionMax"' in r.stdout
    # what it ran: itself, then the venv's own interpreter (found beside it
    # at run time: the wheel was built elsewhere)
    trace = tmp_path / "trace"
    run("strace", "-f", "-qq", "-e", "trace=execve", "-o", str(trace), str(cmd), "--version",
        env={"PATH": "/usr/bin:/bin"})
    execs = [line for line in trace.read_text().splitlines() if line.endswith("= 0")]
    python = venv / "bin" / ("python%d.%d" % sys.version_info[:2])
    assert len(execs) == 2 and '"%s"' % cmd in execs[0] and '"%s"' % python in execs[1], execs
