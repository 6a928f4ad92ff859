"""The state directory: the one place that knows the layout under --root.

<root>/<id>/state.json   OCI state plus what later commands need
<root>/<id>/exec.fifo    exists while the container is `created`
<root>/<id>/config.json  the config it was created with, for `exec`
<root>/<id>/fastpath     written by create for a plain container: what the
                         compiled front-end (csrc/front.c) needs to start
                         and delete it without Python
<root>/.seccomp-cache/   compiled seccomp programs (ids never start with ".")

Calls on one container are serialised by flock on <root>/<id> itself.  The
names, the id rule, the fastpath format and the liveness rule are
csrc/statedir.h's, which front.c includes too (_statedir is made from it
at build time).
"""
from __future__ import annotations

import errno
import fcntl
import os
import time

from . import jsonio

from . import _statedir as sd_rules
from .errors import BadArgument, ContainerExists, ContainerNotFound, PyruncError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, TypedDict

    from .cgroups.fs import CgroupsState
    from .hostmount import AnyRecord as HostMount   # the rootfs bind's record
    from .resctrl import RdtState

    class ContainerState(TypedDict, total=False):
        """state.json's content.  Any key may be missing: a state file of an
        older pyrunc lacks the later ones, and undo() is also given a
        record of only cgroups and host_mount (a create that failed)."""
        id: str
        pid: int                     # the init's (0 before it exists)
        start_time: int | None       # the init's, against pid reuse
        bundle: str
        rootfs: str
        created: str                 # RFC 3339
        owner: str
        annotations: dict[str, str]
        cgroups: CgroupsState | None   # Cgroups.to_state()
        host_mount: HostMount | None
        intel_rdt: RdtState | None   # resctrl.RdtGroup.to_state()
        has_process: bool
        hooks: dict[str, list[dict[str, Any]]]   # poststart, poststop
        paused: bool

    class _OciStateBase(TypedDict):
        ociVersion: str
        id: str
        pid: int
        status: str
        bundle: str
        rootfs: str
        created: str
        owner: str

    class OciState(_OciStateBase, total=False):
        """The state document `pyrunc state` prints (runc's fields)."""
        annotations: dict[str, str]

OCI_VERSION = "1.3.0"
STATE_FILE = sd_rules.STATE_FILE
FIFO = sd_rules.FIFO
FASTPATH = sd_rules.FASTPATH
CONFIG_FILE = sd_rules.CONFIG_FILE
DEFAULT_ROOT = sd_rules.DEFAULT_ROOT


def default_root() -> str:
    """--root when none is given, runc's rule: $XDG_RUNTIME_DIR/pyrunc
    where that is set, for a caller that is not root, or is root of a user
    namespace (a rootless Podman runs its runtime so) whose $USER is not
    root; else DEFAULT_ROOT (the host's root ignores its /run/user/0)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and (os.geteuid() != 0 or
                in_user_namespace() and os.environ.get("USER") != "root"):
        return os.path.join(xdg, os.path.basename(DEFAULT_ROOT))
    return DEFAULT_ROOT


_uid_map: list[list[tuple[int, int, int]]] = []   # (own_uid_map's: a process keeps its own)


def own_uid_map() -> list[tuple[int, int, int]]:
    """This process's /proc/self/uid_map: (inside, outside, size) lines,
    read once."""
    if not _uid_map:
        try:
            with open("/proc/self/uid_map") as f:
                _uid_map.append([(int(a), int(b), int(c)) for a, b, c in
                                 (line.split() for line in f)])
        except (OSError, ValueError):
            _uid_map.append([(0, 0, 4294967295)])
    return _uid_map[0]


def in_user_namespace() -> bool:
    """Is this process in a user namespace other than the host's (one
    that maps less than every id)?"""
    return own_uid_map() != [(0, 0, 4294967295)]


_ID_CHARS = frozenset(sd_rules.ID_FIRST + sd_rules.ID_MORE)


def check_id(cid: str) -> None:
    """statedir.h's id rule (runc's characters, and a letter or digit
    first, so that no id is "." or ".." or looks like a flag)."""
    if not cid:
        raise BadArgument("container id cannot be empty")
    if len(cid) > sd_rules.ID_MAX:
        raise BadArgument("invalid container id %r: longer than %d characters"
                          % (cid, sd_rules.ID_MAX))
    if cid[0] not in sd_rules.ID_FIRST or not _ID_CHARS.issuperset(cid):
        raise BadArgument("invalid container id %r: a letter or digit, then letters, digits "
                          "and %s" % (cid, " ".join(sd_rules.ID_MORE)))


class StateDir:
    """<root>/<id>: lock, state file, exec fifo."""

    def __init__(self, root: str, cid: str) -> None:
        check_id(cid)
        self.id = cid
        self.root = root
        self.path = os.path.join(root, cid)
        self.lock_fd = -1

    @property
    def fifo(self) -> str:
        return os.path.join(self.path, FIFO)

    def create(self) -> None:
        """Make the directory and lock it; refuse an existing id."""
        try:
            try:
                os.mkdir(self.root, 0o711)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(self.root, 0o711, exist_ok=True)
        except PermissionError:
            raise self._not_writable(self.root) from None
        while True:
            try:
                os.mkdir(self.path, 0o711)
            except FileExistsError:
                raise ContainerExists(self.id) from None
            except PermissionError:
                raise self._not_writable(self.root) from None
            self._lock()
            # A `delete` that came between mkdir and flock took the empty
            # directory for what a create killed half-way leaves, and
            # removed it: make it anew, never work in a removed one.
            if self._holds_path():
                return
            self.unlock()

    def _not_writable(self, path: str) -> PyruncError:
        hint = "" if os.geteuid() == 0 else \
            " (a user's own state goes under $XDG_RUNTIME_DIR, or where --root says)"
        return PyruncError("cannot make the state directory under %s as uid %d: permission "
                           "denied%s" % (path, os.geteuid(), hint))

    def _holds_path(self) -> bool:
        """Is the locked directory still the one at self.path?"""
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.lock_fd)
        return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)

    def open(self) -> None:
        """Lock an existing container's directory."""
        try:
            self._lock()
        except (FileNotFoundError, NotADirectoryError):
            raise ContainerNotFound(self.id) from None
        if not os.path.exists(os.path.join(self.path, STATE_FILE)):
            # A create that died before writing its state (delete --force
            # can still clean it up).
            if not os.path.isdir(self.path):
                raise ContainerNotFound(self.id)

    def _lock(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.lock_fd = fd

    def unlock(self) -> None:
        if self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def load(self) -> ContainerState | None:
        try:
            with open(os.path.join(self.path, STATE_FILE), "rb") as f:
                state: ContainerState = jsonio.loads(f.read())
                return state
        except FileNotFoundError:
            return None

    def save(self, state: ContainerState) -> None:
        """Write state.json atomically: tmp file, rename."""
        write_atomic(os.path.join(self.path, STATE_FILE),
                     jsonio.dumps(state).encode())

    def save_fastpath(self, pid: int, start_time: int, cgroup_dirs: Iterable[str]) -> None:
        """What csrc/front.c reads to start and delete a plain container (a
        process, no poststart or poststop hooks): the init's pid and start
        time, and the cgroup directories to remove, deepest first.  It is
        written after state.json; a missing or partial file only means the
        Python CLI does the work."""
        dirs = sorted(cgroup_dirs, key=len, reverse=True)
        text = "%s%d %d\n%s" % (sd_rules.FASTPATH_MAGIC, pid, start_time,
                                 "".join(d + "\n" for d in dirs))
        if any("\n" in d or not d.startswith("/") for d in dirs) or \
                len(dirs) > sd_rules.FASTPATH_MAX_CGROUPS or \
                len(text.encode()) >= sd_rules.FASTPATH_MAX_SIZE:
            return   # (front.c would refuse it: Python does the work)
        try:
            fd = os.open(os.path.join(self.path, FASTPATH),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        except OSError:   # (a full disk): Python does the work then
            self.drop_fastpath()

    def drop_fastpath(self) -> None:
        try:
            os.unlink(os.path.join(self.path, FASTPATH))
        except FileNotFoundError:
            pass

    def save_config(self, data: bytes) -> None:
        """config.json as create read it (bytes), for `exec` (the bundle's
        copy may change or go).  Written once, under the lock, before anyone
        may read it: no tmp file and rename (a third of a ms of every
        create)."""
        path = os.path.join(self.path, CONFIG_FILE)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(errno.ENOSPC, "short write")
            finally:
                os.close(fd)
        except OSError as e:
            raise PyruncError("write %s: %s" % (path, strerror(e.errno))) from None

    def load_config(self) -> dict[str, Any] | None:
        """The saved config, through the input boundary again (nulls
        dropped), or None."""
        from .bundle import parse_json, walk
        try:
            with open(os.path.join(self.path, CONFIG_FILE), "rb") as f:
                config: dict[str, Any] = parse_json(f.read(), "config.json")
        except FileNotFoundError:
            return None
        walk(config, "")
        return config

    def make_fifo(self) -> None:
        os.mkfifo(self.fifo, 0o622)

    def remove(self) -> None:
        """Remove the directory and everything pyrunc put in it."""
        try:
            for entry in os.scandir(self.path):
                os.unlink(entry.path)
            os.rmdir(self.path)
        except FileNotFoundError:
            pass
        self.unlock()


def write_atomic(path: str, data: bytes, mode: int = 0o600, durable: bool = False) -> None:
    """tmp file, rename: a reader sees the old file or the new one, never a
    part.  A failure (a full disk) is a PyruncError naming the file.

    durable: fsync before the rename, so that the file survives a crash of
    the machine whole.  The state files need not (as runc's): they describe
    processes that a crash ends, and live in /run; an fsync where /run is
    on disk costs ~0.3 ms, two per create."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, "short write")
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PyruncError("write %s: %s" % (path, strerror(e.errno))) from None


def list_ids(root: str) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(root)
                      if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except FileNotFoundError:
        return []


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, parent pid, start time) of /proc/<pid>/stat, or None
    if the process is gone.  The start time (clock ticks since boot)
    identifies a process across pid reuse."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # (field 3 is the first after the command's, which may hold spaces)
    fields = data[data.rindex(b")") + 2:].split()
    return (fields[sd_rules.STAT_STATE_FIELD - 3].decode(), int(fields[4 - 3]),
            int(fields[sd_rules.STAT_START_FIELD - 3]))


def process_start_time(pid: int) -> int | None:
    """The start time of a live process, or None if it is gone or has
    exited (statedir.h's liveness rule)."""
    stat = proc_stat(pid)
    return None if stat is None or stat[0] in sd_rules.DEAD_STATES else stat[2]


def init_alive(state: ContainerState) -> bool:
    pid = state.get("pid") or 0
    return pid > 0 and process_start_time(pid) == state.get("start_time")


def status_of(sd: StateDir, state: ContainerState | None) -> str:
    """creating / created / running / paused / stopped, per the runtime-spec
    lifecycle (and runc's paused): derived from the init process, the exec
    fifo and the paused mark that pause and resume keep."""
    if state is None:
        return "creating"
    if not init_alive(state):
        return "stopped"
    if state.get("paused"):
        return "paused"
    if os.path.exists(sd.fifo):
        return "created"
    return "running"


def oci_state(sd: StateDir, state: ContainerState) -> OciState:
    """The state document `pyrunc state` prints (runc's fields)."""
    status = status_of(sd, state)
    out: OciState = {
        "ociVersion": OCI_VERSION,
        "id": sd.id,
        "pid": state["pid"] if status != "stopped" else 0,
        "status": status,
        "bundle": state["bundle"],
        "rootfs": state["rootfs"],
        "created": state["created"],
        "owner": state.get("owner", ""),
    }
    if state.get("annotations"):
        out["annotations"] = state["annotations"]
    return out


def hook_state(cid: str, status: str, pid: int, bundle: str,
               annotations: dict[str, str] | None) -> str:
    """The state a hook reads on stdin (runtime-spec, runtime.md "State")."""
    doc = {"ociVersion": OCI_VERSION, "id": cid, "status": status, "pid": pid,
           "bundle": bundle}
    if annotations:
        doc["annotations"] = annotations
    text: str = jsonio.dumps(doc)
    return text


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % int((t % 1) * 1e9)
