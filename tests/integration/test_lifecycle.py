"""create / start / state / kill / delete / run, seen from outside."""
import json
import os
import select
import subprocess


from pyrunc.cgroups import container_dir, hierarchies

from .conftest import PYRUNC, readline


def wait_exit(pid, timeout=10):
    """Wait for a process that is not our child (a pidfd becomes readable)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        assert select.select([fd], [], [], timeout)[0], "process %d did not exit" % pid
    finally:
        os.close(fd)


def test_run_prints_and_exits_with_the_container_status(env):
    r = env.run(env.spec(["sh", "-c", "echo out; echo err >&2; exit 7"]))
    assert r.returncode == 7
    assert r.stdout == "out\n"
    assert "err" in r.stderr


def test_run_reports_death_by_signal_as_128_plus_n(env):
    spec = env.spec(["sh", "-c", "kill -USR1 $$; sleep 5"])
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"] if ns["type"] != "pid"]
    r = env.run(spec)
    assert r.returncode == 128 + 10


def test_create_start_kill_delete(env, tmp_path):
    cid = env.cid()
    pid_file = tmp_path / "pid"
    bundle = env.bundle(env.spec(["sleep", "30"]))
    r = env.pyrunc("create", "-b", bundle, "--pid-file", str(pid_file), cid,
                   stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    state = env.state(cid)
    assert state["status"] == "created"
    assert state["id"] == cid and state["bundle"] == bundle
    pid = state["pid"]
    assert int(pid_file.read_text()) == pid
    # the init is blocked before the user process: still the runtime's image
    assert "sleep" not in open("/proc/%d/cmdline" % pid).read()
    with open("/proc/%d/stat" % pid) as f:
        start_time = int(f.read().rsplit(")", 1)[1].split()[19])
    internal = json.load(open(os.path.join(env.state_root, cid, "state.json")))
    assert internal["start_time"] == start_time

    assert env.pyrunc("start", cid).returncode == 0
    assert env.state(cid)["status"] == "running"
    assert open("/proc/%d/cmdline" % pid).read().startswith("sleep")
    r = env.pyrunc("start", cid)
    assert r.returncode == 1 and "running" in r.stderr

    r = env.pyrunc("delete", cid)
    assert r.returncode == 1 and "not stopped" in r.stderr
    assert env.pyrunc("kill", cid, "KILL").returncode == 0
    wait_exit(pid)
    state = env.state(cid)
    assert state["status"] == "stopped" and state["pid"] == 0
    r = env.pyrunc("kill", cid)
    assert r.returncode == 1 and "not running" in r.stderr
    r = env.pyrunc("start", cid)
    assert r.returncode == 1 and "stopped" in r.stderr
    assert env.pyrunc("delete", cid).returncode == 0
    assert not os.path.exists(os.path.join(env.state_root, cid))
    r = env.pyrunc("state", cid)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_delete_of_a_created_container_needs_force(env):
    cid = env.cid()
    assert env.pyrunc("create", "-b", env.bundle(env.spec(["true"])), cid).returncode == 0
    r = env.pyrunc("delete", cid)
    assert r.returncode == 1 and "created" in r.stderr
    assert env.state(cid)["status"] == "created"
    pid = env.state(cid)["pid"]
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    wait_exit(pid)
    assert not os.path.exists("/proc/%d/status" % pid) or \
        "zombie" in open("/proc/%d/status" % pid).read()


def test_kill_default_signal_is_term(env):
    cid = env.cid()
    spec = env.spec(["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"])
    assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid,
                      stdin=subprocess.DEVNULL).returncode == 0
    pid = env.state(cid)["pid"]
    assert env.pyrunc("kill", cid).returncode == 0
    wait_exit(pid)
    assert env.state(cid)["status"] == "stopped"
    assert env.pyrunc("delete", cid).returncode == 0


def test_run_detach_and_list(env):
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(env.spec(["sleep", "30"])), cid,
                   stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert env.pyrunc("list", "-q").stdout.split() == [cid]
    listed = json.loads(env.pyrunc("list", "-f", "json").stdout)
    assert [(c["id"], c["status"]) for c in listed] == [(cid, "running")]
    table = env.pyrunc("list").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"] and cid in table[1]
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_an_existing_id_is_refused_and_left_alone(env):
    cid = env.cid()
    bundle = env.bundle(env.spec(["sleep", "30"]))
    assert env.pyrunc("run", "-d", "-b", bundle, cid, stdin=subprocess.DEVNULL).returncode == 0
    before = env.state(cid)
    r = env.pyrunc("create", "-b", bundle, cid)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert env.state(cid) == before
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_concurrent_creates_of_one_id_make_one_container(env):
    cid = env.cid()
    bundle = env.bundle(env.spec(["true"]))
    procs = [subprocess.Popen(["python3" if False else os.sys.executable, "-m", "pyrunc", "--root",
                               env.state_root, "create", "-b", bundle, cid],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    codes = [p.wait(timeout=30) for p in procs]
    assert sorted(codes) == [0, 1, 1, 1]
    assert env.state(cid)["status"] == "created"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_a_config_without_process_can_be_created_but_not_started(env):
    cid = env.cid()
    spec = env.spec()
    del spec["process"]
    assert env.pyrunc("create", "-b", env.bundle(spec), cid).returncode == 0
    assert env.state(cid)["status"] == "created"
    r = env.pyrunc("start", cid)
    assert r.returncode == 1 and "no process" in r.stderr
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_foreground_run_forwards_signals(env):
    cid = env.cid()
    spec = env.spec(["sh", "-c", "trap 'echo got-term; exit 4' TERM; echo ready; "
                                 "while true; do sleep 0.1; done"])
    p = subprocess.Popen(PYRUNC + ["--root", env.state_root, "run",
                          "-b", env.bundle(spec), cid], stdout=subprocess.PIPE, text=True)
    assert readline(p.stdout) == "ready\n"
    p.send_signal(15)
    assert p.wait(timeout=20) == 4
    assert p.stdout.read() == "got-term\n"


def test_delete_force_cleans_up_after_a_runtime_killed_during_create(env, tmp_path):
    # A createRuntime hook kills the `pyrunc create` that runs it.
    hook = tmp_path / "kill-runtime"
    hook.write_text("#!/bin/sh\nkill -9 $PPID\n")
    hook.chmod(0o755)
    spec = env.spec(["true"])
    spec["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(spec), cid)
    assert r.returncode == -9
    cgroup_dirs = [container_dir(h, "", cid) for h in hierarchies()]
    assert all(os.path.isdir(d) for d in cgroup_dirs), "the killed create made its cgroups"
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    assert not [d for d in cgroup_dirs if os.path.exists(d)]
    assert not os.path.exists(os.path.join(env.state_root, cid))
