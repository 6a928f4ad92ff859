"""Idmapped bind mounts (runtime-spec 1.2, mount_setattr(2)
MOUNT_ATTR_IDMAP): the runtime, host root, makes a detached copy of the
source and idmaps it through a user namespace; the child, which may be in
a user namespace that has no rights over the source's file system, only
attaches it (move_mount).  Imported only for a config with idmapped
mounts."""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def idmapped_tree(source: str, clone_recursive: bool, idmap_recursive: bool,
                  maps: tuple[str, str] | str) -> int:
    """The fd of a detached, idmapped copy of the mount at source (with
    its submounts if clone_recursive, idmapped too if idmap_recursive).
    maps: (uid_map, gid_map) of a user namespace made for it, or the path
    of one to use.  OSError on failure."""
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    if isinstance(maps, str):
        userns = os.open(maps, os.O_RDONLY | os.O_CLOEXEC)
    else:
        userns = lib.pyrunc_userns_fd(maps[0].encode(), maps[1].encode())
        if userns < 0:
            raise OSError(-userns, os.strerror(-userns))
    try:
        fd: int = lib.pyrunc_idmapped_tree(os.fsencode(source), int(clone_recursive),
                                           int(idmap_recursive), userns)
    finally:
        os.close(userns)
    if fd < 0:
        raise OSError(-fd, os.strerror(-fd))
    return fd
