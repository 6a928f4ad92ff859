"""Where a container's cgroups are: the hierarchies this host mounts, the
runtime's own cgroup in each, and cgroupsPath as runc's cgroupfs driver
reads it: an absolute path is taken from each hierarchy's root, a relative
one from the runtime's own cgroup, and an absent one is the container id
relative to the runtime's own cgroup."""
from __future__ import annotations

import posixpath


class Hierarchy:
    __slots__ = ("mountpoint", "mount_root", "controllers", "v2", "own")

    def __init__(self, mountpoint: str, mount_root: str, controllers: tuple[str, ...],
                 v2: bool) -> None:
        self.mountpoint = mountpoint
        self.mount_root = mount_root
        self.controllers = controllers
        self.v2 = v2
        self.own = "/"

    @property
    def name(self) -> str:
        return posixpath.basename(self.mountpoint)


def hierarchies(mountinfo: str = "/proc/self/mountinfo",
                cgroup_file: str = "/proc/self/cgroup") -> list[Hierarchy]:
    """The cgroup hierarchies mounted here, each once, with our own cgroup."""
    found: dict[str, Hierarchy] = {}
    with open(mountinfo) as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, _, superopts = post.split(" ", 2)
            if fstype not in ("cgroup", "cgroup2"):
                continue
            fields = pre.split(" ")
            if fstype == "cgroup2":
                key = ""
                controllers: tuple[str, ...] = ()
            else:
                controllers = tuple(sorted(
                    o for o in superopts.strip().split(",")
                    if o not in ("rw", "ro", "clone_children", "noprefix", "xattr",
                                 "cpuset_v2_mode", "nsdelegate")
                    and not o.startswith("release_agent=")))
                key = ",".join(controllers)
            if key not in found:
                found[key] = Hierarchy(mountinfo_unescape(fields[4]), mountinfo_unescape(fields[3]),
                                       controllers, fstype == "cgroup2")
    with open(cgroup_file) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            if key in found:
                found[key].own = path
    return list(found.values())


def mountinfo_unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace(
        "\\134", "\\")


def container_dir(h: Hierarchy, cgroups_path: str | None, cid: str) -> str:
    """Host directory of the container's cgroup in hierarchy h."""
    inner = cgroups_path or cid
    if inner.startswith("/"):
        rel = posixpath.normpath(inner)
    else:
        # relative: under our own cgroup, never above it
        rel = posixpath.join(h.own, posixpath.normpath("/" + inner).lstrip("/"))
    # The mount may show a sub-tree of the hierarchy (mount_root).
    if h.mount_root != "/" and (rel + "/").startswith(h.mount_root.rstrip("/") + "/"):
        rel = rel[len(h.mount_root.rstrip("/")):] or "/"
    return h.mountpoint + posixpath.normpath(rel) if rel != "/" else h.mountpoint
