"""The linux.resources object of an `update`: from runc's update flags
(--memory 64m --cpu-share 512 ...) or from a JSON document, checked."""
from __future__ import annotations

from .errors import BadArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# runc's update flags (Python names: cpu_share for --cpu-share) ->
# (linux.resources section, field, kind of value)
UPDATE_FLAGS = {
    "blkio_weight": ("blockIO", "weight", "int"), "cpu_period": ("cpu", "period", "int"),
    "cpu_quota": ("cpu", "quota", "int"), "cpu_burst": ("cpu", "burst", "int"),
    "cpu_share": ("cpu", "shares", "int"), "cpu_rt_period": ("cpu", "realtimePeriod", "int"),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", "int"), "cpuset_cpus": ("cpu", "cpus", "str"),
    "cpuset_mems": ("cpu", "mems", "str"), "kernel_memory": ("memory", "kernel", "bytes"),
    "kernel_memory_tcp": ("memory", "kernelTCP", "bytes"), "memory": ("memory", "limit", "bytes"),
    "cpu_idle": ("cpu", "idle", "int"), "memory_reservation": ("memory", "reservation", "bytes"),
    "memory_swap": ("memory", "swap", "bytes"), "pids_limit": ("pids", "limit", "int"),
}


def parse_bytes(text: str) -> int:
    """runc's sizes: 1024, 512k, 64m, 2g (powers of 1024), -1."""
    t = text.strip().lower().rstrip("b")
    mult = 1
    if t and t[-1] in "kmgt":
        mult = 1024 ** ("kmgt".index(t[-1]) + 1)
        t = t[:-1]
    try:
        value = float(t) if "." in t else int(t)
    except ValueError:
        raise BadArgument("invalid size %r" % text) from None
    return -1 if value == -1 else int(value * mult)


def resources_from_flags(**flags: int | str | None) -> dict[str, Any]:
    """linux.resources from update flags given by their Python names
    (memory="64m", cpu_share=512, pids_limit=50, ...); a value is a
    number, or text as on the command line.  None: not given."""
    res: dict[str, dict[str, int | str]] = {}
    for dest, value in flags.items():
        if value is None:
            continue
        if dest not in UPDATE_FLAGS:
            raise BadArgument("update: unknown flag %r" % dest)
        section, field, kind = UPDATE_FLAGS[dest]
        res.setdefault(section, {})[field] = _value(dest, value, kind)
    return checked(res)


def _value(dest: str, value: int | str, kind: str) -> int | str:
    if kind == "str":
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "bytes":
        return parse_bytes(str(value))
    try:
        return int(str(value))
    except ValueError:
        raise BadArgument("--%s: invalid number %r" % (dest.replace("_", "-"), value)) from None


def resources_from_json(data: bytes, name: str = "--resources") -> dict[str, Any]:
    """linux.resources from a JSON document (bytes), checked."""
    from .bundle import parse_json
    return checked(parse_json(data, name))


def checked(resources: dict[str, Any]) -> dict[str, Any]:
    from .bundle import check_resources
    check_resources(resources, "resources")
    return resources
