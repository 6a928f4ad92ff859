"""The runtime-spec's tables, written once: the names a config may use
and what they mean to Linux (hook kinds, namespace types and their clone
flags, mount options and propagations, device types, the default devices,
the sysctls a namespace owns).  bundle.py checks a config against them,
validate.py and plan.py turn them into flags and steps, features.py lists
them."""
from __future__ import annotations

from . import linux as L

TYPE_CHECKING = False
if TYPE_CHECKING:
    # a default device: type, major, minor (None: any), cgroup access,
    # its node's path (None: a rule only)
    DefaultDevice = tuple[str, int | None, int | None, str, str | None]

HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")
# run while the container is created (the child waits at a sync point or
# runs them itself); the others, after start and after the end, are kept
# in the container's state
HOOKS_OF_CREATE = HOOK_KINDS[:4]
HOOKS_KEPT = HOOK_KINDS[4:]

NAMESPACE_FLAGS = {
    "pid": L.CLONE_NEWPID, "network": L.CLONE_NEWNET, "mount": L.CLONE_NEWNS,
    "ipc": L.CLONE_NEWIPC, "uts": L.CLONE_NEWUTS, "user": L.CLONE_NEWUSER,
    "cgroup": L.CLONE_NEWCGROUP, "time": L.CLONE_NEWTIME,
}
# Order in which existing namespaces are joined: the user namespace first
# (it owns the others), the mount namespace last (it changes the view of
# the paths of the others).
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")
NAMESPACE_TYPES = tuple(NAMESPACE_FLAGS)

# process fields of scheduling (procattrs.py) that an exec process takes
# from the container's process when it has none of its own (runc)
PROCESS_SCHED_FIELDS = ("scheduler", "ioPriority", "execCPUAffinity")

# mount(8) options -> (set flags, clear flags)
MOUNT_FLAGS = {
    "async": (0, L.MS_SYNCHRONOUS), "atime": (0, L.MS_NOATIME),
    "bind": (L.MS_BIND, 0), "defaults": (0, 0), "dev": (0, L.MS_NODEV),
    "diratime": (0, L.MS_NODIRATIME), "dirsync": (L.MS_DIRSYNC, 0),
    "exec": (0, L.MS_NOEXEC), "iversion": (L.MS_I_VERSION, 0),
    "lazytime": (L.MS_LAZYTIME, 0), "loud": (0, L.MS_SILENT),
    "mand": (L.MS_MANDLOCK, 0), "noatime": (L.MS_NOATIME, 0),
    "nodev": (L.MS_NODEV, 0), "nodiratime": (L.MS_NODIRATIME, 0),
    "noexec": (L.MS_NOEXEC, 0), "noiversion": (0, L.MS_I_VERSION),
    "nolazytime": (0, L.MS_LAZYTIME), "nomand": (0, L.MS_MANDLOCK),
    "norelatime": (0, L.MS_RELATIME), "nostrictatime": (0, L.MS_STRICTATIME),
    "nosuid": (L.MS_NOSUID, 0), "nosymfollow": (L.MS_NOSYMFOLLOW, 0),
    "rbind": (L.MS_BIND | L.MS_REC, 0), "relatime": (L.MS_RELATIME, 0),
    "remount": (L.MS_REMOUNT, 0), "ro": (L.MS_RDONLY, 0),
    "rw": (0, L.MS_RDONLY), "silent": (L.MS_SILENT, 0),
    "strictatime": (L.MS_STRICTATIME, 0), "suid": (0, L.MS_NOSUID),
    "sync": (L.MS_SYNCHRONOUS, 0),
}
PROPAGATION_FLAGS = {
    "private": L.MS_PRIVATE, "rprivate": L.MS_PRIVATE | L.MS_REC,
    "shared": L.MS_SHARED, "rshared": L.MS_SHARED | L.MS_REC,
    "slave": L.MS_SLAVE, "rslave": L.MS_SLAVE | L.MS_REC,
    "unbindable": L.MS_UNBINDABLE, "runbindable": L.MS_UNBINDABLE | L.MS_REC,
}
PROPAGATIONS = tuple(PROPAGATION_FLAGS)
# idmapped binds (runtime-spec 1.2): the mapping on the mount itself, or
# (ridmap) on its submounts too; not mount(2) options
IDMAP_OPTIONS = ("idmap", "ridmap")
# the recursive mount options (mount_setattr(2) with AT_RECURSIVE: the
# mount and every mount under it) -> (attributes set, attributes cleared).
# An access-time one sets the whole access-time field (the kernel's rule:
# MOUNT_ATTR__ATIME cleared with it); its opposites (rnorelatime, ratime,
# rnostrictatime) give the field back the kernel's default, relatime, as
# runc makes them do.
RECURSIVE_MOUNT_ATTRS = {
    "rro": (L.MOUNT_ATTR_RDONLY, 0), "rrw": (0, L.MOUNT_ATTR_RDONLY),
    "rnosuid": (L.MOUNT_ATTR_NOSUID, 0), "rsuid": (0, L.MOUNT_ATTR_NOSUID),
    "rnodev": (L.MOUNT_ATTR_NODEV, 0), "rdev": (0, L.MOUNT_ATTR_NODEV),
    "rnoexec": (L.MOUNT_ATTR_NOEXEC, 0), "rexec": (0, L.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (L.MOUNT_ATTR_NODIRATIME, 0), "rdiratime": (0, L.MOUNT_ATTR_NODIRATIME),
    "rnosymfollow": (L.MOUNT_ATTR_NOSYMFOLLOW, 0),
    "rsymfollow": (0, L.MOUNT_ATTR_NOSYMFOLLOW),
    "rrelatime": (L.MOUNT_ATTR_RELATIME, L.MOUNT_ATTR__ATIME),
    "rnorelatime": (0, L.MOUNT_ATTR__ATIME),
    "rnoatime": (L.MOUNT_ATTR_NOATIME, L.MOUNT_ATTR__ATIME),
    "ratime": (0, L.MOUNT_ATTR__ATIME),
    "rstrictatime": (L.MOUNT_ATTR_STRICTATIME, L.MOUNT_ATTR__ATIME),
    "rnostrictatime": (0, L.MOUNT_ATTR__ATIME),
}

# device type -> the type bits of its node ("u" is runc's unbuffered "c")
DEVICE_TYPE_BITS = {"c": L.S_IFCHR, "b": L.S_IFBLK, "u": L.S_IFCHR, "p": L.S_IFIFO}
DEVICE_TYPES = tuple(DEVICE_TYPE_BITS)
# runc's default device rules, appended after the config's own: mknod of
# anything, and the devices every container gets (type, major, minor,
# access, the node's path: a linux.devices entry at that path takes its
# place, and its rule goes, as in runc).
DEFAULT_DEVICES: list[DefaultDevice] = [
    ("c", None, None, "m", None), ("b", None, None, "m", None),
    ("c", 1, 3, "rwm", "/dev/null"), ("c", 1, 8, "rwm", "/dev/random"),
    ("c", 1, 7, "rwm", "/dev/full"), ("c", 5, 0, "rwm", "/dev/tty"),
    ("c", 1, 5, "rwm", "/dev/zero"), ("c", 1, 9, "rwm", "/dev/urandom"),
    ("c", 136, None, "rwm", None), ("c", 5, 2, "rwm", None),
]
DEV_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
)

# Sysctls an IPC namespace owns (runc's list; and fs.mqueue.*); net.* is
# the network namespace's, kernel.domainname the uts namespace's.
IPC_SYSCTLS = frozenset(("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                         "kernel.shm_rmid_forced"))
