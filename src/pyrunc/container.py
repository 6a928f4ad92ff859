"""A container of a Runtime, and its state.
(One module of ~590 lines: the public Container, one method per operation
on an existing container, and the clean-up they share.)

    c = rt.create("web", "/path/to/bundle")   # a Container
    c.start()
    c.state().status                          # "running"
    c.exec(["ps"], detach=False)              # its exit status
    c.kill("TERM")
    c.delete(force=True)

A Container is a handle on the state directory <root>/<id>: it holds no
resource of its own, so any number of them may name the same container
(in this process or others, as runc's commands do); every call takes the
container's lock, reads its state and acts on what is true now.
"""
from __future__ import annotations

import os

from . import state as st
from .cgroups import Cgroups
from .errors import ContainerNotFound, PyruncError, WrongState, quote, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    # (_signal has no stub; signal's has its functions)
    import signal as _signal
    from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

    from .cgroups.stats import Stats
    from .events import Event
    from .runtime import Runtime
    from .state import ContainerState, OciState, StateDir

    class HasFileno(Protocol):
        """A stdio argument other than an fd (a file)."""
        def fileno(self) -> int: ...
else:
    # _signal, not signal: the signal module builds enums at import (~2 ms).
    import _signal


class State:
    """A container's state as the runtime-spec defines it: what `pyrunc
    state` prints (to_dict()).  status: creating, created, running,
    paused (runc's) or stopped; pid 0 once stopped."""

    __slots__ = ("id", "status", "pid", "bundle", "rootfs", "created", "owner", "annotations",
                 "oci_version")

    def __init__(self, id: str, status: str, pid: int, bundle: str, rootfs: str = "",
                 created: str = "", owner: str = "", annotations: Mapping[str, str] | None = None,
                 oci_version: str = st.OCI_VERSION) -> None:
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.owner = owner
        self.annotations = dict(annotations or {})
        self.oci_version = oci_version

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> State:
        """From the state document (runtime-spec field names)."""
        return cls(doc["id"], doc["status"], doc.get("pid", 0), doc.get("bundle", ""),
                   doc.get("rootfs", ""), doc.get("created", ""), doc.get("owner", ""),
                   doc.get("annotations"), doc.get("ociVersion", st.OCI_VERSION))

    def to_dict(self) -> OciState:
        """The state document, as runc prints it."""
        out: OciState = {"ociVersion": self.oci_version, "id": self.id, "pid": self.pid,
                         "status": self.status, "bundle": self.bundle, "rootfs": self.rootfs,
                         "created": self.created, "owner": self.owner}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return "State(id=%r, status=%r, pid=%d)" % (self.id, self.status, self.pid)


class Container:
    """A container of runtime `runtime` (see Runtime.container, .load,
    .create, .list)."""

    __slots__ = ("runtime", "id")

    def __init__(self, runtime: Runtime, cid: str) -> None:
        st.check_id(cid)
        self.runtime = runtime
        self.id = cid

    def __repr__(self) -> str:
        return "Container(%r)" % self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Container) and (self.runtime.root, self.id) == \
            (other.runtime.root, other.id)

    def __hash__(self) -> int:
        return hash((self.runtime.root, self.id))

    def _locked(self) -> _Locked:
        return _Locked(self.runtime.root, self.id)

    # -- state -------------------------------------------------------------
    def state(self) -> State:
        """The container's State now."""
        with self._locked() as (sd, state):
            return State.from_dict(st.oci_state(sd, state))

    @property
    def status(self) -> str:
        """The status now: created, running, paused or stopped."""
        return self.state().status

    @property
    def pid(self) -> int:
        """The init's pid (0 once stopped)."""
        return self.state().pid

    def wait(self) -> int | None:
        """Wait until the init has exited.  Returns its exit status (128+N
        for signal N) when it is this process's child (a container this
        process created, not yet reaped), else None."""
        with self._locked() as (_sd, state):
            pid = state.get("pid") or 0
            stat = st.proc_stat(pid) if pid > 0 else None
            if stat is None or stat[2] != state.get("start_time"):
                return None   # gone, or another process has the pid now
            if stat[1] == os.getpid():
                fd = -1
            else:
                try:
                    fd = os.pidfd_open(pid)
                except ProcessLookupError:
                    return None
                again = st.proc_stat(pid)
                if again is None or again[2] != stat[2]:   # reused meanwhile
                    os.close(fd)
                    return None
        if fd < 0:
            from .foreground import exit_code
            status: int = exit_code(os.waitpid(pid, 0)[1])
            return status
        _wait_pidfds([fd], timeout_ms=-1)
        return None

    # -- start -------------------------------------------------------------
    def start(self) -> None:
        """Run the user process of a created container; poststart hooks run
        once it has exec'd."""
        with self._locked() as (sd, state):
            status = st.status_of(sd, state)
            if status != "created":
                raise WrongState("cannot start a container that is %s" % status
                                 if status != "running" else
                                 "cannot start an already running container")
            if not state.get("has_process", True):
                raise WrongState("cannot start container %s: config.json has no process"
                                 % quote(self.id))
            try:
                fd = os.open(sd.fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as e:
                if e.errno == 6:  # ENXIO: nobody reads: the init is gone
                    raise WrongState("cannot start a container that has stopped") from None
                raise
            hooks = state.get("hooks") or {}
            try:
                os.write(fd, b"0")
                os.unlink(sd.fifo)
                if hooks.get("poststart"):
                    # poststart hooks run once the user process runs
                    _wait_exec(fd)
            finally:
                os.close(fd)
            if hooks.get("poststart"):
                from .hooks import run_hooks_warn   # (hooks.py: only where there are hooks)
                run_hooks_warn(hooks, "poststart",
                               st.hook_state(self.id, "running", state["pid"], state["bundle"],
                                             state.get("annotations")), self.runtime.log.warn)

    # -- kill --------------------------------------------------------------
    def kill(self, signal: int | str = 15, all: bool = False) -> None:
        """Send signal (a number, or a name: "KILL", "SIGKILL", "9") to the
        init, or with all to every process of the container (0 only
        checks that it runs)."""
        sig = _signal_number(signal)
        with self._locked() as (sd, state):
            status = st.status_of(sd, state)
            cg = Cgroups.from_state(state.get("cgroups"))
            if status == "stopped" and not (all and cg.pids()):
                # (all still reaches processes left without their init,
                # as in a container without a pid namespace)
                raise WrongState("container not running")
            if all:
                cg.signal_all(sig, paused=status == "paused")
                if not st.init_alive(state):
                    return
            _signal_init(state, sig)

    # -- pause / resume / update ---------------------------------------------
    def pause(self) -> None:
        """Freeze every process of a created or running container."""
        with self._locked() as (sd, state):
            status = st.status_of(sd, state)
            if status not in ("running", "created"):
                raise WrongState("container not running" if status != "paused" else
                                 "container already paused")
            # The compiled front-end does not read the paused mark: from now
            # on, start and delete of this container go through Python.  (A
            # systemd scope is frozen through its cgroup.freeze too, as runc
            # does; delete -f kills through cgroup.kill before StopUnit.)
            sd.drop_fastpath()
            Cgroups.from_state(state.get("cgroups")).freeze(True)
            state["paused"] = True
            sd.save(state)

    def resume(self) -> None:
        """Thaw a paused container."""
        with self._locked() as (sd, state):
            if st.status_of(sd, state) != "paused":
                raise WrongState("container not paused")
            Cgroups.from_state(state.get("cgroups")).freeze(False)
            state["paused"] = False
            sd.save(state)

    def update(self, resources: dict[str, Any] | None = None, **flags: int | str | None) -> None:
        """Apply new limits to a container that is not stopped: a
        linux.resources object, or runc's update flags by their Python
        names (memory="64m", cpu_share=512, pids_limit=50; see
        update.UPDATE_FLAGS), not both.  Either is checked first."""
        from .update import checked, resources_from_flags
        if resources is not None and any(v is not None for v in flags.values()):
            from .errors import BadArgument
            raise BadArgument("update: resources or flags, not both")
        # (Intel RDT's are no linux.resources: the container's resctrl group's)
        l3, mb = (str(v) if v is not None else None
                  for v in (flags.pop("l3_cache_schema", None), flags.pop("mem_bw_schema", None)))
        resources = checked(resources) if resources is not None else \
            resources_from_flags(**flags)
        with self._locked() as (sd, state):
            if st.status_of(sd, state) == "stopped":
                raise WrongState("container not running")
            if l3 or mb:
                from .resctrl import check_update, update
                rdt = state.get("intel_rdt")
                check_update(rdt, l3, mb)
                assert rdt is not None   # (check_update: it has one)
                update(rdt, l3, mb)
            cg = Cgroups.from_state(state.get("cgroups"))
            memory = resources.get("memory") or {}
            if memory.get("checkBeforeUpdate") and memory.get("limit", -1) > 0:
                usage = cg.memory_usage()
                if usage is not None and usage > memory["limit"]:
                    raise WrongState("linux.resources.memory.limit: %d is below the current "
                                     "usage (%d)" % (memory["limit"], usage))
            cg.apply(resources, self.runtime.log.warn)

    # -- ps / stats / events -------------------------------------------------
    def pids(self) -> list[int]:
        """The host pids of the container's processes (none once stopped)."""
        with self._locked() as (sd, state):
            if st.status_of(sd, state) == "stopped":
                return []
            return sorted(Cgroups.from_state(state.get("cgroups")).pids())

    def ps(self, ps_args: Iterable[str] = ("-ef",)) -> list[str]:
        """`ps ps_args` of the host, only the lines of the container's
        processes (and the header), as runc's ps prints them."""
        import subprocess
        pids = set(self.pids())
        try:
            out = subprocess.run(["ps"] + list(ps_args), capture_output=True, text=True,
                                 check=True).stdout
        except subprocess.CalledProcessError as e:
            raise PyruncError("ps: %s" % ((e.stderr or "").strip() or
                                          "exit status %d" % e.returncode)) from None
        except OSError as e:
            why = strerror(e.errno) if e.errno is not None else str(e)
            raise PyruncError("ps: %s" % why, errno=e.errno) from None
        lines = out.splitlines()
        if not lines:
            return []
        header = lines[0].split()
        if "PID" not in header:
            raise PyruncError("ps: no PID column in its output")
        col = header.index("PID")
        return [lines[0]] + [line for line in lines[1:]
                             if _pid_field(line, col) in pids]

    def stats(self) -> Stats:
        """runc's stats of the container (the "data" of a stats event)."""
        with self._locked() as (sd, state):
            if st.status_of(sd, state) == "stopped":
                raise WrongState("container not running")
            return Cgroups.from_state(state.get("cgroups")).stats()

    def events(self, emit: Callable[[Event], None], interval: float = 5.0) -> None:
        """runc's event stream: emit(event) with a stats event every
        interval seconds and an oom event at each OOM kill, until the
        init exits (see events.py)."""
        from . import events
        cg, pid_fd = self._watch()
        try:
            events.stream(self.id, cg, pid_fd, interval, emit)
        finally:
            os.close(pid_fd)

    def _watch(self) -> tuple[Cgroups, int]:
        with self._locked() as (sd, state):
            if st.status_of(sd, state) == "stopped":
                raise WrongState("container not running")
            cg = Cgroups.from_state(state.get("cgroups"))
            try:
                pid_fd = os.pidfd_open(state["pid"])
            except ProcessLookupError:   # it died since the check
                raise WrongState("container not running") from None
            if not st.init_alive(state):
                os.close(pid_fd)
                raise WrongState("container not running")
            return cg, pid_fd

    # -- exec --------------------------------------------------------------
    def process(self) -> dict[str, Any] | None:
        """The process object the container was created with: what exec
        starts from (None for a container created without one)."""
        with self._locked() as (sd, _state):
            config = sd.load_config() or {}
        return config.get("process")

    def exec(self, args: Sequence[str] | None = None, process: dict[str, Any] | None = None,
             detach: bool = False, tty: bool = False, env: Iterable[str] = (),
             cwd: str | None = None, user: str | tuple[int, int] | None = None,
             additional_gids: Iterable[int] = (), caps: Iterable[str] = (),
             no_new_privileges: bool = False, apparmor: str | None = None,
             selinux_label: str | None = None, pid_file: str | None = None,
             console_socket: str | None = None, preserve_fds: int = 0,
             ignore_paused: bool = False, cgroup: Sequence[str] = (),
             stdin: int | HasFileno | None = None, stdout: int | HasFileno | None = None,
             stderr: int | HasFileno | None = None, forward_signals: bool = False) -> int:
        """Run a new process in the container, as runc exec does: args
        over the container's own process with runc's exec options applied
        (processes.exec_process), or a whole process object.  Detached,
        return its pid once it has exec'd; else wait for it and return its
        exit status (128+N for signal N).  stdin/stdout/stderr: fds (or
        files) the process gets instead of this process's own.  cgroup:
        runc's --cgroup values, [CONTROLLER:]SUB, existing sub-cgroups to
        join.  forward_signals: in the foreground, pass on the signals
        this process gets (installs handlers: the CLI's choice)."""
        from .execute import execute
        from .processes import exec_process
        if process is None:
            process = exec_process(self.process(), args, tty=tty, env=env, cwd=cwd, user=user,
                                   additional_gids=additional_gids, caps=caps,
                                   no_new_privileges=no_new_privileges, apparmor=apparmor,
                                   selinux_label=selinux_label)
        else:
            from .bundle import check_process
            check_process(process)
        return execute(self, process, detach=detach, pid_file=pid_file,
                       console_socket=console_socket, preserve_fds=preserve_fds,
                       ignore_paused=ignore_paused, sub_cgroups=cgroup,
                       stdio=stdio_fds(stdin, stdout, stderr), forward_signals=forward_signals)

    # -- delete ------------------------------------------------------------
    def delete(self, force: bool = False) -> None:
        """Remove a stopped container (force: kill it first, whatever its
        status; a container that is gone already is no error then)."""
        sd = st.StateDir(self.runtime.root, self.id)
        try:
            sd.open()
        except PyruncError:
            if force:
                # containerd deletes with --force what may be gone already
                return
            raise
        try:
            state = sd.load()
            if state is None:
                # a create that died half-way: nothing ran yet
                sd.remove()
                return
            status = st.status_of(sd, state)
            warn = self.runtime.log.warn
            if status != "stopped":
                if not force:
                    raise WrongState("cannot delete container %s that is not stopped: %s"
                                     % (quote(self.id), status))
                try:
                    kill_all_and_wait(state, thaw=status == "paused")
                except (PyruncError, OSError) as e:   # the undoing tries again
                    warn("kill the container's processes: %s" % e)
            _reap_if_ours(state)
            hooks = state.get("hooks") or {}
            done = undo(state, warn)
            if hooks.get("poststop"):
                from .hooks import run_hooks_warn
                run_hooks_warn(hooks, "poststop",
                               st.hook_state(sd.id, "stopped", 0, state["bundle"],
                                             state.get("annotations")), warn)
            if not done:
                raise PyruncError("container %s: not everything of it could be removed (see "
                                  "the warnings); its state is kept for another delete"
                                  % quote(sd.id))
            sd.remove()
        finally:
            sd.unlock()


class _Locked:
    """`with _Locked(root, cid) as (sd, state)`: the container's lock held
    and its state loaded."""

    def __init__(self, root: str, cid: str) -> None:
        self.sd = st.StateDir(root, cid)

    def __enter__(self) -> tuple[StateDir, ContainerState]:
        self.sd.open()
        try:
            state = self.sd.load()
            if state is None:
                raise ContainerNotFound(self.sd.id)
            return self.sd, state
        except BaseException:
            self.sd.unlock()
            raise

    def __exit__(self, *exc: object) -> None:
        self.sd.unlock()


def kill_all_and_wait(state: ContainerState, thaw: bool = False) -> None:
    """SIGKILL everything of the container and wait until it is gone."""
    cg = Cgroups.from_state(state.get("cgroups"))
    init_fd = -1
    if st.init_alive(state):
        try:
            init_fd = os.pidfd_open(state["pid"])
        except OSError:
            pass
        if init_fd >= 0 and not st.init_alive(state):   # pid reused meanwhile
            os.close(init_fd)
            init_fd = -1
    fds = [init_fd] if init_fd >= 0 else []
    for pid in cg.pids():
        if pid != state.get("pid"):
            try:
                fds.append(os.pidfd_open(pid))
            except OSError:
                continue
    cg.signal_all(9, paused=thaw)
    if init_fd >= 0:
        try:
            _signal.pidfd_send_signal(init_fd, 9)
        except ProcessLookupError:
            pass
    _wait_pidfds(fds)


def undo(state: ContainerState, warn: Callable[[str], None]) -> bool:
    """Remove the container's host-side resources: processes left in its
    cgroups, the cgroups, the private bind of its rootfs.  Every step is
    tried whatever the others did; a failure is a warning.  Returns
    whether nothing is left."""
    done = True
    cg = None
    try:
        cg = Cgroups.from_state(state.get("cgroups"))
        if cg.pids() and (state.get("start_time") is not None or cg.owned()):
            # processes that outlived the init (no pid namespace), or the
            # init of a create killed before it recorded it: they go with
            # the container, as with runc.  (In a cgroup that was there
            # before the init was, they may not be ours.)
            kill_all_and_wait(state)
    except (PyruncError, OSError) as e:
        warn("kill the container's processes: %s" % e)
    bind = state.get("host_mount")
    if bind:
        # before the cgroups: a mount under the rootfs bind may sit on a
        # cgroup directory (maskedPaths in /sys/fs/cgroup), which is then
        # busy
        from . import hostmount
        try:
            hostmount.unbind(bind)
        except (PyruncError, OSError) as e:
            warn(str(e))
        done = not hostmount.is_bound(bind)
    try:
        for left in (cg or Cgroups.from_state(state.get("cgroups"))).destroy():
            warn("remove cgroup %s" % left)
            done = False
    except (PyruncError, OSError) as e:
        warn("remove the cgroups: %s" % e)
        done = False
    rdt = state.get("intel_rdt")
    if rdt:
        # (after the processes: a resctrl group with tasks cannot go)
        from .resctrl import destroy
        for left in destroy(rdt):
            warn("remove resctrl group %s" % left)
            done = False
    return done


def _signal_number(signal: int | str) -> int:
    number: int | None
    if isinstance(signal, int) and not isinstance(signal, bool):
        number = signal
        from .linux import SIGRTMAX
        if 0 <= number <= SIGRTMAX:
            return number
    else:
        from .linux import parse_signal
        number = parse_signal(str(signal))
        if number is not None:
            return number
    from .errors import BadArgument
    raise BadArgument("unknown signal %r" % (signal,))


def _reap_if_ours(state: ContainerState) -> None:
    """A library's create leaves the init a child of this process: once it
    has exited, reap it (only that zombie: the pid and its start time)."""
    pid = state.get("pid") or 0
    if pid <= 0 or state.get("start_time") is None:
        return
    if st.proc_stat(pid) == ("Z", os.getpid(), state["start_time"]):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _signal_init(state: ContainerState, sig: int) -> None:
    """Signal the init through a pidfd, after checking that the pid still
    names the process we started (pid reuse)."""
    pid = state["pid"]
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise WrongState("container not running") from None
    try:
        if not st.init_alive(state):
            raise WrongState("container not running")
        _signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        raise WrongState("container not running") from None
    finally:
        os.close(fd)


def _wait_exec(fifo_fd: int) -> None:
    """Wait until the init has no reader end of the exec fifo left: it closes
    on execve (or when the init dies).  For a FIFO's write end, poll reports
    POLLERR once there is no reader."""
    import select
    poller = select.poll()
    poller.register(fifo_fd, 0)
    poller.poll()


def _wait_pidfds(fds: list[int], timeout_ms: int = 10000) -> None:
    """Wait until the processes of the pidfds have exited, reaping those
    that are this process's children (a library's create and exec make
    them so): the init of a pid namespace does not finish exiting before
    every other process of it is reaped."""
    import select
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    pending = set(fds)
    while pending:
        events = poller.poll(timeout_ms)
        if not events:
            break
        for fd, _ in events:
            poller.unregister(fd)
            pending.discard(fd)
            try:
                os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG)
            except ChildProcessError:   # not ours: its parent reaps it
                pass
    for fd in fds:
        os.close(fd)


def _pid_field(line: str, col: int) -> int | None:
    fields = line.split()
    return int(fields[col]) if len(fields) > col and fields[col].isdigit() else None


def stdio_fds(*files: int | HasFileno | None) -> tuple[int | None, ...] | None:
    """fds of stdio arguments (an int, or an object with fileno()), or None."""
    out = tuple(f if f is None or isinstance(f, int) else f.fileno() for f in files)
    return None if all(f is None for f in out) else out


def write_pid_file(path: str, pid: int) -> None:
    """--pid-file: the pid, written atomically (engines poll for it)."""
    st.write_atomic(os.path.abspath(path), str(pid).encode(), 0o644)
