"""pause / resume / update / ps on real containers."""
import json
import os
import select
import subprocess

from .conftest import PYRUNC
from .test_cgroups_resources import controller_file
from .test_lifecycle import wait_exit


class Ticking:
    """A detached container that prints a line every 50 ms to a pipe (and
    its errors to another): its progress is what the test reads."""

    def __init__(self, env, script="while true; do echo tick; sleep 0.05; done",
                 resources=None):
        self.env = env
        self.cid = env.cid()
        spec = env.spec(["sh", "-c", script])
        if resources:
            spec["linux"]["resources"] = resources
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        r = subprocess.run(PYRUNC + ["--root", env.state_root, "run", "-d", "-b",
                                     env.bundle(spec), self.cid],
                           stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w)
        os.close(out_w)
        os.close(err_w)
        assert r.returncode == 0
        self.out, self.err = out_r, err_r
        self.pid = env.state(self.cid)["pid"]

    def progress(self, fd=None, wait=0.5):
        """Bytes the container wrote within `wait` seconds (b"" if none)."""
        fd = self.out if fd is None else fd
        data = b""
        while select.select([fd], [], [], wait)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
            wait = 0.05
        return data

    def close(self):
        assert self.env.pyrunc("delete", "-f", self.cid).returncode == 0
        wait_exit(self.pid)
        os.close(self.out)
        os.close(self.err)


def test_pause_stops_all_progress_and_resume_restarts_it(env):
    c = Ticking(env)
    assert b"tick" in c.progress()
    assert env.pyrunc("pause", c.cid).returncode == 0
    assert env.state(c.cid)["status"] == "paused"
    c.progress(wait=0.1)            # what was written before the freeze
    assert c.progress(wait=0.5) == b""
    r = env.pyrunc("pause", c.cid)
    assert r.returncode == 1 and "already paused" in r.stderr
    assert env.pyrunc("resume", c.cid).returncode == 0
    assert env.state(c.cid)["status"] == "running"
    assert b"tick" in c.progress()
    r = env.pyrunc("resume", c.cid)
    assert r.returncode == 1 and "not paused" in r.stderr
    c.close()


def test_delete_force_of_a_paused_container(env):
    c = Ticking(env)
    assert env.pyrunc("pause", c.cid).returncode == 0
    r = env.pyrunc("start", c.cid)
    assert r.returncode == 1 and "paused" in r.stderr
    c.close()   # teardown checks that nothing is left


def test_update_changes_the_limits_of_a_running_container(env):
    c = Ticking(env, resources={"pids": {"limit": 100}})
    assert b"tick" in c.progress()
    pids_max = controller_file(c.cid, "pids", "pids.max", "pids.max")
    # containerd's way: the JSON on stdin
    r = env.pyrunc("update", "--resources", "-", c.cid,
                   input=json.dumps({"pids": {"limit": 50}}))
    assert r.returncode == 0, r.stderr
    assert open(pids_max).read().strip() == "50"
    r = env.pyrunc("update", "--pids-limit", "1", "--memory", "64m", c.cid)
    assert r.returncode == 0, r.stderr
    assert open(pids_max).read().strip() == "1"
    memory = controller_file(c.cid, "memory", "memory.limit_in_bytes", "memory.max")
    assert open(memory).read().strip() == str(64 << 20)
    # the shell can no longer fork its sleep (and dies of it)
    assert b"can't fork" in c.progress(c.err)
    wait_exit(c.pid)
    r = env.pyrunc("update", "--pids-limit", "10", c.cid)
    assert r.returncode == 1 and "not running" in r.stderr
    c.close()


def test_update_refuses_bad_input_and_changes_nothing(env):
    c = Ticking(env, resources={"pids": {"limit": 100}})
    pids_max = controller_file(c.cid, "pids", "pids.max", "pids.max")
    for args, text in [
        (["--pids-limit", "lots"], "--pids-limit: invalid number 'lots'"),
        (["--memory", "12x"], "invalid size '12x'"),
        (["--l3-cache-schema", "L3:0=f"], "the container has no Intel RDT group"),
        (["--resources", "/nonexistent.json"], "--resources /nonexistent.json: no such file"),
        (["--resources", "-"], "--resources: invalid JSON"),
        (["--resources", "-", "--pids-limit", "5"], "resources: expected object"),
    ]:
        r = env.pyrunc("update", *args, c.cid, input="[1,2" if args[-1] == "-" else
                       "[1]" if "--pids-limit" in args and "-" in args else None)
        assert r.returncode == 1 and text in r.stderr, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert open(pids_max).read().strip() == "100"
    # checkBeforeUpdate: a memory limit below what the container uses now
    memory = controller_file(c.cid, "memory", "memory.limit_in_bytes", "memory.max")
    before = open(memory).read()
    r = env.pyrunc("update", "--resources", "-", c.cid, input=json.dumps(
        {"memory": {"limit": 4096, "checkBeforeUpdate": True}}))
    assert r.returncode == 1 and "memory.limit: 4096 is below the current usage" in r.stderr
    assert open(memory).read() == before
    c.close()
    r = env.pyrunc("pause", c.cid)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_ps_lists_the_container_processes(env):
    c = Ticking(env)
    r = env.pyrunc("ps", "-f", "json", c.cid)
    pids = json.loads(r.stdout)
    assert c.pid in pids
    r = env.pyrunc("ps", c.cid, "-o", "pid,comm")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert [str(c.pid), "sh"] in [line.split() for line in lines[1:]]
    # only the container's processes (a sleep may have come or gone since)
    assert len(lines) >= 2 and all(int(line.split()[0]) in pids or line.split()[1] == "sleep"
                                   for line in lines[1:])
    # ps failing with nothing on its stderr (no such pid): a clean error
    r = env.pyrunc("ps", c.cid, "-p", "999999999")
    assert r.returncode == 1 and r.stderr.strip() == "ps: exit status 1", r.stderr
    c.close()
    r = env.pyrunc("ps", "-f", "json", c.cid)
    assert r.returncode == 1 and "does not exist" in r.stderr


def wait_for(predicate, timeout=10.0):
    """Poll a condition the kernel gives no notification for (test only)."""
    import time
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in %.0f s" % timeout
        time.sleep(0.02)


def test_kill_all_reaches_every_process_while_they_fork(env):
    """Without a pid namespace, the init's death does not take the others
    along: kill --all must get every process, also those forked while it
    runs."""
    spec = env.spec(["sh", "-c", "while true; do sleep 30 & done"])
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "pid"]
    spec["linux"]["resources"] = {"pids": {"limit": 40}}
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    procs = controller_file(cid, "pids", "cgroup.procs", "cgroup.procs")

    def members():
        with open(procs) as f:
            return f.read().split()
    wait_for(lambda: len(members()) >= 20)
    assert env.pyrunc("kill", "--all", cid, "KILL").returncode == 0
    wait_for(lambda: members() == [])
    assert env.state(cid)["status"] == "stopped"
    assert env.pyrunc("delete", cid).returncode == 0


def test_delete_takes_along_processes_that_outlived_the_init(env):
    spec = env.spec(["sh", "-c", "sleep 30 & sleep 30 & exit 0"])
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "pid"]
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    procs = controller_file(cid, "pids", "cgroup.procs", "cgroup.procs")
    wait_for(lambda: env.state(cid)["status"] == "stopped")
    with open(procs) as f:
        left = [int(p) for p in f.read().split()]
    assert len(left) == 2
    r = env.pyrunc("delete", cid)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for pid in left:
        wait_exit(pid)
    assert not os.path.exists(os.path.dirname(procs))


def test_events_stats_and_oom_stream(env, tmp_path):
    """events --stats prints one stats event; events streams stats, reports
    the OOM kill the test triggers after the stream has begun, and ends
    when the container's init dies."""
    trigger = tmp_path / "share"
    trigger.mkdir()
    os.mkfifo(trigger / "go")
    spec = env.spec(["sh", "-c", "read x < /share/go; a=$(head -c 200000000 /dev/zero | "
                                 "tr '\\0' x); echo survived"])
    spec["mounts"].append({"destination": "/share", "type": "bind", "source": str(trigger),
                           "options": ["rbind"]})
    spec["linux"]["resources"] = {"memory": {"limit": 32 << 20, "swap": 32 << 20},
                                  "pids": {"limit": 20}}
    cid = env.cid()
    assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid).returncode == 0
    r = env.pyrunc("events", "--stats", cid)
    (event,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert event["type"] == "stats" and event["id"] == cid
    data = event["data"]
    assert data["memory"]["usage"]["usage"] > 0
    assert data["memory"]["usage"]["limit"] == 32 << 20
    assert data["pids"] == {"current": 1, "limit": 20}
    assert data["cpu"]["usage"]["total"] > 0

    stream = subprocess.Popen(PYRUNC + ["--root", env.state_root, "events", "--interval",
                                        "200ms", cid], stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(stream.stdout.readline())["type"] == "stats"
        with open(trigger / "go", "w") as f:
            f.write("go\n")
        types = [json.loads(line)["type"] for line in stream.stdout]
        assert stream.wait(timeout=30) == 0
    finally:
        stream.kill()
    assert "oom" in types
    assert env.state(cid)["status"] == "stopped"
    assert env.pyrunc("delete", cid).returncode == 0


def test_events_bad_input(env):
    c = Ticking(env)
    r = env.pyrunc("events", "--interval", "soon", c.cid)
    assert r.returncode == 1 and "invalid duration 'soon'" in r.stderr
    c.close()
    r = env.pyrunc("events", "--stats", c.cid)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_update_can_loosen_device_rules(env):
    """On v1 devices.allow adds to the list; on v2 the update's program
    replaces the container's (both must hold, so one more program beside it
    could only ever tighten)."""
    spec = env.spec(["sleep", "1000"])
    spec["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    # /dev/kmsg (1:11) is not among the default devices; CAP_SYSLOG: the
    # device rules alone decide
    for caps in spec["process"]["capabilities"].values():
        caps += ["CAP_MKNOD", "CAP_SYSLOG"]
    cid = env.cid()
    assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid).returncode == 0
    assert env.pyrunc("exec", cid, "mknod", "/dev/kmsg2", "c", "1", "11").returncode == 0
    read_kmsg = ["sh", "-c", "head -c 3 /dev/kmsg2 | wc -c"]
    r = env.pyrunc("exec", cid, *read_kmsg)
    assert "Operation not permitted" in r.stderr and r.stdout.split() == ["0"], r.stderr
    rules = {"devices": [{"allow": True, "type": "c", "major": 1, "minor": 11,
                          "access": "rwm"}]}
    r = env.pyrunc("update", "--resources", "-", cid, input=json.dumps(rules))
    assert r.returncode == 0, r.stderr
    r = env.pyrunc("exec", cid, *read_kmsg)
    assert r.stdout.split() == ["3"] and not r.stderr, r.stderr
    # and tighten again
    r = env.pyrunc("update", "--resources", "-", cid,
                   input=json.dumps({"devices": [{"allow": False, "access": "rwm"}]}))
    assert r.returncode == 0, r.stderr
    r = env.pyrunc("exec", cid, *read_kmsg)
    assert r.stdout.split() == ["0"], r.stderr
    assert env.pyrunc("delete", "-f", cid).returncode == 0
