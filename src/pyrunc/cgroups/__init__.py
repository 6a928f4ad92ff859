"""Cgroups: place a container in every cgroup hierarchy the host mounts.

A driver is what the runtime calls; two have the same methods:

- fs.Cgroups, cgroupfs: the runtime makes, joins and removes the
  directories itself (runc's cgroupfs driver, the default);
- systemd.SystemdCgroups, --systemd-cgroup: a transient scope that systemd
  makes once it has the container's first process, and removes.

Cgroups.for_config(cgroupsPath, id, systemd) gives the driver of a new
container, Cgroups.from_state(record) the one a container was created
with.  Their methods: setup (before the child), join (the child's pid),
apply (linux.resources), freeze, signal_all, pids, stats, oom_watch,
memory_usage, sub (exec --cgroup), owned, destroy, to_state; and
joined_by_parent, dirs_only.

layout.py says where the directories are, resources.py what linux.resources
writes, devicefilter.py the v2 device program, stats.py runc's stats.
"""
from __future__ import annotations

from .fs import CgroupError, Cgroups

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .layout import Hierarchy, container_dir, hierarchies, mountinfo_unescape

__all__ = ["CgroupError", "Cgroups", "Hierarchy", "container_dir", "hierarchies",
           "mountinfo_unescape"]


def __getattr__(name: str) -> object:
    # layout's names, imported when asked for: state, kill and the other
    # commands on an existing container need none of them
    if name in ("Hierarchy", "container_dir", "hierarchies", "mountinfo_unescape"):
        from . import layout
        return getattr(layout, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
