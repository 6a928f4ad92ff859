"""The library API: Runtime(root) and the container lifecycle.

    rt = Runtime("/run/pyrunc")
    rt.create("web", "/path/to/bundle")
    rt.start("web")
    rt.state("web")["status"]   # "running"
    rt.kill("web", 15)
    rt.delete("web", force=True)

Layers: this module orders the work; bundle checks the config, plan turns it
into steps, spawn runs them in the child, state keeps <root>/<id>, cgroups
and hooks do their part.  It never prints: errors are PyruncError.
"""
import os

# _signal, not signal: the signal module builds enums at import (~2 ms).
import _signal

from . import state as st
from .cgroups import Cgroups
from .errors import PyruncError, SpawnError, WrongState, quote, strerror
from .files import write_once
from .hooks import run_hooks, run_hooks_warn
from .log import Logger

DEFAULT_ROOT = "/run/pyrunc"


class Runtime:
    def __init__(self, root=DEFAULT_ROOT, logger=None, systemd=False, subreaper=False):
        self.root = root
        self.log = logger or Logger()
        self.systemd = systemd   # the systemd cgroup driver for new containers
        # foreground run and exec reap what the container's process leaves
        # behind (PR_SET_CHILD_SUBREAPER): for the CLI, whose only children
        # are the container's; a library caller may have others
        self.subreaper = subreaper
        # socket activation: fds 3.. from systemd to pass on (LISTEN_FDS)
        self.listen_fds = 0

    # -- create ------------------------------------------------------------
    def create(self, cid, bundle, pid_file=None, no_pivot=False, no_new_keyring=False,
               preserve_fds=0, console_socket=None, _on_console=None, _keep=None):
        """Create the container: its init waits on the exec fifo for start.
        With process.terminal, the pty master goes to console_socket (a
        unix socket's path).  Returns the init's pid."""
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
                                no_new_keyring, preserve_fds, _on_console, _keep)
        finally:
            sd.unlock()
            if sock is not None:
                sock.close()

    def _create(self, sd, config, data, bundle, rootfs, pid_file, no_pivot, no_new_keyring,
                preserve_fds, on_console, keep):
        from . import host
        from .notify import send_to_seccomp_listener
        from .plan import SYNC_HOOKS, SYNC_SETUP, SYNC_SOURCES, SYNC_TIMENS, make_plan, \
            shares_host_mount_ns
        linux = config.get("linux") or {}
        hooks = config.get("hooks") or {}
        annotations = config.get("annotations") or {}
        cgroups = None
        child = None
        fifo_fd = -1
        host_mount = None
        try:
            host.check_joined_namespaces(linux)
            cgroups = Cgroups.for_config(linux.get("cgroupsPath"), sd.id, self.systemd)
            # If this process is killed from here on, `delete --force` finds
            # what to remove (the child dies with us: PR_SET_PDEATHSIG): all
            # the host-side resources are recorded before they are made.
            state = {"id": sd.id, "pid": 0, "start_time": None, "bundle": bundle,
                     "rootfs": rootfs, "created": st.now_rfc3339(), "owner": "",
                     "annotations": annotations, "cgroups": cgroups.to_state()}
            if shares_host_mount_ns(linux):
                from . import hostmount
                host_mount = state["host_mount"] = hostmount.intent(rootfs)
            sd.save(state)
            cgroups.setup(linux.get("resources"), self.log.warn, linux.get("devices") or ())
            process = config.get("process")
            facts = host.host_info(cgroups, process, linux.get("mountLabel"))
            if no_pivot:
                facts.kernel_fs_mounts = host.kernel_fs_mounts(rootfs)
            if process is not None:
                host.give_home(process, rootfs)
            plan = make_plan(config, bundle, rootfs, facts, no_pivot=no_pivot,
                             no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                             container_id=sd.id, listen_fds=self.listen_fds)
            plan.steps.insert(0, _close_step(sd.lock_fd))
            self._announce(plan)
            self._compile_seccomp(plan)
            if plan.fifo_step is not None:
                sd.make_fifo()
                fifo_fd = os.open(sd.fifo, os.O_RDWR | os.O_CLOEXEC)
                plan.fifo_step.slots["a"] = fifo_fd
            if host_mount is not None:
                hostmount.bind(host_mount)
            child = _Child(plan)
            if plan.self_join:
                child.cgroup_fd = cgroups.v2_dir_fd()
            child.spawn()
            if fifo_fd >= 0:
                os.close(fifo_fd)
                fifo_fd = -1

            def join():
                cgroups.join(child.first_pid)
                if plan.oom_score_adj is not None:
                    _write_proc(child.first_pid, "oom_score_adj", str(plan.oom_score_adj))

            def on_sync(sync_id, first_pid):
                reply, after, fds = None, None, []
                if sync_id & SYNC_SETUP:
                    if plan.user_ns:
                        for name, text in (("uid_map", plan.uid_map),
                                           ("gid_map", plan.gid_map)):
                            _write_proc(first_pid, name, text)
                    if plan.direct and not cgroups.joined_by_parent:
                        after = join   # while the child mounts
                    else:
                        # before the child forks the init, or (systemd)
                        # mounts the scope's directory that only now exists
                        join()
                if sync_id & SYNC_TIMENS:
                    _write_proc(first_pid, "timens_offsets", plan.timens_offsets)
                if sync_id & SYNC_SOURCES:
                    reply, fds = _open_bind_sources(first_pid, plan.bind_sources)
                if sync_id & SYNC_HOOKS:
                    # runc gives the hooks of create the status "created"
                    # (runtime-tools hooks_stdin checks it for prestart).
                    created = st.hook_state(sd.id, "created", child.pid, bundle, annotations)
                    # (in the bundle, runc's working directory)
                    run_hooks(hooks, "prestart", created, bundle)
                    run_hooks(hooks, "createRuntime", created, bundle)
                    reply = (created + "\0" + created + "\0").encode()
                return reply, after, fds

            if plan.self_join and plan.oom_score_adj is not None:
                _write_proc(child.first_pid, "oom_score_adj", str(plan.oom_score_adj))
            on_seccomp_fd = None
            if plan.seccomp_listener is not None:
                def on_seccomp_fd(fd, _pid):
                    send_to_seccomp_listener(plan.seccomp_listener, fd, child.pid, sd.id,
                                              bundle, annotations)
            child.run(on_sync, on_seccomp_fd, on_console)
            pid = child.pid
            # what `exec` enters the container with
            sd.save_config(data)
            state.update(pid=pid, start_time=st.process_start_time(pid),
                         has_process=plan.has_process,
                         hooks={k: hooks[k] for k in ("poststart", "poststop") if hooks.get(k)})
            sd.save(state)
            if plan.has_process and not state["hooks"] and state["start_time"] is not None \
                    and host_mount is None and not cgroups.unit:
                # (a systemd scope is stopped over D-Bus: Python's work)
                sd.save_fastpath(pid, state["start_time"], cgroups.created)
            if pid_file:
                _write_pid_file(pid_file, pid)
            if keep is not None:
                keep.append(child)   # run: the child's errors after start
            else:
                child.close()
            return pid
        except BaseException:
            if fifo_fd >= 0:
                os.close(fifo_fd)
            if child is not None:
                child.kill()
            # (the create's own error comes first: the undoing only warns,
            # and keeps the state for `delete -f` if it leaves anything)
            state = {"cgroups": cgroups.to_state() if cgroups is not None else None,
                     "host_mount": host_mount}
            if self._undo(state):
                sd.remove()
            raise

    def _announce(self, plan):
        """The plan's warnings, and with --debug its steps."""
        for w in plan.warnings:
            self.log.warn(w)
        if self.log.debug_enabled:
            for i, step in enumerate(plan.steps):
                self.log.debug("step %d: %s" % (i, step.desc))

    def _compile_seccomp(self, plan):
        for step in plan.steps:
            if step.kind == "SECCOMP":
                from .seccomp import compile_filter
                program, count, flags = compile_filter(
                    step.slots.pop("seccomp"), self.log.warn,
                    os.path.join(self.root, ".seccomp-cache"))
                step.slots.update(s1=program, a=count, flags=flags)

    # -- start -------------------------------------------------------------
    def start(self, cid):
        with self._locked(cid) as (sd, state):
            status = st.status_of(sd, state)
            if status != "created":
                raise WrongState("cannot start a container that is %s" % status
                                 if status != "running" else
                                 "cannot start an already running container")
            if not state.get("has_process", True):
                raise WrongState("cannot start container %s: config.json has no process"
                                 % quote(cid))
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
                run_hooks_warn(hooks, "poststart",
                               st.hook_state(cid, "running", state["pid"], state["bundle"],
                                             state.get("annotations")), self.log.warn)

    # -- state / list ------------------------------------------------------
    def state(self, cid):
        with self._locked(cid) as (sd, state):
            return st.oci_state(sd, state)

    def list(self):
        out = []
        for cid in st.list_ids(self.root):
            try:
                sd = st.StateDir(self.root, cid)
            except PyruncError:
                continue
            state = sd.load()
            if state is None:
                continue
            out.append(st.oci_state(sd, state))
        return out

    # -- kill --------------------------------------------------------------
    def kill(self, cid, sig, all_processes=False):
        with self._locked(cid) as (sd, state):
            status = st.status_of(sd, state)
            cg = Cgroups.from_state(state.get("cgroups"))
            if status == "stopped" and not (all_processes and cg.pids()):
                # (--all still reaches processes left without their init,
                # as in a container without a pid namespace)
                raise WrongState("container not running")
            if all_processes:
                cg.signal_all(sig, paused=status == "paused")
                if not st.init_alive(state):
                    return
            _signal_init(state, sig)

    # -- pause / resume / update / ps ---------------------------------------
    def pause(self, cid):
        """Freeze every process of a created or running container."""
        with self._locked(cid) as (sd, state):
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

    def resume(self, cid):
        with self._locked(cid) as (sd, state):
            if st.status_of(sd, state) != "paused":
                raise WrongState("container not paused")
            Cgroups.from_state(state.get("cgroups")).freeze(False)
            state["paused"] = False
            sd.save(state)

    def update(self, cid, resources):
        """Apply linux.resources (checked by the caller) to a container
        that is not stopped."""
        with self._locked(cid) as (sd, state):
            if st.status_of(sd, state) == "stopped":
                raise WrongState("container not running")
            cg = Cgroups.from_state(state.get("cgroups"))
            memory = resources.get("memory") or {}
            if memory.get("checkBeforeUpdate") and memory.get("limit", -1) > 0:
                usage = cg.memory_usage()
                if usage is not None and usage > memory["limit"]:
                    raise WrongState("linux.resources.memory.limit: %d is below the current "
                                     "usage (%d)" % (memory["limit"], usage))
            cg.apply(resources, self.log.warn)

    def pids(self, cid):
        """The host pids of the container's processes."""
        with self._locked(cid) as (sd, state):
            if st.status_of(sd, state) == "stopped":
                return []
            return sorted(Cgroups.from_state(state.get("cgroups")).pids())

    def events(self, cid, interval, emit, stats_only=False):
        """runc's `events`: see events.py.  emit(dict) is called per event."""
        from . import events
        with self._locked(cid) as (sd, state):
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
        try:
            if stats_only:
                emit({"type": "stats", "id": cid, "data": events.stats(cg)})
                return
            events.stream(cid, cg, pid_fd, interval, emit)
        finally:
            os.close(pid_fd)

    def _locked(self, cid):
        return _Locked(self, cid)

    # -- delete ------------------------------------------------------------
    def delete(self, cid, force=False):
        sd = st.StateDir(self.root, cid)
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
            if status != "stopped":
                if not force:
                    raise WrongState("cannot delete container %s that is not stopped: %s"
                                     % (quote(cid), status))
                try:
                    self._kill_all_and_wait(state, thaw=status == "paused")
                except (PyruncError, OSError) as e:   # _cleanup tries again
                    self.log.warn("kill the container's processes: %s" % e)
            self._cleanup(sd, state)
        finally:
            sd.unlock()

    def _kill_all_and_wait(self, state, thaw=False):
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

    def _cleanup(self, sd, state):
        hooks = state.get("hooks") or {}
        done = self._undo(state)
        if hooks.get("poststop"):
            run_hooks_warn(hooks, "poststop",
                           st.hook_state(sd.id, "stopped", 0, state["bundle"],
                                         state.get("annotations")), self.log.warn)
        if not done:
            raise PyruncError("container %s: not everything of it could be removed (see the "
                              "warnings); its state is kept for another delete" % quote(sd.id))
        sd.remove()

    def _undo(self, state):
        """Remove the container's host-side resources: processes left in
        its cgroups, the cgroups, the private bind of its rootfs.  Every
        step is tried whatever the others did; a failure is a warning.
        Returns whether nothing is left."""
        done = True
        cg = None
        try:
            cg = Cgroups.from_state(state.get("cgroups"))
            if cg.pids() and (state.get("start_time") is not None or cg.owned()):
                # processes that outlived the init (no pid namespace), or
                # the init of a create killed before it recorded it: they
                # go with the container, as with runc.  (In a cgroup that
                # was there before the init was, they may not be ours.)
                self._kill_all_and_wait(state)
        except (PyruncError, OSError) as e:
            self.log.warn("kill the container's processes: %s" % e)
        if state.get("host_mount"):
            # before the cgroups: a mount under the rootfs bind may sit on
            # a cgroup directory (maskedPaths in /sys/fs/cgroup), which is
            # then busy
            from . import hostmount
            try:
                hostmount.unbind(state["host_mount"])
            except (PyruncError, OSError) as e:
                self.log.warn(str(e))
            done = not hostmount.is_bound(state["host_mount"])
        try:
            for left in (cg or Cgroups.from_state(state.get("cgroups"))).destroy():
                self.log.warn("remove cgroup %s" % left)
                done = False
        except (PyruncError, OSError) as e:
            self.log.warn("remove the cgroups: %s" % e)
            done = False
        return done

    # -- run ---------------------------------------------------------------
    def run(self, cid, bundle, pid_file=None, no_pivot=False, no_new_keyring=False,
            preserve_fds=0, detach=False, console_socket=None, keep=False):
        """create + start; in the foreground wait for the init and delete
        the container (unless keep); returns the exit code (128+N for
        signal N).  A terminal in the foreground without console_socket
        is relayed to this process's stdio."""
        from .foreground import become_subreaper, keep_master, supervise
        masters = []
        kept = []
        relay_to = None if detach else (lambda fd: masters.append(keep_master(fd)))
        if not detach and self.subreaper:
            become_subreaper()
        try:
            pid = self.create(cid, bundle, pid_file=pid_file, no_pivot=no_pivot,
                              no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                              console_socket=console_socket, _on_console=relay_to,
                              _keep=None if detach else kept)
            if detach:
                self.start(cid)
                return 0
            try:
                status = supervise(pid, self.log, self.subreaper, masters[0] if masters else None,
                                   lambda: self.start(cid), late=kept[0])
            except BaseException:
                self.delete(cid, force=True)
                raise
            if not keep:
                self.delete(cid, force=True)
            return status
        finally:
            for fd in masters:
                os.close(fd)
            for child in kept:
                child.close()

    # -- exec --------------------------------------------------------------
    def saved_process(self, cid):
        """The process the container was created with: what `exec ID ARGS`
        starts from (None for a container created without one)."""
        with self._locked(cid) as (sd, _state):
            config = sd.load_config() or {}
        return config.get("process")

    def exec(self, cid, process, detach=False, pid_file=None, console_socket=None,
             preserve_fds=0, ignore_paused=False, sub_cgroups=()):
        """Run `process` (a checked process object) in the container, as
        runc exec does.  Detached, return 0 once it has exec'd; else wait
        and return its exit code.  sub_cgroups: runc's --cgroup values,
        [CONTROLLER:]SUB, existing sub-cgroups of the container's to join."""
        from .console import check_mode
        from .foreground import Forwarder, supervise
        terminal = bool(process.get("terminal"))
        check_mode(terminal, console_socket, detach)
        sock = None
        if console_socket:
            from .console import ConsoleSocket
            sock = ConsoleSocket(console_socket)
        masters = []
        # In the foreground, signals are caught from before the process
        # exists (it may run, and its caller signal us, before _exec
        # returns) and passed on once it does.
        forwarder = None if detach else Forwarder()
        try:
            pid = self._exec(cid, process, detach, pid_file, sock, masters, preserve_fds,
                             ignore_paused, sub_cgroups)
            if detach:
                return 0
            return supervise(pid, self.log, self.subreaper, masters[0] if masters else None,
                             forwarder=forwarder)
        finally:
            if forwarder is not None:
                forwarder.restore()
            if sock is not None:
                sock.close()
            for fd in masters:
                os.close(fd)

    def _exec(self, cid, process, detach, pid_file, sock, masters, preserve_fds,
              ignore_paused, sub_cgroups=()):
        from . import host
        from .foreground import become_subreaper, keep_master
        from .notify import send_to_seccomp_listener
        from .plan import make_exec_plan
        child = None
        pidfd = -1
        # The lock is held until the child exists, not until it has exec'd:
        # in a paused container (--ignore-paused) it waits, frozen, for
        # `resume`, which takes the lock.
        with self._locked(cid) as (sd, state):
            status = st.status_of(sd, state)
            if status == "stopped":
                raise WrongState("cannot exec in a stopped container")
            if status == "paused" and not ignore_paused:
                raise WrongState("cannot exec in a paused container (use --ignore-paused to "
                                 "override)")
            config = sd.load_config()
            if config is None:
                raise WrongState("container %s has no saved config to exec with" % quote(cid))
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
                plan = make_exec_plan(config, process, facts, pidfd, state["pid"], preserve_fds,
                                      self.listen_fds)
                plan.steps.insert(0, _close_step(sd.lock_fd))
                self._announce(plan)
                self._compile_seccomp(plan)
                if not detach and self.subreaper:
                    become_subreaper()
                child = _Child(plan)
                child.spawn()
                sd.unlock()
                on_seccomp_fd = None
                if plan.seccomp_listener is not None:
                    def on_seccomp_fd(fd, _pid):
                        send_to_seccomp_listener(plan.seccomp_listener, fd, child.pid, sd.id,
                                                  state["bundle"], state.get("annotations"),
                                                  status)
                on_console = sock.send if sock is not None else (
                    lambda fd: masters.append(keep_master(fd)))
                child.run(lambda *_: (None, None, ()), on_seccomp_fd, on_console, until_exec=True)
                pid = child.pid
                if pid_file:
                    _write_pid_file(pid_file, pid)
                child.close()
                return pid
            except BaseException:
                if child is not None:
                    child.kill()
                raise
            finally:
                os.close(pidfd)

    def _load(self, sd):
        state = sd.load()
        if state is None:
            from .errors import ContainerNotFound
            raise ContainerNotFound(sd.id)
        return state


class _Locked:
    """`with rt._locked(cid) as (sd, state)`: the container's lock held and
    its state loaded."""

    def __init__(self, rt, cid):
        self.rt = rt
        self.sd = st.StateDir(rt.root, cid)

    def __enter__(self):
        self.sd.open()
        try:
            return self.sd, self.rt._load(self.sd)
        except BaseException:
            self.sd.unlock()
            raise

    def __exit__(self, *exc):
        self.sd.unlock()


def _Child(plan):
    from .spawn import Child
    return Child(plan)


def _close_step(lock_fd):
    """The child must not keep the state lock: a flock lives as long as any
    copy of its fd."""
    from .plan import Step
    return Step("CLOSE", "close the state lock", a=lock_fd)


def _open_bind_sources(pid, sources):
    """Open each bind source (O_PATH) as the host's root, in the mount
    namespace of the child pid, resolved in its root as the child would:
    the child's mount takes the fd where its own lookup is denied (runc
    opens them the same way).  -> (a byte per source, 1 where an fd
    follows; the fds).  A source that does not open is left to the child."""
    from ._shim import lib
    try:
        root = os.open("/proc/%d/root" % pid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise SpawnError("open the container's mount namespace: %s" % strerror(e.errno)) \
            from None
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


def _write_proc(pid, name, text):
    path = "/proc/%d/%s" % (pid, name)
    try:
        write_once(path, text)
    except OSError as e:
        raise SpawnError("write %s: %s" % (path, strerror(e.errno))) from None


def _signal_init(state, sig):
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


def _wait_exec(fifo_fd):
    """Wait until the init has no reader end of the exec fifo left: it closes
    on execve (or when the init dies).  For a FIFO's write end, poll reports
    POLLERR once there is no reader."""
    import select
    poller = select.poll()
    poller.register(fifo_fd, 0)
    poller.poll()


def _wait_pidfds(fds, timeout_ms=10000):
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
    for fd in fds:
        os.close(fd)


def _write_pid_file(path, pid):
    path = os.path.abspath(path)
    st.write_atomic(path, str(pid).encode(), 0o644)

