"""The steps of a child's plan: one class per op kind of csrc/shim.h.
(One module of ~540 lines: ~50 small classes, one per op, so that the
planner's kinds and shim.h's match one to one.)

The planner (plan.py) makes them with named, typed fields; spawn.py packs
each into a struct pyrunc_op through its class's LAYOUT (field -> slot of
the struct), the one place that knows which slot holds what.  shim.h says
what each op does with its slots.

(No __slots__ and no super() in them: creating the classes is part of
every create's start-up.)  Every step has `desc`, the words of an error of it (`mount "proc" on
"/proc": ...`).  Steps after the wait for start also give the child those
words (words_to_child): the runtime may be gone when they fail, and the
child then prints them itself, as runc's init does.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar, Sequence

    # a value of a slot: an int slot (flags a b c d), a string slot
    # (s1..s4) or a vector slot (v1 v2)
    SlotValue = int | str | bytes | Sequence[str] | None


class Step:
    """One op of the child."""

    KIND: ClassVar[str] = ""
    # field -> slot of struct pyrunc_op ("flags", "a".."d", "s1".."s4", "v1", "v2")
    LAYOUT: ClassVar[dict[str, str]] = {}

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.words_to_child = False

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def slots(self) -> dict[str, SlotValue]:
        """The struct's view: slot -> value, for the fields that are set
        (and s4, the words, when the child gets them)."""
        out: dict[str, SlotValue] = {}
        for field, slot in self.LAYOUT.items():
            value = getattr(self, field)
            if value is not None:
                out[slot] = value
        if self.words_to_child:
            out["s4"] = self.desc
        return out

    def __repr__(self) -> str:
        return "%s(%r, %r)" % (type(self).__name__, self.desc, self.slots)


class _PathStep(Step):
    LAYOUT = {"path": "s1"}

    def __init__(self, desc: str, path: str) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path


class _PathTextStep(Step):
    LAYOUT = {"path": "s1", "text": "s2"}

    def __init__(self, desc: str, path: str, text: str) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.text = text


class _NameStep(Step):
    LAYOUT = {"name": "s1"}

    def __init__(self, desc: str, name: str) -> None:
        self.desc = desc
        self.words_to_child = False
        self.name = name


class _ValueStep(Step):
    LAYOUT = {"value": "a"}

    def __init__(self, desc: str, value: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.value = value


class _FlagsStep(Step):
    LAYOUT = {"flags": "a"}

    def __init__(self, desc: str, flags: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.flags = flags


# -- namespaces and the sync protocol ------------------------------------------

class Setns(Step):
    KIND = "SETNS"
    LAYOUT = {"path": "s1", "nstype": "a"}

    def __init__(self, desc: str, path: str, nstype: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.nstype = nstype


class SetnsFd(Step):
    """Join the namespaces `flags` of the process of a pidfd at once."""
    KIND = "SETNS_FD"
    LAYOUT = {"pidfd": "a", "flags": "b"}

    def __init__(self, desc: str, pidfd: int, flags: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.pidfd = pidfd
        self.flags = flags


class Dumpable(_ValueStep):
    """PR_SET_DUMPABLE: 1 while a rootless runtime writes the child's
    /proc files, 0 again after (the child starts non-dumpable)."""
    KIND = "DUMPABLE"


class Unshare(_FlagsStep):
    KIND = "UNSHARE"


class Fork(Step):
    KIND = "FORK"


class Sync(Step):
    """Tell the runtime, wait for its reply: sync_id is plan.SYNC_* bits."""
    KIND = "SYNC"
    LAYOUT = {"sync_id": "a"}

    def __init__(self, desc: str, sync_id: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.sync_id = sync_id


class Ready(Step):
    KIND = "READY"


class WaitStart(Step):
    KIND = "WAIT_START"
    LAYOUT = {"fifo_fd": "a"}

    def __init__(self, desc: str, fifo_fd: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.fifo_fd = fifo_fd


class Detach(Step):
    KIND = "DETACH"


# -- host-side and root-side files ------------------------------------------------

class WriteHost(_PathTextStep):
    KIND = "WRITE_HOST"


class WriteProc(_PathTextStep):
    """Write text to a file of a real procfs, a root path under /proc."""
    KIND = "WRITE_PROC"


class MountHost(Step):
    """mount(2) on a host path (the propagation of "/", the rootfs bind)."""
    KIND = "MOUNT_HOST"
    LAYOUT = {"source": "s1", "target": "s2", "flags": "flags"}

    def __init__(self, desc: str, target: str, flags: int, source: str | None = None) -> None:
        self.desc = desc
        self.words_to_child = False
        self.source = source
        self.target = target
        self.flags = flags


class OpenRoot(_PathStep):
    KIND = "OPEN_ROOT"


# Mount.create: what to make at the target when it is missing
CREATE_NONE, CREATE_DIR, CREATE_FILE, CREATE_AS_SOURCE = 0, 1, 2, 3
# Mount.checks bits (shim.h says what each one does)
NO_SYMLINKS, TMPCOPYUP, MAY_COVER_PROCFS, MAY_COVER_PROCFS_FILE, MODE_OF_MOUNTPOINT, \
    SOURCE_FD, MOUNT_TREE = 1, 2, 4, 8, 16, 32, 64


class Mount(Step):
    """A mount at a root path.  remount: the flags a bind is remounted
    with; propagation: set after; checks: the bits above, and with
    SOURCE_FD the slot of the runtime's fd of the source (source_slot),
    with MOUNT_TREE the fd itself, a detached mount tree (tree_fd)."""
    KIND = "MOUNT"
    LAYOUT = {"source": "s1", "target": "s2", "fstype": "s3", "data": "s4", "flags": "flags",
              "create": "a", "remount": "b", "propagation": "c", "checks_word": "d"}

    def __init__(self, desc: str, source: str, target: str, fstype: str | None = None,
                 data: str | None = None, flags: int = 0, create: int = CREATE_DIR,
                 remount: int = 0, propagation: int = 0, checks: int = 0,
                 source_slot: int = 0) -> None:
        self.desc = desc
        self.words_to_child = False
        self.source = source
        self.target = target
        self.fstype = fstype
        self.data = data
        self.flags = flags
        self.create = create
        self.remount = remount
        self.propagation = propagation
        self.checks = checks
        self.source_slot = source_slot
        self.tree_fd = -1

    @property
    def checks_word(self) -> int:
        """d: the check bits, the source slot (or tree fd) above them."""
        if self.checks & MOUNT_TREE:
            return self.checks | self.tree_fd << 8
        return self.checks | (self.source_slot << 8 if self.checks & SOURCE_FD else 0)


class MountSetattr(Step):
    """mount_setattr(2) with AT_RECURSIVE on the mount at a root path and
    every mount under it: attributes set and cleared (MOUNT_ATTR_*)."""
    KIND = "MOUNT_SETATTR"
    LAYOUT = {"path": "s1", "attr_set": "a", "attr_clear": "b"}

    def __init__(self, desc: str, path: str, attr_set: int, attr_clear: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.attr_set = attr_set
        self.attr_clear = attr_clear


class Remount(Step):
    """MS_BIND|MS_REMOUNT of the mount at a root path (never its superblock)."""
    KIND = "REMOUNT"
    LAYOUT = {"path": "s1", "flags": "a"}

    def __init__(self, desc: str, path: str, flags: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.flags = flags


class Mknod(Step):
    KIND = "MKNOD"
    LAYOUT = {"path": "s1", "mode": "a", "dev": "b", "uid": "c", "gid": "d"}

    def __init__(self, desc: str, path: str, mode: int, dev: int, uid: int, gid: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.mode = mode
        self.dev = dev
        self.uid = uid
        self.gid = gid


class BindDev(Step):
    """Bind the host's device node; it must be a `kind` device `dev`."""
    KIND = "BIND_DEV"
    LAYOUT = {"source": "s1", "target": "s2", "kind_bits": "a", "dev": "b"}

    def __init__(self, desc: str, source: str, target: str, kind_bits: int, dev: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.source = source
        self.target = target
        self.kind_bits = kind_bits
        self.dev = dev


class Symlink(Step):
    KIND = "SYMLINK"
    LAYOUT = {"target": "s1", "link": "s2"}

    def __init__(self, desc: str, target: str, link: str) -> None:
        self.desc = desc
        self.words_to_child = False
        self.target = target
        self.link = link


class Mkdir(Step):
    KIND = "MKDIR"
    LAYOUT = {"path": "s1", "mode": "a"}

    def __init__(self, desc: str, path: str, mode: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.mode = mode


class Mask(_PathStep):
    KIND = "MASK"


class Readonly(_PathStep):
    KIND = "READONLY"


class HideMount(_PathStep):
    """--no-pivot: detach (or cover) a host procfs or sysfs mount."""
    KIND = "HIDE_MOUNT"


# -- the root ----------------------------------------------------------------------

class PivotRoot(Step):
    KIND = "PIVOT_ROOT"


class MoveRoot(Step):
    KIND = "MOVE_ROOT"


class Chroot(Step):
    KIND = "CHROOT"


class RemountRoot(_FlagsStep):
    KIND = "REMOUNT_ROOT"


class PropagateRoot(_FlagsStep):
    KIND = "PROPAGATE_ROOT"


# -- the process -------------------------------------------------------------------

class SetHostname(_NameStep):
    KIND = "SETHOSTNAME"


class SetDomainname(_NameStep):
    KIND = "SETDOMAINNAME"


class Loopback(Step):
    KIND = "LOOPBACK"


class Keyring(_NameStep):
    KIND = "KEYRING"


class Stdio(Step):
    """fds that become 0, 1, 2 (-1: keep that one)."""
    KIND = "STDIO"
    LAYOUT = {"stdin": "a", "stdout": "b", "stderr": "c"}

    def __init__(self, desc: str, stdin: int, stdout: int, stderr: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr


class StdioOwner(Step):
    KIND = "STDIO_OWNER"
    LAYOUT = {"uid": "a"}

    def __init__(self, desc: str, uid: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.uid = uid


class Console(Step):
    """A pty of the container's devpts as the controlling terminal and
    stdio (rows/columns 0: leave the size); bind_console: over /dev/console."""
    KIND = "CONSOLE"
    LAYOUT = {"rows": "a", "columns": "b", "bind_console": "c"}

    def __init__(self, desc: str, rows: int, columns: int, bind_console: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.rows = rows
        self.columns = columns
        self.bind_console = bind_console


class Setsid(Step):
    KIND = "SETSID"


class Rlimit(Step):
    KIND = "RLIMIT"
    LAYOUT = {"resource": "a", "soft": "b", "hard": "c"}

    def __init__(self, desc: str, resource: int, soft: int, hard: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.resource = resource
        self.soft = soft
        self.hard = hard


class Chdir(_PathStep):
    KIND = "CHDIR"


class Umask(Step):
    KIND = "UMASK"
    LAYOUT = {"mask": "a"}

    def __init__(self, desc: str, mask: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.mask = mask


class Personality(Step):
    KIND = "PERSONALITY"
    LAYOUT = {"persona": "a"}

    def __init__(self, desc: str, persona: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.persona = persona


class Sched(Step):
    """process.scheduler: sched_setattr(2) with a policy (SCHED_* number),
    nice, priority, SCHED_FLAG_* bits and the deadline times (ns)."""
    KIND = "SCHED"
    LAYOUT = {"policy": "a", "nice": "b", "priority": "c", "sched_flags": "d", "times": "v1"}

    def __init__(self, desc: str, policy: int, nice: int, priority: int, sched_flags: int,
                 runtime: int, deadline: int, period: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.policy = policy
        self.nice = nice
        self.priority = priority
        self.sched_flags = sched_flags
        self.times = [str(runtime), str(deadline), str(period)]


class Ioprio(_ValueStep):
    """process.ioPriority: the I/O priority (class << 13 | level) of the
    process group."""
    KIND = "IOPRIO"


class Mempolicy(Step):
    """linux.memoryPolicy: set_mempolicy(2) with mode | flags and a node
    mask of `bits` bits (None: no nodes)."""
    KIND = "MEMPOLICY"
    LAYOUT = {"mode": "a", "mask": "s1", "bits": "b"}

    def __init__(self, desc: str, mode: int, mask: bytes | None) -> None:
        self.desc = desc
        self.words_to_child = False
        self.mode = mode
        self.mask = mask
        self.bits = 8 * len(mask) if mask else 0


class Affinity(Step):
    """sched_setaffinity(2) of the process: a CPU mask, or None for every
    CPU (the runtime's own affinity is not inherited)."""
    KIND = "AFFINITY"
    LAYOUT = {"mask": "s1", "size": "a"}

    def __init__(self, desc: str, mask: bytes | None) -> None:
        self.desc = desc
        self.words_to_child = False
        self.mask = mask
        self.size = len(mask) if mask else 0


class Bounding(Step):
    """Keep the capabilities of mask in the bounding set, up to last."""
    KIND = "BOUNDING"
    LAYOUT = {"mask": "a", "last": "b"}

    def __init__(self, desc: str, mask: int, last: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.mask = mask
        self.last = last


class User(Step):
    KIND = "USER"
    LAYOUT = {"uid": "a", "gid": "b", "groups": "v1"}

    def __init__(self, desc: str, uid: int, gid: int, groups: Sequence[str]) -> None:
        self.desc = desc
        self.words_to_child = False
        self.uid = uid
        self.gid = gid
        self.groups = list(groups)


class Caps(Step):
    KIND = "CAPS"
    LAYOUT = {"effective": "a", "permitted": "b", "inheritable": "c", "ambient": "d"}

    def __init__(self, desc: str, effective: int, permitted: int, inheritable: int,
                 ambient: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
        self.ambient = ambient


class NoNewPrivs(Step):
    KIND = "NO_NEW_PRIVS"


class Seccomp(Step):
    """Load a compiled filter (count struct sock_filter of program);
    notifies: send the listener fd up."""
    KIND = "SECCOMP"
    LAYOUT = {"program": "s1", "count": "a", "flags": "flags", "notifies": "b"}

    def __init__(self, desc: str, program: bytes, count: int, flags: int,
                 notifies: int = 0) -> None:
        self.desc = desc
        self.words_to_child = False
        self.program = program
        self.count = count
        self.flags = flags
        self.notifies = notifies


class Hook(Step):
    """A hook the child runs: env None is the runtime's environment;
    segment: the payload segment with the state JSON; in_root: run it in
    the open root's directory."""
    KIND = "HOOK"
    LAYOUT = {"path": "s1", "args": "v1", "env": "v2", "timeout": "a", "segment": "b",
              "in_root": "c"}

    def __init__(self, desc: str, path: str, args: Sequence[str], env: Sequence[str] | None,
                 timeout: int, segment: int, in_root: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.path = path
        self.args = list(args)
        self.env = None if env is None else list(env)
        self.timeout = timeout
        self.segment = segment
        self.in_root = in_root


class Close(Step):
    KIND = "CLOSE"
    LAYOUT = {"fd": "a"}

    def __init__(self, desc: str, fd: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.fd = fd


class CloseFds(Step):
    KIND = "CLOSE_FDS"
    LAYOUT = {"first": "a"}

    def __init__(self, desc: str, first: int) -> None:
        self.desc = desc
        self.words_to_child = False
        self.first = first


class Lookup(Step):
    """Find the executable `name` along `path` (PATH)."""
    KIND = "LOOKUP"
    LAYOUT = {"name": "s1", "path": "s2"}

    def __init__(self, desc: str, name: str, path: str) -> None:
        self.desc = desc
        self.words_to_child = False
        self.name = name
        self.path = path


class Exec(Step):
    """execve the looked-up file; listen_pid_at > 0: envp[listen_pid_at - 1]
    is "LISTEN_PID=" with room for the pid."""
    KIND = "EXEC"
    LAYOUT = {"argv": "v1", "envp": "v2", "listen_pid_at": "a"}

    def __init__(self, desc: str, argv: Sequence[str], envp: Sequence[str],
                 listen_pid_at: int = 0) -> None:
        self.desc = desc
        self.words_to_child = False
        self.argv = list(argv)
        self.envp = list(envp)
        self.listen_pid_at = listen_pid_at
