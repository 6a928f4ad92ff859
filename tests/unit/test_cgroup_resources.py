"""linux.resources -> cgroup files, v1 and v2 (pure, no root)."""
import pytest

from pyrunc.cgroups.resources import (BPF_DEVICE_FILTER, blkio_to_io_weight, shares_to_weight, v2_swap,
                                      writes)
from pyrunc.errors import ConfigError


def v1(controller):
    return "v1" if controller in ("memory", "cpu", "cpuset", "pids", "blkio", "devices") \
        else None


def v2(controller):
    return "v2" if controller in ("memory", "cpu", "cpuset", "pids", "io", "hugetlb",
                                  "devices") else None


def hybrid(controller):
    return "v2" if controller == "hugetlb" else v1(controller)


def files(res, version_of, devices=()):
    return [(w.controller, w.file, w.value) for w in writes(res, version_of, devices)]


def test_conversions_are_runc_s():
    assert shares_to_weight(2) == 1 and shares_to_weight(262144) == 10000
    assert shares_to_weight(1024) == 39
    assert blkio_to_io_weight(10) == 1 and blkio_to_io_weight(1000) == 10000
    assert blkio_to_io_weight(500) == 4950
    assert v2_swap(2 << 20, 1 << 20) == str(1 << 20)
    assert v2_swap(-1, 1 << 20) == "max" and v2_swap(None, -1) == "max"
    assert v2_swap(None, 1 << 20) is None and v2_swap(0, 5) is None
    with pytest.raises(ConfigError, match="needs a memory limit"):
        v2_swap(5, None)
    with pytest.raises(ConfigError, match="below the memory limit"):
        v2_swap(1, 5)


def test_memory_cpu_pids_on_v1_and_v2():
    res = {"memory": {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20},
           "cpu": {"shares": 1024, "quota": 20000, "period": 100000, "cpus": "0"},
           "pids": {"limit": 10}}
    assert files(res, v1) == [
        ("memory", "memory.limit_in_bytes", str(64 << 20)),
        ("memory", "memory.memsw.limit_in_bytes", str(128 << 20)),
        ("memory", "memory.soft_limit_in_bytes", str(32 << 20)),
        ("cpu", "cpu.shares", "1024"), ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_quota_us", "20000"), ("cpuset", "cpuset.cpus", "0"),
        ("pids", "pids.max", "10")]
    assert files(res, v2) == [
        ("memory", "memory.max", str(64 << 20)), ("memory", "memory.low", str(32 << 20)),
        ("memory", "memory.swap.max", str(64 << 20)),
        ("cpu", "cpu.weight", "39"), ("cpu", "cpu.max", "20000 100000"),
        ("cpuset", "cpuset.cpus", "0"), ("pids", "pids.max", "10")]


def test_unlimited_values():
    res = {"memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": 0}}
    # (unlimited memory is unlimited memory+swap too, as in runc)
    assert files(res, v1) == [("memory", "memory.limit_in_bytes", "-1"),
                              ("memory", "memory.memsw.limit_in_bytes", "-1"),
                              ("cpu", "cpu.cfs_quota_us", "-1"), ("pids", "pids.max", "max")]
    assert files(res, v2) == [("memory", "memory.max", "max"),
                              ("memory", "memory.swap.max", "max"),
                              ("cpu", "cpu.max", "max 100000"), ("pids", "pids.max", "max")]


def test_hugetlb_goes_where_the_controller_is():
    res = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}
    assert files(res, hybrid) == [("hugetlb", "hugetlb.2MB.max", str(4 << 20))]
    with pytest.raises(ConfigError, match="hugepageLimits.*hugetlb controller is not available"):
        files(res, v1)


def test_block_io_v1_and_v2():
    res = {"blockIO": {"weight": 500, "throttleReadBpsDevice": [
        {"major": 8, "minor": 0, "rate": 1048576}]}}
    assert files(res, v1) == [("blkio", "blkio.weight", "500"),
                              ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576")]
    assert files(res, v2) == [("io", "io.weight", "default 4950"),
                              ("io", "io.max", "8:0 rbps=1048576")]


def test_devices_v1_in_order_then_runcs_defaults_and_no_rule_for_device_nodes():
    res = {"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]}
    out = files(res, v1, devices=[{"type": "c", "path": "/dev/fuse2", "major": 10,
                                   "minor": 230},
                                  {"type": "c", "path": "/dev//null", "major": 1, "minor": 3}])
    assert out[:2] == [("devices", "devices.deny", "a *:* rwm"),
                       ("devices", "devices.allow", "c 10:229 rw")]
    assert ("devices", "devices.allow", "c 136:* rwm") in out
    # a node of linux.devices gets no rule: the config's rules decide; one
    # at a default's path replaces that default (runc)
    assert not [w for w in out if w[2] in ("c 10:230 rwm", "c 1:3 rwm")]
    assert ("devices", "devices.allow", "c 1:5 rwm") in out
    # on v2: one item, the rules for the BPF device program
    (w,) = writes(res, v2)
    assert (w.controller, w.file) == ("devices", BPF_DEVICE_FILTER)
    assert w.value[:2] == [(False, "a", None, None, "rwm"), (True, "c", 10, 229, "rw")]


def test_unified_keys_are_checked():
    assert files({"unified": {"memory.high": "1000000"}}, v2) == [
        ("memory", "memory.high", "1000000")]
    with pytest.raises(ConfigError, match="unified.cgroup.procs: not a controller file"):
        files({"unified": {"cgroup.procs": "1"}}, v2)
    with pytest.raises(ConfigError, match="unified.memory.high: invalid configuration: cannot "
                                          "use unified on cgroup v1"):
        files({"unified": {"memory.high": "1"}}, v1)


def test_realtime_does_not_exist_on_v2():
    with pytest.raises(ConfigError, match="realtimeRuntime"):
        files({"cpu": {"realtimeRuntime": 1000}}, v2)
    assert files({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 1000}}, v1) == [
        ("cpu", "cpu.rt_period_us", "1000000"), ("cpu", "cpu.rt_runtime_us", "1000")]
