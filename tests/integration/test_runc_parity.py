"""Drop-in means drop-in (issue 11): runc's behaviour where engines and
scripts see it.  Every test here asserts what runc does, and runs against
runc too:

    PYRUNC_TEST_RUNTIME=/usr/sbin/runc /opt/pyrunc/bin/python -m pytest \\
        tests/integration/test_runc_parity.py

so that it checks runc's behaviour, not ours.  (runc 1.1.5 here.)"""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from .conftest import PYRUNC, readline

pytestmark = pytest.mark.parity


@pytest.fixture
def sleeping(env):
    """A container running a sleep, detached; deleted at the end."""
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(env.spec(["sleep", "60"])), cid)
    assert r.returncode == 0, r.stderr
    yield cid
    assert env.pyrunc("delete", "-f", cid).returncode == 0


# -- the command line ------------------------------------------------------

def test_run_keep_leaves_the_stopped_container(env):
    cid = env.cid()
    r = env.pyrunc("run", "--keep", "-b", env.bundle(env.spec(["true"])), cid)
    assert r.returncode == 0, r.stderr
    assert env.state(cid)["status"] == "stopped"
    assert env.pyrunc("delete", cid).returncode == 0


@pytest.mark.parametrize("subreaper", [True, False])
def test_run_reaps_what_the_process_leaves_unless_no_subreaper(env, subreaper):
    """Without a pid namespace an orphan of the container's process is
    reparented to run (its subreaper), or past it with --no-subreaper."""
    spec = env.spec(["sh", "-c", 'sh -c "sleep 2 & echo \\$!" > /tmp/orphan; sleep 0.3; '
                                 'grep PPid /proc/$(cat /tmp/orphan)/status'])
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "pid"]
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    out = env.tmp / "out"
    flags = [] if subreaper else ["--no-subreaper"]
    with open(out, "w") as f:
        p = subprocess.Popen(PYRUNC + ["--root", env.state_root, "run"] + flags +
                             ["-b", env.bundle(spec), env.cid()], stdout=f,
                             stdin=subprocess.DEVNULL)
        assert p.wait(timeout=30) == 0
    ppid = int(out.read_text().split()[1])
    assert (ppid == p.pid) == subreaper, (ppid, p.pid)


def test_update_takes_runcs_flag_names(env, sleeping):
    cid = sleeping
    assert env.pyrunc("update", "--cpu-share", "512", cid).returncode == 0
    r = env.pyrunc("update", "--cpu-shares", "512", cid)
    assert r.returncode != 0 and "flag provided but not defined: -cpu-shares" in \
        r.stderr.replace("--cpu-shares", "-cpu-shares")
    for flag, value in (("--blkio-weight", "500"), ("--cpu-period", "100000"),
                        ("--cpu-quota", "50000"), ("--cpuset-cpus", "0"), ("--cpuset-mems", "0"),
                        ("--memory", "64m"), ("--memory-reservation", "32m"),
                        ("--memory-swap", "128m"), ("--pids-limit", "50")):
        r = env.pyrunc("update", flag, value, cid)
        assert "flag provided but not defined" not in r.stderr, (flag, r.stderr)


def test_update_resources_ignores_the_other_flags(env, sleeping):
    cid = sleeping
    r = env.pyrunc("update", "--resources", "-", "--pids-limit", "7", cid,
                   input=json.dumps({"pids": {"limit": 33}}))
    assert r.returncode == 0, r.stderr
    # (v1's pids hierarchy, or pure v2's one; the container has a cgroup
    # namespace: its cgroup is the root it sees)
    limits = env.pyrunc("exec", cid, "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null "
                        "|| cat /sys/fs/cgroup/pids.max").stdout.split()
    assert limits == ["33"]


def test_kill_with_signal_0_checks_the_container_is_there(env, sleeping):
    cid = sleeping
    assert env.pyrunc("kill", cid, "0").returncode == 0
    assert env.pyrunc("kill", "-a", cid, "0").returncode == 0
    assert env.state(cid)["status"] == "running"


def test_debug_exec_logs_at_debug_level(env, sleeping):
    cid = sleeping
    log = env.tmp / "debug.log"
    r = env.pyrunc("--debug", "--log", str(log), "--log-format", "json", "exec", cid, "true")
    assert r.returncode == 0, r.stderr
    levels = {json.loads(line)["level"] for line in log.read_text().splitlines()}
    assert "debug" in levels


def test_exec_pid_file_in_a_missing_directory_fails_cleanly(env, sleeping):
    cid = sleeping
    r = env.pyrunc("exec", "--pid-file", str(env.tmp / "no" / "such" / "pid"), cid, "true")
    assert r.returncode == 255 and "Traceback" not in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def test_scripts_can_edit_the_spec_template(env, tmp_path):
    """runc's template: no cgroup namespace (a script adds one), the three
    default capabilities ambient too, the hostname runc."""
    bundle = tmp_path / "tpl"
    bundle.mkdir()
    assert env.pyrunc("spec", "-b", str(bundle)).returncode == 0
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["hostname"] == "runc"
    assert spec["process"]["capabilities"]["ambient"] == [
        "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    spec["linux"]["namespaces"].append({"type": "cgroup"})
    spec["process"].update(terminal=False, args=["true"])
    spec["root"]["path"] = str(env.rootfs)
    r = env.pyrunc("run", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 0, r.stderr


# -- the process -----------------------------------------------------------

def test_the_init_leads_its_own_session_without_a_terminal(env):
    r = env.run(env.spec(["cut", "-d", " ", "-f5,6", "/proc/1/stat"]))
    assert (r.returncode, r.stdout.split()) == (0, ["1", "1"]), r.stderr


def test_an_exec_process_leads_its_own_session(env, sleeping):
    cid = sleeping
    r = env.pyrunc("exec", cid, "sh", "-c", 'test "$(cut -d" " -f6 /proc/self/stat)" = $$ && '
                   'echo own-session')
    assert r.stdout.strip() == "own-session", (r.stdout, r.stderr)


def test_exec_env_replaces_a_variable_the_process_has(env, sleeping):
    cid = sleeping
    # (the environment as execve got it: a shell would fold duplicates)
    r = env.pyrunc("exec", "-e", "TERM=dumb", "-e", "NEW=1", cid, "cat", "/proc/self/environ")
    environ = r.stdout.split("\0")
    assert [e for e in environ if e.startswith("TERM=")] == ["TERM=dumb"], (r.stdout, r.stderr)
    assert "NEW=1" in environ


@pytest.mark.parametrize("uid, home", [(0, "/root"), (1000, "/home/user")])
def test_home_comes_from_a_passwd_that_is_a_symlink_in_the_image(env, own_rootfs, uid, home):
    (own_rootfs / "usr" / "share").mkdir(parents=True)
    os.rename(own_rootfs / "etc" / "passwd", own_rootfs / "usr" / "share" / "passwd")
    os.symlink("../usr/share/passwd", own_rootfs / "etc" / "passwd")
    env.rootfs = own_rootfs
    spec = env.spec(["sh", "-c", "echo $HOME"])
    spec["process"]["user"] = {"uid": uid, "gid": uid}
    r = env.run(spec)
    assert (r.returncode, r.stdout.strip()) == (0, home), r.stderr


def test_hooks_get_the_runtimes_environment_and_working_directory(env, own_rootfs, tmp_path):
    """A hook without env gets the runtime's (PATH among it); a
    createContainer hook runs in the rootfs directory."""
    env.rootfs = own_rootfs
    spec = env.spec(["true"])
    spec["root"]["readonly"] = False
    out = tmp_path / "prestart-path"
    spec["hooks"] = {
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", 'echo "$PATH" > %s' % out]}],
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "touch ./tmp/by-hook"]}]}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert out.read_text().strip() == os.environ["PATH"]
    assert (own_rootfs / "tmp" / "by-hook").exists()


# -- mounts -----------------------------------------------------------------

@pytest.mark.parametrize("joins", [False, True])
def test_a_bind_source_the_mapped_root_cannot_reach(env, userns_rootfs, joins):
    """The source lies under a host-root directory of mode 000: runc opens
    it as host root, before the container's user namespace confines it.
    (joins: the container also joins a network namespace, which makes
    pyrunc create its namespaces one by one, not with the clone.)"""
    top = tempfile.mkdtemp(prefix="pyrunc-locked-", dir="/tmp")
    holder = None
    try:
        os.makedirs(top + "/locked/src")
        with open(top + "/locked/src/data", "w") as f:
            f.write("reached\n")
        os.chmod(top + "/locked/src/data", 0o644)
        os.chmod(top + "/locked", 0)
        env.rootfs = userns_rootfs
        spec = env.spec(["sh", "-c", "cat /mnt/src/data /mnt/file; ls -l /proc/$$/fd/"])
        spec["linux"]["namespaces"].append({"type": "user"})
        for key in ("uidMappings", "gidMappings"):
            spec["linux"][key] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]
        if joins:
            holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "echo made; exec sleep 60"],
                                      stdout=subprocess.PIPE)
            assert readline(holder.stdout) == "made\n"
            for ns in spec["linux"]["namespaces"]:
                if ns["type"] == "network":
                    ns["path"] = "/proc/%d/ns/net" % holder.pid
            for m in spec["mounts"]:
                if m["type"] == "sysfs":
                    # (a network namespace the user namespace does not own:
                    # runc 1.1 does not bind /sys for it itself)
                    m.update(type="bind", source="/sys", options=["rbind", "ro"])
        spec["mounts"] += [
            {"destination": "/mnt/src", "type": "bind", "source": top + "/locked/src",
             "options": ["bind", "ro"]},
            {"destination": "/mnt/file", "type": "bind", "source": top + "/locked/src/data",
             "options": ["bind"]}]
        r = env.run(spec)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[:2] == ["reached", "reached"], r.stdout
        # The process holds none of the fds the runtime opened: fds with a
        # target are its stdio (busybox's ls runs in the shell, its own
        # fd of the directory shows no target).
        assert [l.split("->")[0].split()[-1] for l in lines if "->" in l] == ["0", "1", "2"], \
            r.stdout
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        os.chmod(top + "/locked", 0o700)
        shutil.rmtree(top)


def test_a_tmpfs_without_mode_takes_its_mountpoints(env, own_rootfs):
    (own_rootfs / "data").mkdir()
    os.chmod(own_rootfs / "data", 0o712)
    env.rootfs = own_rootfs
    spec = env.spec(["stat", "-c", "%a", "/data", "/made"])
    spec["mounts"] += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs"},
                       {"destination": "/made", "type": "tmpfs", "source": "tmpfs"}]
    r = env.run(spec)
    # (a mountpoint made for it leaves the tmpfs its own mode)
    assert (r.returncode, r.stdout.split()) == (0, ["712", "1777"]), r.stderr


def test_a_read_only_dev_gets_its_devpts_first(env):
    spec = env.spec(["sh", "-c", "ls /dev/pts/ptmx /dev/null; touch /dev/x; echo rc=$?"])
    dev = [m for m in spec["mounts"] if m["destination"] == "/dev"][0]
    dev["options"].append("ro")
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert "/dev/pts/ptmx" in r.stdout and "rc=1" in r.stdout, r.stdout


# -- devices ----------------------------------------------------------------

def test_a_device_node_of_the_config_gets_no_cgroup_rule_of_its_own(env):
    """A deny-all config that lists /dev/kmsg among its devices: the node
    is made, opening it is denied (dd writes nothing: count=0)."""
    spec = env.spec(["sh", "-c", "ls -l /dev/kmsg; dd if=/dev/zero of=/dev/kmsg bs=1 count=0 "
                                 "2>&1; echo rc=$?"])
    spec["linux"]["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11,
                                 "fileMode": 0o644}]
    spec["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"}]
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stdout and "rc=1" in r.stdout, r.stdout


# -- namespaces and sysctls ------------------------------------------------

def test_loopback_is_up_in_a_new_network_namespace(env):
    r = env.run(env.spec(["cat", "/sys/class/net/lo/operstate", "/sys/class/net/lo/flags"]))
    state, flags = r.stdout.split()
    assert r.returncode == 0 and state in ("unknown", "up") and int(flags, 16) & 1, r.stdout


def test_the_hostname_sysctl_conflicts_with_the_hostname_field(env):
    spec = env.spec(["true"])
    spec["linux"]["sysctl"] = {"kernel.hostname": "other"}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    # (runc's log line escapes the quotes)
    text = r.stderr.replace('\\"', '"')
    assert r.returncode == 1 and 'sysctl "kernel.hostname" is not allowed as it conflicts ' \
        'with the OCI "hostname" field' in text, r.stderr


# -- cgroups -----------------------------------------------------------------

def test_a_frozen_cgroup_is_refused(env):
    """(pyrunc's run -d hung there before)"""
    top = "/pyrunc-parity-%s" % env.marker
    with open("/proc/self/mountinfo") as f:
        # (the host's hierarchies: not those a container without a mount
        # namespace, of another test running meanwhile, has under its rootfs)
        mounts = [(line.split()[4], line.split(" - ")[1].split()[0]) for line in f
                  if " - cgroup" in line and line.split()[4].startswith("/sys/fs/cgroup")]
    v1_freezer = [m for m, kind in mounts if kind == "cgroup" and m.endswith("/freezer")]
    # the freezer: v1's freezer.state, or (pure v2) cgroup.freeze
    state, frozen, thawed = (("freezer.state", "FROZEN", "THAWED") if v1_freezer else
                             ("cgroup.freeze", "1", "0"))
    freezer = (v1_freezer or [m for m, kind in mounts if kind == "cgroup2"])[0] + top
    made = []
    try:
        for m, _ in mounts:
            os.mkdir(m + top)
            made.append(m + top)
        with open(os.path.join(freezer, state), "w") as f:
            f.write(frozen)
        spec = env.spec(["true"])
        spec["linux"]["cgroupsPath"] = top
        r = env.pyrunc("run", "-d", "-b", env.bundle(spec), env.cid(), timeout=60)
        assert r.returncode == 1 and "cgroup unexpectedly frozen" in r.stderr, r.stderr
    finally:
        if freezer in made:
            with open(os.path.join(freezer, state), "w") as f:
                f.write(thawed)
        for d in reversed(made):
            os.rmdir(d)


def test_a_v1_cpuset_parent_without_cpus_gets_its_parents(env):
    """cgroupsPath /pod/c1 where /pod was made (empty) by someone else."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if " - cgroup" in line]
    cpuset = [m for m in mounts if m.endswith("/cpuset")]
    if not cpuset:
        pytest.skip("no v1 cpuset hierarchy here (pure v2 has no empty cpusets)")
    pod = "/pyrunc-pod-%s" % env.marker
    made = []
    try:
        for m in mounts:
            os.mkdir(m + pod)
            made.append(m + pod)
        with open(cpuset[0] + pod + "/cpuset.cpus") as f:
            assert f.read().strip() == ""
        spec = env.spec(["cat", "/proc/self/status"])
        spec["linux"]["cgroupsPath"] = pod + "/c1"
        r = env.run(spec)
        assert r.returncode == 0, r.stderr
    finally:
        for d in reversed(made):
            os.rmdir(d)


def test_update_memory_unlimited_after_a_swap_limit(env, sleeping):
    cid = sleeping
    assert env.pyrunc("update", "--memory", "64m", "--memory-swap", "128m", cid).returncode == 0
    r = env.pyrunc("update", "--memory", "-1", cid)
    assert r.returncode == 0, r.stderr
    r = env.pyrunc("update", "--memory", "32m", cid)
    assert r.returncode == 0, r.stderr


def _v1_dir(pid, controller):
    """The v1 directory of pid's cgroup for controller, or None."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f if " - cgroup " in line]
    top = next((m[4] for m in mounts if controller in m[-1].split(",")), None)
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if top and controller in controllers.split(","):
                return top + path
    return None


def test_blkio_weight_reaches_bfq_where_the_kernel_has_no_cfq(env):
    """blockIO.weight, and update --blkio-weight, go to blkio.bfq.weight
    when blkio.weight is absent (a kernel with BFQ and without CFQ)."""
    cid = env.cid()
    spec = env.spec(["sleep", "60"])
    spec["linux"]["resources"]["blockIO"] = {"weight": 500}
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    try:
        d = _v1_dir(env.state(cid)["pid"], "blkio")
        if d is None:
            pytest.skip("no v1 blkio hierarchy here")
        names = [n for n in ("blkio.weight", "blkio.bfq.weight") if os.path.exists(d + "/" + n)]
        if not names:
            pytest.skip("this kernel has no blkio weight file at all")
        with open(d + "/" + names[0]) as f:
            assert f.read().split()[-1] == "500", names[0]
        assert env.pyrunc("update", "--blkio-weight", "300", cid).returncode == 0
        with open(d + "/" + names[0]) as f:
            assert f.read().split()[-1] == "300", names[0]
    finally:
        assert env.pyrunc("delete", "-f", cid).returncode == 0


# -- words callers match on --------------------------------------------------

def _stderr(r):
    """(runc's log lines escape the quotes)"""
    return r.stderr.replace('\\"', '"')


def test_unified_resources_on_cgroup_v1_in_runcs_words(env):
    with open("/proc/self/mountinfo") as f:
        if any(line.split()[4] == "/sys/fs/cgroup" and " - cgroup2 " in line for line in f):
            pytest.skip("pure cgroup v2 here: unified resources are applied")
    spec = env.spec(["true"])
    spec["linux"]["resources"]["unified"] = {"memory.high": "100000000"}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 1 and "invalid configuration: cannot use unified on cgroup v1" in \
        _stderr(r), r.stderr


def test_proc_that_is_a_symlink_in_runcs_words(env, own_rootfs):
    os.rmdir(own_rootfs / "proc")
    os.symlink("tmp", own_rootfs / "proc")
    env.rootfs = own_rootfs
    r = env.pyrunc("create", "-b", env.bundle(env.spec(["true"])), env.cid())
    assert r.returncode == 1 and 'filesystem "proc" must be mounted on ordinary directory' in \
        _stderr(r), r.stderr


def test_an_unreachable_seccomp_agent_in_runcs_words(env, tmp_path):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                "listenerPath": str(tmp_path / "nobody.sock"),
                                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 1 and "failed to connect with seccomp agent specified in the " \
        "seccomp profile" in _stderr(r), r.stderr


# -- seccomp -------------------------------------------------------------------

def test_two_conditions_on_one_argument_are_two_rules(env):
    """personality(0xffffffff) only asks; rules on arg 0 == 8 and == 9: each
    one its own rule (runc), so both values are refused, others not."""
    spec = env.spec(["sh", "-c", "setarch linux32 true; echo rc=$?"])
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}]}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert "rc=1" in r.stdout, r.stdout


@pytest.mark.parametrize("where", ["default", "write"])
def test_seccomp_notify_is_refused_where_the_runtime_needs_the_syscall(env, tmp_path, where):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_NOTIFY" if where == "default" else "SCMP_ACT_ALLOW",
        "listenerPath": str(tmp_path / "agent.sock"),
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"
                      if where == "write" else "SCMP_ACT_ALLOW"}]}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    text = "SCMP_ACT_NOTIFY cannot be used " + ("as default action" if where == "default"
                                                else "for the write syscall")
    assert r.returncode == 1 and text in _stderr(r), r.stderr


def test_start_container_hooks_run_under_the_seccomp_filter(env):
    spec = env.spec(["true"])
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    spec["hooks"] = {"startContainer": [{"path": "/bin/sh",
                                         "args": ["sh", "-c", "mkdir /tmp/d || exit 3"]}]}
    r = env.run(spec)
    assert r.returncode != 0, (r.stdout, r.stderr)
    # without the filter the hook succeeds
    del spec["linux"]["seccomp"]
    assert env.run(spec).returncode == 0


def test_start_container_hooks_without_env_get_the_processs(env):
    spec = env.spec(["true"])
    spec["process"]["env"].append("MARK=from-process")
    spec["hooks"] = {"startContainer": [{"path": "/bin/sh",
                                         "args": ["sh", "-c", 'test "$MARK" = from-process']}]}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr


def test_the_processs_user_owns_its_stdio(env):
    spec = env.spec(["sh", "-c", "stat -L -c %u /proc/self/fd/1 /proc/self/fd/2"])
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    r = env.run(spec)
    assert (r.returncode, r.stdout.split()) == (0, ["1000", "1000"]), r.stderr


def test_exec_joins_an_existing_sub_cgroup(env, sleeping):
    cid = sleeping
    pid = env.state(cid)["pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    with open("/proc/self/mountinfo") as f:
        mounts = {}
        for line in f:
            if " - cgroup" in line:
                point = line.split()[4]
                options = line.split(" - ")[1].split()[2].split(",")
                mounts[point] = options
    made = []
    try:
        # the container's cgroup in each hierarchy, seen from the host: its
        # own /proc/PID/cgroup is in its cgroup namespace, so look it up by
        # the pid in every hierarchy
        for point in mounts:
            for dirpath, _, files in os.walk(point):
                if "cgroup.procs" in files and dirpath != point:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        if str(pid) in f.read().split():
                            sub = os.path.join(dirpath, "sub1")
                            os.mkdir(sub)
                            made.append(sub)
                            for name in ("cpuset.cpus", "cpuset.mems"):   # (v1 cpuset)
                                if os.path.exists(os.path.join(sub, name)):
                                    with open(os.path.join(dirpath, name)) as f, \
                                            open(os.path.join(sub, name), "w") as g:
                                        g.write(f.read())
                            break
        assert made, lines
        r = env.pyrunc("exec", "--cgroup", "sub1", cid, "cat", "/proc/self/cgroup")
        assert r.returncode == 0, r.stderr
        inside = [line.split(":", 2)[2] for line in r.stdout.split()]
        assert inside and all(p == "/sub1" for p in inside), r.stdout
        r = env.pyrunc("exec", "--cgroup", "nosuch", cid, "true")
        assert r.returncode != 0
    finally:
        for d in made:
            os.rmdir(d)


def test_no_pivot_leaves_no_procfs_to_mount_an_unmasked_one_from(env):
    """With MS_MOVE + chroot the host's /proc stays in the namespace below
    the container's root; while it is there the kernel lets a new user
    namespace mount a fresh procfs, without the masks."""
    spec = env.spec(["sh", "-c", "unshare -mrpf mount -t proc proc /proc 2>&1; echo rc=$?; "
                                 "unshare -mrpf true; echo userns=$?"])
    # (root with every capability the runtime has: it may make the user
    # namespace and map itself)
    with open("/proc/self/status") as f:
        bounding = int([l for l in f if l.startswith("CapBnd:")][0].split()[1], 16)
    from pyrunc.linux import CAPABILITIES
    caps = [c for i, c in enumerate(CAPABILITIES) if bounding & (1 << i)]
    spec["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    r = env.pyrunc("run", "--no-pivot", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 0, r.stderr
    # (the user namespace itself is there: it is the mount that is refused)
    assert "userns=0" in r.stdout and "rc=0" not in r.stdout, r.stdout
    assert "permission denied" in r.stdout.lower() or "not permitted" in r.stdout, r.stdout
