"""The cgroupfs driver: the container's cgroup directory in every cgroup
hierarchy the host mounts (v1, v2 or the hybrid layout), made, joined,
limited, frozen, signalled and removed by the runtime itself.  Where the
directories are is layout.py's; the resources' files are resources.py's;
the stats' files stats.py's.
(One module of ~530 lines: the driver's methods and the file helpers they
share.)"""
from __future__ import annotations

import os
import posixpath

from ..errors import PyruncError, strerror
from ..files import write_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Literal, Mapping, Sequence, TypedDict

    from .resources import Write
    from .stats import OomWatch, Stats

    # one hierarchy's directory of the container: (hierarchy name, path, is_v2)
    CgroupDir = tuple[str, str, bool]

    class CgroupsState(TypedDict):
        """Cgroups.to_state(): what the container's state file keeps."""
        dirs: list[list[str | bool]]   # CgroupDir as a JSON array
        created: list[str]
        controllers: dict[str, list[str]]
        mountpoints: dict[str, str]
        unit: list[str] | None   # the systemd driver's scope and slice


class CgroupError(PyruncError):
    pass


class Cgroups:
    """The cgroupfs driver: the container's cgroup directory in every
    hierarchy (cgroup v1, v2 or both), made and removed by the runtime.
    systemd.SystemdCgroups is the systemd driver, with the same methods."""

    # the runtime puts the child in (join); the child cannot join by itself
    joined_by_parent = False
    # all there is to remove are the created directories (csrc/front.c
    # removes them without Python)
    dirs_only = True

    def __init__(self, dirs: list[CgroupDir], created: Iterable[str] = (),
                 controllers: dict[str, list[str]] | None = None,
                 mountpoints: dict[str, str] | None = None) -> None:
        self.dirs = dirs              # [(hierarchy name, path, is_v2)]
        self.created = list(created)  # directories we made, parents first
        # v1: the controllers of each directory; the v2 ones are read from
        # cgroup.controllers when needed
        self.controllers = controllers or {}
        self.mountpoints = mountpoints or {}   # directory -> its hierarchy's mount
        # rootless: the hierarchies left out as this user cannot write them
        # (a limit that needs one is an error naming it)
        self.rootless = False
        self.unwritable: list[str] = []

    @classmethod
    def for_config(cls, cgroups_path: str | None, cid: str, systemd: bool = False,
                   rootless: bool = False) -> Cgroups:
        """The cgroups a new container will have: directories of cgroupfs
        (those to make are recorded now, see plan_missing) or, with
        systemd, a transient scope (the systemd driver).  rootless: the
        hierarchies this user cannot write are left out, as runc does."""
        if systemd:
            from .systemd import SystemdCgroups
            return SystemdCgroups.for_scope(cgroups_path, cid)
        cg = cls.for_container(cgroups_path, cid)
        if rootless:
            cg.keep_writable()
        cg.plan_missing()
        return cg

    def keep_writable(self) -> None:
        """Rootless: keep the directories this user can make (or, where
        they exist, put a process in); note the others' hierarchies."""
        self.rootless = True
        kept = []
        for name, path, v2 in self.dirs:
            p = path
            while not os.path.isdir(p) and p != "/":
                p = posixpath.dirname(p)
            if p == path:
                ok = os.access(posixpath.join(path, "cgroup.procs" if v2 else "tasks"), os.W_OK)
            else:
                ok = os.access(p, os.W_OK | os.X_OK)
            if ok:
                kept.append((name, path, v2))
            else:
                self.unwritable.append(name)
        self.dirs = kept

    def why_missing(self, controller: str) -> str:
        """Why a resource's controller cannot be used (its error's words)."""
        if self.unwritable:
            return "the %s cgroup cannot be written by uid %d: a rootless container gets " \
                "limits only where its cgroups are delegated to its user" % (controller,
                                                                           os.geteuid())
        return "the %s controller is not available on this host" % controller

    def setup(self, resources: dict[str, Any] | None, warn: Callable[[str], None],
              devices: Sequence[dict[str, Any]] = ()) -> None:
        """Before the child exists: make the directories and write the
        resources."""
        self.create()
        if resources:
            self.apply(resources, warn, devices)

    @classmethod
    def for_container(cls, cgroups_path: str | None, cid: str) -> Cgroups:
        dirs, controllers, mountpoints = [], {}, {}
        from .layout import container_dir, hierarchies   # (create's alone)
        for h in hierarchies():
            path = container_dir(h, cgroups_path, cid)
            dirs.append((h.name, path, h.v2))
            controllers[path] = list(h.controllers)
            mountpoints[path] = h.mountpoint
        return cls(dirs, (), controllers, mountpoints)

    def to_state(self) -> CgroupsState:
        return {"dirs": [list(d) for d in self.dirs], "created": self.created,
                "controllers": self.controllers, "mountpoints": self.mountpoints,
                "unit": None}

    @classmethod
    def from_state(cls, data: Mapping[str, Any] | None) -> Cgroups:
        """The driver and cgroups of to_state()'s record."""
        if not data:
            return cls([])
        if data.get("unit"):
            from .systemd import SystemdCgroups
            return SystemdCgroups.from_record(data)
        return cls([tuple(d) for d in data["dirs"]], data.get("created", ()),
                   data.get("controllers"), data.get("mountpoints"))

    # -- resources ---------------------------------------------------------
    def version_of(self, controller: str) -> Literal["v1", "v2"] | None:
        """Where a controller is for this container: "v1", "v2" or None."""
        v2_dir = None
        for _, path, v2 in self.dirs:
            if v2:
                v2_dir = path
            elif controller in self.controllers.get(path, ()):
                return "v1"
        if v2_dir is None:
            return None
        if controller in ("devices", "freezer"):
            return "v2"   # an eBPF program and cgroup.freeze: no controller to enable
        return "v2" if controller in self._v2_available(v2_dir) else None

    def _v2_available(self, path: str) -> list[str]:
        """The controllers of the hierarchy (its root's cgroup.controllers):
        _enable_v2 makes them reach the container's directory."""
        top = self.mountpoints.get(path)
        if top is None:
            return []
        try:
            with open(posixpath.join(top, "cgroup.controllers")) as f:
                return f.read().split()
        except OSError:
            return []

    def dir_of(self, controller: str) -> str | None:
        version = self.version_of(controller)
        for _, path, v2 in self.dirs:
            if v2 and version == "v2":
                return path
            if not v2 and controller in self.controllers.get(path, ()):
                return path
        return None

    def apply(self, resources: dict[str, Any], warn: Callable[[str], None],
              devices: Sequence[dict[str, Any]] = ()) -> None:
        """Write linux.resources (and allow linux.devices) into the cgroups."""
        from .resources import BFQ_NAMES, BPF_DEVICE_FILTER, writes
        if self.rootless and "devices" in resources:
            # (runc's rootless containers get no device rules: a user
            # namespace can make no device node, and loading a cgroup
            # device program needs host privileges)
            resources = {k: v for k, v in resources.items() if k != "devices"}
        todo = writes(resources, self.version_of, devices, self.why_missing)
        _order_memory_and_swap(todo, self.dir_of("memory"))
        enabled = set()
        for w in todo:
            directory = self.dir_of(w.controller)
            if w.file is None:
                warn("%s: not supported on cgroup v2, ignored" % w.path)
                continue
            # (writes() made w only if version_of found the controller, and
            # dir_of finds its directory the same way)
            assert directory is not None
            if w.file == BPF_DEVICE_FILTER:
                assert isinstance(w.value, list)   # (the rules: _devices())
                from .devicefilter import attach
                attach(directory, w.value)
                continue
            assert isinstance(w.value, str)   # (a file's text: all writes but that one)
            if self.version_of(w.controller) == "v2" and w.controller not in enabled:
                self._enable_v2(directory, w.controller)
                enabled.add(w.controller)
            target = posixpath.join(directory, w.file)
            try:
                fd, target = _open_either(target, BFQ_NAMES.get(w.file))
            except FileNotFoundError:
                if w.optional:
                    if w.optional != "silent":
                        warn("%s: %s does not exist on this kernel: not applied"
                             % (w.path, target))
                    continue
                raise CgroupError('%s: open "%s": no such file' % (w.path, target)) from None
            except OSError as e:
                raise CgroupError('%s: open "%s": %s' % (w.path, target, strerror(e.errno)),
                                  errno=e.errno) from None
            try:
                os.write(fd, w.value.encode())
            except OSError as e:
                raise CgroupError('%s: write %r to "%s": %s' % (
                    w.path, w.value, target, strerror(e.errno)), errno=e.errno) \
                    from None
            finally:
                os.close(fd)

    # -- stats ---------------------------------------------------------------
    def stats(self) -> Stats:
        """runc's stats of the container (stats.py reads the files)."""
        from .stats import read_stats
        return read_stats(self)

    def oom_watch(self) -> OomWatch:
        """An fd that becomes readable at each OOM kill in the container."""
        from .stats import OomWatch
        return OomWatch(self)

    def memory_usage(self) -> int | None:
        """Bytes the container's memory cgroup uses now, or None."""
        directory = self.dir_of("memory")
        if directory is None:
            return None
        name = "memory.usage_in_bytes" if self.version_of("memory") == "v1" else \
            "memory.current"
        try:
            with open(posixpath.join(directory, name)) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def signal_all(self, sig: int, paused: bool = False) -> None:
        """Send sig to every process of the container, with no window for a
        fork to escape it: cgroup.kill on v2 for SIGKILL, else the cgroup is
        frozen while its processes are listed and signalled (then thawed,
        unless the container was paused)."""
        if sig == 0:   # (no signal: nothing to freeze for)
            return
        v2_dir = self.dir_of("freezer") if self.version_of("freezer") == "v2" else None
        if sig == 9 and v2_dir and os.path.exists(posixpath.join(v2_dir, "cgroup.kill")):
            _write(posixpath.join(v2_dir, "cgroup.kill"), "1")
            if paused:
                self.freeze(False)   # no killed process stays frozen
            return
        frozen = False
        if not paused and self.version_of("freezer"):
            try:
                self.freeze(True)
                frozen = True
            except CgroupError:
                pass   # no freezer to use: signal what is there
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            if frozen or (paused and sig == 9):
                self.freeze(False)   # killed processes die once thawed

    # -- freezer -----------------------------------------------------------
    def freeze(self, frozen: bool) -> None:
        """Freeze or thaw every process of the container, and wait until
        the kernel reports it done."""
        version = self.version_of("freezer")
        directory = self.dir_of("freezer")
        if version is None or directory is None:
            raise CgroupError("no freezer cgroup: cannot %s the container"
                              % ("pause" if frozen else "resume"))
        from .freezer import freeze_v1, freeze_v2
        if version == "v1":
            freeze_v1(directory, frozen)
        else:
            freeze_v2(directory, frozen)

    def _enable_v2(self, directory: str, controller: str) -> None:
        """Enable a v2 controller in the subtree_control of every ancestor
        of directory below its mount, as far as it is not enabled yet (only
        for a controller that a resource needs)."""
        top = self.mountpoints.get(directory)
        if top is None:
            return
        chain = []
        d = posixpath.dirname(directory)
        while len(d) >= len(top):
            chain.append(d)
            if d == top:
                break
            d = posixpath.dirname(d)
        for d in reversed(chain):
            control = posixpath.join(d, "cgroup.subtree_control")
            try:
                with open(control) as f:
                    if controller in f.read().split():
                        continue
                _refuse_internal_processes(d, controller)
                fd = os.open(control, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.write(fd, ("+" + controller).encode())
                finally:
                    os.close(fd)
            except OSError as e:
                raise CgroupError('enable the %s controller in "%s": %s' % (
                    controller, control, strerror(e.errno)), errno=e.errno) from None

    def sub(self, specs: Iterable[str]) -> Cgroups:
        """The same cgroups with existing sub-cgroups of the container's in
        their place: runc's exec --cgroup, each spec SUB (every hierarchy)
        or CONTROLLER:SUB (the hierarchy of that v1 controller)."""
        sub: str | None   # a spec's SUB, then a directory's (or None)
        everywhere, per_controller = None, {}
        for spec in specs:
            controller, colon, sub = spec.rpartition(":")
            clean = posixpath.normpath("/" + sub).lstrip("/")
            if not sub or clean != sub.strip("/") or clean.startswith(".."):
                raise CgroupError("--cgroup %r: expected [CONTROLLER:]SUB, a path under the "
                                  "container's cgroup" % spec)
            if colon:
                per_controller[controller] = clean
            else:
                everywhere = clean
        dirs = []
        for name, path, v2 in self.dirs:
            controllers = (name.split(",") if name else []) + \
                list(self.controllers.get(path, ()))
            sub = next((per_controller[c] for c in controllers if c in per_controller),
                       everywhere)
            if sub is not None:
                path = posixpath.join(path, sub)
                if not os.path.isdir(path):
                    raise CgroupError('--cgroup: sub-cgroup "%s" does not exist' % path)
            dirs.append((name, path, v2))
        unknown = set(per_controller) - {c for name, path, _ in self.dirs
                                         for c in name.split(",") +
                                         list(self.controllers.get(path, ()))}
        if unknown:
            raise CgroupError("--cgroup: no cgroup of controller %s here"
                              % ", ".join(sorted(unknown)))
        return self._with_dirs(dirs)

    def _with_dirs(self, dirs: list[CgroupDir]) -> Cgroups:
        """The same driver for other directories (none of them ours)."""
        return Cgroups(dirs, (), self.controllers, self.mountpoints)

    def owned(self) -> bool:
        """Are the container's cgroups its own: made by create (recorded
        before they were made) or a scope started for it?  Processes in a
        cgroup that was there before may be somebody else's."""
        return all(path in self.created for _, path, _ in self.dirs)

    def plan_missing(self) -> None:
        """Note the directories create() will make (those missing now,
        parents first) before making any: the state records them, so that
        a runtime killed half-way leaves delete --force what to remove."""
        for _, path, _ in self.dirs:
            missing = []
            p = path
            while not os.path.isdir(p):
                missing.append(p)
                p = posixpath.dirname(p)
            self.created.extend(d for d in reversed(missing) if d not in self.created)

    def create(self) -> None:
        """Make the planned directories; refuse a container cgroup that
        exists already and has processes (it is somebody else's)."""
        for d in self.created:
            try:
                os.mkdir(d, 0o755)
            except FileExistsError:
                continue
            except OSError as e:
                raise CgroupError('mkdir cgroup "%s": %s' % (d, strerror(e.errno)),
                                  errno=e.errno) from None
        for name, leaf, v2 in self.dirs:
            if v2 or "cpuset" not in (self.controllers.get(leaf) or name.split(",")):
                continue
            # v1 cpuset: every cgroup on the way down needs cpus and mems to
            # take a task, a parent that was there before too (a "pod"
            # cgroup made empty by someone else), as runc fills them
            top = self.mountpoints.get(leaf, "/")
            chain = []
            d = leaf
            while d.startswith(top + "/"):
                chain.append(d)
                d = posixpath.dirname(d)
            for d in reversed(chain):
                _inherit_cpuset(d)
        for _, path, _ in self.dirs:
            if path in self.created:
                continue
            busy = _procs_of(path)
            if busy:
                raise CgroupError('cgroup "%s" already has processes (%s): refusing to share '
                                  'it' % (path, " ".join(busy[:5])))
        if self.is_frozen():
            # (its init would stop on its first step and create wait for
            # it forever; runc's words)
            raise CgroupError("container's cgroup unexpectedly frozen (%s)"
                              % self.dir_of("freezer"))

    def is_frozen(self) -> bool:
        """Is the container's cgroup frozen, by itself or an ancestor?"""
        directory = self.dir_of("freezer")
        if directory is None:
            return False
        try:
            if self.version_of("freezer") == "v1":
                with open(posixpath.join(directory, "freezer.state")) as f:
                    return f.read().strip() != "THAWED"
            with open(posixpath.join(directory, "cgroup.events")) as f:
                return "frozen 1\n" in f.read()
        except OSError:
            return False

    def join(self, pid: int) -> None:
        """Move process pid into the container's cgroups."""
        data = str(pid)
        for _, path, _ in self.dirs:
            target = path + "/cgroup.procs"
            try:
                write_once(target, data)
            except OSError as e:
                raise CgroupError('join cgroup "%s": %s' % (path, strerror(e.errno)),
                                  errno=e.errno) from None

    def v2_dir_fd(self) -> int:
        """An fd of the container's cgroup2 directory, for CLONE_INTO_CGROUP
        (-1 if there is no cgroup2 hierarchy)."""
        for _, path, v2 in self.dirs:
            if v2:
                try:
                    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError as e:
                    raise CgroupError('open cgroup "%s": %s' % (path, strerror(e.errno)),
                                      errno=e.errno) from None
        return -1

    def pids(self) -> list[int]:
        """Processes in the container's cgroup (from the first hierarchy
        that lists any)."""
        for _, path, _ in self.dirs:
            try:
                with open(path + "/cgroup.procs") as f:
                    return [int(x) for x in f.read().split()]
            except OSError:
                continue
        return []

    def destroy(self) -> list[str]:
        """Remove the directories we created, deepest first.  Returns the
        ones that could not be removed."""
        left = []
        for d in sorted(self.created, key=len, reverse=True):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                # (rmdir on a read-only mount says EROFS before it looks:
                # a directory that was never made is gone all the same)
                if os.path.isdir(d):
                    left.append('%s: %s' % (d, strerror(e.errno)))
        return left


def _write(path: str, text: str) -> None:
    try:
        write_once(path, text)
    except OSError as e:
        raise CgroupError('write %r to "%s": %s' % (text, path, strerror(e.errno)),
                          errno=e.errno) from None


def _procs_of(directory: str) -> list[str]:
    """The pids in a cgroup's own cgroup.procs (none if unreadable)."""
    try:
        with open(posixpath.join(directory, "cgroup.procs")) as f:
            return f.read().split()
    except OSError:
        return []


def _refuse_internal_processes(directory: str, controller: str) -> None:
    """A cgroup other than the root with processes of its own (the
    runtime's own cgroup under systemd, when cgroupsPath is relative to
    it) must not get a controller for its children: the kernel refuses a
    domain controller (EBUSY), but takes a threaded one (pids, cpu,
    cpuset) and the cgroup becomes a thread root, whose domain children,
    this container's and every later one's, no process can enter
    (clone: operation not supported)."""
    if not os.path.exists(posixpath.join(directory, "cgroup.type")):
        return   # the root: no such rule
    busy = _procs_of(directory)
    if busy:
        raise CgroupError('enable the %s controller in "%s": that cgroup has processes of its '
                          'own (%s), and a controller for its children would make it a '
                          'thread root that no container could enter; give the container '
                          'a cgroupsPath outside it (an absolute one), or use the systemd '
                          'driver' % (controller, directory, " ".join(busy[:5])))


def _open_either(target: str, other_name: str | None) -> tuple[int, str]:
    """(fd, path) of target opened for writing, or of the file other_name
    beside it when target does not exist."""
    try:
        return os.open(target, os.O_WRONLY | os.O_CLOEXEC), target
    except FileNotFoundError:
        if other_name is None:
            raise
    other = posixpath.join(posixpath.dirname(target), other_name)
    return os.open(other, os.O_WRONLY | os.O_CLOEXEC), other


def _order_memory_and_swap(todo: list[Write], memory_dir: str | None) -> None:
    """v1 keeps memory.memsw.limit_in_bytes >= memory.limit_in_bytes at
    every moment: raising the limit writes memsw first, lowering it the
    limit first."""
    names = [w.file for w in todo]
    if "memory.limit_in_bytes" not in names or "memory.memsw.limit_in_bytes" not in names:
        return
    i, j = names.index("memory.limit_in_bytes"), names.index("memory.memsw.limit_in_bytes")
    limit = todo[i].value
    assert isinstance(limit, str)   # (a number's text: _limit())
    new = int(limit)
    if memory_dir is None:   # (what the TypeError below did)
        return
    try:
        with open(posixpath.join(memory_dir, "memory.limit_in_bytes")) as f:
            current = int(f.read())
    except (OSError, ValueError, TypeError):
        return
    if new == -1 or new > current:
        todo[i], todo[j] = todo[j], todo[i]


def _inherit_cpuset(path: str) -> None:
    """A new v1 cpuset cgroup starts empty and takes no task: copy the
    parent's cpus and mems."""
    parent = posixpath.dirname(path)
    for name in ("cpuset.cpus", "cpuset.mems"):
        try:
            with open(posixpath.join(path, name)) as f:
                if f.read().strip():
                    continue
            with open(posixpath.join(parent, name)) as f:
                value = f.read().strip()
            with open(posixpath.join(path, name), "w") as f:
                f.write(value)
        except OSError:
            pass
