"""Scheduling attributes of a container's processes (runtime-spec 1.2/1.3):
process.scheduler, process.ioPriority, process.execCPUAffinity and
linux.memoryPolicy: their kernel numbers, their checks and their steps.

Imported only for a config that has one of them: most have none, and
create's start-up pays for every module.

When each applies, as runc 1.4 does:
- scheduler, ioPriority: the init, and every exec process (an exec
  process without its own takes the container's process's);
- execCPUAffinity: exec processes only (runtime-spec: not the init):
  `initial` before the process joins the container's cgroups, `final`
  once it is in them (joining a cpuset cgroup resets the affinity);
  without it the process gets every CPU its cpuset allows, not the
  runtime's own affinity;
- memoryPolicy: the init and every exec process.
"""
from __future__ import annotations

import sys

from . import steps as S

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .bundle import _Checker
    from .plan import SpawnPlan

# sched_setattr(2)
SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
# ioprio_set(2): the class goes above 13 bits of level
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
IOPRIO_CLASS_SHIFT = 13
# set_mempolicy(2)
MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
              "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
MPOL_FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
              "MPOL_F_STATIC_NODES": 1 << 15}
# modes that take no node, and modes that need one (MPOL_PREFERRED: either)
MPOL_NO_NODES = ("MPOL_DEFAULT", "MPOL_LOCAL")
MPOL_SOME_NODES = ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_PREFERRED_MANY",
                   "MPOL_WEIGHTED_INTERLEAVE")

# the highest ids accepted: Linux's limits (NR_CPUS at most 8192 on every
# architecture pyrunc runs on; MAX_NUMNODES at most 1024)
MAX_CPU = 8191
MAX_NODE = 1023

def check_process(ck: _Checker, process: dict[str, Any]) -> None:
    """process.scheduler, .ioPriority, .execCPUAffinity (the kinds and the
    rules between fields, runc's)."""
    sched = ck.field(process, "scheduler", "process", "object")
    if sched is not None:
        where = "process.scheduler"
        policy = ck.field(sched, "policy", where, "string", required=True)
        if policy not in SCHED_POLICIES:
            ck.fail(where + ".policy", "unknown policy %r (%s)" % (policy,
                                                                 ", ".join(SCHED_POLICIES)))
        nice = ck.field(sched, "nice", where, "int32")
        priority = ck.field(sched, "priority", where, "int32")
        for i, flag in enumerate(ck.field(sched, "flags", where, "strings") or ()):
            if flag not in SCHED_FLAGS:
                ck.fail("%s.flags[%d]" % (where, i), "unknown flag %r" % flag)
        times = [ck.field(sched, key, where, "uint") for key in ("runtime", "deadline", "period")]
        if nice is not None and not -20 <= nice <= 19:
            ck.fail(where + ".nice", "%d is out of range (-20 to 19)" % nice)
        realtime = policy in ("SCHED_FIFO", "SCHED_RR")
        if priority and not realtime:
            ck.fail(where + ".priority", "only SCHED_FIFO and SCHED_RR take a priority")
        if realtime and not 1 <= (priority or 0) <= 99:
            ck.fail(where + ".priority", "%d is out of range (%s: 1 to 99)" % (priority or 0,
                                                                             policy))
        if any(times) and policy != "SCHED_DEADLINE":
            ck.fail(where, "runtime, deadline and period are for SCHED_DEADLINE only")
    ioprio = ck.field(process, "ioPriority", "process", "object")
    if ioprio is not None:
        klass = ck.field(ioprio, "class", "process.ioPriority", "string", required=True)
        if klass not in IOPRIO_CLASSES:
            ck.fail("process.ioPriority.class", "unknown class %r (%s)"
                    % (klass, ", ".join(IOPRIO_CLASSES)))
        level = ck.field(ioprio, "priority", "process.ioPriority", "int", required=True)
        if not 0 <= level <= 7:
            ck.fail("process.ioPriority.priority", "%d is out of range (0 to 7)" % level)
    affinity = ck.field(process, "execCPUAffinity", "process", "object")
    if affinity is not None:
        for key in ("initial", "final"):
            text = ck.field(affinity, key, "process.execCPUAffinity", "string")
            if text:
                parse_list(ck, text, "process.execCPUAffinity." + key, MAX_CPU, "CPU")


def check_memory_policy(ck: _Checker, linux: dict[str, Any]) -> None:
    policy = ck.field(linux, "memoryPolicy", "linux", "object")
    if policy is None:
        return
    where = "linux.memoryPolicy"
    mode = ck.field(policy, "mode", where, "string", required=True)
    if mode not in MPOL_MODES:
        ck.fail(where + ".mode", "unknown mode %r (%s)" % (mode, ", ".join(MPOL_MODES)))
    text = ck.field(policy, "nodes", where, "string") or ""
    nodes = parse_list(ck, text, where + ".nodes", MAX_NODE, "node") if text.strip(" ,") \
        else []
    for i, flag in enumerate(ck.field(policy, "flags", where, "strings") or ()):
        if flag not in MPOL_FLAGS:
            ck.fail("%s.flags[%d]" % (where, i), "unknown flag %r" % flag)
    if nodes and mode in MPOL_NO_NODES:
        ck.fail(where + ".nodes", "%s takes no nodes" % mode)
    if not nodes and mode in MPOL_SOME_NODES:
        ck.fail(where + ".nodes", "%s needs at least one node" % mode)


def parse_list(ck: _Checker, text: str, path: str, most: int, what: str) -> list[int]:
    """parse_ids, its error named by path."""
    try:
        return parse_ids(text, most, what)
    except ValueError as e:
        ck.fail(path, str(e))


def parse_ids(text: str, most: int, what: str) -> list[int]:
    """A Linux list of ids, "0-3,7" (spaces and empty items allowed, as
    runc allows them); sorted, each at most `most`.  ValueError: what is
    wrong with it."""
    ids: set[int] = set()
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        first, dash, last = item.partition("-")
        if not (first.isdigit() and first.isascii()) or \
                dash and not (last.isdigit() and last.isascii()):
            raise ValueError("%r is not a list of %s numbers such as 0-3,7" % (text, what))
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            raise ValueError("%r: the range %s runs backwards" % (text, item))
        if high > most:
            raise ValueError("%r: %s %d is above %d, the highest Linux has" % (text, what, high,
                                                                               most))
        ids.update(range(low, high + 1))
    if not ids:
        raise ValueError("%r names no %s" % (text, what))
    return sorted(ids)


def mask(ids: list[int]) -> bytes:
    """The kernel's bitmap of ids: unsigned longs (64 bits), native order."""
    words = [0] * (ids[-1] // 64 + 1)
    for i in ids:
        words[i // 64] |= 1 << (i % 64)
    return b"".join(w.to_bytes(8, sys.byteorder) for w in words)


def plan_sched(plan: SpawnPlan, process: dict[str, Any]) -> None:
    """The scheduler and I/O priority steps of a process (after setsid:
    the I/O priority is its process group's)."""
    sched = process.get("scheduler")
    if sched is not None:
        flags = 0
        for name in sched.get("flags") or ():
            flags |= SCHED_FLAGS[name]
        plan.add(S.Sched("set scheduler %s" % sched["policy"], SCHED_POLICIES[sched["policy"]],
                         sched.get("nice", 0), sched.get("priority", 0), flags,
                         sched.get("runtime", 0), sched.get("deadline", 0),
                         sched.get("period", 0)))
    ioprio = process.get("ioPriority")
    if ioprio is not None:
        plan.add(S.Ioprio("set I/O priority %s %d" % (ioprio["class"], ioprio["priority"]),
                          IOPRIO_CLASSES[ioprio["class"]] << IOPRIO_CLASS_SHIFT |
                          ioprio["priority"]))


def plan_memory_policy(plan: SpawnPlan, linux: dict[str, Any]) -> None:
    policy = linux.get("memoryPolicy")
    if policy is None:
        return
    mode = MPOL_MODES[policy["mode"]]
    for name in policy.get("flags") or ():
        mode |= MPOL_FLAGS[name]
    text = policy.get("nodes") or ""
    nodes = parse_ids(text, MAX_NODE, "node") if text.strip(" ,") else []
    plan.add(S.Mempolicy("set memory policy %s" % policy["mode"], mode,
                         mask(nodes) if nodes else None))


def affinity_mask(process: dict[str, Any], key: str) -> bytes | None:
    """execCPUAffinity.initial or .final as a CPU mask, or None."""
    text = (process.get("execCPUAffinity") or {}).get(key)
    return mask(parse_ids(text, MAX_CPU, "CPU")) if text else None

