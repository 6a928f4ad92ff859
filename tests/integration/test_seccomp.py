"""linux.seccomp: the filter is compiled by libseccomp and loaded in the
child; the process runs under it."""
import fcntl
import json
import os
import socket
import struct
import threading

from .test_cli import assert_clean_failure


def profile(default="SCMP_ACT_ALLOW", **rule):
    return {"defaultAction": default,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [dict({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                              **rule)]}


def test_a_blocked_syscall_fails_with_the_configured_errno(env):
    spec = env.spec(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?"])
    spec["linux"]["seccomp"] = profile(errnoRet=13)
    r = env.run(spec)
    assert "Seccomp:\t2" in r.stdout
    assert "Permission denied" in r.stderr and "rc=1" in r.stdout


def test_default_errno_is_eperm_and_args_are_compared(env):
    # kill(2) is refused only for signal 10 (SCMP_CMP_EQ on argument 1)
    spec = env.spec(["sh", "-c", "trap 'echo got-usr2' USR2; kill -USR1 $$; echo a=$?; "
                                 "kill -USR2 $$; echo b=$?"])
    spec["linux"]["seccomp"] = profile(args=[{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}])
    spec["linux"]["seccomp"]["syscalls"][0]["names"] = ["kill"]
    r = env.run(spec)
    assert r.stdout.split() == ["a=1", "got-usr2", "b=0"]
    assert "not permitted" in r.stderr


def test_filter_without_no_new_privileges_is_loaded_before_caps_drop(env):
    spec = env.spec(["sh", "-c", "grep -E 'Seccomp:|NoNewPrivs' /proc/self/status"])
    spec["process"]["noNewPrivileges"] = False
    spec["linux"]["seccomp"] = profile()
    out = env.run(spec).stdout
    assert "NoNewPrivs:\t0" in out and "Seccomp:\t2" in out


def test_unknown_syscall_names_are_a_warning(env):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["names"].append("no_such_syscall")
    r = env.run(spec)
    assert r.returncode == 0 and "no_such_syscall" in r.stderr


def test_kill_action_kills_the_process(env):
    spec = env.spec(["mkdir", "/tmp/k"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_KILL_PROCESS"
    r = env.run(spec)
    assert r.returncode == 128 + 31  # SIGSYS


def test_compiled_programs_are_cached_by_profile(env):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = profile()
    spec["linux"]["seccomp"]["syscalls"][0]["names"].append("no_such_syscall")
    first = env.run(spec)
    cache = os.path.join(env.state_root, ".seccomp-cache")
    files = os.listdir(cache)
    assert len(files) == 1
    second = env.run(spec)
    assert os.listdir(cache) == files
    # a hit still warns about what was skipped
    assert "no_such_syscall" in first.stderr and "no_such_syscall" in second.stderr
    spec["linux"]["seccomp"]["syscalls"][0]["errnoRet"] = 5
    env.run(spec)
    assert len(os.listdir(cache)) == 2


# -- SCMP_ACT_NOTIFY --------------------------------------------------------

# struct seccomp_notif (80 bytes) and seccomp_notif_resp (24), linux/seccomp.h
NOTIF = struct.Struct("QII" + "iIQ6Q")
NOTIF_RESP = struct.Struct("QqiI")
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101
EXDEV = 18


class Listener(threading.Thread):
    """A seccomp agent: takes the fd and state from the runtime at
    listenerPath, then answers every notified syscall with EXDEV."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.server.settimeout(20)
        self.state = None
        self.fds_received = 0
        self.syscalls = []
        self.error = None

    def run(self):
        try:
            conn, _ = self.server.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
            self.state = json.loads(msg)
            self.fds_received = len(fds)
            fd = fds[0]
            try:
                while True:
                    buf = bytearray(NOTIF.size)
                    try:
                        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
                    except OSError:
                        return   # the filter's last user is gone
                    fields = NOTIF.unpack(buf)
                    self.syscalls.append(fields[3])
                    resp = bytearray(NOTIF_RESP.pack(fields[0], 0, -EXDEV, 0))
                    try:
                        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)
                    except OSError:
                        pass
            finally:
                os.close(fd)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.server.close()


def test_notify_hands_the_listener_fd_and_state_to_listener_path(env, tmp_path):
    path = str(tmp_path / "agent.sock")
    listener = Listener(path)
    listener.start()
    spec = env.spec(["sh", "-c", "mkdir /tmp/x; echo rc=$?; ls /proc/self/fd"])
    spec["annotations"] = {"org.example": "yes"}
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
        "listenerMetadata": "agent-args",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    cid = env.cid()
    r = env.run(spec, cid)
    listener.join(20)
    assert listener.error is None, listener.error
    # the container saw the agent's answer, and holds no listener fd
    assert "Invalid cross-device link" in r.stderr, (r.stdout, r.stderr)
    assert r.stdout.split() == ["rc=1", "0", "1", "2", "3"]
    assert set(listener.syscalls) <= {83, 258} and listener.syscalls  # mkdir, mkdirat
    s = listener.state
    assert listener.fds_received == 1 and s["fds"] == ["seccompFd"]
    assert s["metadata"] == "agent-args" and s["pid"] > 0
    assert s["state"]["id"] == cid and s["state"]["status"] == "creating"
    assert s["state"]["pid"] == s["pid"] and s["state"]["annotations"] == {"org.example": "yes"}


def test_notify_without_listener_path_is_refused(env):
    spec = env.spec(["true"])
    spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY")


def test_an_absent_listener_fails_create_and_leaves_nothing(env, tmp_path):
    spec = env.spec(["true"])
    path = str(tmp_path / "nobody.sock")
    spec["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
                                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, 'failed to connect with seccomp agent specified in the '
                                 'seccomp profile: "%s": no such file or directory' % path)


DEFAULT_PROFILE = os.path.join(os.path.dirname(__file__), "..", "data", "seccomp-default.json")


def test_a_docker_like_default_profile_loads_and_blocks_namespace_creation(env):
    """tests/data/seccomp-default.json: ~285 syscalls allowed, EPERM for
    the rest (ours, in the spirit of Docker's default).  A shell works under
    it; creating a user namespace (unshare, or clone with CLONE_NEWUSER) is
    refused, and is not without it."""
    with open(DEFAULT_PROFILE) as f:
        section = json.load(f)
    allowed = {n for rule in section["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW"
               for n in rule["names"]}
    assert 280 <= len(allowed) <= 320
    spec = env.spec(["sh", "-c", "grep Seccomp: /proc/self/status; ls /bin/busybox; "
                                 "unshare -U true; echo rc=$?"])
    spec["process"]["noNewPrivileges"] = True
    r = env.run(spec)
    assert r.stdout.split() == ["Seccomp:", "0", "/bin/busybox", "rc=0"], r.stderr
    spec["linux"]["seccomp"] = section
    r = env.run(spec)
    assert r.stdout.split() == ["Seccomp:", "2", "/bin/busybox", "rc=1"], r.stderr
    assert "Operation not permitted" in r.stderr
