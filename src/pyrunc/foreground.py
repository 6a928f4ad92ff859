"""The foreground of `run` and `exec`: the runtime stays with the
container's process, passes on the signals it gets, relays its terminal,
reaps what it leaves (as a child subreaper) and returns its exit status."""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    # typeshed has no stub of _signal: its functions are signal's, with
    # plain ints for the handlers signal gives as enums
    import signal as _signal
    from types import FrameType
    from typing import Any, Callable, Optional, Union

    from .log import Log
    from .spawn import Child

    # what _signal.signal() takes and returns
    SignalHandler = Union[Callable[[int, Optional[FrameType]], Any], int, None]
else:
    # _signal, not signal: the signal module builds enums at import (~2 ms).
    import _signal


# SIGKILL, SIGSTOP cannot be caught; faults are ours; SIGCHLD is for us.
NOT_FORWARDED = {4, 5, 7, 8, 9, 11, 17, 19, 13}


class Forwarder:
    """Catch every signal that can be forwarded; pass each to the process
    once to() names it (those that came before are passed on then)."""

    def __init__(self) -> None:
        self.pid = 0
        self.pending: list[int] = []
        self.old: dict[int, SignalHandler] = {}
        for s in range(1, 32):
            if s not in NOT_FORWARDED:
                try:
                    self.old[s] = _signal.signal(s, self._on_signal)
                except (OSError, ValueError):
                    pass

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.pid:
            self.pending.append(signum)
            return
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def to(self, pid: int) -> None:
        self.pid = pid
        pending, self.pending = self.pending, []
        for signum in pending:
            self._on_signal(signum, None)

    def restore(self) -> None:
        """Put the old handlers back; signals that came for a process that
        never started are this process's own again (SIGTERM ends it)."""
        old, self.old = self.old, {}
        for s, h in old.items():
            _signal.signal(s, h)
        pending, self.pending = self.pending, []
        for signum in pending:
            os.kill(os.getpid(), signum)


def keep_master(fd: int) -> int:
    """The pty master for the foreground relay, sized as our terminal."""
    from .console import take_size
    take_size(fd)
    return os.dup(fd)


def become_subreaper() -> None:
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    lib.pyrunc_set_child_subreaper()


def reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def supervise(pid: int, log: Log, subreaper: bool, master: int | None = None,
              first: Callable[[], object] | None = None, forwarder: Forwarder | None = None,
              late: Child | None = None) -> int:
    """Forward every catchable signal to pid (with forwarder, a Forwarder
    made before pid existed; None: no handler is installed), relay its
    terminal (master), wait for it.  first() runs once the signals are
    forwarded.  late: the
    init's Child, whose error from a step after start (execve,
    startContainer hooks) is reported as runc reports it, on log.
    subreaper: reap the orphans the process left.  Returns the exit code
    (128+N for signal N)."""
    try:
        if forwarder is not None:
            forwarder.to(pid)
        if first is not None:
            first()
        watch: dict[int, Callable[[], bool]] = {}
        if late is not None:
            def report() -> bool:
                err = late.error_after_start()
                if err:
                    log.error(err, echo=True)
                return False   # one message, or EOF at execve: done
            if master is None:
                report()
            else:
                watch[late.sock] = report
        if master is not None:
            from .console import relay
            pidfd = os.pidfd_open(pid)
            try:
                relay(master, pidfd, watch=watch)
            finally:
                os.close(pidfd)
        _, status = os.waitpid(pid, 0)
    finally:
        if forwarder is not None:
            forwarder.restore()
        if subreaper:
            reap_orphans()
    return exit_code(status)


def exit_code(status: int) -> int:
    """A wait status as a shell gives it: the exit code, 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
