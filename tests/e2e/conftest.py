"""End-to-end tests (marker `e2e`): real container engines run the runtime
given by PYRUNC_E2E_RUNTIME (default /usr/local/bin/pyrunc; e.g.
/usr/sbin/runc for the reference).

    /opt/pyrunc/bin/python -m pytest tests/e2e -m e2e
    PYRUNC_E2E_RUNTIME=/usr/sbin/runc /opt/pyrunc/bin/python -m pytest tests/e2e -m e2e

The session starts its own containerd (ctr drives it, and dockerd runs on
it) and dockerd, and uses podman with conmon, all with private roots,
sockets and cgroup parents under one directory /tmp/pyrunc-e2e-XXXXXXXX;
the image is a busybox one built by scripts/e2e-image.py and loaded once
per engine.  No systemd is needed.  An engine whose binaries are missing
skips its tests (Debian: apt-get install docker.io containerd podman conmon
docker-compose).  At the end the daemons are stopped and the session fails
if anything of it is left: mounts, cgroup directories, runtime state,
processes.

Each engine calls the runtime through a wrapper that logs its command
lines; a failing test's report carries the runtime calls, the runtime's
--log files and the daemons' logs since the test began, and the session
ends with the distinct command lines each engine used.
PYRUNC_E2E_KEEP=DIR copies those logs to DIR.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from . import engines as E

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_RUNTIME = "/usr/local/bin/pyrunc"
ENGINES = ("docker", "podman", "containerd")
INSTALL_HINT = "apt-get install docker.io containerd podman conmon docker-compose"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: drives real container engines (dockerd, podman, containerd, "
                   "docker-compose) with the runtime of PYRUNC_E2E_RUNTIME; root")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.e2e)


class Session:
    """The session's directory, runtime and image."""

    def __init__(self):
        self.runtime = os.path.abspath(os.environ.get("PYRUNC_E2E_RUNTIME", DEFAULT_RUNTIME))
        self.base = tempfile.mkdtemp(prefix="pyrunc-e2e-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.tag = os.path.basename(self.base).rsplit("-", 1)[1].lower()
        # lower-case: engines refuse upper case in names
        self.tag = re.sub("[^a-z0-9]", "x", self.tag)
        self.tmpdir = os.path.join(self.base, "tmp")
        os.makedirs(self.tmpdir)
        self.runtime_root = E.runtime_default_root(self.runtime)
        self.image_tar = os.path.join(self.base, "image.tar")
        self.rootfs_dir = os.path.join(self.base, "rootfs")
        self.engines = {}  # name -> Engine, as started
        self.started = time.time()
        self.host_paths = {p: os.path.lexists(p) for p in E.HOST_PATHS}

    def image(self):
        """The image archive (built on first use), for every engine to load."""
        if not os.path.exists(self.image_tar):
            r = E.run([sys.executable, os.path.join(REPO, "scripts", "e2e-image.py"), self.image_tar,
                       "--tag", E.IMAGE, "--rootfs", self.rootfs_dir], timeout=120)
            if r.rc != 0:
                raise RuntimeError("scripts/e2e-image.py failed\n%s" % r)
        return self.image_tar

    def rootfs(self):
        """The image's rootfs unpacked (for `ctr run --config`)."""
        self.image()
        return self.rootfs_dir

    def all_hosts(self):
        parents = ["pyrunc-e2e-%s-%s" % (self.tag, n) for n in ENGINES]
        states, logs = [], []
        for eng in self.engines.values():
            states += eng.state_dirs()
            logs.append(eng.argv_log)
        return E.Host(self.base, parents, states, logs)


@pytest.fixture(scope="package")
def e2e_session(request):
    if os.geteuid() != 0:
        pytest.skip("e2e tests start container engines: they need root")
    runtime = os.environ.get("PYRUNC_E2E_RUNTIME", DEFAULT_RUNTIME)
    if not os.access(runtime, os.X_OK):
        pytest.fail("PYRUNC_E2E_RUNTIME=%s is not an executable" % runtime)
    s = Session()
    request.config._e2e_session = s
    before = s.all_hosts().snapshot()
    yield s
    # engine fixtures (session scope, set up after this one) are torn down by now
    problems = _leftovers(s, before)
    cleaned = _clean_up(s, before)
    request.config._e2e_summary = _summary(s)
    _keep_logs(s)
    shutil.rmtree(s.base, ignore_errors=True)
    if problems:
        raise AssertionError("e2e session left things behind after its engines stopped:\n%s\n"
                             "(removed by the session's clean-up: %s)" % (problems, cleaned or "nothing"))


def _leftovers(s, before):
    now = s.all_hosts().snapshot()
    lines = []
    for kind in ("mounts", "processes", "cgroups", "states", "console sockets"):
        new = sorted(now[kind] - before[kind])
        if new:
            lines.append("%s:\n  %s" % (kind, "\n  ".join(new)))
    return "\n".join(lines)


def _clean_up(s, before):
    """Remove what the session's engines left: only things that are ours by
    construction (under our directory, in our cgroup parents, state of our
    containers), and the host paths the engines created during the session."""
    host = s.all_hosts()
    done = []
    for line in sorted(host.processes()):
        pid = int(line.split()[0])
        try:
            os.kill(pid, signal.SIGKILL)
            done.append("killed %s" % line)
        except OSError:
            pass
    time.sleep(0.5)
    for point in sorted({m.split(" (")[0] for m in host.mounts()}, key=len, reverse=True):
        if subprocess.run(["umount", "-l", point], capture_output=True).returncode == 0:
            done.append("unmounted %s" % point)
    for st in sorted(host.states() - before["states"]):
        if os.path.isdir(st):
            root, cid = os.path.split(st)
            subprocess.run([s.runtime, "--root", root, "delete", "-f", cid], capture_output=True)
            shutil.rmtree(st, ignore_errors=True)
            done.append("removed runtime state %s" % st)
    for sock in host.console_sockets():
        try:
            os.unlink(sock)
            done.append("removed %s" % sock)
        except OSError:
            pass
    tops = [os.path.join(m, p) for m in host.cgroup_mounts() for p in host.cgroup_parents]
    dirs = [dirpath for top in tops for dirpath, _, _ in os.walk(top)]
    for d in sorted(dirs, key=len, reverse=True):
        for _ in range(10):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
    for path, existed in s.host_paths.items():
        if not existed and os.path.lexists(path):
            _remove_new(path, s.started)
    return "; ".join(done)


def _remove_new(path, since):
    """Remove path, made during the session: its files newer than `since`
    and then every directory left empty."""
    if not os.path.isdir(path) or os.path.islink(path):
        if os.lstat(path).st_mtime >= since - 1:
            os.unlink(path)
        return
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                if os.lstat(p).st_mtime >= since - 1:
                    os.unlink(p)
            except OSError:
                pass
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


NORMALIZE = [
    (re.compile(r"[0-9a-f]{64}"), "<id>"),
    (re.compile(r"e2e-[a-z0-9]+-\d+"), "<name>"),
    (re.compile(r"exec\d+"), "<exec-id>"),
    (re.compile(r"runc-process\d+"), "runc-process<N>"),
    (re.compile(r"/pty\d+/"), "/pty<N>/"),
    (re.compile(r"exec-process-\d+"), "exec-process-<N>"),
    (re.compile(r"conmon-term\.\w+"), "conmon-term.<X>"),
]


def _summary(s):
    """The distinct runtime command lines per engine (ids and paths made
    generic), with how often each was seen and which process called."""
    out = []
    for name, eng in s.engines.items():
        seen = {}
        try:
            with open(eng.argv_log, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                _, caller, argv = line.split(" ", 2)
            except ValueError:
                continue
            argv = argv.replace(s.base, "$E2E").replace(s.runtime_root, "$DEFAULT_ROOT")
            for rx, sub in NORMALIZE:
                argv = rx.sub(sub, argv)
            key = "%-12s %s" % (caller, argv.strip())
            seen[key] = seen.get(key, 0) + 1
        out.append("%s (%d calls; $E2E=%s):" % (name, len(lines), s.base))
        out += ["  %4dx %s" % (n, k) for k, n in seen.items()]
    return "\n".join(out)


def _keep_logs(s):
    keep = os.environ.get("PYRUNC_E2E_KEEP")
    if not keep:
        return
    os.makedirs(keep, exist_ok=True)
    for eng in s.engines.values():
        d = os.path.join(keep, eng.name)
        os.makedirs(d, exist_ok=True)
        if os.path.exists(eng.argv_log):
            shutil.copy(eng.argv_log, os.path.join(d, "runtime-argv.log"))
        for p in eng.daemon_logs:
            if os.path.exists(p):
                shutil.copy(p, d)
        if os.path.isdir(eng.rtlogs):
            shutil.copytree(eng.rtlogs, os.path.join(d, "runtime-logs"), dirs_exist_ok=True)
    with open(os.path.join(keep, "runtime-calls.txt"), "w") as f:
        f.write(_summary(s) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    summary = getattr(config, "_e2e_summary", None)
    if summary:
        terminalreporter.write_sep("-", "e2e: how the engines called %s" % config._e2e_session.runtime)
        terminalreporter.write_line(summary)


def _need(cls):
    """Skip when the engine's binaries are missing (before anything starts)."""
    missing = cls.missing()
    if missing:
        pytest.skip("%s: %s not found (%s)" % (cls.name, ", ".join(missing), INSTALL_HINT))


def _running(request, cls, name, *needs):
    """An engine of the session, started (after the fixtures it needs) and
    stopped at the end."""
    _need(cls)
    session = request.getfixturevalue("e2e_session")
    eng = cls(session, *(request.getfixturevalue(n) for n in needs))
    session.engines[name] = eng
    try:
        eng.start()
        yield eng
    finally:
        eng.stop_engine()


@pytest.fixture(scope="package")
def containerd_engine(request):
    """containerd: ctr's, and dockerd's."""
    yield from _running(request, E.ContainerdEngine, "containerd")


@pytest.fixture(scope="package")
def ctr_engine(containerd_engine):
    """containerd with the image imported, for ctr."""
    if containerd_engine.spec_template is None:
        containerd_engine.load_image()
    return containerd_engine


@pytest.fixture(scope="package")
def docker_engine(request):
    """dockerd, on the session's containerd."""
    yield from _running(request, E.DockerEngine, "docker", "containerd_engine")


@pytest.fixture(scope="package")
def podman_engine(request):
    """podman (no daemon: conmon per container), with the image loaded."""
    yield from _running(request, E.PodmanEngine, "podman")


ENGINE_FIXTURES = {"docker": "docker_engine", "podman": "podman_engine", "containerd": "ctr_engine"}


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each engine in turn; the containers a test names are removed after
    it, and its report carries the runtime's calls and logs if it fails."""
    eng = request.getfixturevalue(ENGINE_FIXTURES[request.param])
    E.trace(request, eng)
    eng.names = []
    yield eng
    eng.cleanup(eng.names)


@pytest.fixture
def shared_dir(request):
    """A fresh host directory for bind mounts, writable by any uid.  (It
    asks for the session only now: a test whose engine is missing has been
    skipped by then.)"""
    d = tempfile.mkdtemp(prefix="bind-", dir=request.getfixturevalue("e2e_session").base)
    os.chmod(d, 0o777)
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    ctx = getattr(item, "_e2e_trace", None)
    if ctx and rep.failed and rep.when == "call":
        eng, mark = ctx
        rep.sections.append(("e2e: %s: runtime calls and logs during the test" % eng.name,
                             eng.trace(mark)))
