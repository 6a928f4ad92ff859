"""The rootfs of a container without a mount namespace of its own.

Its mounts are made in the host's mount namespace, so the runtime first
binds the rootfs onto itself and makes that bind recursively private:
every mount the container's config asks for lands under it and propagates
nowhere, and `delete` detaches the bind with everything under it.  The
state keeps the bind's path and mount id; delete detaches only a mount
that still has that id, never a mount that was there before (such as an
overlay an engine mounted on the rootfs).
"""
import os

from .cgroups import mountinfo_unescape
from .errors import PyruncError, strerror


def bind(rootfs):
    """Make the private bind; returns the record for the state."""
    from ._shim import lib
    path = os.path.realpath(rootfs)
    r = lib.pyrunc_bind_private(path.encode())
    if r < 0:
        raise PyruncError('bind rootfs "%s" onto itself: %s' % (path, strerror(-r)))
    return [path, top_mount_id(path)]


def unbind(record):
    """Detach the bind made by bind(record's path), if it is still there."""
    from ._shim import lib
    path, mount_id = record
    if top_mount_id(path) != mount_id:
        return
    r = lib.pyrunc_umount_detach(path.encode())
    if r < 0:
        raise PyruncError('unmount rootfs "%s": %s' % (path, strerror(-r)))


def top_mount_id(path, mountinfo="/proc/self/mountinfo"):
    """The id of the mount on top at path (the last one listed there), or
    None if nothing is mounted at path itself."""
    found = None
    with open(mountinfo) as f:
        for line in f:
            fields = line.split(" ", 5)
            if mountinfo_unescape(fields[4]) == path:
                found = int(fields[0])
    return found
