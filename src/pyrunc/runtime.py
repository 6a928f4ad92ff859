"""The library API: a Runtime (a state root) and its containers.

    import pyrunc
    rt = pyrunc.Runtime("/run/pyrunc")
    c = rt.create("web", "/path/to/bundle")     # a pyrunc.Container
    c.start()
    c.state().status                            # "running"
    c.kill("TERM")
    c.delete(force=True)

Layers: this module creates and runs containers; container.py is what is
done to one that exists (start, kill, exec, update, delete, ...); bundle
checks the config, plan turns it into steps, spawn runs them in the child,
state keeps <root>/<id>, cgroups and hooks do their part.  It never
prints: errors are PyruncError, warnings go to on_warning (or a Logger).
"""
from __future__ import annotations

import os

from . import state as st
from .cgroups import Cgroups
from .container import Container, State, stdio_fds, undo, write_pid_file
from .errors import ConfigError, PyruncError, SpawnError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    import builtins
    from typing import Any, Callable, Sequence

    from _typeshed import HasFileno

    from .log import Log
    from .state import ContainerState
    from .plan import SeccompCompiler, SpawnPlan, Stdio
    from .spawn import Child

    # a stdio argument: an fd, an object with fileno() or None (this
    # process's own)
    StdioArg = int | HasFileno | None

DEFAULT_ROOT = st.DEFAULT_ROOT


class Runtime:
    """Containers under one state root (runc's --root).

    on_warning(text) gets what is worth saying but no failure (a resource
    the kernel lacks, a capability it does not know); without it,
    warnings.warn(text, PyruncWarning).  logger: the CLI's Logger (--log,
    --debug) instead.  systemd_cgroup: new containers get a systemd scope
    (cgroupsPath slice:prefix:name).  subreaper: a foreground run or exec
    reaps what the container's process leaves behind (PR_SET_CHILD_SUBREAPER
    on this process: for a program whose other children it would not
    disturb, as the CLI's).  listen_fds: socket activation, fds 3.. passed
    on to the container (LISTEN_FDS)."""

    def __init__(self, root: str | None = None,
                 on_warning: Callable[[str], None] | None = None,
                 logger: Log | None = None, systemd_cgroup: bool = False,
                 subreaper: bool = False, listen_fds: int = 0,
                 rootless: str | bool = "auto") -> None:
        self.root = root or st.default_root()
        self.log: Log = logger if logger is not None else \
            _CallbackLog(on_warning or _python_warning)
        self.systemd = systemd_cgroup
        self.subreaper = subreaper
        self.listen_fds = listen_fds
        # rootless (runc's --rootless): cgroups this process cannot write
        # are done without, unless a limit needs them ("auto": when not
        # the host's root, see host.is_rootless)
        modes: dict[str | bool, bool | None] = {True: True, "true": True, False: False,
                                                "false": False, "auto": None}
        if not isinstance(rootless, (str, bool)) or rootless not in modes:
            from .errors import BadArgument
            raise BadArgument("--rootless %r: auto, true or false" % (rootless,))
        self._rootless = modes[rootless]   # (None: auto)

    def __repr__(self) -> str:
        return "Runtime(%r)" % self.root

    @property
    def rootless(self) -> bool:
        """Does this runtime do without the cgroups it cannot write?"""
        if self._rootless is not None:
            return self._rootless
        from .host import is_rootless
        return is_rootless()

    # -- containers ----------------------------------------------------------
    def container(self, cid: str) -> Container:
        """A handle on container cid (checked when it is used)."""
        return Container(self, cid)

    def load(self, cid: str) -> Container:
        """Container cid, which must exist (else ContainerNotFound)."""
        c = Container(self, cid)
        c.state()
        return c

    # (builtins.list in the annotations of the class: there `list` is this method)
    def list(self) -> builtins.list[Container]:
        """Every container of the root, by id."""
        return [Container(self, s.id) for s in self.states()]

    def states(self) -> builtins.list[State]:
        """The State of every container of the root, by id."""
        out: list[State] = []
        for cid in st.list_ids(self.root):
            try:
                sd = st.StateDir(self.root, cid)
            except PyruncError:
                continue
            state = sd.load()
            if state is None:
                continue
            out.append(State.from_dict(st.oci_state(sd, state)))
        return out

    # -- create ------------------------------------------------------------
    def create(self, cid: str, bundle: str, pid_file: str | None = None, no_pivot: bool = False,
               no_new_keyring: bool = False, preserve_fds: int = 0,
               console_socket: str | None = None, on_console: Callable[[int], object] | None = None,
               stdin: StdioArg = None, stdout: StdioArg = None,
               stderr: StdioArg = None) -> Container:
        """Create container cid from the bundle directory: its init waits
        for start.  With process.terminal, the pty master goes to
        console_socket (a unix socket's path), or to on_console(fd) (a
        function that must dup the fd to keep it).  stdin/stdout/stderr:
        fds (or files) the process gets instead of this process's own.
        Returns the Container."""
        self._create_init(cid, bundle, pid_file, no_pivot, no_new_keyring, preserve_fds,
                          console_socket, on_console, (stdin, stdout, stderr))
        return Container(self, cid)

    def _create_init(self, cid: str, bundle: str, pid_file: str | None = None,
                     no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
                     console_socket: str | None = None,
                     _on_console: Callable[[int], object] | None = None,
                     stdio: Sequence[StdioArg] = (),
                     _keep: builtins.list[Child] | None = None) -> int:
        """create; returns the init's pid.  _keep: a list that gets the
        init's Child (run: its errors after start)."""
        from .bundle import load  # create's own modules: not for start,
        from .console import check_mode  # state, kill, delete
        sd = st.StateDir(self.root, cid)
        bundle = os.path.abspath(bundle)
        config, rootfs, data = load(bundle)
        terminal = bool((config.get("process") or {}).get("terminal"))
        check_mode(terminal, console_socket, detach=_on_console is None)
        sock = None
        if console_socket and terminal:
            from .console import ConsoleSocket
            sock = ConsoleSocket(console_socket)
            _on_console = sock.send
        sd.create()
        try:
            return self._create(sd, config, data, bundle, rootfs, pid_file, no_pivot,
                                no_new_keyring, preserve_fds, _on_console, _keep,
                                stdio_fds(*stdio))
        finally:
            sd.unlock()
            if sock is not None:
                sock.close()

    def _create(self, sd: st.StateDir, config: dict[str, Any], data: bytes, bundle: str,
                rootfs: str, pid_file: str | None, no_pivot: bool, no_new_keyring: bool,
                preserve_fds: int, on_console: Callable[[int], object] | None,
                keep: builtins.list[Child] | None, stdio: Stdio | None) -> int:
        from . import host
        from .plan import SYNC_HOOKS, SYNC_NETDEV, SYNC_SETUP, SYNC_SOURCES, SYNC_TIMENS, \
            make_plan, shares_host_mount_ns
        linux = config.get("linux") or {}
        hooks = config.get("hooks") or {}
        annotations = config.get("annotations") or {}
        cgroups = None
        child = None
        fifo_fd = -1
        host_mount = None
        tree_fds: builtins.list[int] = []   # the plan's idmapped trees, until spawned
        rdt: RdtGroup | None = None
        net_devices = None
        if linux.get("netDevices"):
            from .netdevices import NetDevices
            net_devices = NetDevices(linux["netDevices"])
        try:
            host.check_joined_namespaces(linux)
            if "intelRdt" in linux:
                from .resctrl import RdtGroup, mount_point
                rdt_root = mount_point()
                if rdt_root is None:
                    raise ConfigError("linux.intelRdt: no resctrl file system is mounted on "
                                      "this host: Intel RDT cannot be applied")
                rdt = RdtGroup(linux["intelRdt"], sd.id, rdt_root)
                rdt.check()
            cgroups = Cgroups.for_config(linux.get("cgroupsPath"), sd.id, self.systemd,
                                         rootless=not self.systemd and self.rootless)
            if cgroups.unwritable:
                self.log.debug("rootless: without the cgroup hierarchies %s (not writable by "
                               "uid %d)" % (", ".join(cgroups.unwritable), os.geteuid()))
            # If this process is killed from here on, `delete --force` finds
            # what to remove (the child dies with us: PR_SET_PDEATHSIG): all
            # the host-side resources are recorded before they are made.
            state: ContainerState = {"id": sd.id, "pid": 0, "start_time": None, "bundle": bundle,
                                     "rootfs": rootfs, "created": st.now_rfc3339(), "owner": "",
                                     "annotations": annotations,
                                     "cgroups": cgroups.to_state()}
            if rdt is not None:
                state["intel_rdt"] = rdt.to_state()
            if shares_host_mount_ns(linux):
                from . import hostmount
                host_mount = state["host_mount"] = hostmount.intent(rootfs)
            sd.save(state)
            cgroups.setup(linux.get("resources"), self.log.warn, linux.get("devices") or ())
            if rdt is not None:
                rdt.make()
            process = config.get("process")
            facts = host.host_info(cgroups, process, linux.get("mountLabel"))
            if no_pivot:
                facts.kernel_fs_mounts = host.kernel_fs_mounts(rootfs)
            if process is not None:
                host.give_home(process, rootfs)
            sd.make_fifo()
            fifo_fd = os.open(sd.fifo, os.O_RDWR | os.O_CLOEXEC)
            plan = make_plan(config, bundle, rootfs, facts, no_pivot=no_pivot,
                             no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                             container_id=sd.id, listen_fds=self.listen_fds,
                             lock_fd=sd.lock_fd, stdio=stdio, fifo_fd=fifo_fd,
                             compile_seccomp=self._seccomp_compiler())
            tree_fds = plan.tree_fds
            self._announce(plan)
            if host_mount is not None:
                hostmount.bind(host_mount)
            from .spawn import Child
            child = Child(plan)
            if plan.self_join:
                child.cgroup_fd = cgroups.v2_dir_fd()
            child.spawn()
            if fifo_fd >= 0:
                os.close(fifo_fd)
                fifo_fd = -1
            while tree_fds:   # (the child has its copies)
                os.close(tree_fds.pop())

            def join() -> None:
                cgroups.join(child.first_pid)
                if plan.oom_score_adj is not None:
                    host.write_proc(child.first_pid, "oom_score_adj", str(plan.oom_score_adj))

            def on_sync(sync_id: int, first_pid: int
                        ) -> tuple[bytes | None, Callable[[], None] | None, list[int]]:
                reply: bytes | None
                after: Callable[[], None] | None
                fds: list[int]
                reply, after, fds = None, None, []
                if sync_id & SYNC_SETUP:
                    if plan.user_ns:
                        # (a new user namespace's maps)
                        assert plan.uid_map is not None and plan.gid_map is not None
                        host.write_id_maps(first_pid, plan.uid_map, plan.gid_map)
                    if plan.direct and not cgroups.joined_by_parent:
                        after = join   # while the child mounts
                    else:
                        # before the child forks the init, or (systemd)
                        # mounts the scope's directory that only now exists
                        join()
                if sync_id & SYNC_TIMENS:
                    assert plan.timens_offsets is not None   # (SYNC_TIMENS: there are some)
                    host.write_proc(first_pid, "timens_offsets", plan.timens_offsets)
                if sync_id & SYNC_SOURCES:
                    assert plan.bind_sources is not None   # (SYNC_SOURCES: there is a list)
                    reply, fds = _open_bind_sources(first_pid, plan.bind_sources)
                if sync_id & SYNC_NETDEV:
                    assert net_devices is not None   # (SYNC_NETDEV: there are some)
                    net_devices.move_into(child.pid)
                if sync_id & SYNC_HOOKS:
                    from .hooks import run_hooks   # (hooks.py: only where there are hooks)
                    # runc gives the hooks of create the status "created"
                    # (runtime-tools hooks_stdin checks it for prestart).
                    created = st.hook_state(sd.id, "created", child.pid, bundle, annotations)
                    # (in the bundle, runc's working directory)
                    run_hooks(hooks, "prestart", created, bundle)
                    run_hooks(hooks, "createRuntime", created, bundle)
                    reply = (created + "\0" + created + "\0").encode()
                return reply, after, fds

            if plan.self_join and plan.oom_score_adj is not None:
                host.write_proc(child.first_pid, "oom_score_adj", str(plan.oom_score_adj))
            on_seccomp_fd: Callable[[int, int], None] | None = None
            if plan.seccomp_listener is not None:
                def to_listener(fd: int, _pid: int) -> None:
                    from .notify import send_to_seccomp_listener
                    assert plan.seccomp_listener is not None   # (checked above)
                    send_to_seccomp_listener(plan.seccomp_listener, fd, child.pid, sd.id,
                                              bundle, annotations)
                on_seccomp_fd = to_listener
            child.run(on_sync, on_seccomp_fd, on_console)
            pid = child.pid
            if rdt is not None:
                # (created: the init waits for start, its later children
                # inherit the group)
                rdt.add(pid)
            # what `exec` enters the container with
            sd.save_config(data)
            state["pid"] = pid
            state["start_time"] = st.process_start_time(pid)
            state["has_process"] = plan.has_process
            from .tables import HOOKS_KEPT
            state["hooks"] = {k: hooks[k] for k in HOOKS_KEPT if hooks.get(k)}
            sd.save(state)
            if plan.has_process and not state["hooks"] and state["start_time"] is not None \
                    and host_mount is None and cgroups.dirs_only:
                # (a systemd scope is stopped over D-Bus: Python's work)
                sd.save_fastpath(pid, state["start_time"], cgroups.created)
            if pid_file:
                write_pid_file(pid_file, pid)
            if keep is not None:
                keep.append(child)   # run: the child's errors after start
            else:
                child.close()
            if net_devices is not None:
                net_devices.close()
            return pid
        except BaseException:
            if fifo_fd >= 0:
                os.close(fifo_fd)
            while tree_fds:
                os.close(tree_fds.pop())
            if child is not None:
                child.kill()
            if net_devices is not None:
                # (the container never ran: what was moved goes back)
                net_devices.undo(self.log.warn)
            # (the create's own error comes first: the undoing only warns,
            # and keeps the state for `delete -f` if it leaves anything)
            state = {"cgroups": cgroups.to_state() if cgroups is not None else None,
                     "host_mount": host_mount,
                     "intel_rdt": rdt.to_state() if rdt is not None else None}
            if undo(state, self.log.warn):
                sd.remove()
            raise

    def _seccomp_compiler(self) -> SeccompCompiler:
        """What compiles linux.seccomp for the planner: libseccomp, with the
        compiled programs cached under the root, warnings to our log."""
        def compile_seccomp(section: dict[str, Any]) -> tuple[bytes, int, int]:
            from .seccomp import compile_filter
            # (a typed name for the untyped compile_filter(): no-any-return)
            compiled: tuple[bytes, int, int] = compile_filter(
                section, self.log.warn, os.path.join(self.root, ".seccomp-cache"))
            return compiled
        return compile_seccomp

    def _announce(self, plan: SpawnPlan) -> None:
        """Say the plan's warnings, and with --debug its steps."""
        for w in plan.warnings:
            self.log.warn(w)
        if self.log.debug_enabled:
            for i, step in enumerate(plan.steps):
                self.log.debug("step %d: %s" % (i, step.desc))

    # -- run ---------------------------------------------------------------
    def run(self, cid: str, bundle: str, pid_file: str | None = None, no_pivot: bool = False,
            no_new_keyring: bool = False, preserve_fds: int = 0, detach: bool = False,
            console_socket: str | None = None, keep: bool = False, stdin: StdioArg = None,
            stdout: StdioArg = None, stderr: StdioArg = None,
            forward_signals: bool = False) -> int:
        """create + start.  In the foreground, wait for the init, delete the
        container (unless keep) and return its exit status (128+N for
        signal N); a terminal without console_socket is relayed to this
        process's stdio, and with forward_signals the signals this process
        gets are passed on (handlers are installed: the CLI's choice).
        detach: return 0 once it runs."""
        from .foreground import Forwarder, become_subreaper, keep_master, supervise
        masters: list[int] = []
        kept: list[Child] = []
        relay_to = None if detach else (lambda fd: masters.append(keep_master(fd)))
        if not detach and self.subreaper:
            become_subreaper()
        c = Container(self, cid)
        try:
            pid = self._create_init(cid, bundle, pid_file, no_pivot, no_new_keyring,
                                    preserve_fds, console_socket, relay_to,
                                    (stdin, stdout, stderr), None if detach else kept)
            if detach:
                c.start()
                return 0
            try:
                status = supervise(pid, self.log, self.subreaper, masters[0] if masters else None, c.start,
                                   Forwarder() if forward_signals else None,
                                   late=kept[0])
            except BaseException:
                c.delete(force=True)
                raise
            if not keep:
                c.delete(force=True)
            return status
        finally:
            for fd in masters:
                os.close(fd)
            for child in kept:
                child.close()


def _open_bind_sources(pid: int, sources: Sequence[str]) -> tuple[bytes, list[int]]:
    """Open each bind source (O_PATH) as the host's root, in the mount
    namespace of the child pid, resolved in its root as the child would:
    the child's mount takes the fd where its own lookup is denied (runc
    opens them the same way).  -> (a byte per source, 1 where an fd
    follows; the fds).  A source that does not open is left to the child."""
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    try:
        root = os.open("/proc/%d/root" % pid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SpawnError("open the container's mount namespace: %s" % strerror(e.errno)) \
            from None
    fds: list[int]
    given, fds = bytearray(len(sources)), []
    try:
        for i, path in enumerate(sources):
            fd = lib.pyrunc_open_in_root(root, os.fsencode(path), os.O_PATH)
            if fd >= 0:
                given[i] = 1
                fds.append(fd)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    finally:
        os.close(root)
    return bytes(given), fds


class _CallbackLog:
    """The log of a library Runtime: warnings (and the error of a process
    that failed after start) to one function, no debug lines."""

    debug_enabled = False

    def __init__(self, on_warning: Callable[[str], None]) -> None:
        self.warn = on_warning

    def debug(self, msg: str) -> None:
        pass

    def error(self, msg: str, echo: bool = False) -> None:
        self.warn(msg)


def _python_warning(text: str) -> None:
    import warnings
    from .errors import PyruncWarning
    warnings.warn(text, PyruncWarning, stacklevel=3)
