"""What the runtime learns of the machine, and of the image, before it
plans a container or an exec: the kernel's capabilities and LSMs, the
cgroup and kernel file system mounts, namespaces a config would join, and
HOME from the image's /etc/passwd."""
from __future__ import annotations

import os

from .errors import ConfigError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .cgroups import Cgroups
    from .plan import HostInfo


def check_joined_namespaces(linux: dict[str, Any]) -> None:
    """A joined mount namespace gets the container's mounts and pivot_root,
    a joined network namespace its net.* sysctls: never the runtime's own
    or the host's (pid 1's), which that would change for every process in
    it (runc: `sysctl ... not allowed in host network namespace`)."""
    sysctls = [k for k in linux.get("sysctl") or () if k.replace("/", ".").startswith("net.")]
    for i, ns in enumerate(linux.get("namespaces") or ()):
        kind = {"mount": "mnt", "network": "net"}.get(ns["type"])
        if kind is None or not ns.get("path") or (kind == "net" and not sysctls):
            continue
        try:
            target = os.stat(ns["path"])
        except OSError as e:
            raise ConfigError("linux.namespaces[%d].path: %s: %s"
                              % (i, ns["path"], strerror(e.errno))) from None
        for owner in ("self", "1"):
            try:
                own = os.stat("/proc/%s/ns/%s" % (owner, kind))
            except OSError:
                continue
            if (own.st_dev, own.st_ino) != (target.st_dev, target.st_ino):
                continue
            whose = "runtime's own" if owner == "self" else "host's"
            if kind == "net":
                raise ConfigError('linux.sysctl: sysctl "%s" not allowed in host network '
                                  'namespace (linux.namespaces[%d].path %s is the %s)'
                                  % (sysctls[0], i, ns["path"], whose))
            raise ConfigError("linux.namespaces[%d].path: %s is the %s mount namespace: "
                              "refused" % (i, ns["path"], whose))


def is_rootless() -> bool:
    """runc's --rootless=auto: not the host's root, that is a uid that is
    not 0, or uid 0 of a user namespace that maps less than every id (a
    rootless Podman runs its runtime so)."""
    from .state import in_user_namespace
    return os.geteuid() != 0 or in_user_namespace()


def host_info(cgroups: Cgroups, process: dict[str, Any] | None,
              mount_label: str | None = None) -> HostInfo:
    """What the planner needs of this machine for a process entering
    `cgroups` (the LSMs are looked at only when labels are asked for)."""
    from .plan import HostInfo
    labels = mount_label or process is not None and (
        process.get("apparmorProfile") or process.get("selinuxLabel"))
    info = HostInfo(cap_last_cap=cap_last_cap(), bounding=own_bounding(),
                    cgroup_mounts=cgroups.dirs, parent_joins=cgroups.joined_by_parent,
                    apparmor=bool(labels) and apparmor_enabled(),
                    selinux=bool(labels) and os.path.exists("/sys/fs/selinux/enforce"))
    info.unprivileged = os.geteuid() != 0
    info.rootless = is_rootless()   # (unprivileged included)
    return info


def write_id_maps(pid: int, uid_map: str, gid_map: str) -> None:
    """Write a new user namespace's maps (pid: a process in it, dumpable
    when this process is not root).  Root writes them; a user writes a
    map of only its own uid and gid itself (setgroups denied first, as the
    kernel asks); any other map of a user's goes through newuidmap and
    newgidmap, the set-uid helpers that check it against /etc/subuid and
    /etc/subgid (runc and Podman use them so).  SpawnError naming what
    failed."""
    from .errors import SpawnError
    def only(text: str, own: int) -> bool:
        """one line, mapping this process's own id alone"""
        fields = text.split()
        return len(fields) == 3 and fields[1:] == [str(own), "1"]
    euid = os.geteuid()
    if euid == 0 or only(uid_map, euid) and only(gid_map, os.getegid()):
        if euid != 0:
            write_proc(pid, "setgroups", "deny")
        write_proc(pid, "uid_map", uid_map)
        write_proc(pid, "gid_map", gid_map)
        return
    import subprocess
    for helper, text in (("newuidmap", uid_map), ("newgidmap", gid_map)):
        argv = [helper, str(pid)] + text.split()
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        except OSError as e:
            raise SpawnError("%s: %s (a rootless container with more than its user's own id "
                             "needs it: the uidmap package)" % (helper, strerror(e.errno))) \
                from None
        if r.returncode != 0:
            raise SpawnError("%s %s: %s" % (helper, " ".join(argv[2:]),
                                            (r.stderr.strip().splitlines() or ["failed"])[-1]))


def write_proc(pid: int, name: str, text: str) -> None:
    """Write /proc/PID/name (a child's maps, offsets, oom_score_adj)."""
    from .errors import SpawnError
    from .files import write_once
    path = "/proc/%d/%s" % (pid, name)
    try:
        write_once(path, text)
    except OSError as e:
        raise SpawnError("write %s: %s" % (path, strerror(e.errno))) from None


def kernel_fs_mounts(rootfs: str) -> list[str]:
    """The mount points of full procfs and sysfs mounts outside rootfs."""
    from .cgroups import mountinfo_unescape
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" ")
            kind = line.split(" - ", 1)[1].split(" ", 1)[0]
            point = mountinfo_unescape(fields[4])
            if kind in ("proc", "sysfs") and fields[3] == "/" and \
                    point != rootfs and not point.startswith(rootfs + "/"):
                out.append(point)
    return out


def give_home(process: dict[str, Any], root: str) -> None:
    """HOME for a process that has none, as runc sets it (see home_of);
    root: the container's root as the runtime reaches it."""
    env = process.get("env") or ()
    if not any(e.startswith("HOME=") for e in env):
        uid = (process.get("user") or {}).get("uid", 0)
        process["env"] = list(env) + ["HOME=" + home_of(root, uid)]


def home_of(rootfs: str, uid: int) -> str:
    """HOME for a process that has none, as runc sets it: the user's entry
    in the rootfs's /etc/passwd, else "/".  Symlinks on the way (an image's
    /etc/passwd -> ../usr/share/passwd) are followed inside the rootfs,
    never out of it."""
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    try:
        root = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return "/"
    try:
        fd = lib.pyrunc_open_in_root(root, b"/etc/passwd", os.O_RDONLY)
    finally:
        os.close(root)
    if fd < 0:
        return "/"
    try:
        with open(fd, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return "/"
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid) and fields[5]:
            return fields[5]
    return "/"


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def own_bounding() -> int:
    """The runtime's bounding set: the capabilities it can grant."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return ~0


def cap_last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 40
