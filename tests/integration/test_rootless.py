"""Rootless: pyrunc run by an unprivileged user, as runc is by rootless
Podman or `runc spec --rootless && runc run`.  The tests make that user
(with an /etc/subuid and /etc/subgid range and a runtime directory) and
remove it after; what the container sees and what the host sees of its
processes is checked, and each bad case gives one line and leaves nothing.

The limits of a rootless container need delegated cgroups: a cgroup v2
subtree of the user's, the test for which runs in the v2 VM
(scripts/test-in-v2vm.sh); where the cgroups are not the user's (this
cgroup v1 host, or v2 outside a delegated subtree) a limit is refused by
name."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
from support import users

from .conftest import OTHER_RUNTIME, PYRUNC, readline
from .test_lifecycle import wait_exit


class User(users.User):
    """A test user who runs pyrunc."""

    def pyrunc(self, *args, timeout=30):
        """The CLI as this user (no --root: the default, under
        XDG_RUNTIME_DIR).  Output through files: a container that create
        starts keeps its stdio open."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            r = subprocess.run(list(PYRUNC) + list(args), stdin=subprocess.DEVNULL, stdout=out,
                               stderr=err, text=True, timeout=timeout, **self.as_user())
            out.seek(0)
            err.seek(0)
            r.stdout, r.stderr = out.read(), err.read()
        return r

    def bundle(self, rootfs, args, edit=None, name=None):
        """`pyrunc spec --rootless` in a new bundle of the user's, with a
        copy of the rootfs the user owns (its container root)."""
        d = os.path.join(self.home, name or "b" + uuid.uuid4().hex[:6])
        os.mkdir(d)
        shutil.copytree(rootfs, os.path.join(d, "rootfs"), symlinks=True)
        subprocess.run(["chown", "-R", "%d:%d" % (self.uid, self.gid), d], check=True)
        r = self.pyrunc("spec", "--rootless", "-b", d)
        assert r.returncode == 0, r.stderr
        path = os.path.join(d, "config.json")
        with open(path) as f:
            spec = json.load(f)
        spec["process"]["terminal"] = False
        spec["process"]["args"] = list(args)
        spec["root"]["readonly"] = False
        if edit:
            edit(spec)
        with open(path, "w") as f:
            json.dump(spec, f)
        return d


@pytest.fixture
def user():
    u = User()
    try:
        yield u
    finally:
        listed = u.pyrunc("list", "-q").stdout.split()
        for cid in listed:
            u.pyrunc("delete", "-f", cid)
        left = u.processes()
        u.remove()
        assert not listed, "containers left by the test: %s" % listed
        assert not left, "processes of the user left: %s" % left


def _status_ids(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1:]
    raise AssertionError(field)


@pytest.mark.parity
def test_run_as_a_user_with_its_own_id_mapped_to_root(user, rootfs):
    b = user.bundle(rootfs, ["sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/setgroups"])
    r = user.pyrunc("run", "-b", b, "c1")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "0"                                   # root in the container
    assert out[1:4] == ["0", str(user.uid), "1"]           # which is the user
    # written by the runtime itself, which the kernel lets an unprivileged
    # writer do only with setgroups denied first
    assert out[4] == "deny"
    # the state went under the user's XDG_RUNTIME_DIR (runc's default:
    # $XDG_RUNTIME_DIR/runc for runc)
    name = "runc" if OTHER_RUNTIME and "runc" in OTHER_RUNTIME else "pyrunc"
    assert os.path.isdir(os.path.join(user.xdg, name))


@pytest.mark.parity
def test_lifecycle_and_exec_of_a_rootless_container(user, rootfs):
    b = user.bundle(rootfs, ["sleep", "1000"])
    for args in (["create", "-b", b, "c2"], ["start", "c2"]):
        r = user.pyrunc(*args)
        assert r.returncode == 0, (args, r.stderr)
    state = json.loads(user.pyrunc("state", "c2").stdout)
    assert state["status"] == "running"
    pid = state["pid"]
    # seen from the host: the user's process, in its own user namespace
    assert _status_ids(pid, "Uid") == [str(user.uid)] * 4
    assert os.readlink("/proc/%d/ns/user" % pid) != os.readlink("/proc/self/ns/user")
    r = user.pyrunc("exec", "c2", "sh", "-c", "id -u; echo $$ > /tmp/x; cat /tmp/x")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "0"
    r = user.pyrunc("kill", "c2", "KILL")
    assert r.returncode == 0, r.stderr
    wait_exit(pid)
    r = user.pyrunc("delete", "c2")
    assert r.returncode == 0, r.stderr
    assert user.pyrunc("list", "-q").stdout.split() == []


@pytest.mark.parity
def test_several_ranges_are_mapped_through_newuidmap(user, rootfs):
    def ranges(spec):
        for key in ("uidMappings", "gidMappings"):
            own = user.uid if key == "uidMappings" else user.gid
            spec["linux"][key] = [{"containerID": 0, "hostID": own, "size": 1},
                                  {"containerID": 1, "hostID": user.subid, "size": 1000}]
        for kind in ("bounding", "effective", "permitted"):
            spec["process"]["capabilities"][kind].append("CAP_CHOWN")
    b = user.bundle(rootfs, ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                             "chown 5:7 /tmp && stat -c %u:%g /tmp; "
                             "cat /proc/self/setgroups"], edit=ranges)
    r = user.pyrunc("run", "-b", b, "c3")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[:12] == ["0", str(user.uid), "1", "1", str(user.subid), "1000",
                        "0", str(user.gid), "1", "1", str(user.subid), "1000"], out
    assert out[12] == "5:7"     # an id of the range, as the container sees it
    assert out[13] == "allow"   # (newgidmap's maps: setgroups stays allowed)
    # and on the host's disk: the subordinate ids the range maps it to
    st = os.stat(os.path.join(b, "rootfs", "tmp"))
    assert (st.st_uid, st.st_gid) == (user.subid + 4, user.subid + 6)


@pytest.mark.parity
def test_run_with_a_terminal_as_a_user(user, rootfs):
    import fcntl
    import termios
    b = user.bundle(rootfs, ["sh", "-c", "tty; echo tty-ok"],
                    edit=lambda s: s["process"].update(terminal=True))
    master, slave = os.openpty()
    proc = subprocess.Popen(list(PYRUNC) + ["run", "-b", b, "c4"], **user.as_user(),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    out = ""
    try:
        while "tty-ok" not in out:
            out += readline(os.fdopen(os.dup(master), "rb", buffering=0))
    finally:
        assert proc.wait(timeout=20) == 0, out
        os.close(master)
    assert "/dev/pts/0" in out, out


def test_a_limit_on_cgroups_the_user_cannot_write_is_refused_by_name(user, rootfs):
    b = user.bundle(rootfs, ["true"],
                    edit=lambda s: s["linux"].update(resources={"pids": {"limit": 10}}))
    r = user.pyrunc("run", "-b", b, "c5")
    assert r.returncode == 1
    assert r.stderr.strip() == ("linux.resources.pids.limit: the pids cgroup cannot be "
                                "written by uid %d: a rootless container gets limits only "
                                "where its cgroups are delegated to its user" % user.uid)
    assert user.pyrunc("list", "-q").stdout.split() == []
    # without a limit it runs, saying with --debug which cgroups it went without
    b = user.bundle(rootfs, ["true"])
    r = user.pyrunc("--debug", "run", "-b", b, "c5b")
    assert r.returncode == 0, r.stderr
    assert "rootless: without the cgroup hierarchies " in r.stderr and \
        "(not writable by uid %d)" % user.uid in r.stderr, r.stderr
    # --rootless=false: the cgroups are not left out, and say why they fail
    r = user.pyrunc("--rootless", "false", "run", "-b", b, "c6")
    assert r.returncode == 1 and r.stderr.startswith("mkdir cgroup "), r.stderr
    assert r.stderr.strip().endswith("permission denied") and r.stderr.count("\n") == 1
    assert user.pyrunc("list", "-q").stdout.split() == []


def test_a_state_root_the_user_cannot_write_is_refused(user, rootfs):
    b = user.bundle(rootfs, ["true"])
    r = user.pyrunc("--root", "/run/pyrunc-not-yours", "run", "-b", b, "c7")
    assert r.returncode == 1
    assert r.stderr.strip() == ("cannot make the state directory under /run/pyrunc-not-yours "
                                "as uid %d: permission denied (a user's own state goes under "
                                "$XDG_RUNTIME_DIR, or where --root says)" % user.uid)
    assert not os.path.exists("/run/pyrunc-not-yours")


def test_ranges_without_a_subordinate_range_are_refused(rootfs):
    u = User(with_range=False)
    try:
        def ranges(spec):
            spec["linux"]["uidMappings"].append({"containerID": 1, "hostID": 300000,
                                                 "size": 10})
        b = u.bundle(rootfs, ["true"], edit=ranges)
        r = u.pyrunc("run", "-b", b, "c8")
        assert r.returncode == 1
        assert r.stderr.startswith("newuidmap 0 %d 1 1 300000 10: " % u.uid), r.stderr
        assert r.stderr.count("\n") == 1
        assert u.pyrunc("list", "-q").stdout.split() == []
        assert not u.processes()
    finally:
        u.remove()


def _pure_cgroup_v2():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers") and \
        not os.path.isdir("/sys/fs/cgroup/memory")


@pytest.fixture
def delegated(user):
    """A cgroup v2 subtree delegated to the user (cgroup-v2.rst,
    "Delegation"): its directory and its cgroup.procs, subtree_control and
    threads files are the user's, memory and pids reach it, and the user's
    commands start in its launch/ child (a user's processes must be in the
    subtree to move into it, as in a user's systemd service).  ->
    (subtree, launch directory)."""
    if not _pure_cgroup_v2():
        pytest.skip("a delegated cgroup v2 subtree: the v2 VM's test (this host is cgroup v1)")
    top = "/sys/fs/cgroup/pyrunc-deleg-" + user.name
    os.mkdir(top)
    launch = os.path.join(top, "launch")
    try:
        with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
            f.write("+memory +pids")
        for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(os.path.join(top, name), user.uid, user.gid)
        os.mkdir(launch)
        subprocess.run(["chown", "-R", "%d:%d" % (user.uid, user.gid), launch], check=True)
        yield top, launch
    finally:
        for d in sorted((os.path.join(top, n) for n in os.listdir(top)
                         if os.path.isdir(os.path.join(top, n))), reverse=True):
            os.rmdir(d)
        os.rmdir(top)


def _in(launch, user, *args):
    """pyrunc args as the user, started inside the delegated subtree."""
    script = 'echo $$ > %s/cgroup.procs && exec setpriv --reuid=%d --regid=%d --clear-groups ' \
             '"$@"' % (launch, user.uid, user.gid)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        r = subprocess.run(["sh", "-c", script, "sh"] + list(PYRUNC) + list(args),
                           stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True,
                           timeout=60, env=user.env(), cwd=user.home)
        out.seek(0)
        err.seek(0)
        r.stdout, r.stderr = out.read(), err.read()
    return r


def test_limits_apply_in_a_cgroup_v2_subtree_delegated_to_the_user(user, rootfs, delegated):
    top, launch = delegated
    cg = os.path.join(top, "c9")

    def limits(spec):
        spec["linux"]["cgroupsPath"] = "/" + os.path.relpath(cg, "/sys/fs/cgroup")
        spec["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    b = user.bundle(rootfs, ["sleep", "1000"], edit=limits)
    r = _in(launch, user, "run", "-d", "-b", b, "c9")
    assert r.returncode == 0, r.stderr
    with open(os.path.join(cg, "memory.max")) as f:
        assert f.read().strip() == str(64 << 20)
    with open(os.path.join(cg, "pids.max")) as f:
        assert f.read().strip() == "50"
    pid = json.loads(_in(launch, user, "state", "c9").stdout)["pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        assert f.read().strip() == "0::/" + os.path.relpath(cg, "/sys/fs/cgroup")
    # update, pause and resume, ps, kill --all: on the user's own cgroup
    assert _in(launch, user, "update", "--pids-limit", "20", "c9").returncode == 0
    with open(os.path.join(cg, "pids.max")) as f:
        assert f.read().strip() == "20"
    assert _in(launch, user, "pause", "c9").returncode == 0
    with open(os.path.join(cg, "cgroup.freeze")) as f:
        assert f.read().strip() == "1"
    assert json.loads(_in(launch, user, "state", "c9").stdout)["status"] == "paused"
    assert _in(launch, user, "resume", "c9").returncode == 0
    assert str(pid) in _in(launch, user, "ps", "c9").stdout
    stats = json.loads(_in(launch, user, "events", "--stats", "c9").stdout)
    assert stats["type"] == "stats" and stats["data"]["pids"]["current"] >= 1, stats
    assert _in(launch, user, "kill", "--all", "c9", "KILL").returncode == 0
    wait_exit(pid)
    r = _in(launch, user, "delete", "c9")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(cg)


@pytest.mark.parity
def test_seccomp_and_hooks_work_rootless(user, rootfs):
    mark = os.path.join(user.home, "hook-ran")

    def edit(spec):
        spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
        spec["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                            "args": ["sh", "-c", "id -u > %s" % mark]}]}
    b = user.bundle(rootfs, ["sh", "-c", "mkdir /tmp/d 2>&1; grep Seccomp: /proc/self/status"],
                    edit=edit)
    r = user.pyrunc("run", "-b", b, "c10")
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stdout and "Seccomp:\t2" in r.stdout, r.stdout
    # the hook ran as the user, on the host
    with open(mark) as f:
        assert f.read().strip() == str(user.uid)


@pytest.fixture
def user_systemd(user):
    """The user's own systemd, and where its commands start (users.UserManager)."""
    if not _pure_cgroup_v2() or not os.path.isdir("/run/systemd/system"):
        pytest.skip("a user's systemd: the v2 VM booted with systemd as init "
                    "(V2_SYSTEMD=1 scripts/test-in-v2vm.sh)")
    manager = users.UserManager(user)
    try:
        yield manager.launch
    finally:
        manager.stop()


def test_limits_apply_in_a_scope_of_the_users_systemd(user, rootfs, user_systemd):
    launch = user_systemd

    def limits(spec):
        spec["linux"]["cgroupsPath"] = "user.slice:pyrunc:c11"
        spec["linux"]["resources"] = {"memory": {"limit": 32 << 20}, "pids": {"limit": 40}}
    b = user.bundle(rootfs, ["sleep", "1000"], edit=limits)
    r = _in(launch, user, "--systemd-cgroup", "run", "-d", "-b", b, "c11")
    assert r.returncode == 0, r.stderr
    scope = "/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service/user.slice/" \
        "pyrunc-c11.scope" % (user.uid, user.uid)
    pid = json.loads(_in(launch, user, "state", "c11").stdout)["pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        assert f.read().strip() == "0::" + scope[len("/sys/fs/cgroup"):]
    with open(os.path.join(scope, "memory.max")) as f:
        assert f.read().strip() == str(32 << 20)
    with open(os.path.join(scope, "pids.max")) as f:
        assert f.read().strip() == "40"
    assert _in(launch, user, "pause", "c11").returncode == 0
    with open(os.path.join(scope, "cgroup.freeze")) as f:
        assert f.read().strip() == "1"
    assert _in(launch, user, "resume", "c11").returncode == 0
    r = _in(launch, user, "delete", "-f", "c11")
    assert r.returncode == 0, r.stderr
    wait_exit(pid)
    assert not os.path.exists(scope)
