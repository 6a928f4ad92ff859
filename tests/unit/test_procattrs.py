"""process.scheduler, .ioPriority, .execCPUAffinity and linux.memoryPolicy:
the checks (each bad value named by its JSON path) and the steps planned
for the init and for exec processes.  No root needed."""
import sys

import pytest

from pyrunc.bundle import check
from pyrunc.errors import ConfigError
from pyrunc.plan import HostInfo, make_exec_plan, make_plan
from pyrunc.procattrs import mask, parse_ids
from pyrunc.specgen import default_spec


def plan_for(spec):
    return make_plan(spec, "/bundle", "/bundle/rootfs", HostInfo(cap_last_cap=40))


def steps(plan, kind):
    return [s for s in plan.steps if s.kind == kind]


@pytest.mark.parametrize("text, ids", [
    ("0", [0]), ("0-3,7", [0, 1, 2, 3, 7]), (" 1 , ,2-2", [1, 2]), ("5,1-2,1", [1, 2, 5]),
])
def test_id_lists(text, ids):
    assert parse_ids(text, 8191, "CPU") == ids


@pytest.mark.parametrize("text, words", [
    ("", "names no CPU"), (",", "names no CPU"), ("a", "not a list"), ("1-", "not a list"),
    ("-1", "not a list"), ("3-1", "runs backwards"), ("8192", "above 8191"),
    ("\u0661", "not a list"),      # (an Arabic-Indic digit is a digit to str.isdigit)
])
def test_bad_id_lists(text, words):
    with pytest.raises(ValueError, match=words):
        parse_ids(text, 8191, "CPU")


def test_masks_are_the_kernels_bitmaps_of_unsigned_longs():
    assert mask([0, 2]) == (5).to_bytes(8, sys.byteorder)
    assert mask([64]) == bytes(8) + (1).to_bytes(8, sys.byteorder)
    assert len(mask([8191])) == 1024


def with_(section, **fields):
    spec = default_spec(terminal=False)
    spec[section].update(fields)
    return spec


@pytest.mark.parametrize("spec, path", [
    (with_("process", scheduler={}), "process.scheduler.policy: required"),
    (with_("process", scheduler={"policy": 3}), "process.scheduler.policy: expected string"),
    (with_("process", scheduler={"policy": "SCHED_X"}), "process.scheduler.policy: unknown"),
    (with_("process", scheduler={"policy": "SCHED_OTHER", "nice": 1 << 31}),
     "process.scheduler.nice: 2147483648 is out of range"),
    (with_("process", scheduler={"policy": "SCHED_OTHER", "nice": -21}),
     "process.scheduler.nice: -21 is out of range"),
    (with_("process", scheduler={"policy": "SCHED_BATCH", "priority": 1}),
     "process.scheduler.priority: only SCHED_FIFO"),
    (with_("process", scheduler={"policy": "SCHED_FIFO"}),
     "process.scheduler.priority: 0 is out of range"),
    (with_("process", scheduler={"policy": "SCHED_RR", "priority": 100}),
     "process.scheduler.priority: 100 is out of range"),
    (with_("process", scheduler={"policy": "SCHED_OTHER", "period": 1}),
     "process.scheduler: runtime, deadline and period are for SCHED_DEADLINE"),
    (with_("process", scheduler={"policy": "SCHED_DEADLINE", "runtime": 1 << 64}),
     "process.scheduler.runtime: 18446744073709551616 is out of range"),
    (with_("process", scheduler={"policy": "SCHED_OTHER", "flags": ["X"]}),
     "process.scheduler.flags[0]: unknown flag"),
    (with_("process", ioPriority={"priority": 1}), "process.ioPriority.class: required"),
    (with_("process", ioPriority={"class": "IOPRIO_CLASS_BE"}),
     "process.ioPriority.priority: required"),
    (with_("process", ioPriority={"class": "BE", "priority": 1}),
     "process.ioPriority.class: unknown class"),
    (with_("process", ioPriority={"class": "IOPRIO_CLASS_BE", "priority": -1}),
     "process.ioPriority.priority: -1 is out of range"),
    (with_("process", execCPUAffinity=[]), "process.execCPUAffinity: expected object"),
    (with_("process", execCPUAffinity={"initial": "9999"}),
     "process.execCPUAffinity.initial: '9999': CPU 9999 is above 8191"),
    (with_("linux", memoryPolicy={"nodes": "0"}), "linux.memoryPolicy.mode: required"),
    (with_("linux", memoryPolicy={"mode": "MPOL_X"}), "linux.memoryPolicy.mode: unknown"),
    (with_("linux", memoryPolicy={"mode": "MPOL_INTERLEAVE", "nodes": ""}),
     "linux.memoryPolicy.nodes: MPOL_INTERLEAVE needs at least one node"),
    (with_("linux", memoryPolicy={"mode": "MPOL_DEFAULT", "nodes": "1"}),
     "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes"),
    (with_("linux", memoryPolicy={"mode": "MPOL_BIND", "nodes": "1024"}),
     "linux.memoryPolicy.nodes: '1024': node 1024 is above 1023"),
    (with_("linux", memoryPolicy={"mode": "MPOL_BIND", "nodes": "0", "flags": "x"}),
     "linux.memoryPolicy.flags: expected array of strings"),
])
def test_bad_values_are_named_by_their_path(spec, path):
    with pytest.raises(ConfigError) as e:
        check(spec)
    assert str(e.value).startswith(path), str(e.value)


def test_the_init_gets_scheduler_io_priority_and_memory_policy_before_its_user_and_caps():
    spec = with_("process", scheduler={"policy": "SCHED_DEADLINE", "runtime": 42000,
                                       "deadline": 10 ** 6, "period": 10 ** 6,
                                       "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
                 ioPriority={"class": "IOPRIO_CLASS_IDLE", "priority": 7},
                 execCPUAffinity={"initial": "0", "final": "1"})
    spec["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0-1,64",
                                     "flags": ["MPOL_F_STATIC_NODES"]}
    check(spec)
    plan = plan_for(spec)
    kinds = [s.kind for s in plan.steps]
    assert kinds.index("SCHED") < kinds.index("USER") and kinds.index("SCHED") > \
        kinds.index("SETSID"), kinds
    assert steps(plan, "SCHED")[0].slots == {"a": 6, "b": 0, "c": 0, "d": 1,
                                             "v1": ["42000", "1000000", "1000000"]}
    assert steps(plan, "IOPRIO")[0].slots == {"a": 3 << 13 | 7}
    policy = steps(plan, "MEMPOLICY")[0].slots
    assert policy["a"] == 2 | 1 << 15 and policy["b"] == 128
    assert policy["s1"] == (3).to_bytes(8, sys.byteorder) + (1).to_bytes(8, sys.byteorder)
    # execCPUAffinity is not the init's (runtime-spec): its affinity is reset
    assert [s.slots for s in steps(plan, "AFFINITY")] == [{"a": 0}]


def test_a_plain_config_plans_only_the_affinity_reset():
    plan = plan_for(default_spec())
    assert [s.kind for s in plan.steps if s.kind in ("SCHED", "IOPRIO", "MEMPOLICY",
                                                      "AFFINITY")] == ["AFFINITY"]


def test_exec_takes_the_containers_settings_unless_it_has_its_own():
    spec = with_("process", scheduler={"policy": "SCHED_BATCH", "nice": 3},
                 execCPUAffinity={"initial": "0", "final": "1"})
    own = dict(spec["process"], scheduler={"policy": "SCHED_IDLE"})
    del own["execCPUAffinity"]
    bare = {k: v for k, v in spec["process"].items()
            if k not in ("scheduler", "execCPUAffinity")}
    host = HostInfo(cgroup_mounts=[("cpu", "/sys/fs/cgroup/cpu/c1", False)])
    inherited = make_exec_plan(spec, bare, host, pidfd=7, init_pid=42)
    assert steps(inherited, "SCHED")[0].slots["a"] == 3
    first, last = steps(inherited, "AFFINITY")
    assert inherited.steps.index(first) < [s.kind for s in inherited.steps].index("WRITE_HOST")
    assert first.slots["s1"] == (1).to_bytes(8, sys.byteorder)
    assert last.slots["s1"] == (2).to_bytes(8, sys.byteorder)
    mine = make_exec_plan(spec, own, host, pidfd=7, init_pid=42)
    assert steps(mine, "SCHED")[0].slots["a"] == 5
    # its own has no affinity: the container's is taken
    assert len(steps(mine, "AFFINITY")) == 2
