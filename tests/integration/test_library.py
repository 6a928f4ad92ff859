"""pyrunc as a Python library (issue 12): the public API, with real
containers, from this process."""
import errno
import os
import select
import signal
import threading

import pytest

import pyrunc

from .conftest import readline


@pytest.fixture
def rt(env):
    said = []
    runtime = pyrunc.Runtime(env.state_root, on_warning=said.append)
    runtime.said = said
    yield runtime
    for c in runtime.list():
        c.delete(force=True)


def _read_all(fd):
    chunks = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            os.close(fd)
            return b"".join(chunks).decode()
        chunks.append(data)


def test_the_lifecycle_through_container_objects(env, rt):
    cid = env.cid()
    c = rt.create(cid, env.bundle(env.spec(["sleep", "60"])))
    assert isinstance(c, pyrunc.Container) and c.id == cid
    state = c.state()
    assert isinstance(state, pyrunc.State)
    assert (state.id, state.status) == (cid, "created") and state.pid > 0
    # the init is a real process, waiting in the container's namespaces
    assert os.readlink("/proc/%d/ns/pid" % state.pid) != os.readlink("/proc/self/ns/pid")
    c.start()
    assert c.status == "running"
    assert rt.load(cid) == c and [x.id for x in rt.list()] == [cid]
    assert rt.states()[0].to_dict()["pid"] == state.pid
    assert c.pids() == [state.pid]
    c.pause()
    assert c.status == "paused"
    c.resume()
    assert c.status == "running"
    pidfd = os.pidfd_open(state.pid)
    c.kill("KILL")
    assert select.select([pidfd], [], [], 20)[0]
    os.close(pidfd)
    assert c.status == "stopped" and c.pid == 0
    c.delete()
    # the init was this process's child: delete reaped it
    assert not os.path.exists("/proc/%d" % state.pid)
    with pytest.raises(pyrunc.ContainerNotFound):
        rt.load(cid)
    assert rt.list() == []


def test_run_gives_the_exit_status_and_the_output_to_pipes(env, rt):
    r, w = os.pipe()
    status = rt.run(env.cid(), env.bundle(env.spec(["sh", "-c", "echo out; hostname; exit 3"])),
                    stdout=w)
    os.close(w)
    assert status == 3
    assert _read_all(r) == "out\npyrunc\n"
    assert rt.list() == []   # run deletes what it created


def test_exec_captures_output_and_detaches(env, rt):
    c = rt.create(env.cid(), env.bundle(env.spec(["sleep", "60"])))
    c.start()
    r, w = os.pipe()
    status = c.exec(["sh", "-c", "echo $HOME $FOO; cat /proc/1/comm; exit 5"],
                    env=["FOO=bar"], stdout=w)
    os.close(w)
    assert status == 5
    assert _read_all(r) == "/root bar\nsleep\n"
    r, w = os.pipe()
    r_in, w_in = os.pipe()
    pid = c.exec(["sh", "-c", "echo started; read x"], detach=True, stdout=w, stdin=r_in)
    os.close(w)
    os.close(r_in)
    assert readline(os.fdopen(r, "rb", buffering=0)) == "started\n"
    assert pid in c.pids()
    os.close(w_in)   # (its stdin ends: it exits; this process reaps its child)
    assert os.waitpid(pid, 0)[0] == pid
    # a process object works too
    process = dict(c.process(), args=["true"])
    assert c.exec(process=process) == 0


def test_update_takes_flags_or_resources_and_checks_them(env, rt):
    c = rt.create(env.cid(), env.bundle(env.spec(["sleep", "60"])))
    c.update(pids_limit=42)
    assert c.stats()["pids"]["limit"] == 42
    c.update({"pids": {"limit": 43}})
    assert c.stats()["pids"]["limit"] == 43
    with pytest.raises(pyrunc.BadArgument, match="not both"):
        c.update({"pids": {"limit": 1}}, pids_limit=2)
    with pytest.raises(pyrunc.ConfigError, match=r"resources\.pids\.limit"):
        c.update({"pids": {"limit": "many"}})
    assert c.stats()["pids"]["limit"] == 43


def test_warnings_go_to_the_callback(env, rt):
    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled here: the label is applied, not warned about")
    spec = env.spec(["true"])
    spec["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    assert rt.run(env.cid(), env.bundle(spec)) == 0
    assert any("linux.mountLabel" in w for w in rt.said), rt.said


def test_without_a_callback_warnings_are_python_warnings(env):
    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled here: the label is applied, not warned about")
    spec = env.spec(["true"])
    spec["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    with pytest.warns(pyrunc.PyruncWarning, match="linux.mountLabel"):
        assert pyrunc.Runtime(env.state_root).run(env.cid(), env.bundle(spec)) == 0


def test_the_library_installs_no_signal_handler_unless_asked(env, rt):
    """run in the foreground, asked to forward signals or not: what this
    process's SIGTERM handler is while the container runs."""
    before = signal.getsignal(signal.SIGTERM)
    seen = {}
    for forward in (False, True):
        r_in, w_in = os.pipe()
        r_out, w_out = os.pipe()

        def look():
            # (the container says it runs, then waits for its stdin)
            assert readline(os.fdopen(r_out, "rb", buffering=0)) == "up\n"
            seen[forward] = signal.getsignal(signal.SIGTERM)
            os.close(w_in)
        t = threading.Thread(target=look)
        t.start()
        status = rt.run(env.cid(), env.bundle(env.spec(["sh", "-c", "echo up; read x"])),
                        stdin=r_in, stdout=w_out, forward_signals=forward)
        os.close(r_in)
        os.close(w_out)
        t.join()
        assert status in (0, 1)
    assert seen[False] == before
    assert seen[True] != before
    assert signal.getsignal(signal.SIGTERM) == before


def test_errors_are_exceptions_of_their_kind(env, rt):
    with pytest.raises(pyrunc.ContainerNotFound):
        rt.container("nothing-here").state()
    c = rt.create(env.cid(), env.bundle(env.spec(["sleep", "60"])))
    with pytest.raises(pyrunc.ContainerExists):
        rt.create(c.id, env.bundle(env.spec(["true"])))
    c.start()
    with pytest.raises(pyrunc.WrongState, match="already running"):
        c.start()
    with pytest.raises(pyrunc.BadArgument, match="unknown signal"):
        c.kill("NOSUCH")
    with pytest.raises(pyrunc.WrongState, match="not stopped"):
        c.delete()
    with pytest.raises(pyrunc.BadArgument):
        rt.container("../escape")
    spec = env.spec(["true"])
    spec["process"]["user"]["uid"] = 2 ** 32
    with pytest.raises(pyrunc.ConfigError, match=r"process\.user\.uid") as e:
        rt.create(env.cid(), env.bundle(spec))
    assert e.value.json_path == "process.user.uid"
    assert [x.id for x in rt.list()] == [c.id]   # the bad one left nothing
    # a failing step of the set-up: its words and errno, besides the line
    with pytest.raises(pyrunc.SpawnError) as e:
        c.exec(["/no/such/program"])
    assert e.value.step == 'exec: "/no/such/program"' and e.value.errno == errno.ENOENT
    # a failing system call: its errno, besides the words
    with pytest.raises(pyrunc.PyruncError, match="cpuset") as e:
        c.update(cpuset_cpus="4095")
    assert e.value.errno in (errno.EINVAL, errno.ERANGE), e.value
