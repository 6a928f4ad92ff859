"""linux.resources -> the cgroup files to write, for cgroup v1 and v2.

Pure: `writes(resources, version_of)` returns Write items; the manager in
__init__.py finds each controller's directory and writes them.  version_of
(controller) tells where a controller lives: "v1", "v2" or None (absent);
on the hybrid layout some live on v1 and others (hugetlb) on v2.

Conversions are runc's, as engines expect them:
- memory.swap is memory+swap; v2's memory.swap.max is swap alone;
- cpu.shares (2..262144) -> cpu.weight (1..10000);
- blockIO weight (10..1000) -> io.weight (1..10000);
- -1 means no limit: "-1" on v1, "max" on v2.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..tables import DEFAULT_DEVICES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Literal, Protocol, Sequence

    # a device rule: (allow, type "a"/"b"/"c", major or None, minor or None,
    # access "rwm")
    DeviceRule = tuple[bool, str, int | None, int | None, str]
    # what a Write writes: the file's text; the rule list for
    # BPF_DEVICE_FILTER; None where there is no file (file None)
    WriteValue = str | list[DeviceRule] | None
    # a missing file: an error (False), a warning (True) or nothing ("silent")
    Optionality = bool | Literal["silent"]
    VersionOf = Callable[[str], str | None]

    class AddWrite(Protocol):
        """writes()'s add: one Write, checked against version_of."""
        def __call__(self, controller: str, file: str | None, value: WriteValue, path: str,
                     optional: Optionality = False) -> None: ...


# v1 blkio files that a kernel with the BFQ scheduler (and without CFQ)
# has under another name: the write goes there when the first is absent,
# as runc does.
BFQ_NAMES = {"blkio.weight": "blkio.bfq.weight",
             "blkio.weight_device": "blkio.bfq.weight_device"}


class Write:
    """Write `value` to `file` of `controller`'s directory (or to its
    BFQ_NAMES name where the kernel has that one).  optional: the kernel
    may lack the file (a warning then, not an error; "silent": a write the
    runtime adds itself, skipped without a word)."""
    __slots__ = ("controller", "file", "value", "optional", "path")

    def __init__(self, controller: str, file: str | None, value: WriteValue, path: str,
                 optional: Optionality = False) -> None:
        self.controller = controller
        self.file = file
        self.value = value
        self.path = path            # the JSON path, for messages
        self.optional = optional

    def __repr__(self) -> str:
        return "Write(%s/%s=%r)" % (self.controller, self.file, self.value)


DEFAULT_DEVICE_RULES = [d[:4] for d in DEFAULT_DEVICES]


def shares_to_weight(shares: int) -> int:
    """cpu.shares 2..262144 onto cpu.weight 1..10000."""
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight 10..1000 onto io.weight 1..10000."""
    return 1 + ((weight - 10) * 9999) // 990


def v2_swap(swap: int | None, limit: int | None) -> str | None:
    """memory.swap.max for the spec's memory+swap `swap` (None: leave)."""
    if swap is None or swap == 0:
        return "max" if limit == -1 and swap is None else None
    if swap == -1:
        return "max"
    if limit is None or limit <= 0:
        raise ConfigError("linux.resources.memory.swap: a swap limit needs a memory limit")
    if swap < limit:
        raise ConfigError("linux.resources.memory.swap: memory+swap (%d) is below the memory "
                          "limit (%d)" % (swap, limit))
    return str(swap - limit)


def _limit(value: int, v2: bool) -> str:
    return ("max" if v2 else "-1") if value == -1 else str(value)


def writes(res: dict[str, Any], version_of: VersionOf,
           devices: Sequence[dict[str, Any]] = (),
           why_missing: Callable[[str], str] | None = None) -> list[Write]:
    """All writes for resources `res`, in the order to make them.  devices:
    linux.devices, which are allowed as well.  why_missing(controller):
    the words of the error of a controller version_of does not find."""
    out: list[Write] = []

    def add(controller: str, file: str | None, value: WriteValue, path: str,
            optional: Optionality = False) -> None:
        if version_of(controller) is None:
            raise ConfigError("linux.resources.%s: %s" % (
                path, why_missing(controller) if why_missing else
                "the %s controller is not available on this host" % controller))
        out.append(Write(controller, file, value, "linux.resources." + path, optional))

    _memory(res.get("memory"), version_of, add)
    _cpu(res.get("cpu"), version_of, add)
    pids = res.get("pids")
    if pids is not None and pids.get("limit") is not None:
        limit = pids["limit"]
        add("pids", "pids.max", "max" if limit <= 0 else str(limit), "pids.limit")
    _block_io(res.get("blockIO"), version_of, add)
    for i, h in enumerate(res.get("hugepageLimits") or ()):
        size = h["pageSize"]
        v2 = version_of("hugetlb") == "v2"
        add("hugetlb", "hugetlb.%s.%s" % (size, "max" if v2 else "limit_in_bytes"),
            _limit(h["limit"], v2), "hugepageLimits[%d]" % i)
    net = res.get("network")
    if net:
        if net.get("classID") is not None:
            add("net_cls", "net_cls.classid", str(net["classID"]), "network.classID")
        for i, p in enumerate(net.get("priorities") or ()):
            add("net_prio", "net_prio.ifpriomap", "%s %d" % (p["name"], p["priority"]),
                "network.priorities[%d]" % i)
    for name, limits in sorted((res.get("rdma") or {}).items()):
        parts = [name]
        if limits.get("hcaHandles") is not None:
            parts.append("hca_handle=%d" % limits["hcaHandles"])
        if limits.get("hcaObjects") is not None:
            parts.append("hca_object=%d" % limits["hcaObjects"])
        add("rdma", "rdma.max", " ".join(parts), "rdma.%s" % name)
    for key, value in sorted((res.get("unified") or {}).items()):
        if "/" in key or "." not in key or key.startswith("cgroup."):
            raise ConfigError("linux.resources.unified.%s: not a controller file" % key)
        controller = key.split(".", 1)[0]
        if version_of(controller) != "v2":
            # (runc's words, which callers match on)
            raise ConfigError("linux.resources.unified.%s: invalid configuration: cannot use "
                              "unified on cgroup v1 (the %s controller is on v1 here)"
                              % (key, controller))
        add(controller, key, value, "unified.%s" % key)
    rules = res.get("devices")
    if rules is not None:
        _devices(rules, devices, version_of, add)
    return out


def _memory(mem: dict[str, Any] | None, version_of: VersionOf, add: AddWrite) -> None:
    if not mem:
        return
    v2 = version_of("memory") == "v2"
    limit = mem.get("limit")
    swap = mem.get("swap")
    if v2:
        if limit is not None:
            add("memory", "memory.max", _limit(limit, True), "memory.limit")
        if mem.get("reservation") is not None:
            add("memory", "memory.low", _limit(mem["reservation"], True), "memory.reservation")
        swap_max = v2_swap(swap, limit)
        if swap_max is not None:
            add("memory", "memory.swap.max", swap_max, "memory.swap", optional=True)
        for field in ("kernel", "kernelTCP", "swappiness", "disableOOMKiller"):
            if mem.get(field) is not None:
                add("memory", None, None, "memory." + field, optional=True)
        return
    # v1: memory.memsw is memory+swap and must stay >= the limit; the
    # manager orders the two writes (see Cgroups.apply)
    if limit is not None:
        add("memory", "memory.limit_in_bytes", _limit(limit, False), "memory.limit")
    if swap is not None and swap != 0:
        add("memory", "memory.memsw.limit_in_bytes", _limit(swap, False), "memory.swap")
    elif limit == -1:
        # unlimited memory is unlimited memory+swap too (runc), where the
        # kernel counts swap: else a memsw limit set before stays below it
        add("memory", "memory.memsw.limit_in_bytes", "-1", "memory.swap", optional="silent")
    if mem.get("reservation") is not None:
        add("memory", "memory.soft_limit_in_bytes", _limit(mem["reservation"], False),
            "memory.reservation")
    if mem.get("kernel") is not None:
        add("memory", "memory.kmem.limit_in_bytes", _limit(mem["kernel"], False),
            "memory.kernel", optional=True)
    if mem.get("kernelTCP") is not None:
        add("memory", "memory.kmem.tcp.limit_in_bytes", _limit(mem["kernelTCP"], False),
            "memory.kernelTCP", optional=True)
    if mem.get("swappiness") is not None:
        add("memory", "memory.swappiness", str(mem["swappiness"]), "memory.swappiness")
    if mem.get("disableOOMKiller"):
        add("memory", "memory.oom_control", "1", "memory.disableOOMKiller")
    if mem.get("useHierarchy") is not None:
        add("memory", "memory.use_hierarchy", "1" if mem["useHierarchy"] else "0",
            "memory.useHierarchy", optional=True)


def _cpu(cpu: dict[str, Any] | None, version_of: VersionOf, add: AddWrite) -> None:
    if not cpu:
        return
    v2 = version_of("cpu") == "v2"
    shares, quota, period = cpu.get("shares"), cpu.get("quota"), cpu.get("period")
    if v2:
        if shares:
            add("cpu", "cpu.weight", str(shares_to_weight(shares)), "cpu.shares")
        if quota is not None or period:
            q = "max" if quota is None or quota <= 0 else str(quota)
            add("cpu", "cpu.max", "%s %d" % (q, period or 100000), "cpu.quota")
        if cpu.get("burst") is not None:
            add("cpu", "cpu.max.burst", str(cpu["burst"]), "cpu.burst")
        for field in ("realtimeRuntime", "realtimePeriod"):
            if cpu.get(field):
                raise ConfigError("linux.resources.cpu.%s: real-time limits do not exist on "
                                  "cgroup v2" % field)
    else:
        if shares:
            add("cpu", "cpu.shares", str(shares), "cpu.shares")
        if period:   # before the quota: the quota is checked against it
            add("cpu", "cpu.cfs_period_us", str(period), "cpu.period")
        if quota is not None:
            add("cpu", "cpu.cfs_quota_us", str(quota if quota > 0 else -1), "cpu.quota")
        if cpu.get("burst") is not None:
            add("cpu", "cpu.cfs_burst_us", str(cpu["burst"]), "cpu.burst", optional=True)
        # the period before the runtime, as for the quota
        if cpu.get("realtimePeriod"):
            add("cpu", "cpu.rt_period_us", str(cpu["realtimePeriod"]), "cpu.realtimePeriod")
        if cpu.get("realtimeRuntime"):
            add("cpu", "cpu.rt_runtime_us", str(cpu["realtimeRuntime"]),
                "cpu.realtimeRuntime")
    if cpu.get("idle") is not None:
        add("cpu", "cpu.idle", str(cpu["idle"]), "cpu.idle", optional=not v2)
    if cpu.get("cpus"):
        add("cpuset", "cpuset.cpus", cpu["cpus"], "cpu.cpus")
    if cpu.get("mems"):
        add("cpuset", "cpuset.mems", cpu["mems"], "cpu.mems")


def _block_io(bio: dict[str, Any] | None, version_of: VersionOf, add: AddWrite) -> None:
    if not bio:
        return
    if version_of("io") == "v2" or (version_of("blkio") is None and version_of("io")):
        if bio.get("weight"):
            add("io", "io.weight", "default %d" % blkio_to_io_weight(bio["weight"]),
                "blockIO.weight", optional=True)
        for i, d in enumerate(bio.get("weightDevice") or ()):
            if d.get("weight"):
                add("io", "io.weight", "%d:%d %d" % (d["major"], d["minor"],
                                                     blkio_to_io_weight(d["weight"])),
                    "blockIO.weightDevice[%d]" % i, optional=True)
        for field, key in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                           ("throttleReadIOPSDevice", "riops"),
                           ("throttleWriteIOPSDevice", "wiops")):
            for i, d in enumerate(bio.get(field) or ()):
                add("io", "io.max", "%d:%d %s=%d" % (d["major"], d["minor"], key, d["rate"]),
                    "blockIO.%s[%d]" % (field, i))
        return
    if bio.get("weight"):
        add("blkio", "blkio.weight", str(bio["weight"]), "blockIO.weight", optional=True)
    if bio.get("leafWeight"):
        add("blkio", "blkio.leaf_weight", str(bio["leafWeight"]), "blockIO.leafWeight",
            optional=True)
    for i, d in enumerate(bio.get("weightDevice") or ()):
        for key, file in (("weight", "blkio.weight_device"),
                          ("leafWeight", "blkio.leaf_weight_device")):
            if d.get(key):
                add("blkio", file, "%d:%d %d" % (d["major"], d["minor"], d[key]),
                    "blockIO.weightDevice[%d].%s" % (i, key), optional=True)
    for field, file in (("throttleReadBpsDevice", "read_bps_device"),
                        ("throttleWriteBpsDevice", "write_bps_device"),
                        ("throttleReadIOPSDevice", "read_iops_device"),
                        ("throttleWriteIOPSDevice", "write_iops_device")):
        for i, d in enumerate(bio.get(field) or ()):
            add("blkio", "blkio.throttle." + file, "%d:%d %d" % (d["major"], d["minor"],
                                                                d["rate"]),
                "blockIO.%s[%d]" % (field, i))


# The pseudo file of the v2 device rules (Cgroups.apply attaches a program).
BPF_DEVICE_FILTER = "<bpf device filter>"


def device_rule_text(kind: str, major: int | None, minor: int | None, access: str) -> str:
    """"c 1:3 rwm", with * for a missing number; "a" is every device."""
    return "%s %s:%s %s" % (kind or "a", "*" if major is None or major < 0 else major,
                            "*" if minor is None or minor < 0 else minor, access or "rwm")


def _devices(rules: list[dict[str, Any]], devices: Sequence[dict[str, Any]],
             version_of: VersionOf, add: AddWrite) -> None:
    """The config's rules in its order, then runc's defaults (but those of
    a path linux.devices lists).  A node of linux.devices gets no rule of
    its own: access to it is what the rules say (runc; a deny-all config
    with /dev/kmsg among its devices keeps it denied).  v1 writes
    devices.allow / devices.deny, v2 compiles one BPF program."""
    items = [(bool(r.get("allow")), r.get("type") or "a", r.get("major"), r.get("minor"),
              r.get("access") or "rwm", "devices[%d]" % i) for i, r in enumerate(rules)]
    from ..bundle import clean_path
    listed = {clean_path(d["path"]) for d in devices}
    items += [(True, t, ma, mi, acc, "devices") for t, ma, mi, acc, path in DEFAULT_DEVICES
              if path is None or path not in listed]
    if version_of("devices") != "v1":
        # one item: the whole rule list, compiled to a BPF program
        add("devices", BPF_DEVICE_FILTER,
            [(allow, kind, major, minor, access) for allow, kind, major, minor, access, _
             in items], "devices")
        return
    for allow, kind, major, minor, access, path in items:
        add("devices", "devices.allow" if allow else "devices.deny",
            device_rule_text(kind, major, minor, access), path)
