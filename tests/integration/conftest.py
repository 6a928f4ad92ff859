"""Fixtures for tests that run real containers (root: namespaces, mounts,
pivot_root, cgroups).  Each test gets its own --root and container ids with
a unique marker; at the end every container is force-deleted and the test
fails if anything of it is left: state, cgroup directories, processes."""
import copy
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

from pyrunc.specgen import default_spec
from support.command import installed_command
from support.rootfs import make_busybox_rootfs

# The command a user runs: the compiled front-end (csrc/front.c), the
# `pyrunc` that pip installed with this interpreter's pyrunc (a wheel, an
# sdist or scripts/install.sh).  It runs that pyrunc for all but the plain
# start and delete; test_front.py fails if it is missing.
FRONT = installed_command()
PYRUNC = [FRONT] if FRONT else [sys.executable, "-m", "pyrunc"]
# PYRUNC_TEST_RUNTIME=/usr/sbin/runc: the tests marked `parity` (runc's
# behaviour, which pyrunc must have) run against that runtime instead, so
# that they check runc, not us; the others are pyrunc's own and are left out
OTHER_RUNTIME = os.environ.get("PYRUNC_TEST_RUNTIME")
if OTHER_RUNTIME:
    PYRUNC = shlex.split(OTHER_RUNTIME)

pytestmark = pytest.mark.root


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.root)
    if OTHER_RUNTIME:
        left_out = [item for item in items if item.get_closest_marker("parity") is None]
        items[:] = [item for item in items if item.get_closest_marker("parity") is not None]
        config.hook.pytest_deselected(items=left_out)


@pytest.fixture(scope="session", autouse=True)
def _need_root():
    if os.geteuid() != 0:
        pytest.skip("integration tests run real containers: they need root")


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory):
    """A busybox-static rootfs, shared read-only by the tests."""
    return make_busybox_rootfs(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture
def userns_rootfs(rootfs):
    """A copy of the rootfs owned by host uid/gid 100000, the root of a
    user namespace mapped there: reachable by that uid, so not under
    pytest's private (0700) tmp directories."""
    top = tempfile.mkdtemp(prefix="pyrunc-userns-", dir="/tmp")
    os.chmod(top, 0o755)
    try:
        own = os.path.join(top, "rootfs")
        shutil.copytree(rootfs, own, symlinks=True)
        subprocess.run(["chown", "-R", "100000:100000", own], check=True)
        yield own
    finally:
        shutil.rmtree(top)


@pytest.fixture
def own_rootfs(rootfs, tmp_path):
    """A copy of the rootfs this test may write into."""
    dest = tmp_path / "own-rootfs"
    shutil.copytree(rootfs, dest, symlinks=True)
    return dest


class Env:
    """A state root, unique ids and bundles for one test."""

    def __init__(self, tmp_path, rootfs):
        self.tmp = tmp_path
        self.rootfs = rootfs
        self.marker = "pt" + uuid.uuid4().hex[:8]
        self.state_root = str(tmp_path / "state")
        self.n = 0

    def cid(self):
        self.n += 1
        return "%s-%d" % (self.marker, self.n)

    def spec(self, args=("true",)):
        """runc's template (pyrunc spec), without a terminal, with a cgroup
        namespace too and the hostname "pyrunc", as the tests expect."""
        spec = default_spec(terminal=False, args=list(args))
        spec["root"] = {"path": str(self.rootfs), "readonly": True}
        if {"type": "cgroup"} not in spec["linux"]["namespaces"]:
            spec["linux"]["namespaces"].append({"type": "cgroup"})
        spec["hostname"] = "pyrunc"
        return spec

    def bundle(self, spec, name=None):
        self.n += 1
        d = self.tmp / (name or "bundle%d" % self.n)
        d.mkdir(exist_ok=True)
        (d / "config.json").write_text(json.dumps(spec))
        return str(d)

    def pyrunc(self, *args, input=None, timeout=30, stdout=None, stderr=None, command=None,
               **kw):
        """Run the CLI (`command`, default the front-end, then --root and
        args).  Output goes through files, not pipes: a container started
        by create or run -d keeps its stdio open."""
        cmd = list(command or PYRUNC) + ["--root", self.state_root] + list(args)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            if input is not None:
                kw["input"] = input
            elif "stdin" not in kw:
                kw["stdin"] = subprocess.DEVNULL
            r = subprocess.run(cmd, stdout=stdout or out, stderr=stderr or err, text=True,
                               timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            r.stdout = out.read() if stdout is None else None
            r.stderr = err.read() if stderr is None else None
        return r

    def run(self, spec, cid=None, *extra):
        """`pyrunc run` of spec in the foreground; returns CompletedProcess."""
        return self.pyrunc("run", "-b", self.bundle(spec), *extra, cid or self.cid())

    def state(self, cid):
        r = self.pyrunc("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)


def readline(stream, timeout=20):
    """One line of a child's output pipe, failing (not hanging) if none
    comes.  Reads the fd byte by byte: nothing stays in a buffer."""
    import select
    fd, line = stream.fileno(), b""
    while not line.endswith(b"\n"):
        assert select.select([fd], [], [], timeout)[0], "no line within %ds: %r" % (timeout, line)
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode()


def _cgroup_leftovers(marker):
    found = []
    for top in ("/sys/fs/cgroup",):
        for dirpath, dirnames, _ in os.walk(top):
            for d in dirnames:
                if marker in d:
                    found.append(os.path.join(dirpath, d))
            # the container cgroups live near the top: do not walk deep
            if dirpath.count("/") > 8:
                dirnames[:] = []
    return found


def _processes_with(marker):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


@pytest.fixture
def env(tmp_path, rootfs):
    e = Env(tmp_path, rootfs)
    yield e
    listed = e.pyrunc("list", "-q").stdout.split()
    for cid in listed:
        e.pyrunc("delete", "-f", cid)
    assert not listed, "containers left by the test: %s" % listed
    # (entries starting with "." are the runtime's caches, not containers)
    leftovers = [n for n in os.listdir(e.state_root) if not n.startswith(".")] \
        if os.path.isdir(e.state_root) else []
    assert not leftovers, "state left behind: %s" % leftovers
    assert not _cgroup_leftovers(e.marker), "cgroups left: %s" % _cgroup_leftovers(e.marker)
    assert not _processes_with(e.marker), "processes left"


@pytest.fixture
def spec_copy():
    return copy.deepcopy
