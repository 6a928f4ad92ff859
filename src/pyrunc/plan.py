"""config.json -> SpawnPlan: the flat list of steps the C child executes.
(One module of ~750 lines: its functions follow the child's life from
clone to execve in the order of the steps; split, that order would be
scattered over files.)

Pure functions, no system calls: everything the child needs is computed
here, before clone (mount flags and data strings, capability masks, rlimit
numbers, uid/gid map text, device numbers, argv and env arrays).  Each step
carries the words the CLI prints if it fails.
"""
from __future__ import annotations

import os
import posixpath

from . import linux as L
from . import steps as S
from .tables import (DEFAULT_DEVICES, DEV_SYMLINKS, DEVICE_TYPE_BITS, HOOKS_OF_CREATE,
                     JOIN_ORDER, MOUNT_FLAGS, NAMESPACE_FLAGS, PROCESS_SCHED_FIELDS,
                     PROPAGATION_FLAGS, RECURSIVE_MOUNT_ATTRS, IDMAP_OPTIONS)
from .bundle import PROC_MOUNTS_ALLOWED, clean_path, is_bind, is_idmapped
from .errors import ConfigError, strerror
from .validate import check_semantics, other_platform_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Sequence, TypeVar

    from .cgroups.fs import CgroupDir

    # compile_seccomp: linux.seccomp -> (BPF program, instruction count,
    # seccomp(2) flags)
    SeccompCompiler = Callable[[dict[str, Any]], tuple[bytes, int, int]]
    # open_idmapped(source, recursive clone, recursive idmap, maps) -> the
    # fd of a detached idmapped tree; maps: (uid_map, gid_map) texts or the
    # path of a user namespace
    IdmapOpener = Callable[[str, bool, bool, tuple[str, str] | str], int]
    # the stdio given: (in, out, err) fds, None or -1 for the runtime's own
    Stdio = Sequence[int | None]
    _StepT = TypeVar("_StepT", bound=S.Step)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Sync points: what the parent does when the child reaches them.
SYNC_SETUP = 1   # write uid/gid maps (and join the cgroups before a fork)
SYNC_HOOKS = 2   # run prestart/createRuntime hooks, send the hooks' state
SYNC_CGROUP = 4  # the parent has put the child in its cgroups
SYNC_TIMENS = 8  # write the new time namespace's offsets
SYNC_SOURCES = 16  # open the bind sources (plan.bind_sources) in the child's
                   # mount namespace as host root and pass them with the reply
SYNC_NETDEV = 32   # move linux.netDevices into the child's network namespace

# Flags a bind mount can only get by a remount after the bind.
BIND_REMOUNT_FLAGS = (L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC |
                      L.MS_NOATIME | L.MS_NODIRATIME | L.MS_RELATIME |
                      L.MS_STRICTATIME | L.MS_NOSYMFOLLOW)

class HostInfo:
    """What the planner needs to know about the machine (tests fake it)."""

    __slots__ = ("cap_last_cap", "cgroup_mounts", "apparmor", "selinux", "parent_joins",
                 "kernel_fs_mounts", "bounding", "rdt_tasks", "unprivileged", "rootless")

    def __init__(self, cap_last_cap: int = 40, cgroup_mounts: Sequence[CgroupDir] = (),
                 apparmor: bool = False, selinux: bool = False, parent_joins: bool = False,
                 bounding: int = ~0, kernel_fs_mounts: Sequence[str] = ()) -> None:
        self.cap_last_cap = cap_last_cap
        # the runtime's own bounding set: what it can grant
        self.bounding = bounding
        # the runtime puts the child in its cgroups (the systemd driver
        # starts a scope with its pid), so the child waits for that
        self.parent_joins = parent_joins
        # the LSMs that are enabled: their labels are applied, else ignored
        # with a warning
        self.apparmor = apparmor
        self.selinux = selinux
        # [(name, host dir of the container's cgroup, is_v2)] for the
        # `cgroup` mount type
        self.cgroup_mounts = cgroup_mounts
        # (--no-pivot) the full procfs and sysfs mounts outside the rootfs,
        # in mountinfo's order
        self.kernel_fs_mounts = kernel_fs_mounts
        # the tasks files of the container's resctrl groups (intelRdt),
        # which an exec process joins as it joins the cgroups
        self.rdt_tasks: Sequence[str] = ()
        # the runtime is not root (rootless): it can write only the /proc
        # files of a dumpable child
        self.unprivileged = False
        # not the host's root (host.is_rootless): device nodes are bound,
        # not made
        self.rootless = False


class SpawnPlan:
    __slots__ = ("clone_flags", "direct", "self_join", "steps", "uid_map", "gid_map", "user_ns",
                 "new_netns",
                 "joined", "oom_score_adj", "warnings", "fifo_step",
                 "has_process", "timens_offsets", "host_mount_ns", "dev_readonly",
                 "seccomp_listener", "bind_sources", "idmapped", "tree_fds")

    def __init__(self) -> None:
        self.clone_flags = 0
        # direct: one clone makes the init (see _plan_namespaces)
        self.direct = True
        # the child joins its cgroups itself (else the parent does)
        self.self_join = False
        self.steps: list[S.Step] = []
        self.uid_map: str | None = None
        self.gid_map: str | None = None
        self.user_ns = False
        self.new_netns = False
        # the namespaces joined: [(type, path)], in JOIN_ORDER
        self.joined: list[tuple[str, str]] = []
        self.oom_score_adj: int | None = None
        self.warnings: list[str] = []
        self.fifo_step: S.WaitStart | None = None
        self.has_process = True
        # no mount namespace: the runtime binds the rootfs privately in the
        # host's mount namespace and the child chroots into it
        self.host_mount_ns = False
        # linux.seccomp when it notifies: the runtime passes the listener fd
        # the child sends up to its listenerPath
        self.seccomp_listener: dict[str, Any] | None = None
        self.timens_offsets: str | None = None
        # a read-only tmpfs on /dev: the flags to remount it with at the end
        self.dev_readonly: int | None = None
        # In a user namespace, the child is a mapped root that may not reach
        # a bind source the host's root can: the runtime opens these host
        # paths for it at SYNC_SOURCES (slot i: the i-th; None: no sync).
        self.bind_sources: list[str] | None = None
        # idmapped binds: (their step, JSON path, mount), whose trees the
        # planner opens last (tree_fds: the caller closes them once the
        # child is spawned, which has its copies)
        self.idmapped: list[tuple[S.Mount, str, dict[str, Any]]] = []
        self.tree_fds: list[int] = []

    def add(self, step: _StepT) -> _StepT:
        self.steps.append(step)
        return step


def parse_mount_options(options: Iterable[str] | None) -> tuple[int, int, str]:
    """-> (flags, propagation flags, data string)"""
    flags = 0
    propagation = 0
    data: list[str] = []
    for opt in options or ():
        if opt in RECURSIVE_MOUNT_ATTRS or opt in IDMAP_OPTIONS:
            continue    # (recursive_attrs, idmapped binds)
        if opt in MOUNT_FLAGS:
            set_, clear = MOUNT_FLAGS[opt]
            flags = (flags | set_) & ~clear
        elif opt in PROPAGATION_FLAGS:
            propagation |= PROPAGATION_FLAGS[opt]
        else:
            data.append(opt)
    return flags, propagation, ",".join(data)


def recursive_attrs(options: Iterable[str] | None) -> tuple[int, int]:
    """-> (attributes to set, to clear) of the recursive options (rro,
    rnosuid...), the later option winning over an earlier one."""
    set_ = clear = 0
    for opt in options or ():
        if opt in RECURSIVE_MOUNT_ATTRS:
            on, off = RECURSIVE_MOUNT_ATTRS[opt]
            if off & L.MOUNT_ATTR__ATIME:
                set_ = (set_ & ~L.MOUNT_ATTR__ATIME) | on
                clear |= off
            else:
                set_, clear = (set_ | on) & ~off, (clear | off) & ~on
    return set_, clear


def map_text(mappings: Iterable[dict[str, Any]]) -> str:
    return "".join("%d %d %d\n" % (m["containerID"], m["hostID"], m["size"])
                   for m in mappings)


def cap_mask(names: Iterable[str] | None, path: str, plan: SpawnPlan, last_cap: int,
             have: int = ~0) -> int:
    """The bit mask of capability names.  A name that is no capability is an
    error (runtime-spec: a value that cannot be mapped MUST be); one this
    kernel does not have yet is ignored with a warning, as runc does (engines
    list newer capabilities); one the runtime itself lacks (`have`, its
    bounding set) cannot be granted: an error."""
    mask = 0
    for name in names or ():
        num = L.CAP_NUMBERS.get(name)
        if num is None:
            raise ConfigError("%s: unknown capability %r" % (path, name))
        if num > last_cap:
            plan.warnings.append("%s: capability %s is not supported by this kernel, ignored"
                                 % (path, name))
        elif not have & (1 << num):
            raise ConfigError("%s: %s is not in the runtime's own bounding set: it cannot be "
                              "granted" % (path, name))
        else:
            mask |= 1 << num
    return mask


def shares_host_mount_ns(linux: dict[str, Any]) -> bool:
    """No mount namespace, new or joined: the container's mounts are made
    in the host's (under a private bind of the rootfs, see hostmount)."""
    return not any(ns.get("type") == "mount" for ns in linux.get("namespaces") or ())


def make_plan(config: dict[str, Any], bundle: str, rootfs: str, host: HostInfo,
              no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
              container_id: str = "", listen_fds: int = 0, lock_fd: int = -1,
              stdio: Stdio | None = None, fifo_fd: int = -1,
              compile_seccomp: SeccompCompiler | None = None,
              open_idmapped: IdmapOpener | None = None) -> SpawnPlan:
    """Turn a checked config into a finished SpawnPlan (validate.py's rules
    hold first).  lock_fd: the state
    lock, which the child closes first; stdio: (in, out, err) fds the
    process gets instead of the runtime's own (None or -1: the runtime's);
    fifo_fd: the exec fifo the init waits on for start; compile_seccomp
    (linux.seccomp) -> (BPF program, instruction count, seccomp(2) flags),
    by default seccomp.compile_filter, its warnings the plan's;
    open_idmapped: what makes the trees of idmapped binds (by default
    idmap.idmapped_tree), whose fds the plan holds in tree_fds."""
    check_semantics(config)
    plan = SpawnPlan()
    for path in other_platform_fields(config):
        plan.warnings.append("%s: not for Linux: ignored" % path)
    _plan_first_steps(plan, lock_fd, stdio)
    linux = config.get("linux") or {}
    process = config.get("process")
    plan.has_process = process is not None
    hooks = config.get("hooks") or {}

    # type -> path: the namespaces to create (no path) and to join
    new_ns: dict[str, str | None] = {}
    joined: dict[str, str] = {}
    for ns in linux.get("namespaces") or ():
        (joined if ns.get("path") else new_ns)[ns["type"]] = ns.get("path")
    plan.user_ns = "user" in new_ns
    plan.new_netns = "network" in new_ns
    plan.host_mount_ns = shares_host_mount_ns(linux)
    if plan.user_ns:
        plan.uid_map = map_text(linux["uidMappings"])
        plan.gid_map = map_text(linux["gidMappings"])

    if ("user" in new_ns or "user" in joined) and not plan.host_mount_ns and \
            any(is_bind(m) for m in config.get("mounts") or ()):
        plan.bind_sources = []
    _plan_namespaces(plan, new_ns, joined, linux, host)
    if plan.new_netns:
        plan.add(S.Loopback('bring up "lo" of the network namespace'))
    if process is not None and process.get("oomScoreAdj") is not None:
        plan.oom_score_adj = process["oomScoreAdj"]

    if not no_new_keyring:
        plan.add(S.Keyring("join session keyring", "_ses." + container_id))
    if "uts" in new_ns or "uts" in joined:
        if config.get("hostname"):
            plan.add(S.SetHostname("sethostname %r" % config["hostname"], config["hostname"]))
        if config.get("domainname"):
            plan.add(S.SetDomainname("setdomainname %r" % config["domainname"],
                                     config["domainname"]))

    _plan_rootfs(plan, config, bundle, rootfs, linux, host, no_pivot)
    if process is not None:
        _plan_process(plan, process, host, preserve_fds, hooks, linux, listen_fds=listen_fds,
                      fifo_fd=fifo_fd, compile_seccomp=compile_seccomp)
    else:
        # Nothing to start: the init waits, as runc's does, until deleted.
        plan.add(S.Ready("signal created"))
        plan.fifo_step = plan.add(S.WaitStart("wait on the exec fifo", fifo_fd))
    if plan.idmapped:
        _open_idmapped(plan, linux, open_idmapped)
    return plan


def _open_idmapped(plan: SpawnPlan, linux: dict[str, Any],
                   open_idmapped: IdmapOpener | None) -> None:
    """Last, once nothing else can fail: the idmapped trees, each through
    the mount's own mappings, or else the container's user namespace (its
    mappings, or the one it joins: runc's rule)."""
    if open_idmapped is None:
        from .idmap import idmapped_tree
        open_idmapped = idmapped_tree
    joined = [ns["path"] for ns in linux.get("namespaces") or ()
              if ns["type"] == "user" and ns.get("path")]
    for step, where, m in plan.idmapped:
        maps: tuple[str, str] | str
        if "uidMappings" in m:
            maps = (map_text(m["uidMappings"]), map_text(m["gidMappings"]))
        elif joined:
            maps = joined[0]
        else:
            assert plan.uid_map is not None and plan.gid_map is not None   # (validate.py)
            maps = (plan.uid_map, plan.gid_map)
        try:
            step.tree_fd = open_idmapped(step.source, bool(step.flags & L.MS_REC),
                                         "ridmap" in (m.get("options") or ()), maps)
        except OSError as e:
            for fd in plan.tree_fds:
                os.close(fd)
            plan.tree_fds.clear()
            assert e.errno is not None   # (the opener's system calls' errors)
            raise ConfigError("%s: idmapped mount of %s: %s" % (where, _q(step.source),
                                                                 strerror(e.errno))) from None
        plan.tree_fds.append(step.tree_fd)


def _plan_first_steps(plan: SpawnPlan, lock_fd: int, stdio: Stdio | None) -> None:
    if lock_fd >= 0:
        # a flock lives as long as any copy of its fd: the child's goes
        plan.add(S.Close("close the state lock", lock_fd))
    if stdio is not None and any(fd is not None and fd >= 0 for fd in stdio):
        a, b, c = (-1 if fd is None else fd for fd in stdio)
        plan.add(S.Stdio("take the stdio given (%d %d %d)" % (a, b, c), a, b, c))


def sysctl_path(key: str) -> str:
    """/proc/sys/... of a sysctl key (a dotted name, or the path itself)."""
    return "/proc/sys/" + (key.strip("/") if "/" in key else key.replace(".", "/"))


def _plan_namespaces(plan: SpawnPlan, new_ns: dict[str, str | None], joined: dict[str, str],
                     linux: dict[str, Any], host: HostInfo) -> None:
    flags = 0
    for kind in new_ns:
        flags |= NAMESPACE_FLAGS[kind]
    offsets = linux.get("timeOffsets")
    if offsets and "time" in new_ns:
        plan.timens_offsets = "".join(
            "%s %d %d\n" % (clock, v.get("secs", 0), v.get("nanosecs", 0))
            for clock, v in sorted(offsets.items()))
    plan.direct = not joined and "time" not in new_ns
    if plan.direct:
        # One clone creates every namespace but the cgroup one, which is
        # created once the child is in the container's cgroups, so that
        # they are its root.
        plan.clone_flags = flags & ~L.CLONE_NEWCGROUP
        if host.parent_joins and not plan.user_ns:
            # the parent joins the cgroups while the child mounts; the
            # child waits for that at SYNC_CGROUP (as with a user namespace)
            plan.add(S.Sync("wait for the runtime (setup)", SYNC_SETUP))
            return
        if plan.user_ns:
            # The parent writes the maps, then joins the cgroups while the
            # child mounts; the child waits for that at SYNC_CGROUP.  The
            # clone made the mount namespace: the bind sources can be opened.
            sources = SYNC_SOURCES if plan.bind_sources is not None else 0
            _sync_for_maps(plan, host, "wait for the runtime (uid/gid maps)",
                           SYNC_SETUP | sources)
            _become_userns_root(plan)
            return
        # Moving another process into a v1 cgroup waits for an RCU grace
        # period (~10 ms here); a single-threaded process moving itself by
        # writing 0 to `tasks` does not.  cgroup v2 is joined by the clone
        # (CLONE_INTO_CGROUP).
        plan.self_join = True
        _join_cgroups(plan, host, v2=False)
        if "cgroup" in new_ns:
            plan.add(S.Unshare("create cgroup namespace", L.CLONE_NEWCGROUP))
        return
    # Join existing namespaces before creating new ones (a new user
    # namespace would take away the rights to join the host-owned ones),
    # then fork the init into a joined or new pid (and time) namespace.
    plan.joined = [(k, joined[k]) for k in JOIN_ORDER if k in joined]
    for kind, path in plan.joined:
        plan.add(S.Setns("join %s namespace %s" % (kind, path), path, NAMESPACE_FLAGS[kind]))
    if "user" in new_ns:
        plan.add(S.Unshare("create user namespace", L.CLONE_NEWUSER))
    if "user" in new_ns:
        _sync_for_maps(plan, host, "wait for the runtime (uid/gid maps, cgroups)", SYNC_SETUP)
        _become_userns_root(plan)
    else:
        plan.add(S.Sync("wait for the runtime (cgroups)", SYNC_SETUP))
    rest = flags & ~L.CLONE_NEWUSER
    if rest:
        names = ", ".join(k for k in new_ns if k != "user")
        plan.add(S.Unshare("create namespaces (%s)" % names, rest))
    # The parent writes the time offsets: the child, non-dumpable, cannot
    # open its own /proc files once it is root of a new user namespace
    # (they stay the host root's).  The child is in its mount namespace now:
    # the bind sources can be opened there (before the fork, while the
    # process the parent knows is the one in it).
    sync = (SYNC_TIMENS if plan.timens_offsets else 0) | \
        (SYNC_SOURCES if plan.bind_sources is not None else 0)
    if sync:
        plan.add(S.Sync("wait for the runtime (time namespace offsets, bind sources)", sync))
    if "pid" in new_ns or "pid" in joined or "time" in new_ns or "time" in joined:
        plan.add(S.Fork("fork the container's init"))


def _join_cgroups(plan: SpawnPlan, host: HostInfo, v2: bool) -> None:
    """The child moves itself into the container's cgroups (writing 0),
    v1 hierarchies only or (v2) the cgroup2 one too; and into its resctrl
    groups (an exec process: the runtime puts the init there)."""
    for _, path, is_v2 in host.cgroup_mounts:
        if v2 or not is_v2:
            plan.add(S.WriteHost('join cgroup "%s"' % path,
                                 path + ("/cgroup.procs" if is_v2 else "/tasks"), "0"))
    for path in host.rdt_tasks:
        plan.add(S.WriteHost("join resctrl group %s" % _q(posixpath.dirname(path)), path, "0"))


def _sync_for_maps(plan: SpawnPlan, host: HostInfo, desc: str, sync_id: int) -> None:
    """The wait while the runtime writes the new user namespace's maps.
    A runtime that is not root (rootless) can write only the files of a
    process it owns, that is a dumpable one: the child is dumpable for as
    long as that takes (runc's init does the same), and never after."""
    if host.unprivileged:
        plan.add(S.Dumpable("be dumpable while the runtime writes the uid/gid maps", 1))
    plan.add(S.Sync(desc, sync_id))
    if host.unprivileged:
        plan.add(S.Dumpable("be non-dumpable again", 0))


def _become_userns_root(plan: SpawnPlan) -> None:
    # Until it takes ids that the new maps know, the child's files would
    # be owned by nobody: mounts that create inodes (devpts) fail with
    # EOVERFLOW.
    plan.add(S.User("become root of the user namespace", 0, 0, []))


def _new_namespaces(linux: dict[str, Any]) -> list[str]:
    return [ns["type"] for ns in linux.get("namespaces") or () if not ns.get("path")]


# File systems that take their SELinux label from the mount (context=).
LABELLED_FS = frozenset(("tmpfs", "devpts", "mqueue", "shm"))


def _plan_rootfs(plan: SpawnPlan, config: dict[str, Any], bundle: str, rootfs: str,
                 linux: dict[str, Any], host: HostInfo, no_pivot: bool) -> None:
    prop_name = linux.get("rootfsPropagation")
    root_prop = PROPAGATION_FLAGS[prop_name] if prop_name else 0
    # Keep the container's mounts from reaching the host.  rootfsPropagation
    # is applied to the new "/" after pivot_root: a shared parent would make
    # pivot_root fail, an unbindable one the bind of the rootfs.
    # Without a mount namespace of its own, the runtime has made the rootfs
    # a private bind in the host's (runtime.py): nothing is mounted outside
    # it, and delete detaches it with all the mounts under it.
    if not plan.host_mount_ns:
        plan.add(S.MountHost('make "/" rslave', "/", L.MS_SLAVE | L.MS_REC))
        plan.add(S.MountHost("bind rootfs %s onto itself" % rootfs, rootfs, L.MS_BIND | L.MS_REC,
                             source=rootfs))
    plan.add(S.OpenRoot("open rootfs %s" % rootfs, rootfs))

    mounts = config.get("mounts") or ()
    setup_dev = True
    mount_label = linux.get("mountLabel")
    if mount_label and not host.selinux:
        plan.warnings.append("linux.mountLabel: SELinux is not enabled on this host: the label "
                             "is not applied")
        mount_label = None
    for i, m in enumerate(mounts):
        dest = clean_path(m["destination"])
        flags, prop, data = parse_mount_options(m.get("options"))
        kind = m.get("type") or ""
        if mount_label and kind in LABELLED_FS and not flags & L.MS_BIND:
            data = ",".join(filter(None, (data, 'context="%s"' % mount_label)))
        if dest == "/dev" and (flags & L.MS_BIND or kind == "bind"):
            setup_dev = False
        _plan_mount(plan, m, "mounts[%d]" % i, bundle, dest, kind, flags, prop, data, host)
        attrs = recursive_attrs(m.get("options"))
        if attrs != (0, 0):
            plan.add(S.MountSetattr("mounts[%d]: set the recursive attributes of %s"
                                    % (i, _q(dest)), dest, *attrs))

    # (a user namespace, the container's or the runtime's own: no mknod)
    in_userns = plan.user_ns or host.rootless
    if setup_dev:
        for _, major, minor, _, path in DEFAULT_DEVICES:
            if path is not None and major is not None and minor is not None:
                _plan_device(plan, path, L.S_IFCHR | 0o666, major, minor, 0, 0, in_userns)
        for target, link in DEV_SYMLINKS:
            plan.add(S.Symlink("symlink %s -> %s" % (link, target), target, link))
        plan.add(S.Mkdir('mkdir "/dev/shm"', "/dev/shm", 0o1777))
        plan.add(S.Mkdir('mkdir "/dev/pts"', "/dev/pts", 0o755))
    for d in linux.get("devices") or ():
        mode = DEVICE_TYPE_BITS[d["type"]] | (d.get("fileMode", 0o666) & 0o7777)
        _plan_device(plan, clean_path(d["path"]), mode, d.get("major", 0), d.get("minor", 0),
                     d.get("uid", 0), d.get("gid", 0), in_userns)
    process = config.get("process")
    if process is not None:
        plan.add(S.Mkdir("mkdir cwd %r" % process["cwd"], clean_path(process["cwd"]), 0o755))

    hooks = config.get("hooks") or {}
    sync = SYNC_CGROUP if plan.direct and not plan.self_join else 0
    if any(hooks.get(n) for n in HOOKS_OF_CREATE):
        sync |= SYNC_HOOKS
    if linux.get("netDevices"):
        sync |= SYNC_NETDEV   # (every namespace exists; before the hooks)
    if sync:
        plan.add(S.Sync("wait for the runtime (cgroups, createRuntime hooks)", sync))
    if plan.direct and not plan.self_join and "cgroup" in _new_namespaces(linux):
        plan.add(S.Unshare("create cgroup namespace", L.CLONE_NEWCGROUP))
    for i, h in enumerate(hooks.get("createContainer") or ()):
        _plan_hook(plan, "createContainer", i, h, 0)

    for key, value in sorted((linux.get("sysctl") or {}).items()):
        path = sysctl_path(key)
        plan.add(S.WriteProc("write sysctl %s=%r" % (key, value), path, value))
    for path in linux.get("maskedPaths") or ():
        plan.add(S.Mask("mask %s" % clean_path(path), clean_path(path)))
    for path in linux.get("readonlyPaths") or ():
        plan.add(S.Readonly("make %s read-only" % clean_path(path), clean_path(path)))

    if plan.host_mount_ns:
        plan.add(S.Chroot("chroot to %s (no mount namespace)" % rootfs))
    elif no_pivot:
        # The host's procfs and sysfs stay in the mount namespace under a
        # chroot, and a full one there lets the container mount a fresh,
        # unmasked /proc: hide them first (runc's msMoveRoot)
        for path in host.kernel_fs_mounts:
            plan.add(S.HideMount("hide the host's %s (--no-pivot)" % _q(path), path))
        plan.add(S.MoveRoot("move rootfs to / and chroot (--no-pivot)"))
    else:
        plan.add(S.PivotRoot("pivot_root to %s" % rootfs))
    process = config.get("process")
    if process is not None and process.get("terminal"):
        # in the container's own devpts; /dev/console is bound before "/"
        # may become read-only
        _plan_console(plan, process, console=True)
    if plan.dev_readonly is not None:
        # runc's order: /dev is read-only once its nodes, links, devpts and
        # console are there
        plan.add(S.Remount('remount "/dev" read-only', "/dev",
                           L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | plan.dev_readonly))
    if (config.get("root") or {}).get("readonly"):
        plan.add(S.RemountRoot('remount "/" read-only', L.MS_RDONLY))
    if root_prop:
        plan.add(S.PropagateRoot('set propagation of "/" to %s' % prop_name, root_prop))


def _max_passed_fds() -> int:
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    # (a typed name for the shim's constant: no-any-return)
    most: int = lib.PYRUNC_MAX_PASSED_FDS
    return most


def _plan_mount(plan: SpawnPlan, m: dict[str, Any], where: str, bundle: str, dest: str,
                kind: str, flags: int, prop: int, data: str, host: HostInfo) -> None:
    source = m.get("source") or ""
    desc = "%s: mount %s on %s" % (where, _q(source or kind), _q(dest))
    # what may lie on a procfs (runc's rule, see bundle.PROC_MOUNTS_ALLOWED;
    # the child checks the resolved target)
    procfs = S.MAY_COVER_PROCFS if dest == "/proc" else \
        S.MAY_COVER_PROCFS_FILE if dest in PROC_MOUNTS_ALLOWED else 0
    if kind == "bind" or flags & L.MS_BIND:
        # A relative source is relative to the bundle (runtime-spec, config.md).
        source = posixpath.join(bundle, source)
        if is_idmapped(m):
            # the runtime makes the idmapped tree (it needs the host's
            # rights over the source's file system); the child attaches it
            step = plan.add(S.Mount(desc + " (idmapped)", source, dest,
                                    flags=L.MS_BIND | (flags & L.MS_REC),
                                    create=S.CREATE_AS_SOURCE,
                                    remount=flags & BIND_REMOUNT_FLAGS, propagation=prop,
                                    checks=procfs | S.MOUNT_TREE))
            plan.idmapped.append((step, where, m))
            return
        checks, slot = procfs, 0
        slots = plan.bind_sources
        if slots is not None and len(slots) < _max_passed_fds():
            # the runtime's fd of the source, in slot `slot`
            checks, slot = checks | S.SOURCE_FD, len(slots)
            slots.append(source)
        # the target is made a directory or a file, like the source
        plan.add(S.Mount(desc, source, dest, flags=L.MS_BIND | (flags & L.MS_REC),
                         create=S.CREATE_AS_SOURCE, remount=flags & BIND_REMOUNT_FLAGS,
                         propagation=prop, checks=checks, source_slot=slot))
        return
    if kind == "cgroup":
        _plan_cgroup_mount(plan, desc, dest, flags, prop, host)
        return
    if kind == "sysfs" and plan.user_ns and not plan.new_netns:
        # sysfs needs rights over the network namespace's owner, which a
        # new user namespace lacks for the host's: bind the host's /sys, as
        # runc does.
        plan.add(S.Mount(desc + " (bind of /sys)", "/sys", dest, flags=L.MS_BIND | L.MS_REC,
                         remount=flags & BIND_REMOUNT_FLAGS, propagation=prop))
        return
    # no symlink on the way to a proc or sysfs target (CVE-2019-19921)
    checks = (S.NO_SYMLINKS if kind in ("proc", "sysfs") else 0) | \
        (procfs if kind == "proc" or procfs == S.MAY_COVER_PROCFS_FILE else 0)
    if kind == "tmpfs":
        if not any(o.startswith("mode=") for o in data.split(",")):
            # the mode of the mountpoint, as runc gives it
            checks |= S.MODE_OF_MOUNTPOINT
        if dest == "/dev" and flags & L.MS_RDONLY:
            # read-only only at the end (see _plan_rootfs)
            plan.dev_readonly = flags & BIND_REMOUNT_FLAGS & ~L.MS_RDONLY
            flags &= ~L.MS_RDONLY
    if "tmpcopyup" in (m.get("options") or ()):
        # runc's extension (Podman asks it for every tmpfs): the new tmpfs
        # starts with what the image has there; ignored for other file
        # systems, as by runc
        data = ",".join(o for o in data.split(",") if o and o != "tmpcopyup")
        if kind == "tmpfs":
            checks |= S.TMPCOPYUP
    plan.add(S.Mount(desc, source or kind, dest, fstype=kind, data=data or None,
                     flags=flags & ~L.MS_REMOUNT, propagation=prop, checks=checks))


def _plan_cgroup_mount(plan: SpawnPlan, desc: str, dest: str, flags: int, prop: int,
                       host: HostInfo) -> None:
    v1 = [(n, p) for n, p, is_v2 in host.cgroup_mounts if not is_v2]
    v2 = [(n, p) for n, p, is_v2 in host.cgroup_mounts if is_v2]
    if not v1:
        # Pure cgroup v2: bind the container's own cgroup.
        for _, path in v2[:1]:
            plan.add(S.Mount(desc, path, dest, flags=L.MS_BIND | L.MS_REC,
                             remount=(flags & BIND_REMOUNT_FLAGS) | L.MS_NOSUID | L.MS_NODEV |
                             L.MS_NOEXEC, propagation=prop))
        return
    # cgroup v1: a tmpfs holding one bind mount per hierarchy, each of them
    # the container's own cgroup.
    plan.add(S.Mount(desc + " (tmpfs)", "tmpfs", dest, fstype="tmpfs", data="mode=755",
                     flags=L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC))
    for name, path in v1 + [("unified", p) for _, p in v2]:
        sub = posixpath.join(dest, name)
        plan.add(S.Mount("mount cgroup %s on %s" % (_q(name), _q(sub)), path, sub,
                         flags=L.MS_BIND | L.MS_REC,
                         remount=(flags & BIND_REMOUNT_FLAGS) | L.MS_NOSUID | L.MS_NODEV |
                         L.MS_NOEXEC, propagation=prop))
    if flags & L.MS_RDONLY:
        # the tmpfs mount read-only, never a superblock: were the target
        # not this tmpfs, a remount without MS_BIND would change a host's
        # file system for everyone (it once did cgroup2's)
        plan.add(S.Remount(desc + " (read-only)", dest,
                           L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | L.MS_NOSUID | L.MS_NODEV |
                           L.MS_NOEXEC))


def _plan_device(plan: SpawnPlan, path: str, mode: int, major: int, minor: int, uid: int,
                 gid: int, in_userns: bool) -> None:
    # (glibc's makedev; bundle.py keeps major and minor in the kernel's range)
    dev = (((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) |
           ((minor & 0xffffff00) << 12) | (minor & 0xff))
    if in_userns and mode & L.S_IFMT != L.S_IFIFO:
        # mknod of a device is not allowed in a user namespace: bind the
        # host's node, which the child checks to be that device
        plan.add(S.BindDev("bind device %s" % path, path, path, mode & L.S_IFMT, dev))
    else:
        plan.add(S.Mknod("mknod %s" % path, path, mode, dev, uid, gid))


def _plan_hook(plan: SpawnPlan, name: str, index: int, hook: dict[str, Any], segment: int,
               default_env: Sequence[str] | None = None) -> None:
    """A hook the child runs: without "env", with default_env or else the
    runtime's environment (as runc's hooks get runc's); createContainer
    hooks (segment 0) in the rootfs directory, as runc's init runs them
    (c bit 1)."""
    args = hook.get("args") or [hook["path"]]
    env = hook["env"] if "env" in hook else default_env
    plan.add(S.Hook("%s hook #%d %s" % (name, index, hook["path"]), hook["path"], args, env,
                    hook.get("timeout") or 0, segment, int(segment == 0)))


def _plan_console(plan: SpawnPlan, process: dict[str, Any], console: bool) -> None:
    size = process.get("consoleSize") or {}
    plan.add(S.Console("set up the console (pty)", size.get("height", 0), size.get("width", 0),
                       int(console)))


def make_exec_plan(config: dict[str, Any], process: dict[str, Any], host: HostInfo, pidfd: int,
                   init_pid: int, preserve_fds: int = 0, listen_fds: int = 0, lock_fd: int = -1,
                   stdio: Stdio | None = None,
                   compile_seccomp: SeccompCompiler | None = None) -> SpawnPlan:
    """The plan of `exec`: a process that enters the running container
    whose config is `config` (its init is init_pid, held by pidfd) and runs
    `process` (a checked process object).

    It joins the container's cgroups itself, once it has closed the state
    lock (the paths are the host's), then every namespace of the container at once
    through the pidfd (the kernel orders them, user first), forks once more
    into the pid (and time) namespace, and sets up the process as create
    does for the init.  lock_fd, stdio and compile_seccomp as for make_plan."""
    plan = SpawnPlan()
    _plan_first_steps(plan, lock_fd, stdio)
    linux = config.get("linux") or {}
    kinds = {ns["type"] for ns in linux.get("namespaces") or ()}
    # an exec process without a scheduler, I/O priority or exec CPU
    # affinity of its own takes the container's process's (runc)
    base = config.get("process") or {}
    inherited = {k: base[k] for k in PROCESS_SCHED_FIELDS if k in base and k not in process}
    if inherited:
        process = {**process, **inherited}
    if process.get("execCPUAffinity", {}).get("initial"):
        from .procattrs import affinity_mask
        plan.add(S.Affinity("set the initial CPU affinity",
                            affinity_mask(process, "initial")))
    plan.self_join = True
    # (not CLONE_INTO_CGROUP on v2: in a frozen cgroup, exec --ignore-paused,
    # the child would stop before it closes its copy of the state lock)
    _join_cgroups(plan, host, v2=True)
    flags = 0
    for kind in kinds:
        flags |= NAMESPACE_FLAGS[kind]
    if flags:
        plan.add(S.SetnsFd("join the namespaces of the container (%s)"
                           % ", ".join(k for k in JOIN_ORDER if k in kinds), pidfd, flags))
    if "pid" in kinds or "time" in kinds:
        plan.add(S.Fork("fork into the container's pid namespace"))
    if "mount" not in kinds:
        # no mount namespace: the container's root is a directory of the host's
        root = "/proc/%d/root" % init_pid
        plan.add(S.OpenRoot("open the container's root %s" % root, root))
        plan.add(S.Chroot("chroot to the container's root"))
    else:
        # setns put us at the root of the container's mount namespace: root
        # paths (LSM attributes under its /proc) are resolved there
        plan.add(S.OpenRoot('open the container\'s root "/"', "/"))
    plan.add(S.Close("close the container's pidfd", pidfd))
    if process.get("terminal"):
        _plan_console(plan, process, console=False)
    plan.has_process = True
    _plan_process(plan, process, host, preserve_fds, {}, linux, entering=True,
                  listen_fds=listen_fds, compile_seccomp=compile_seccomp)
    return plan


# LISTEN_PID's value is written by the child, which alone knows its pid
# in the container; room for any pid.
LISTEN_PID_SLOT = "LISTEN_PID=" + " " * 20


def _plan_process(plan: SpawnPlan, process: dict[str, Any], host: HostInfo, preserve_fds: int,
                  hooks: dict[str, Any], config_linux: dict[str, Any] | None,
                  entering: bool = False, listen_fds: int = 0, fifo_fd: int = -1,
                  compile_seccomp: SeccompCompiler | None = None) -> None:
    """The user process's steps.  entering: an `exec` process, which
    starts at once: no exec fifo, no startContainer hooks.  listen_fds:
    socket activation, the fds 3.. the runtime got from systemd, passed on
    before the preserved ones (as runc does), with LISTEN_FDS and
    LISTEN_PID set for the process."""
    if not process.get("terminal"):
        # (with a terminal, the console step makes the session: it must
        # lead one to take the pty as its controlling terminal)
        plan.add(S.Setsid("setsid"))
    for rl in process.get("rlimits") or ():
        plan.add(S.Rlimit("setrlimit %s" % rl["type"], L.RLIMITS[rl["type"]], rl["soft"],
                          rl["hard"]))
    cwd = clean_path(process["cwd"])
    plan.add(S.Chdir("chdir to cwd %s" % _q(cwd), cwd))
    user = process.get("user") or {}
    umask = user.get("umask")
    plan.add(S.Umask("umask", 0o022 if umask is None else umask))
    persona = (config_linux or {}).get("personality")
    if persona is not None:
        value = L.PERSONALITY_DOMAINS[persona["domain"]]
        for flag in persona.get("flags") or ():
            value |= L.PERSONALITY_FLAGS[flag]
        plan.add(S.Personality("set personality %s" % persona["domain"], value))
    _plan_lsm_labels(plan, process, host)
    # (as root still: a real-time policy, a lower nice, need CAP_SYS_NICE)
    _plan_sched(plan, process, config_linux or {}, entering)
    caps = process.get("capabilities")
    last = host.cap_last_cap
    if caps is not None:
        plan.add(S.Bounding("drop capabilities from the bounding set",
                            cap_mask(caps.get("bounding"), "process.capabilities.bounding",
                                     plan, last, host.bounding),
                            last))
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    groups = [str(g) for g in user.get("additionalGids") or ()]
    if uid != 0:
        # the process's user owns its stdio (pipes, the pty), as with runc
        plan.add(S.StdioOwner("give the stdio to uid %d" % uid, uid))
    user_step = plan.add(S.User("set user %d:%d" % (uid, gid), uid, gid, groups))
    if caps is not None:
        sets = {name: cap_mask(caps.get(name), "process.capabilities." + name, plan, last,
                               host.bounding)
                for name in ("effective", "permitted", "inheritable", "ambient")}
        not_raisable = sets["ambient"] & ~(sets["permitted"] & sets["inheritable"])
        # (root keeps its capabilities across execve without the ambient
        # set: runc's own template asks ambient without inheritable, and
        # runc is silent about it then)
        if not_raisable and uid != 0:
            names = [L.CAPABILITIES[n] for n in range(last + 1) if not_raisable & (1 << n)]
            plan.warnings.append("process.capabilities.ambient: %s not raised: an ambient "
                                 "capability must be permitted and inheritable" % ", ".join(names))
        plan.add(S.Caps("set capabilities", sets["effective"], sets["permitted"],
                        sets["inheritable"], sets["ambient"]))
    seccomp = (config_linux or {}).get("seccomp")
    nnp = process.get("noNewPrivileges")
    notify = seccomp is not None and seccomp_notifies(seccomp)
    bpf: tuple[bytes, int, int] | None = None
    if seccomp is not None:
        if compile_seccomp is None:
            from .seccomp import compile_filter

            def compile_seccomp(section: dict[str, Any]) -> tuple[bytes, int, int]:
                # (a typed name for the untyped compile_filter(): no-any-return)
                compiled: tuple[bytes, int, int] = compile_filter(section, plan.warnings.append)
                return compiled
        bpf = compile_seccomp(seccomp)
    if notify:
        plan.seccomp_listener = seccomp
    if bpf is not None and not nnp:
        # Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load
        # it before the capabilities are dropped.
        plan.steps.insert(plan.steps.index(user_step),
                          S.Seccomp("load seccomp filter", *bpf, notifies=int(notify)))
    if nnp:
        plan.add(S.NoNewPrivs("set no_new_privs"))
        if notify:
            # The listener fd goes to listenerPath during create, while the
            # runtime that made the container still runs (as runc does).
            assert bpf is not None   # (notify: there is a linux.seccomp, compiled above)
            plan.add(S.Seccomp("load seccomp filter", *bpf, notifies=1))
    plan.add(S.CloseFds("close inherited file descriptors", 3 + listen_fds + preserve_fds))
    env = process.get("env") or []
    listen_pid_at = 0
    if listen_fds:
        env = [e for e in env if not e.startswith(("LISTEN_FDS=", "LISTEN_PID="))]
        env += ["LISTEN_FDS=%d" % listen_fds, LISTEN_PID_SLOT]
        listen_pid_at = len(env)   # 1-based: 0 is none
    path = DEFAULT_PATH
    for e in env:
        if e.startswith("PATH="):
            path = e[5:]
    args = process["args"]
    plan.add(S.Lookup("exec: %s" % _q(args[0]), args[0], path))
    if bpf is not None and nnp and not notify:
        # As late as runc loads it: before the wait for start, so that the
        # startContainer hooks run under it too
        plan.add(S.Seccomp("load seccomp filter", *bpf))
    if entering:
        # the runtime may exit once the process runs (exec --detach)
        plan.add(S.Detach("stop dying with the runtime"))
    else:
        plan.add(S.Ready("signal created"))
        plan.fifo_step = plan.add(S.WaitStart("wait for start on the exec fifo", fifo_fd))
    for i, h in enumerate(hooks.get("startContainer") or ()):
        # (without env of their own, the process's: runc's)
        _plan_hook(plan, "startContainer", i, h, 1, default_env=env)
    # runc's words (the child prints them itself if the runtime is gone)
    plan.add(S.Exec("exec %s" % args[0], args, env, listen_pid_at))
    _words_after_start(plan)


def _plan_sched(plan: SpawnPlan, process: dict[str, Any], linux: dict[str, Any],
                entering: bool) -> None:
    """Scheduler, I/O priority, memory policy (procattrs.py, imported only
    when the config has them) and the CPU affinity, which is reset, as by
    runc, to every CPU the container's cpuset allows (the runtime's own is
    not the container's), or for an exec process set to
    execCPUAffinity.final if it has one."""
    final = None
    if any(k in process for k in PROCESS_SCHED_FIELDS) or "memoryPolicy" in linux:
        from .procattrs import affinity_mask, plan_memory_policy, plan_sched
        plan_sched(plan, process)
        plan_memory_policy(plan, linux)
        if entering:
            final = affinity_mask(process, "final")
            if final is None and affinity_mask(process, "initial") is not None:
                # only an initial one: the kernel decides after the move
                # (runtime-spec)
                return
    plan.add(S.Affinity("set CPU affinity" if final else "reset CPU affinity", final))


def _words_after_start(plan: SpawnPlan) -> None:
    """Steps after the exec fifo may fail when the runtime that created
    the container has exited: the child then writes the error to the
    container's stderr, as runc's init does: they get the step's words."""
    if plan.fifo_step is None:
        return
    for step in plan.steps[plan.steps.index(plan.fifo_step) + 1:]:
        step.words_to_child = True


def seccomp_notifies(section: dict[str, Any]) -> bool:
    """Does any action of linux.seccomp hand syscalls to a listener?"""
    return section.get("defaultAction") == "SCMP_ACT_NOTIFY" or any(
        r.get("action") == "SCMP_ACT_NOTIFY" for r in section.get("syscalls") or ())


def _plan_lsm_labels(plan: SpawnPlan, process: dict[str, Any], host: HostInfo) -> None:
    """The process's AppArmor profile and SELinux label take effect at
    execve: written to /proc/self/attr (a verified procfs) before it."""
    profile = process.get("apparmorProfile")
    if profile:
        if host.apparmor:
            plan.add(S.WriteProc("set AppArmor profile %s" % _q(profile),
                                 "/proc/self/attr/apparmor/exec", "exec " + profile))
        else:
            plan.warnings.append("process.apparmorProfile: AppArmor is not enabled on this "
                                 "host: the profile is not applied")
    label = process.get("selinuxLabel")
    if label:
        if host.selinux:
            plan.add(S.WriteProc("set SELinux label %s" % _q(label), "/proc/self/attr/exec",
                                 label))
        else:
            plan.warnings.append("process.selinuxLabel: SELinux is not enabled on this host: "
                                 "the label is not applied")


def _q(text: str) -> str:
    return '"%s"' % text
