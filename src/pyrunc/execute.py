"""`exec`: a new process in a running container (Container.exec)."""
from __future__ import annotations

import os

from . import state as st
from .cgroups import Cgroups
from .errors import WrongState, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

    from .console import ConsoleSocket
    from .container import Container


def execute(container: Container, process: dict[str, Any], detach: bool = False,
            pid_file: str | None = None, console_socket: str | None = None,
            preserve_fds: int = 0, ignore_paused: bool = False, sub_cgroups: Sequence[str] = (),
            stdio: tuple[int | None, ...] | None = None, forward_signals: bool = False) -> int:
    """Run `process` (a checked process object) in the container, as runc
    exec does.  Detached, return its pid once it has exec'd; else wait and
    return its exit status.  See Container.exec."""
    from .console import check_mode
    from .foreground import Forwarder, supervise
    rt = container.runtime
    check_mode(bool(process.get("terminal")), console_socket, detach)
    sock = None
    if console_socket:
        from .console import ConsoleSocket
        sock = ConsoleSocket(console_socket)
    masters: list[int] = []
    # In the foreground, signals are caught from before the process exists
    # (it may run, and its caller signal us, before _spawn returns) and
    # passed on once it does.
    forwarder = Forwarder() if forward_signals and not detach else None
    try:
        pid = _spawn(container, process, detach, pid_file, sock, masters, preserve_fds,
                     ignore_paused, sub_cgroups, stdio)
        if detach:
            return pid
        status: int = supervise(pid, rt.log, rt.subreaper, masters[0] if masters else None,
                                forwarder=forwarder)
        return status
    finally:
        if forwarder is not None:
            forwarder.restore()
        if sock is not None:
            sock.close()
        for fd in masters:
            os.close(fd)


def _spawn(container: Container, process: dict[str, Any], detach: bool, pid_file: str | None,
           sock: ConsoleSocket | None, masters: list[int], preserve_fds: int,
           ignore_paused: bool, sub_cgroups: Sequence[str],
           stdio: tuple[int | None, ...] | None) -> int:
    from . import host
    from .container import _Locked, write_pid_file
    from .foreground import become_subreaper, keep_master
    from .plan import make_exec_plan
    from .spawn import Child
    rt = container.runtime
    child = None
    pidfd = -1
    # The lock is held until the child exists, not until it has exec'd: in
    # a paused container (--ignore-paused) it waits, frozen, for `resume`,
    # which takes the lock.
    with _Locked(rt.root, container.id) as (sd, state):
        status = st.status_of(sd, state)
        if status == "stopped":
            raise WrongState("cannot exec in a stopped container")
        if status == "paused" and not ignore_paused:
            raise WrongState("cannot exec in a paused container (use --ignore-paused to "
                             "override)")
        config = sd.load_config()
        if config is None:
            raise WrongState("container %s has no saved config to exec with"
                             % quote(container.id))
        try:
            pidfd = os.pidfd_open(state["pid"])
        except ProcessLookupError:
            raise WrongState("cannot exec in a stopped container") from None
        try:
            if not st.init_alive(state):   # the pid was reused
                raise WrongState("cannot exec in a stopped container")
            host.give_home(process, "/proc/%d/root" % state["pid"])
            cgroups = Cgroups.from_state(state.get("cgroups"))
            if sub_cgroups:
                cgroups = cgroups.sub(sub_cgroups)
            facts = host.host_info(cgroups, process)
            rdt = state.get("intel_rdt")
            if rdt:
                from .resctrl import task_files
                facts.rdt_tasks = task_files(rdt)
            plan = make_exec_plan(config, process, facts, pidfd, state["pid"], preserve_fds,
                                  rt.listen_fds, lock_fd=sd.lock_fd, stdio=stdio,
                                  compile_seccomp=rt._seccomp_compiler())
            rt._announce(plan)
            if not detach and rt.subreaper:
                become_subreaper()
            child = Child(plan)
            child.spawn()
            sd.unlock()
            on_seccomp_fd: Callable[[int, int], None] | None = None
            listener = plan.seccomp_listener
            if listener is not None:
                def to_listener(fd: int, _pid: int) -> None:
                    from .notify import send_to_seccomp_listener
                    send_to_seccomp_listener(listener, fd, child.pid, sd.id,
                                             state["bundle"], state.get("annotations"), status)
                on_seccomp_fd = to_listener
            on_console = sock.send if sock is not None else (
                lambda fd: masters.append(keep_master(fd)))
            child.run(lambda *_: (None, None, ()), on_seccomp_fd, on_console, until_exec=True)
            pid = child.pid
            if pid_file:
                write_pid_file(pid_file, pid)
            child.close()
            return pid
        except BaseException:
            if child is not None:
                child.kill()
            raise
        finally:
            os.close(pidfd)
