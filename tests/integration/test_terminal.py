"""process.terminal: the pty in the container's devpts, /dev/console, the
foreground relay (run -t / exec -t under a real terminal) and
--console-socket (what containerd's shim and conmon use)."""
import array
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import termios

import pytest

from .conftest import PYRUNC
from .test_lifecycle import wait_exit


def tty_spec(env, args, size=None):
    spec = env.spec(args)
    spec["process"]["terminal"] = True
    if size:
        spec["process"]["consoleSize"] = {"height": size[0], "width": size[1]}
    return spec


class Terminal:
    """pyrunc run in the foreground with a pty of ours as its terminal."""

    def __init__(self, env, args, rows=30, cols=100):
        self.master, slave = os.openpty()
        set_size(slave, rows, cols)
        # the pty is pyrunc's controlling terminal, as in a shell: a size
        # change sends it SIGWINCH
        self.proc = subprocess.Popen(PYRUNC + ["--root", env.state_root] + list(args),
                                     stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.out = b""

    def read_until(self, text, timeout=10):
        while text.encode() not in self.out:
            ready = select.select([self.master], [], [], timeout)[0]
            assert ready, "no %r in %r" % (text, self.out)
            try:
                data = os.read(self.master, 4096)
            except OSError:   # EIO: the other side has gone
                data = b""
            assert data, "terminal closed before %r: %r" % (text, self.out)
            self.out += data
        return self.out.decode()

    def write(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=20):
        code = self.proc.wait(timeout=timeout)
        while True:   # what is left in the pty
            if not select.select([self.master], [], [], 0.2)[0]:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            self.out += data
        os.close(self.master)
        return code, self.out.decode()


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_run_t_relays_a_real_terminal(env):
    """The container's stdio is a pty of its own devpts, also /dev/console;
    the size comes from our terminal; input reaches it, its status is ours."""
    spec = tty_spec(env, ["sh", "-c",
                          "tty; stty size; ls -l /dev/console; stat -c %t:%T $(tty); "
                          "read line; echo got:$line; exit 3"])
    term = Terminal(env, ["run", "-b", env.bundle(spec), env.cid()], rows=30, cols=100)
    term.read_until("\n", timeout=10)
    term.read_until(":")   # stat's major:minor, before read waits
    term.write("hello\r")
    code, out = term.finish()
    assert code == 3, out
    lines = out.replace("\r", "").splitlines()
    assert lines[0] == "/dev/pts/0"
    assert lines[1] == "30 100"
    # /dev/console is the same pty (major 136, minor 0)
    assert lines[2].startswith("c") and "136,   0" in lines[2], lines[2]
    assert "got:hello" in out


def test_run_t_raw_mode_and_window_size_changes(env):
    spec = tty_spec(env, ["sh", "-c", "stty size; echo waiting; read x; stty size"])
    term = Terminal(env, ["run", "-b", env.bundle(spec), env.cid()], rows=24, cols=80)
    term.read_until("waiting")
    # our terminal is in raw mode while pyrunc relays (the container's pty
    # does the line editing), and cooked again afterwards
    assert not termios.tcgetattr(term.master)[3] & (termios.ICANON | termios.ECHO)
    # pyrunc gets a SIGWINCH and passes the size on
    set_size(term.master, 50, 132)
    term.write("\r")
    code = term.proc.wait(timeout=20)
    assert termios.tcgetattr(term.master)[3] & termios.ICANON
    code, out = term.finish()
    assert code == 0
    sizes = [line for line in out.replace("\r", "").splitlines() if line[:1].isdigit()]
    assert sizes == ["24 80", "50 132"], out


def test_console_size_is_used_without_a_terminal_of_ours(env):
    spec = tty_spec(env, ["stty", "size"], size=(33, 99))
    cid = env.cid()
    sock_path, server = console_server(env)
    r = env.pyrunc("run", "-d", "--console-socket", sock_path, "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    name, master = receive_master(server)
    assert name == b"/dev/ptmx"
    assert read_all(master).replace(b"\r", b"") == b"33 99\n"
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def console_server(env):
    path = str(env.tmp / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    return path, server


def receive_master(server):
    conn, _ = server.accept()
    with conn:
        msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4))
    server.close()
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:4])
    assert len(fds) == 1, anc
    return msg, fds[0]


def read_all(master, timeout=10):
    out = b""
    while select.select([master], [], [], timeout)[0]:
        try:
            data = os.read(master, 4096)
        except OSError:   # EIO: no peer left
            break
        if not data:
            break
        out += data
    os.close(master)
    return out


def test_create_with_console_socket_sends_the_master(env):
    spec = tty_spec(env, ["sh", "-c", "read x; echo in:$x; tty"])
    cid = env.cid()
    path, server = console_server(env)
    r = env.pyrunc("create", "--console-socket", path, "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    name, master = receive_master(server)
    assert name == b"/dev/ptmx"
    pid = env.state(cid)["pid"]
    # the init's stdio is the peer, pty 0 of the container's own devpts
    assert [os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in (0, 1, 2)] == ["/dev/pts/0"] * 3
    assert env.pyrunc("start", cid).returncode == 0
    os.write(master, b"typed\n")
    out = read_all(master).replace(b"\r", b"")
    assert b"in:typed" in out and b"/dev/pts/0" in out, out
    wait_exit(pid)
    assert env.pyrunc("delete", cid).returncode == 0


def test_exec_t_with_console_socket_and_under_a_terminal(env):
    cid = env.cid()
    assert env.pyrunc("run", "-d", "-b", env.bundle(env.spec(["sleep", "1000"])),
                      cid).returncode == 0
    path, server = console_server(env)
    r = env.pyrunc("exec", "-d", "-t", "--console-socket", path, cid, "sh", "-c",
                   "tty; ls /proc/self/fd")
    assert r.returncode == 0, r.stderr
    _, master = receive_master(server)
    lines = read_all(master).replace(b"\r", b"").decode().split()
    assert lines[0].startswith("/dev/pts/")
    assert set(lines[1:]) <= {"0", "1", "2", "3"}, lines
    term = Terminal(env, ["exec", "-t", cid, "sh", "-c", "tty; exit 5"])
    code, out = term.finish()
    assert code == 5
    assert out.replace("\r", "").startswith("/dev/pts/")
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_terminal_without_console_socket_in_detached_modes_is_refused(env):
    spec = tty_spec(env, ["true"])
    for args in (["create"], ["run", "-d"]):
        r = env.pyrunc(*args, "-b", env.bundle(spec), env.cid())
        assert r.returncode == 1
        assert r.stderr.strip() == ("cannot allocate tty if runc will detach without "
                                    "setting console socket")
    r = env.pyrunc("create", "--console-socket", str(env.tmp / "missing.sock"), "-b",
                   env.bundle(spec), env.cid())
    assert r.returncode == 1
    assert r.stderr.strip() == '--console-socket "%s": no such file or directory' % (
        env.tmp / "missing.sock")
    r = env.pyrunc("create", "--console-socket", str(env.tmp / "x.sock"), "-b",
                   env.bundle(env.spec(["true"])), env.cid())
    assert r.returncode == 1
    assert "process.terminal is false" in r.stderr
    # longer than a unix socket's address (108 bytes): no errno, a clean error
    long_path = "/tmp/" + "x" * 200 + ".sock"
    r = env.pyrunc("create", "--console-socket", long_path, "-b", env.bundle(spec), env.cid())
    assert r.returncode == 1
    assert r.stderr.strip() == '--console-socket "%s": AF_UNIX path too long' % long_path


# -- CVE-2025-52565 class ------------------------------------------------------

def _spec_with_own_dev(env, own_rootfs):
    """A container whose /dev is the image's own directory (no tmpfs), so
    the image decides what is there."""
    spec = tty_spec(env, ["true"])
    spec["root"] = {"path": str(own_rootfs)}
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/dev"]
    return spec


def test_a_dev_console_symlink_in_the_image_is_never_followed(env, own_rootfs, tmp_path):
    target = own_rootfs / "etc" / "target"
    target.write_text("precious\n")
    os.symlink("/etc/target", own_rootfs / "dev" / "console")
    spec = _spec_with_own_dev(env, own_rootfs)
    path, server = console_server(env)
    cid = env.cid()
    r = env.pyrunc("create", "--console-socket", path, "-b", env.bundle(spec), cid)
    server.close()
    assert r.returncode == 1
    assert r.stderr.strip() == ("set up the console (pty): too many levels of symbolic links")
    assert target.read_text() == "precious\n"
    with open("/proc/self/mountinfo") as f:
        assert str(own_rootfs) not in f.read()


def test_a_fake_ptmx_in_the_image_is_refused(env, own_rootfs):
    """/dev/ptmx must be on the container's devpts, not a file the image put
    there.  (A ptmx device node of the image's own fails in the kernel
    already: no devpts beside it.)"""
    (own_rootfs / "dev" / "pts").mkdir(exist_ok=True)
    (own_rootfs / "dev" / "ptmx").write_text("")
    os.chmod(own_rootfs / "dev" / "ptmx", 0o666)
    spec = _spec_with_own_dev(env, own_rootfs)
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/dev/pts"]
    path, server = console_server(env)
    r = env.pyrunc("create", "--console-socket", path, "-b", env.bundle(spec), env.cid())
    server.close()
    assert r.returncode == 1
    assert "/dev/ptmx is not on the container's devpts" in r.stderr, r.stderr


@pytest.mark.parametrize("bad", [{"height": -1, "width": 5}, {"height": 5}])
def test_bad_console_size_is_refused(env, bad):
    spec = tty_spec(env, ["true"])
    spec["process"]["consoleSize"] = bad
    path, server = console_server(env)
    r = env.pyrunc("create", "--console-socket", path, "-b", env.bundle(spec), env.cid())
    server.close()
    assert r.returncode == 1
    assert r.stderr.startswith("process.consoleSize."), r.stderr
    assert json.loads(env.pyrunc("list", "-f", "json").stdout or "[]") == []
