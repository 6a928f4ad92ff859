"""The rootfs of a container without a mount namespace of its own.

Its mounts are made in the host's mount namespace, so the runtime first
binds the rootfs onto itself and makes that bind recursively private:
every mount the container's config asks for lands under it and propagates
nowhere, and `delete` detaches the bind with everything under it.

The state records the bind before it is made (crash consistency: a create
killed right after the mount(2) must not leave it for good): the rootfs
path and the id of the mount the bind stacks on.  delete detaches the
mount that stacks right on that one, and whatever the container stacked
on top of it at the same path (a readonlyPaths entry "/" binds the root
again), so never a mount that was there before (an engine's overlay on
the rootfs).
"""
from __future__ import annotations

import os

from .cgroups import mountinfo_unescape
from .errors import PyruncError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, List, Optional, TypedDict, Union

    class Record(TypedDict):
        """What the state keeps of the bind (see intent)."""
        path: str
        below: Optional[int]

    # a record as the state holds it: pyrunc 0.1's was [path, mount id]
    AnyRecord = Union[Record, List[Any]]


def intent(rootfs: str) -> Record:
    """The record to save before bind(): {"path", "below"}."""
    path = os.path.realpath(rootfs)
    return {"path": path, "below": mount_below(path)}


def bind(record: Record) -> None:
    """Make the private bind the record announces."""
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    r = lib.pyrunc_bind_private(record["path"].encode())
    if r < 0:
        raise PyruncError('bind rootfs "%s" onto itself: %s' % (record["path"], strerror(-r)))


def unbind(record: AnyRecord) -> None:
    """Detach the bind made by bind(record), if it is there, and the mounts
    the container stacked on it at the same path (top first)."""
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    path = _path_of(record)
    for _ in range(64):   # (a bound on the mounts stacked there)
        if not is_bound(record):
            return
        r = lib.pyrunc_umount_detach(path.encode())
        if r < 0:
            raise PyruncError('unmount rootfs "%s": %s' % (path, strerror(-r)))


def is_bound(record: AnyRecord, mountinfo: str = "/proc/self/mountinfo") -> bool:
    """Is the bind of this record still there (delete checks its work)?"""
    path = _path_of(record)
    at_path = [(mid, parent) for mid, parent, point in _mounts(mountinfo) if point == path]
    if isinstance(record, list):   # (pyrunc 0.1's record: [path, mount id])
        return any(mid == record[1] for mid, _ in at_path)
    return any(parent == record["below"] for _, parent in at_path)


def _path_of(record: AnyRecord) -> str:
    return record[0] if isinstance(record, list) else record["path"]


def _mounts(mountinfo: str = "/proc/self/mountinfo") -> Iterator[tuple[int, int, str]]:
    """(id, parent id, mount point) of each mount, in the order listed
    (a mount stacked on another is listed after it)."""
    with open(mountinfo) as f:
        for line in f:
            fields = line.split(" ", 5)
            yield int(fields[0]), int(fields[1]), mountinfo_unescape(fields[4])


def _top(path: str, mountinfo: str = "/proc/self/mountinfo") -> tuple[int, int] | None:
    """(id, parent id) of the mount on top at path itself, or None."""
    found = None
    for mid, parent, point in _mounts(mountinfo):
        if point == path:
            found = (mid, parent)
    return found


def mount_below(path: str, mountinfo: str = "/proc/self/mountinfo") -> int | None:
    """The id of the mount a new mount at path would stack on: the one on
    top at path, else the one whose mount point holds path most closely."""
    best, best_len = None, -1
    for mid, _, point in _mounts(mountinfo):
        inside = point == path or point == "/" or path.startswith(point + "/")
        if inside and len(point) >= best_len:
            best, best_len = mid, len(point)
    return best


def top_mount_id(path: str, mountinfo: str = "/proc/self/mountinfo") -> int | None:
    """The id of the mount on top at path, or None if nothing is mounted
    at path itself."""
    top = _top(path, mountinfo)
    return top[0] if top else None
