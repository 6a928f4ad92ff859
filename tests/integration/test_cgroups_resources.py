"""linux.resources take effect: limits the container runs into, seen from
inside (what fails) and from the cgroup files outside.  Runs on cgroup v1
(this host) and v2 (the v2lab VM): the helpers find each controller."""
import os

from pyrunc.cgroups import Cgroups

from .test_cli import assert_clean_failure
from .test_lifecycle import wait_exit


def controller_file(cid, controller, name_v1, name_v2):
    """The host path of a cgroup file of the container, and its version."""
    cg = Cgroups.for_container(None, cid)
    version = cg.version_of(controller)
    assert version, "no %s controller here" % controller
    return os.path.join(cg.dir_of(controller), name_v1 if version == "v1" else name_v2)


def counters(path):
    with open(path) as f:
        return dict(line.split() for line in f if len(line.split()) == 2)


def run_to_exit(env, spec):
    """create + start, wait for the init to exit; the cgroup stays until
    the caller deletes the container."""
    cid = env.cid()
    out, err = env.tmp / ("%s.out" % cid), env.tmp / ("%s.err" % cid)
    with open(out, "w") as o, open(err, "w") as e:
        r = env.pyrunc("create", "-b", env.bundle(spec), cid, stdout=o, stderr=e)
    assert r.returncode == 0, err.read_text()
    pid = env.state(cid)["pid"]
    assert env.pyrunc("start", cid).returncode == 0
    wait_exit(pid)
    return cid, out.read_text(), err.read_text()


def test_memory_limit_oom_kills_the_hog(env):
    spec = env.spec(["sh", "-c", "echo begin; a=$(head -c 200000000 /dev/zero | tr '\\0' x); "
                                 "echo survived"])
    spec["linux"]["resources"] = {"memory": {"limit": 32 << 20, "swap": 32 << 20}}
    cid, out, _ = run_to_exit(env, spec)
    assert out == "begin\n"
    limit = controller_file(cid, "memory", "memory.limit_in_bytes", "memory.max")
    assert open(limit).read().strip() == str(32 << 20)
    events = controller_file(cid, "memory", "memory.oom_control", "memory.events")
    assert int(counters(events)["oom_kill"]) >= 1
    assert env.pyrunc("delete", cid).returncode == 0


def test_pids_limit_refuses_forks(env):
    # The inner shell forks until it cannot (and dies of it); the outer one
    # then counts the processes with builtins only.
    spec = env.spec(["sh", "-c", "sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & "
                                 "done'; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; "
                                 "echo procs=$n; kill -9 -1"])
    spec["linux"]["resources"] = {"pids": {"limit": 6}}
    cid, out, err = run_to_exit(env, spec)
    assert "can't fork" in err
    assert out.startswith("procs=") and int(out.split("=")[1]) <= 6, out
    assert open(controller_file(cid, "pids", "pids.max", "pids.max")).read().strip() == "6"
    assert env.pyrunc("delete", cid).returncode == 0


def test_cpu_quota_shows_as_throttling(env):
    spec = env.spec(["sh", "-c", "end=$(( $(date +%s) + 2 )); "
                                 "while [ $(date +%s) -lt $end ]; do :; done"])
    spec["linux"]["resources"] = {"cpu": {"quota": 5000, "period": 100000}}
    cid, _, _ = run_to_exit(env, spec)
    stat = counters(controller_file(cid, "cpu", "cpu.stat", "cpu.stat"))
    assert int(stat["nr_throttled"]) > 0
    assert env.pyrunc("delete", cid).returncode == 0


def test_device_rules_deny_what_is_not_allowed(env):
    spec = env.spec(["sh", "-c", "mknod /dev/kmsg2 c 1 11 && head -c 1 /dev/kmsg2 >/dev/null; "
                                 "echo kmsg=$?; mknod /dev/zero2 c 1 5 && "
                                 "head -c 3 /dev/zero2 | wc -c"])
    spec["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    # CAP_SYSLOG: without the device rules, reading /dev/kmsg would work
    for caps in spec["process"]["capabilities"].values():
        caps += ["CAP_MKNOD", "CAP_SYSLOG"]
    r = env.run(spec)
    assert r.stdout.split()[:1] == ["kmsg=1"], r.stderr
    assert "Operation not permitted" in r.stderr
    del spec["linux"]["resources"]
    r = env.run(spec)
    assert r.stdout.split()[0] == "kmsg=0", r.stderr
    spec["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = env.run(spec)
    assert r.stdout.split() == ["kmsg=1", "3"], r.stderr
    assert "Operation not permitted" in r.stderr


def test_a_resource_of_a_missing_controller_is_refused(env):
    cg = Cgroups.for_container(None, "probe")
    missing = [c for c in ("net_cls", "rdma") if cg.version_of(c) is None]
    assert missing, "every controller exists here: nothing to test"
    spec = env.spec(["true"])
    spec["linux"]["resources"] = {"network": {"classID": 17}} if missing[0] == "net_cls" \
        else {"rdma": {"mlx5_0": {"hcaHandles": 2}}}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "the %s controller is not available on this host" % missing[0])


def test_a_wrongly_typed_resource_is_refused(env):
    spec = env.spec(["true"])
    spec["linux"]["resources"] = {"memory": {"limit": "1G"}}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "linux.resources.memory.limit: expected integer")


def test_the_cgroup_mount_shows_the_container_its_own_limits(env):
    spec = env.spec(["sh", "-c", "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                                 "cat /sys/fs/cgroup/pids.max; "
                                 "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null "
                                 "|| cat /sys/fs/cgroup/memory.max; "
                                 "touch /sys/fs/cgroup/x 2>&1 | grep -c Read-only"])
    spec["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup",
                           "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]})
    spec["linux"]["resources"] = {"pids": {"limit": 7}, "memory": {"limit": 48 << 20}}
    r = env.run(spec)
    assert r.stdout.split() == ["7", str(48 << 20), "1"], r.stderr


def test_memory_fields_v2_lacks_are_warnings_there(env):
    """swappiness and disableOOMKiller have v1 files only: written on v1,
    on v2 a warning naming the field, and the container still runs."""
    spec = env.spec(["true"])
    spec["linux"]["resources"] = {"memory": {"swappiness": 7, "disableOOMKiller": False}}
    cid, _, err = run_to_exit(env, spec)
    if Cgroups.for_container(None, cid).version_of("memory") == "v1":
        with open(controller_file(cid, "memory", "memory.swappiness", "-")) as f:
            assert f.read().strip() == "7"
        assert "not supported" not in err
    else:
        assert "memory.swappiness: not supported on cgroup v2, ignored" in err
        assert "memory.disableOOMKiller: not supported on cgroup v2, ignored" in err
    assert env.pyrunc("delete", cid).returncode == 0
