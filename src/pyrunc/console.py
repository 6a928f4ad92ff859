"""Terminals.  With process.terminal the child makes a pty in the
container's devpts and sends the master up the sync socket; the runtime
either passes it on to --console-socket (what containerd's shim and conmon
listen on) or, in the foreground, relays between its own stdio and the pty.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    # typeshed has no stub of _signal: its functions are signal's (which
    # gives enums where _signal gives ints)
    import signal as _signal
    from typing import Callable
else:
    # _signal, not signal (see runtime.py)
    import _signal

from .errors import BadArgument, SpawnError, strerror

SIGWINCH = 28
_TIOCGWINSZ = 0x5413
_TIOCSWINSZ = 0x5414


def check_mode(terminal: bool, console_socket: str | None, detach: bool) -> None:
    """runc's rules for where the pty master goes."""
    if terminal and detach and not console_socket:
        raise BadArgument("cannot allocate tty if runc will detach without setting console "
                          "socket")
    if console_socket and not terminal:
        raise BadArgument("--console-socket: the process has no terminal (process.terminal "
                          "is false)")


class ConsoleSocket:
    """A connection to --console-socket, made before the container is (a
    wrong path fails early, with nothing to undo)."""

    def __init__(self, path: str) -> None:
        import _socket
        self.path = path
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            # (no errno for a path longer than sun_path: "AF_UNIX path too long")
            why = strerror(e.errno) if e.errno is not None else str(e)
            raise BadArgument('--console-socket "%s": %s' % (path, why)) from None

    def send(self, master: int) -> None:
        """Pass the master on, with its name as runc sends it."""
        import _socket
        import sys
        try:
            self.sock.sendmsg([b"/dev/ptmx"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                                master.to_bytes(4, sys.byteorder))])
        except OSError as e:
            # (for mypy: sendmsg of one 4-byte SCM_RIGHTS item fails only in
            # the syscall, which always sets errno)
            assert e.errno is not None
            raise SpawnError('console socket "%s": %s' % (self.path, strerror(e.errno))) \
                from None

    def close(self) -> None:
        self.sock.close()


def take_size(master: int, src: int = 0) -> None:
    """Give the pty the size of our terminal (if stdin is one), before the
    process starts."""
    if os.isatty(src):
        _copy_size(src, master)


def _copy_size(src: int, master: int) -> None:
    import fcntl
    try:
        size = fcntl.ioctl(src, _TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return
    if size[:4] == b"\0\0\0\0":   # no size known: keep process.consoleSize
        return
    try:
        fcntl.ioctl(master, _TIOCSWINSZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def relay(master: int, pidfd: int, stdin: int = 0, stdout: int = 1,
          watch: dict[int, Callable[[], bool]] | None = None) -> None:
    """Copy stdin to the pty and the pty to stdout until the process behind
    pidfd has exited and what it wrote is drained.  A terminal on stdin is
    put in raw mode (restored afterwards) and lends its size to the pty, at
    start and on every SIGWINCH.  watch: {fd: handler} also served while
    relaying; a handler returns False when its fd is done."""
    watch = dict(watch or {})
    import select
    tty_in = os.isatty(stdin)
    saved = None
    old_winch = None
    if tty_in:
        import termios
        import tty
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
        _copy_size(stdin, master)
        old_winch = _signal.signal(SIGWINCH, lambda *_: _copy_size(stdin, master))
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        routes = {master: stdout, stdin: master}   # from -> to, while open
        for fd in list(routes) + list(watch):
            poller.register(fd, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == pidfd:
                    if master in routes:
                        _drain(master, stdout)
                    return
                if fd in watch:
                    if not watch[fd]():
                        poller.unregister(fd)
                        del watch[fd]
                    continue
                if fd not in routes:
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:   # the master: EIO once every peer is closed
                    data = b""
                if data:
                    _write_all(routes[fd], data)
                else:
                    poller.unregister(fd)
                    del routes[fd]
    finally:
        if saved is not None:
            import termios
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
            _signal.signal(SIGWINCH, old_winch)


def _drain(master: int, stdout: int) -> None:
    """What the process wrote before it exited (other processes of the
    container may hold the pty: never block)."""
    os.set_blocking(master, False)
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:   # EAGAIN: nothing more now; EIO: no peer left
            return
        if not data:
            return
        _write_all(stdout, data)
