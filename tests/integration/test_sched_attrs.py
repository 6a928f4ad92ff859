"""process.scheduler, process.ioPriority, process.execCPUAffinity and
linux.memoryPolicy (runtime-spec 1.2/1.3), seen from outside the container
(sched_getscheduler, getpriority, ionice, sched_getaffinity of the pid)
and from inside (/proc/self/sched, /proc/self/status, numa_maps), for the
init and for exec processes.

(runc 1.1.5, the runc on these machines, predates these fields and
ignores them: these tests are pyrunc's own, not `parity` ones.)"""
import json
import os
import subprocess

from .conftest import PYRUNC
from .test_exec import running
from .test_lifecycle import wait_exit


def _ionice(pid):
    return subprocess.run(["ionice", "-p", str(pid)], capture_output=True, text=True,
                          check=True).stdout.strip()


def _exec_detached(env, cid, *args, opts=(), command=None):
    """exec -d [opts] cid args; -> the process's host pid."""
    pid_file = env.tmp / ("exec%d.pid" % env.n)
    env.n += 1
    r = env.pyrunc("exec", "-d", "--pid-file", str(pid_file), *opts, cid, *args,
                   command=command)
    assert r.returncode == 0, r.stderr
    return int(pid_file.read_text())


def _cpus(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split()[1]
    raise AssertionError("no Cpus_allowed_list")


def test_scheduler_and_io_priority_of_the_init_and_of_exec(env):
    spec = env.spec(["sleep", "1000"])
    spec["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
    spec["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 7}
    cid, pid = running(env, spec)
    assert os.sched_getscheduler(pid) == os.SCHED_BATCH
    assert os.getpriority(os.PRIO_PROCESS, pid) == 5
    assert _ionice(pid) == "idle"
    # from inside: the kernel's own view of the init
    r = env.pyrunc("exec", cid, "sh", "-c", "grep -E '^(policy|prio) ' /proc/1/sched")
    assert r.returncode == 0, r.stderr
    fields = dict(line.replace(" ", "").split(":") for line in r.stdout.splitlines())
    assert fields == {"policy": "3", "prio": "125"}     # SCHED_BATCH, 120 + nice 5

    # an exec process takes the container's process's settings...
    inherited = _exec_detached(env, cid, "sleep", "100")
    assert os.sched_getscheduler(inherited) == os.SCHED_BATCH
    assert os.getpriority(os.PRIO_PROCESS, inherited) == 5
    assert _ionice(inherited) == "idle"
    # ...unless it has its own (exec --process)
    proc = dict(spec["process"], args=["sleep", "100"],
                scheduler={"policy": "SCHED_IDLE"},
                ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 2})
    (env.tmp / "p.json").write_text(json.dumps(proc))
    own = _exec_detached(env, cid, opts=("--process", str(env.tmp / "p.json")))
    assert os.sched_getscheduler(own) == os.SCHED_IDLE
    assert _ionice(own) == "best-effort: prio 2"
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    for p in (inherited, own):
        wait_exit(p)


def test_deadline_scheduler_parameters(env):
    spec = env.spec(["sleep", "1000"])
    spec["process"]["scheduler"] = {"policy": "SCHED_DEADLINE", "runtime": 42000,
                                    "deadline": 1000000, "period": 1000000}
    cid, pid = running(env, spec)
    r = subprocess.run(["chrt", "-p", str(pid)], capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()
    assert lines[0].endswith("scheduling policy: SCHED_DEADLINE"), lines
    assert lines[2].endswith("runtime/deadline/period parameters: 42000/1000000/1000000"), lines
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_realtime_policy(env):
    spec = env.spec(["sh", "-c", "grep -E '^(policy|prio) ' /proc/self/sched"])
    spec["process"]["scheduler"] = {"policy": "SCHED_RR", "priority": 10}
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        # (v1 with RT group scheduling: a cgroup gets no real-time time
        # unless given; cgroup v2 has no such limit)
        spec["linux"].setdefault("resources", {})["cpu"] = {"realtimeRuntime": 10000,
                                                            "realtimePeriod": 1000000}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    fields = dict(line.replace(" ", "").split(":") for line in r.stdout.splitlines())
    assert fields == {"policy": "2", "prio": "89"}      # 99 - priority 10


def test_memory_policy_of_the_init_and_of_exec(env):
    spec = env.spec(["sleep", "1000"])
    spec["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0",
                                     "flags": ["MPOL_F_STATIC_NODES"]}
    cid, pid = running(env, spec)
    with open("/proc/%d/numa_maps" % pid) as f:
        policies = {line.split()[1] for line in f}
    assert policies == {"bind=static:0"}, policies
    r = env.pyrunc("exec", cid, "sh", "-c", "cut -d' ' -f2 /proc/self/numa_maps | sort -u")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bind=static:0"]
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_cpu_affinity_is_reset_for_the_init_and_exec_cpu_affinity_applies_to_exec(env):
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise AssertionError("this test needs two CPUs; the machine has %s" % cpus)
    spec = env.spec(["sleep", "1000"])
    spec["process"]["execCPUAffinity"] = {"initial": str(cpus[0]), "final": str(cpus[1])}
    cid = env.cid()
    # the runtime itself runs on one CPU: the container does not inherit it
    pinned = ["taskset", "-c", str(cpus[0])] + list(PYRUNC)
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid, command=pinned)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    assert sorted(os.sched_getaffinity(pid)) == cpus
    # an exec process ends on `final`
    pid2 = _exec_detached(env, cid, "sleep", "100", command=pinned)
    assert os.sched_getaffinity(pid2) == {cpus[1]}
    r = env.pyrunc("exec", cid, "sh", "-c", "grep Cpus_allowed_list /proc/self/status")
    assert r.stdout.split()[-1] == str(cpus[1]), r.stdout
    # and one of its own (exec --process) without any: every CPU again,
    # not the runtime's one (the container's process's is taken only where
    # the process has none: here it has an empty one)
    proc = dict(spec["process"], args=["sleep", "100"], execCPUAffinity={})
    (env.tmp / "p.json").write_text(json.dumps(proc))
    pid3 = _exec_detached(env, cid, opts=("--process", str(env.tmp / "p.json")),
                          command=pinned)
    assert sorted(os.sched_getaffinity(pid3)) == cpus, _cpus(pid3)
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    for p in (pid2, pid3):
        wait_exit(p)


def test_bad_values_name_the_field_and_leave_nothing(env):
    cases = [
        ({"process": {"scheduler": {"policy": "SCHED_FAST"}}}, "process.scheduler.policy"),
        ({"process": {"scheduler": {"policy": "SCHED_OTHER", "nice": 40}}},
         "process.scheduler.nice"),
        ({"process": {"scheduler": {"policy": "SCHED_OTHER", "priority": 5}}},
         "process.scheduler.priority"),
        ({"process": {"scheduler": {"policy": "SCHED_BATCH", "runtime": 5}}},
         "process.scheduler"),
        ({"process": {"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}},
         "process.ioPriority.priority"),
        ({"process": {"execCPUAffinity": {"final": "0-x"}}}, "process.execCPUAffinity.final"),
        ({"linux": {"memoryPolicy": {"mode": "MPOL_BIND"}}}, "linux.memoryPolicy.nodes"),
        ({"linux": {"memoryPolicy": {"mode": "MPOL_LOCAL", "nodes": "0",
                                     "flags": ["MPOL_F_STATIC_NODES"]}}},
         "linux.memoryPolicy.nodes"),
        ({"linux": {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0", "flags": ["F"]}}},
         "linux.memoryPolicy.flags[0]"),
    ]
    for change, path in cases:
        spec = env.spec()
        for section, fields in change.items():
            spec[section].update(fields)
        r = env.run(spec)
        assert r.returncode == 1, (path, r.stderr)
        assert r.stderr.count("\n") == 1 and path + ":" in r.stderr, (path, r.stderr)
        assert "Traceback" not in r.stderr
    # nothing of them is left: the env fixture checks state, cgroups and
    # processes after the test
