"""`pyrunc events`: runc's event stream for one container.

Each line is a JSON object: {"type": "stats", "id": ID, "data": {...}}
every --interval, {"type": "oom", "id": ID} when the kernel's OOM killer
acts in the container's memory cgroup.  --stats prints one stats event.
The stream ends when the container's init exits.  The cgroup driver reads
the stats and watches the OOM kills (cgroups/stats.py).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, TypedDict

    from .cgroups import Cgroups
    from .cgroups.stats import Stats

    class _EventBase(TypedDict):
        type: str   # "stats" or "oom"
        id: str

    class Event(_EventBase, total=False):
        """One line of the stream."""
        data: Stats   # (stats events)


def stream(cid: str, cg: Cgroups, pid_fd: int, interval: float,
           emit: Callable[[Event], None]) -> None:
    """Emit stats every interval seconds and an oom event per OOM kill
    until the init (pid_fd) exits."""
    import select
    import time
    watch = cg.oom_watch()
    try:
        poller = select.poll()
        poller.register(pid_fd, select.POLLIN)
        if watch.fd >= 0:
            poller.register(watch.fd, watch.poll_flags())
        due = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= due:
                emit({"type": "stats", "id": cid, "data": cg.stats()})
                due = now + interval
            ready = [fd for fd, _ in poller.poll(max(0.0, due - time.monotonic()) * 1000)]
            # (an OOM kill that ends the init wakes both: its event first)
            if ready and watch.fd >= 0 and watch.take():   # one per wake-up, as runc
                emit({"type": "oom", "id": cid})
            if pid_fd in ready:
                return
    finally:
        watch.close()
