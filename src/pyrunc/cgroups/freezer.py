"""Freezing a container's cgroup (pause, resume, and the kill of every
process with no window for a fork to escape): v1's freezer.state, v2's
cgroup.freeze, each waited for until the kernel reports it done."""
from __future__ import annotations

import os
import posixpath

from .fs import CgroupError, _write


def freeze_v1(directory: str, frozen: bool) -> None:
    """v1: freezer.state goes FREEZING -> FROZEN.  It has no change
    notification, so the state is read again after short waits (as runc
    does), re-asking for FROZEN each time, for up to ~2 s."""
    import time
    path = posixpath.join(directory, "freezer.state")
    want = "FROZEN" if frozen else "THAWED"
    delay = 0.0001
    for _ in range(200):
        _write(path, want)
        with open(path) as f:
            if f.read().strip() == want:
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.01)
    raise CgroupError('"%s" did not reach %s' % (path, want))


def freeze_v2(directory: str, frozen: bool) -> None:
    """v2: write cgroup.freeze, then wait for "frozen 1" (or 0) in
    cgroup.events, which the kernel signals with POLLPRI."""
    import select
    _write(posixpath.join(directory, "cgroup.freeze"), "1" if frozen else "0")
    want = "frozen %d" % (1 if frozen else 0)
    events = posixpath.join(directory, "cgroup.events")
    fd = os.open(events, os.O_RDONLY | os.O_CLOEXEC)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLPRI)
        while True:
            if want in os.pread(fd, 4096, 0).decode().splitlines():
                return
            if not poller.poll(10000):
                raise CgroupError('"%s" did not report %s' % (events, want))
    finally:
        os.close(fd)
