"""Rootless Podman: a normal user's `podman --runtime RUNTIME`, the way most
Podman users run containers (the runtime runs in Podman's user namespace,
as its root, without the host's cgroups).  The user is the test's own (a
subordinate id range, a runtime directory, its own image store); the
scenarios are those of a user's day: run, run -d + exec + stop, run -it, a
volume, --read-only.  PYRUNC_E2E_RUNTIME=/usr/sbin/runc runs them against
runc.  (The v2 VM's --memory scenario is not here: this host is cgroup v1,
where a rootless Podman gets no limits.)"""
import fcntl
import os
import select
import shutil
import subprocess
import termios

import pytest
from support import users

from . import engines as E

pytestmark = pytest.mark.e2e


class Rootless:
    def __init__(self, session, user):
        self.s = session
        self.user = user

    def podman(self, *args, timeout=120, input=None):
        r = subprocess.run(["podman", "--runtime", self.s.runtime, "--cgroup-manager",
                            "cgroupfs", "--events-backend", "file"] + list(args),
                           input=input, capture_output=True, text=True, timeout=timeout,
                           **self.user.as_user())
        return r


@pytest.fixture(scope="module")
def rootless(e2e_session):
    missing = [b for b in ("podman", "conmon", "newuidmap", "newgidmap")
               if shutil.which(b) is None and not os.path.exists("/usr/libexec/podman/" + b)]
    if missing:
        pytest.skip("rootless Podman needs %s (apt-get install podman uidmap)"
                    % ", ".join(missing))
    image = e2e_session.image()
    user = users.User()
    try:
        r = Rootless(e2e_session, user)
        # (the user's own copy: the session's directory is root's)
        own = os.path.join(user.home, "image.tar")
        shutil.copy(image, own)
        os.chown(own, user.uid, user.gid)
        load = r.podman("load", "-i", own)
        assert load.returncode == 0, load.stderr
        yield r
    finally:
        subprocess.run(["podman", "rm", "-a", "-f", "-t", "0"], capture_output=True,
                       timeout=120, **user.as_user())
        subprocess.run(["podman", "system", "reset", "-f"], capture_output=True, timeout=120,
                       **user.as_user())
        user.kill_all()
        left = user.processes()
        user.remove()
        assert not left, "processes of the rootless user left: %s" % left


def test_run_prints_the_output_as_root_of_the_users_namespace(rootless):
    r = rootless.podman("run", "--rm", "--network", "none", E.IMAGE, "sh", "-c",
                        "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "0"
    # root in the container is the user on the host (Podman's own map)
    assert out[1:4] == ["0", str(rootless.user.uid), "1"]


def test_detached_container_exec_and_stop(rootless):
    r = rootless.podman("run", "-d", "--network", "none", E.IMAGE, "sh", "-c",
                        "trap 'exit 3' TERM; while :; do sleep 0.1; done")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    r = rootless.podman("exec", cid, "sh", "-c", "echo exec-$((6*7))")
    assert (r.returncode, r.stdout.strip()) == (0, "exec-42"), r.stderr
    r = rootless.podman("stop", "-t", "10", cid)
    assert r.returncode == 0, r.stderr
    r = rootless.podman("inspect", "-f", "{{.State.ExitCode}}", cid)
    assert r.stdout.strip() == "3", (r.stdout, r.stderr)     # the TERM reached it
    assert rootless.podman("rm", cid).returncode == 0


def test_interactive_terminal(rootless):
    master, slave = os.openpty()
    proc = subprocess.Popen(["podman", "--runtime", rootless.s.runtime, "--cgroup-manager",
                             "cgroupfs", "--events-backend", "file", "run", "-it", "--rm",
                             "--network", "none", E.IMAGE, "sh", "-c", "tty; echo tty-ok"],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
                            **rootless.user.as_user())
    os.close(slave)
    out = b""
    try:
        while b"tty-ok" not in out:
            assert select.select([master], [], [], 60)[0], out
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            assert data, out
            out += data
        assert proc.wait(timeout=60) == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"/dev/pts/0" in out, out


def test_a_volume_is_written_through_as_the_user(rootless):
    vol = os.path.join(rootless.user.home, "vol")
    os.mkdir(vol)
    os.chown(vol, rootless.user.uid, rootless.user.gid)
    with open(os.path.join(vol, "in"), "w") as f:
        f.write("from-host")
    r = rootless.podman("run", "--rm", "--network", "none", "-v", "%s:/v" % vol, E.IMAGE,
                        "sh", "-c", "cat /v/in; echo from-container > /v/out")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "from-host"
    with open(os.path.join(vol, "out")) as f:
        assert f.read().strip() == "from-container"
    # the container's root wrote it: the user, on the host
    assert os.stat(os.path.join(vol, "out")).st_uid == rootless.user.uid


def test_read_only_rootfs(rootless):
    r = rootless.podman("run", "--rm", "--network", "none", "--read-only", E.IMAGE, "sh", "-c",
                        "touch /x 2>&1; echo rc=$?")
    assert r.returncode == 0, r.stderr
    assert "Read-only file system" in r.stdout and "rc=1" in r.stdout, r.stdout


def _pure_cgroup_v2_with_systemd():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers") and \
        not os.path.isdir("/sys/fs/cgroup/memory") and os.path.isdir("/run/systemd/system")


def test_memory_limit_through_the_users_systemd_on_cgroup_v2(e2e_session):
    """`podman run --memory` as a user: Podman asks the user's systemd for
    the container's scope (cgroupsPath user.slice:libpod:ID, the runtime
    with --systemd-cgroup), and the limit is in the scope's memory.max."""
    if not _pure_cgroup_v2_with_systemd():
        pytest.skip("a user's systemd on cgroup v2: the v2 VM with systemd as init "
                    "(V2_SYSTEMD=1 V2_APT='podman dbus-user-session' "
                    "scripts/test-in-v2vm.sh tests/e2e/test_rootless_podman.py)")
    if shutil.which("podman") is None or \
            not os.path.exists("/usr/lib/systemd/user/dbus.socket"):
        pytest.skip("needs podman and a user's D-Bus (apt-get install podman dbus-user-session)")
    user = users.User()
    manager = None
    try:
        manager = users.UserManager(user)
        env = dict(user.env(), DBUS_SESSION_BUS_ADDRESS="unix:path=%s/bus" % user.xdg)
        own = os.path.join(user.home, "image.tar")
        shutil.copy(e2e_session.image(), own)
        os.chown(own, user.uid, user.gid)

        def podman(*args):
            # (as a user's shell runs it: Podman itself asks the user's
            # systemd for the scopes of its processes)
            return subprocess.run(
                ["podman", "--runtime", e2e_session.runtime, "--cgroup-manager", "systemd",
                 "--events-backend", "file"] + list(args),
                capture_output=True, text=True, timeout=180, env=env, cwd=user.home,
                user=user.uid, group=user.gid, extra_groups=[])
        r = podman("load", "-i", own)
        assert r.returncode == 0, r.stderr
        r = podman("run", "--rm", "--network", "none", "--memory", "64m", "--pids-limit", "33",
                   E.IMAGE, "sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [str(64 << 20), "33"], r.stdout
    finally:
        subprocess.run(["podman", "system", "reset", "-f"], capture_output=True, timeout=300,
                       env=user.env(), cwd=user.home, user=user.uid, group=user.gid,
                       extra_groups=[])
        if manager is not None:
            manager.stop()
        user.kill_all()
        left = user.processes()
        user.remove()
        assert not left, "processes of the rootless user left: %s" % left
