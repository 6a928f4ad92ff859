"""`exec`: a new process in a running container, seen from inside (its
namespaces, cgroups, ids, capabilities, fds) and from outside (exit codes,
pid files, what is left behind)."""
import json
import os
import subprocess

import pytest

from .conftest import PYRUNC, readline
from .test_lifecycle import wait_exit
from .test_process import mask, status_field


def running(env, spec=None, cid=None):
    """A detached container running `sleep 1000`; -> (id, init pid)."""
    cid = cid or env.cid()
    spec = spec or env.spec(["sleep", "1000"])
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    return cid, env.state(cid)["pid"]


def test_exec_runs_in_every_namespace_and_cgroup_of_the_container(env):
    cid, pid = running(env)
    r = env.pyrunc("exec", cid, "sh", "-c",
                   "echo pid=$$; for n in /proc/self/ns/*; do "
                   "[ $(readlink $n) = $(readlink /proc/1/ns/${n##*/}) ] || echo DIFF ${n##*/}; "
                   "done; cmp /proc/self/cgroup /proc/1/cgroup && echo SAME-CGROUPS; hostname")
    assert r.returncode == 0, r.stderr
    assert "DIFF" not in r.stdout, r.stdout
    assert "SAME-CGROUPS" in r.stdout
    assert r.stdout.split()[-1] == "pyrunc"
    inner = int(r.stdout.split("pid=")[1].split()[0])
    assert inner > 1          # a new process of the container's pid namespace
    # and from the host: the namespaces of the init
    r = env.pyrunc("exec", "-d", "--pid-file", str(env.tmp / "p"), cid, "sleep", "100")
    assert r.returncode == 0, r.stderr
    host_pid = int((env.tmp / "p").read_text())
    for ns in ("mnt", "pid", "net", "ipc", "uts", "cgroup"):
        assert os.readlink("/proc/%d/ns/%s" % (host_pid, ns)) == \
            os.readlink("/proc/%d/ns/%s" % (pid, ns)), ns
    with open("/proc/%d/cgroup" % host_pid) as a, open("/proc/%d/cgroup" % pid) as b:
        assert a.read() == b.read()
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    wait_exit(host_pid)


def test_exec_exit_codes_are_runcs(env):
    cid, _ = running(env)
    assert env.pyrunc("exec", cid, "sh", "-c", "exit 7").returncode == 7
    assert env.pyrunc("exec", cid, "sh", "-c", "kill -9 $$").returncode == 128 + 9
    r = env.pyrunc("exec", cid, "no-such-program")
    assert r.returncode == 255
    assert r.stderr.strip() == ('exec failed: unable to start container process: exec: '
                                '"no-such-program": executable file not found in $PATH')
    r = env.pyrunc("exec", cid, "/etc/passwd")
    assert r.returncode == 255
    assert r.stderr.strip().endswith('exec: "/etc/passwd": permission denied')
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_flags_env_cwd_user_groups_and_caps(env):
    cid, _ = running(env)
    r = env.pyrunc("exec", "-e", "FOO=bar", "-e", "X=1", "--cwd", "/tmp", "-u", "1000:1000",
                   "-g", "5", "-g", "7", "--cap", "CAP_NET_RAW", "--no-new-privs", cid,
                   "sh", "-c", 'echo "$FOO $X $(pwd)"; cat /proc/self/status')
    assert r.returncode == 0, r.stderr
    first, status = r.stdout.split("\n", 1)
    assert first == "bar 1 /tmp"
    assert status_field(status, "Uid").split() == ["1000"] * 4
    assert status_field(status, "Gid").split() == ["1000"] * 4
    assert status_field(status, "Groups").split() == ["5", "7"]
    assert int(status_field(status, "CapBnd"), 16) & int(mask("CAP_NET_RAW"), 16)
    assert status_field(status, "NoNewPrivs") == "1"
    # the container's own process is the base: its env and default caps
    r = env.pyrunc("exec", cid, "sh", "-c", 'echo "$PATH"; grep CapEff /proc/self/status')
    assert r.stdout.startswith("/usr/local/sbin:")
    assert status_field(r.stdout, "CapEff") == status_field(
        env.pyrunc("exec", cid, "cat", "/proc/1/status").stdout, "CapEff")
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_process_file_sets_every_capability_set_for_a_non_root_user(env):
    cid, _ = running(env)
    caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    process = {"args": ["cat", "/proc/self/status"], "cwd": "/", "env": ["A=b"],
               "user": {"uid": 1000, "gid": 1000},
               "capabilities": {"bounding": caps + ["CAP_CHOWN"], "effective": caps,
                                "permitted": caps, "inheritable": caps, "ambient": ["CAP_KILL"]},
               "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]}
    path = env.tmp / "process.json"
    path.write_text(json.dumps(process))
    r = env.pyrunc("exec", "--process", str(path), cid)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert status_field(out, "Uid").split() == ["1000"] * 4
    assert status_field(out, "CapBnd") == mask(*caps, "CAP_CHOWN")
    # across execve, a non-root user keeps in permitted and effective only
    # its ambient set; the inheritable set stays as given
    assert status_field(out, "CapEff") == mask("CAP_KILL")
    assert status_field(out, "CapPrm") == mask("CAP_KILL")
    assert status_field(out, "CapInh") == mask(*caps)
    assert status_field(out, "CapAmb") == mask("CAP_KILL")
    r = env.pyrunc("exec", cid, "sh", "-c", "ulimit -n")
    assert r.stdout.strip() != "321"     # only the exec'd process got the rlimit
    process["args"] = ["sh", "-c", "ulimit -n; ulimit -Hn"]
    path.write_text(json.dumps(process))
    assert env.pyrunc("exec", "--process", str(path), cid).stdout.split() == ["321", "654"]
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_detached_writes_the_pid_file_and_delete_reaches_the_process(env):
    cid, _ = running(env)
    pid_file = env.tmp / "exec.pid"
    r = env.pyrunc("exec", "-d", "--pid-file", str(pid_file), cid, "sleep", "300")
    assert r.returncode == 0, r.stderr
    pid = int(pid_file.read_text())
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"300"]
    assert pid in json.loads(env.pyrunc("ps", "-f", "json", cid).stdout)
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    wait_exit(pid)


def test_exec_inherits_only_stdio_and_preserved_fds(env):
    cid, _ = running(env)
    host_file = env.tmp / "shared"
    host_file.write_text("from the host\n")
    # the caller opens fd 3 and asks for it to be passed on
    r = env.pyrunc("exec", "--preserve-fds", "1", cid, "sh", "-c", "ls /proc/self/fd; cat <&3",
                   command=["sh", "-c", 'exec 3<"$0"; exec "$@"', str(host_file)] + PYRUNC)
    assert r.returncode == 0, r.stderr
    fds = r.stdout.split("from the host")[0].split()
    # ls itself holds one more for the directory it reads
    assert set(fds) <= {"0", "1", "2", "3", "4"} and "3" in fds, fds
    assert "from the host" in r.stdout
    r = env.pyrunc("exec", cid, "ls", "/proc/self/fd")
    assert set(r.stdout.split()) <= {"0", "1", "2", "3"}, r.stdout
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_in_a_paused_container_needs_ignore_paused(env):
    cid, _ = running(env)
    assert env.pyrunc("pause", cid).returncode == 0
    r = env.pyrunc("exec", cid, "true")
    assert r.returncode == 255
    assert r.stderr.strip() == ("exec failed: cannot exec in a paused container (use "
                                "--ignore-paused to override)")
    out = env.tmp / "out"
    with open(out, "w") as f:
        p = subprocess.Popen(PYRUNC + ["--root", env.state_root, "exec", "--ignore-paused", cid,
                                       "echo", "after resume"], stdout=f,
                             stderr=subprocess.STDOUT)
        # frozen with the container: it makes no progress until resume
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=1)
        assert env.pyrunc("resume", cid).returncode == 0
        assert p.wait(timeout=20) == 0
    assert out.read_text() == "after resume\n"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_applies_the_containers_seccomp_filter(env):
    spec = env.spec(["sleep", "1000"])
    spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    cid, _ = running(env, spec)
    r = env.pyrunc("exec", cid, "sh", "-c", "mkdir /tmp/x; grep Seccomp: /proc/self/status")
    assert "Operation not permitted" in r.stderr
    assert status_field(r.stdout, "Seccomp") == "2"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_joins_the_user_namespace(env, userns_rootfs):
    _exec_in_user_namespace(env, userns_rootfs)


def _exec_in_user_namespace(env, own):
    spec = env.spec(["sleep", "1000"])
    spec["root"]["path"] = own
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cid, pid = running(env, spec)
    r = env.pyrunc("exec", "-d", "--pid-file", str(env.tmp / "p"), cid, "sleep", "100")
    assert r.returncode == 0, r.stderr
    host_pid = int((env.tmp / "p").read_text())
    assert os.readlink("/proc/%d/ns/user" % host_pid) == os.readlink("/proc/%d/ns/user" % pid)
    with open("/proc/%d/status" % host_pid) as f:
        assert status_field(f.read(), "Uid").split() == ["100000"] * 4
    r = env.pyrunc("exec", cid, "cat", "/proc/self/uid_map")
    assert r.stdout.split() == ["0", "100000", "65536"]
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_in_a_container_without_a_mount_namespace_is_chrooted(env, own_rootfs):
    spec = env.spec(["sleep", "1000"])
    spec["root"] = {"path": str(own_rootfs)}
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "mount"]
    spec["mounts"] = []
    spec["linux"]["maskedPaths"] = spec["linux"]["readonlyPaths"] = []
    (own_rootfs / "marker").write_text("inside\n")
    cid, _ = running(env, spec)
    r = env.pyrunc("exec", cid, "cat", "/marker")
    assert (r.returncode, r.stdout) == (0, "inside\n"), r.stderr
    assert env.pyrunc("delete", "-f", cid).returncode == 0


@pytest.mark.parametrize("setup, message", [
    (lambda env, cid: ["exec", cid], "exec failed: exec: no command given"),
    (lambda env, cid: ["exec", "--process", str(env.tmp / "none.json"), cid],
     "exec failed: --process {tmp}/none.json: no such file or directory"),
    (lambda env, cid: (env.tmp / "bad.json").write_text("{") and
     ["exec", "--process", str(env.tmp / "bad.json"), cid],
     "exec failed: --process {tmp}/bad.json: invalid JSON"),
    (lambda env, cid: (env.tmp / "noargs.json").write_text('{"cwd": "/"}') and
     ["exec", "--process", str(env.tmp / "noargs.json"), cid],
     "exec failed: process.args: required and must not be empty"),
    (lambda env, cid: ["exec", "-u", "root", cid, "true"],
     "exec failed: --user 'root': expected UID[:GID]"),
    (lambda env, cid: ["exec", "--cap", "CAP_BOGUS", cid, "true"],
     "exec failed: --cap 'CAP_BOGUS': unknown capability"),
    (lambda env, cid: ["exec", "--cwd", "relative", cid, "true"],
     "exec failed: process.cwd: must be an absolute path"),
    (lambda env, cid: ["exec", "--cwd", "/no/such/dir", cid, "true"],
     'exec failed: unable to start container process: chdir to cwd "/no/such/dir": '
     "no such file or directory"),
    (lambda env, cid: ["exec", "-d", "-t", cid, "true"],
     "exec failed: cannot allocate tty if runc will detach without setting console socket"),
    (lambda env, cid: ["exec", "no-such-container", "true"],
     'exec failed: container "no-such-container" does not exist'),
])
def test_bad_exec_calls_fail_cleanly(env, setup, message):
    cid, pid = running(env)
    before = set(json.loads(env.pyrunc("ps", "-f", "json", cid).stdout))
    r = env.pyrunc(*setup(env, cid))
    assert r.returncode == 255, r.stderr
    text = message.format(tmp=env.tmp)
    assert r.stderr.strip().startswith(text), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # nothing started, nothing left in the container
    assert set(json.loads(env.pyrunc("ps", "-f", "json", cid).stdout)) == before
    assert env.state(cid)["status"] == "running"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_exec_in_a_stopped_container_fails(env):
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(env.spec(["true"])), cid)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    assert env.pyrunc("start", cid).returncode == 0
    wait_exit(pid)
    r = env.pyrunc("exec", cid, "true")
    assert (r.returncode, r.stderr.strip()) == (
        255, "exec failed: cannot exec in a stopped container")
    assert env.pyrunc("delete", cid).returncode == 0


def _activated(files, extra_fd=None):
    """A command prefix: open files as fds 3.., set LISTEN_FDS and
    LISTEN_PID for the pyrunc it then becomes (the same pid), as systemd's
    socket activation does."""
    opens = " ".join("%d<%s" % (3 + i, f) for i, f in enumerate(files))
    if extra_fd is not None:
        opens += " %d<%s" % (3 + len(files), extra_fd)
    script = 'exec %s; export LISTEN_FDS=%d LISTEN_PID=$$; exec "$@"' % (opens, len(files))
    return ["sh", "-c", script, "sh"] + PYRUNC


def test_socket_activation_passes_listen_fds_to_run_and_exec(env):
    files = []
    for name in ("a", "b", "c"):
        (env.tmp / name).write_text("fd %s\n" % name)
        files.append(str(env.tmp / name))
    show = ["sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID $$"; cat <&3; cat <&4; '
                        'cat <&5 2>/dev/null || echo NO-FD-5']
    r = env.pyrunc("run", "--preserve-fds", "1", "-b", env.bundle(env.spec(show)), env.cid(),
                   command=_activated(files[:2], extra_fd=files[2]))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "2 1 1"           # the init is pid 1 of its namespace
    # the listening fds first, then the preserved one
    assert lines[1:] == ["fd a", "fd b", "fd c"]
    cid, _ = running(env)
    r = env.pyrunc("exec", cid, *show, command=_activated(files[:2]))
    assert r.returncode == 0, r.stderr
    count, listen_pid, pid = r.stdout.splitlines()[0].split()
    assert (count, listen_pid) == ("2", pid) and pid != "1"
    assert r.stdout.splitlines()[1:] == ["fd a", "fd b", "NO-FD-5"]
    # LISTEN_PID naming another process: nothing is passed on
    r = env.pyrunc("exec", cid, "sh", "-c", 'echo "[$LISTEN_FDS]"; cat <&3 || echo CLOSED',
                   command=["sh", "-c", 'exec 3<"$0"; LISTEN_FDS=1 LISTEN_PID=1 exec "$@"',
                            files[0]] + PYRUNC)
    assert r.stdout.splitlines() == ["[]", "CLOSED"], r.stdout
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_foreground_exec_forwards_signals(env):
    cid, _ = running(env)
    p = subprocess.Popen(PYRUNC + ["--root", env.state_root, "exec", cid, "sh", "-c",
                                   "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 4' "
                                   "TERM; echo ready; "
                                   "while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, text=True)
    assert readline(p.stdout) == "ready\n"
    p.send_signal(10)
    assert readline(p.stdout) == "got-usr1\n"
    p.send_signal(15)
    assert p.wait(timeout=20) == 4
    assert p.stdout.read() == "got-term\n"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_foreground_exec_is_the_subreaper_of_what_its_process_leaves(env):
    """Without a pid namespace, an orphan of the exec'd process is reparented
    to pyrunc (PR_SET_CHILD_SUBREAPER), not to the host's init."""
    spec = env.spec(["sleep", "1000"])
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "pid"]
    cid, _ = running(env, spec)
    p = subprocess.Popen(PYRUNC + ["--root", env.state_root, "exec", cid, "sh", "-c",
                                   # $(...) returns once the inner sh is reaped,
                                   # its child reparented
                                   "echo $(sh -c 'sleep 300 >/dev/null & echo $!'); "
                                   "read line"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    orphan = int(readline(p.stdout))
    with open("/proc/%d/status" % orphan) as f:
        assert status_field(f.read(), "PPid") == str(p.pid)
    p.stdin.write("done\n")
    p.stdin.close()
    assert p.wait(timeout=20) == 0
    assert env.pyrunc("delete", "-f", cid).returncode == 0
