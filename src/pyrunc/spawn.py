"""The boundary with the C shim: turn a SpawnPlan into C structs, clone the
child, and answer it at its sync points over a SOCK_SEQPACKET socketpair.

The parent side of each sync point is a callback, so that this module knows
the protocol and nothing of cgroups or hooks.
"""
from __future__ import annotations

import os

from .errors import SpawnError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

    from .plan import SpawnPlan

    # the compiled cffi shim has no stubs
    ffi: Any
    lib: Any

    # on_sync(sync_id, pid) -> (the reply's bytes or None, what to do once
    # the child has them or None, the fds to pass with them)
    OnSync = Callable[[int, int], tuple[bytes | None, Callable[[], object] | None,
                                        Sequence[int]]]
else:
    from ._shim import ffi, lib

# enum pyrunc_detail -> what it adds to the failing step's words
DETAILS = {
    lib.PYRUNC_DETAIL_NOT_PROCFS: "the target is not on a procfs",
    lib.PYRUNC_DETAIL_NOT_DEVNULL: "/dev/null is not the null device",
    lib.PYRUNC_DETAIL_SYMLINK_TARGET: "a symlink is on the way to the target: refused",
    lib.PYRUNC_DETAIL_NOT_DEVPTS: "/dev/ptmx is not on the container's devpts",
    lib.PYRUNC_DETAIL_CWD_OUTSIDE: "it is outside the container's root",
    lib.PYRUNC_DETAIL_IN_PROCFS: "the target resolves inside /proc: refused (only procfs on "
                                 "/proc and the files lxcfs emulates may be mounted there)",
    lib.PYRUNC_DETAIL_SOURCE_NOT_PROCFS: "the source is not a procfs: only a procfs may be "
                                         "mounted on /proc",
    lib.PYRUNC_DETAIL_NOT_DEVICE: "the host's file there is not that device: refused",
}
# the C slots are long long: a uint64 (an rlimit's RLIM_INFINITY) goes
# there as the same 64 bits
_U64_WRAP = 1 << 64
_I64_MAX = (1 << 63) - 1

# struct pyrunc_op's slots by the kind of value they hold
_SLOT_KINDS = {"flags": "int", "a": "int", "b": "int", "c": "int", "d": "int",
               "s1": "str", "s2": "str", "s3": "str", "s4": "str", "v1": "vec", "v2": "vec"}


class Child:
    """A container child being set up.  `pids` are the processes of ours
    that exist (the first child, and the init if it was forked)."""

    def __init__(self, plan: SpawnPlan) -> None:
        self.plan = plan
        self.keep: list[Any] = []   # cffi objects the C side points into
        self.pid = 0          # the init
        self.first_pid = 0    # the process clone() made
        self.pidfd = -1
        self.sock = -1
        self.cgroup_fd = -1   # a cgroup2 directory to clone into
        self.reaped: set[int] = set()
        # what the child's messages are received into (_recv)
        self._msg = ffi.new("struct pyrunc_msg *")
        self._fd = ffi.new("int *")
        steps = plan.steps
        ops = ffi.new("struct pyrunc_op[]", len(steps))
        # Every string of the plan goes into one buffer (one allocation,
        # not one per string): 8-aligned, each NUL-terminated; the slots
        # point into it once it exists.
        blob: list[bytes] = []
        size = 0
        at: list[tuple[Any, str, int]] = []            # (op, slot, offset)
        vectors: list[tuple[Any, str, list[int]]] = []  # (op, slot, offsets)

        def place(v: str | bytes) -> int:
            nonlocal size
            b = v.encode() if isinstance(v, str) else v
            offset = size
            pad = -(len(b) + 1) % 8
            blob.append(b + bytes(1 + pad))
            size += len(b) + 1 + pad
            return offset
        for i, step in enumerate(steps):
            op = ops[i]
            op.kind = getattr(lib, "PYRUNC_OP_" + step.KIND)
            # (the values of each kind of slot are its kind's: ints,
            # strings or bytes, string vectors)
            slots: Mapping[str, Any] = step.slots
            for name, v in slots.items():
                kind = _SLOT_KINDS[name]
                if kind == "int":
                    if v:
                        setattr(op, name, v - _U64_WRAP if v > _I64_MAX else v)
                elif kind == "str":
                    at.append((op, name, place(v)))
                else:
                    vectors.append((op, name, [place(x) for x in v]))
        buf = ffi.new("char[]", b"".join(blob))
        self.keep.append(buf)
        for op, name, offset in at:
            setattr(op, name, buf + offset)
        for op, name, offsets in vectors:
            arr = ffi.new("char *[]", len(offsets) + 1)
            for j, offset in enumerate(offsets):
                arr[j] = buf + offset
            self.keep.append(arr)
            setattr(op, name, arr)
        self.ops = ops
        self.payload_size = 1 << 16
        self.payload = ffi.new("char[]", self.payload_size)
        self.cplan = ffi.new("struct pyrunc_plan *")
        self.cplan.clone_flags = plan.clone_flags
        self.cplan.cgroup_fd = -1
        self.cplan.n_ops = len(steps)
        self.cplan.ops = ops
        self.cplan.payload = self.payload
        self.cplan.payload_size = self.payload_size

    def spawn(self) -> None:
        fds = ffi.new("int[2]")
        r = lib.pyrunc_socketpair(fds)
        if r < 0:
            raise SpawnError("socketpair: %s" % strerror(-r))
        self.sock = fds[0]
        self.cplan.sync_fd = fds[1]
        self.cplan.sync_peer_fd = fds[0]
        pidfd = ffi.new("int *")
        self.cplan.cgroup_fd = self.cgroup_fd
        try:
            pid = lib.pyrunc_spawn(self.cplan, pidfd)
        finally:
            os.close(fds[1])
            if self.cgroup_fd >= 0:
                os.close(self.cgroup_fd)
                self.cgroup_fd = -1
        if pid < 0:
            os.close(self.sock)
            self.sock = -1   # (kill() closes what is left: not this twice)
            raise SpawnError("clone: %s" % strerror(-pid))
        self.first_pid = self.pid = pid
        self.pidfd = pidfd[0]

    def run(self, on_sync: OnSync, on_seccomp_fd: Callable[[int, int], object] | None = None,
            on_console_fd: Callable[[int], object] | None = None,
            until_exec: bool = False) -> None:
        """Serve the child until it reports created (or, until_exec: until
        it has exec'd, which closes its end of the socket).  on_sync(sync_id,
        pid) returns the bytes to answer with, what to do once the child
        has them (or None) and the fds to pass with them (closed here); on_seccomp_fd(fd, pid) takes the seccomp
        notify listener fd and on_console_fd(fd) the pty master; run closes
        both afterwards."""
        while True:
            msg, fd = self._recv()
            if msg is None:
                if until_exec:
                    return
                raise SpawnError(self._died_text())
            mtype, op, err, pid, arg = msg.type, msg.op, msg.err, msg.pid, msg.arg
            if fd >= 0:
                try:
                    if mtype == lib.PYRUNC_MSG_SECCOMP_FD and on_seccomp_fd is not None:
                        on_seccomp_fd(fd, pid)
                    elif mtype == lib.PYRUNC_MSG_CONSOLE_FD and on_console_fd is not None:
                        on_console_fd(fd)
                finally:
                    os.close(fd)
                continue
            if mtype == lib.PYRUNC_MSG_SYNC:
                reply, after, fds = on_sync(arg, self.first_pid)
                reply = reply or b"\0"
                try:
                    if len(reply) > self.payload_size:
                        raise SpawnError("hook state too large (%d bytes)" % len(reply))
                    if fds:
                        self._send_fds(reply, fds)
                    else:
                        os.write(self.sock, reply)
                finally:
                    for fd in fds:
                        os.close(fd)
                if after is not None:
                    after()
            elif mtype == lib.PYRUNC_MSG_PID:
                # The first child forked the init into its pid namespace
                # and exits: reap it, the init is ours (CLONE_PARENT).
                self.pid = pid
                self._reap(self.first_pid)
                if self.pidfd >= 0:
                    os.close(self.pidfd)
                    self.pidfd = -1
            elif mtype == lib.PYRUNC_MSG_ERROR:
                steps = self.plan.steps
                raise SpawnError(self.describe_error(op, err, arg, pid),
                                 step=steps[op].desc if 0 <= op < len(steps) else None,
                                 errno=err or None)
            elif mtype == lib.PYRUNC_MSG_READY:
                return

    def _send_fds(self, reply: bytes, fds: Sequence[int]) -> None:
        r = lib.pyrunc_send_fds(self.sock, reply, len(reply), fds, len(fds))
        if r < 0:
            raise SpawnError("send to the child: %s" % os.strerror(-r))

    def _recv(self) -> tuple[Any, int]:
        """The child's next struct pyrunc_msg (None: it is gone, or it
        exec'd) and the fd that came with it or -1 (a seccomp notify
        listener, a pty master)."""
        size = ffi.sizeof("struct pyrunc_msg")
        n = lib.pyrunc_recv_fd(self.sock, self._msg, size, self._fd)
        if n < 0:
            raise OSError(-n, os.strerror(-n))
        if n == 0:
            return None, -1
        if n != size:
            raise SpawnError("a message of %d bytes from the child (not %d)" % (n, size))
        return self._msg, int(self._fd[0])

    def error_after_start(self) -> str | None:
        """Once the container is started: the words of the error of a step
        up to execve, or None when it exec'd (execve closes the child's
        end of the socket) or died without one."""
        try:
            msg, fd = self._recv()
        except (OSError, SpawnError):
            return None
        if fd >= 0:
            os.close(fd)
        if msg is None or msg.type != lib.PYRUNC_MSG_ERROR:
            return None
        return self.describe_error(msg.op, msg.err, msg.arg, msg.pid)

    def describe_error(self, index: int, err: int, detail: int, status: int) -> str:
        steps = self.plan.steps
        desc = steps[index].desc if index < len(steps) else "exec"
        if detail == lib.PYRUNC_DETAIL_SYMLINK_TARGET and index < len(steps):
            # (runc's words, which callers match on; s3: a mount's fstype,
            # printed as it is)
            fstype: object = steps[index].slots.get("s3")
            return '%s: filesystem "%s" must be mounted on ordinary directory (%s)' % (
                desc, fstype, DETAILS[detail])
        if detail in DETAILS:
            return "%s: %s" % (desc, DETAILS[detail])
        if detail == lib.PYRUNC_DETAIL_HOOK_STATUS:
            from .hooks import wait_status_text   # (hooks.py: only where there are hooks)
            return "%s: %s" % (desc, wait_status_text(status))
        if index < len(steps) and steps[index].kind == "LOOKUP":
            name = steps[index].slots["s1"]
            assert isinstance(name, str)   # (s1 of a LOOKUP step: its name, a str)
            if err == 2 and "/" not in name:
                return '%s: executable file not found in $PATH' % desc
            if err == 2:
                return "%s: stat %s: %s" % (desc, name, strerror(err))
            return "%s: %s" % (desc, strerror(err))   # runc's words
        return "%s: %s" % (desc, strerror(err))

    def _died_text(self) -> str:
        status = self._reap(self.pid)
        if status is None:
            return "container init exited before it was set up"
        from .hooks import wait_status_text
        return "container init exited before it was set up: %s" % wait_status_text(status)

    def _reap(self, pid: int) -> int | None:
        if pid in self.reaped or pid <= 0:
            return None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
        self.reaped.add(pid)
        return status

    def close(self) -> None:
        if self.sock >= 0:
            os.close(self.sock)
            self.sock = -1
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def kill(self) -> None:
        """Kill and reap whatever of the child exists (a failed create)."""
        for pid in {self.first_pid, self.pid}:
            if pid > 0 and pid not in self.reaped:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
                self._reap(pid)
        self.close()
