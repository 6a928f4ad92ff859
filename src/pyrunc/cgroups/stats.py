"""runc's stats of a container's cgroups, and its OOM kills: the cgroup
files that hold them, on v1 and v2.

The stats follow runc's field names (cpu.usage, cpu.throttling,
memory.usage/swap/raw, pids), in nanoseconds and bytes on v1 and v2.
"""
from __future__ import annotations

import os
import posixpath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypedDict

    from .fs import Cgroups

    class CpuUsage(TypedDict):
        total: int
        percpu: list[int]
        kernel: int
        user: int

    class CpuStats(TypedDict):
        usage: CpuUsage
        throttling: dict[str, int]

    class Stats(TypedDict):
        """runc's stats "data" object (as far as pyrunc fills it)."""
        cpu: CpuStats
        memory: dict[str, dict[str, int]]   # usage, swap, kernel, kernelTCP, raw
        pids: dict[str, int]
        blkio: dict[str, Any]
        hugetlb: dict[str, Any]

USER_HZ = 100   # the unit of cpuacct.stat


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _int(text: str | None, unlimited: int = 0) -> int:
    if text is None:
        return 0
    text = text.strip()
    if text == "max":
        return unlimited
    try:
        return int(text)
    except ValueError:
        return 0


def _pairs(text: str | None) -> dict[str, int]:
    out = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


MAX_U64 = 2 ** 64 - 1


def read_stats(cg: Cgroups) -> Stats:
    """runc's stats "data" object for the container's cgroups."""
    data: Stats = {"cpu": {"usage": {"total": 0, "percpu": [], "kernel": 0, "user": 0},
                    "throttling": {}},
            "memory": {"usage": {}, "swap": {}, "raw": {}},
            "pids": {}, "blkio": {}, "hugetlb": {}}
    v2_dir = next((path for _, path, v2 in cg.dirs if v2), None)

    def where(controller: str) -> tuple[str | None, str | None]:
        version = cg.version_of(controller)
        if version == "v1":
            return "v1", cg.dir_of(controller)
        return ("v2", v2_dir) if v2_dir else (None, None)

    version, d = where("cpuacct")
    if version == "v1":
        assert d is not None   # (dir_of finds what version_of found on v1)
        usage = data["cpu"]["usage"]
        usage["total"] = _int(_read(posixpath.join(d, "cpuacct.usage")))
        usage["percpu"] = [int(x) for x in (_read(posixpath.join(d, "cpuacct.usage_percpu"))
                                            or "").split()]
        ticks = _pairs(_read(posixpath.join(d, "cpuacct.stat")))
        usage["user"] = ticks.get("user", 0) * (10 ** 9 // USER_HZ)
        usage["kernel"] = ticks.get("system", 0) * (10 ** 9 // USER_HZ)
    version, d = where("cpu")
    if d:
        cpu = _pairs(_read(posixpath.join(d, "cpu.stat")))
        data["cpu"]["throttling"] = {
            "periods": cpu.get("nr_periods", 0), "throttled_periods": cpu.get("nr_throttled", 0),
            "throttled_time": cpu.get("throttled_time", cpu.get("throttled_usec", 0) * 1000)}
        if version == "v2":
            usage = data["cpu"]["usage"]
            usage["total"] = cpu.get("usage_usec", 0) * 1000
            usage["user"] = cpu.get("user_usec", 0) * 1000
            usage["kernel"] = cpu.get("system_usec", 0) * 1000
    version, d = where("memory")
    mem = data["memory"]
    if version == "v1":
        assert d is not None   # (as for cpuacct)
        for key, prefix in (("usage", "memory."), ("swap", "memory.memsw."),
                            ("kernel", "memory.kmem."), ("kernelTCP", "memory.kmem.tcp.")):
            if _read(posixpath.join(d, prefix + "usage_in_bytes")) is None:
                continue
            mem[key] = {name: _int(_read(posixpath.join(d, prefix + f)))
                        for name, f in (("usage", "usage_in_bytes"),
                                        ("max", "max_usage_in_bytes"),
                                        ("failcnt", "failcnt"), ("limit", "limit_in_bytes"))}
        mem["raw"] = _pairs(_read(posixpath.join(d, "memory.stat")))
    elif version == "v2" and d:
        events = _pairs(_read(posixpath.join(d, "memory.events")))
        mem["usage"] = {"usage": _int(_read(posixpath.join(d, "memory.current"))),
                        "max": _int(_read(posixpath.join(d, "memory.peak"))),
                        "failcnt": events.get("max", 0),
                        "limit": _int(_read(posixpath.join(d, "memory.max")), MAX_U64)}
        swap = _read(posixpath.join(d, "memory.swap.current"))
        if swap is not None:
            mem["swap"] = {"usage": _int(swap), "failcnt": 0,
                           "limit": _int(_read(posixpath.join(d, "memory.swap.max")), MAX_U64)}
        mem["raw"] = _pairs(_read(posixpath.join(d, "memory.stat")))
    version, d = where("pids")
    if d:
        data["pids"] = {"current": _int(_read(posixpath.join(d, "pids.current"))),
                        "limit": _int(_read(posixpath.join(d, "pids.max")))}
    return data


class OomWatch:
    """A file descriptor that becomes readable at each OOM kill in the
    container's memory cgroup: an eventfd registered with
    cgroup.event_control on v1, memory.events (POLLPRI) on v2."""

    def __init__(self, cg: Cgroups) -> None:
        self.fd = -1
        self.v2_events: str | None = None
        self.kills = 0
        version = cg.version_of("memory")
        d = cg.dir_of("memory")
        if d is None:
            return
        if version == "v1":
            control = os.open(posixpath.join(d, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
            try:
                if TYPE_CHECKING:
                    ffi: Any
                    lib: Any   # (the compiled cffi shim has no stubs)
                else:
                    from .._shim import ffi, lib
                # (non-blocking: take() may ask when nothing happened;
                # eventfd(2) through the shim: os.eventfd is Python 3.10's)
                fd = lib.eventfd(0, lib.EFD_CLOEXEC | lib.EFD_NONBLOCK)
                if fd < 0:
                    raise OSError(ffi.errno, "eventfd: %s" % os.strerror(ffi.errno))
                self.fd = fd
                from ..files import write_once
                write_once(posixpath.join(d, "cgroup.event_control"),
                           "%d %d" % (self.fd, control))
            finally:
                os.close(control)
        else:
            self.v2_events = posixpath.join(d, "memory.events")
            self.fd = os.open(self.v2_events, os.O_RDONLY | os.O_CLOEXEC)
            self.kills = _pairs(os.pread(self.fd, 4096, 0).decode()).get("oom_kill", 0)

    def poll_flags(self) -> int:
        import select
        return select.POLLPRI if self.v2_events else select.POLLIN

    def take(self) -> int:
        """How many OOM kills happened since the last call."""
        if self.v2_events:
            kills = _pairs(os.pread(self.fd, 4096, 0).decode()).get("oom_kill", 0)
            new, self.kills = kills - self.kills, kills
            return max(new, 0)
        import sys
        try:
            return int.from_bytes(os.read(self.fd, 8), sys.byteorder)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
