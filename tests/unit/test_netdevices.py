"""linux.netDevices: the field's checks, each naming the JSON path, and
where the planner lets the runtime move the devices (no root needed; the
moves themselves: tests/integration/test_netdevices.py)."""
import copy

import pytest

from pyrunc import bundle, netdevices
from pyrunc import linux as L
from pyrunc.errors import ConfigError
from pyrunc.plan import SYNC_HOOKS, SYNC_NETDEV, HostInfo, make_plan
from pyrunc.specgen import default_spec

GOOD = default_spec(terminal=False)


def with_devices(value):
    spec = copy.deepcopy(GOOD)
    spec["linux"]["netDevices"] = value
    return spec


@pytest.mark.parametrize("value", [
    {},
    {"eth1": {}},
    {"eth1": {"name": "ctr0"}, "eth2": {"name": "eth%d"}, "eth3": {"name": "eth%d"}},
    {"eth0.100": {"name": "vlan100"}},                  # a VLAN's name has a dot
    {"a23456789012345": {"name": "b23456789012345"}},   # 15 bytes: the longest
    {"eth1": {"name": "eth1"}},
])
def test_good_values_pass(value):
    bundle.check(with_devices(value))


@pytest.mark.parametrize("value, message", [
    ([], "linux.netDevices: expected object"),
    ("eth0", "linux.netDevices: expected object"),
    ({"eth0": "ctr0"}, 'linux.netDevices["eth0"]: expected object'),
    ({"eth0": []}, 'linux.netDevices["eth0"]: expected object'),
    ({"eth0": {"name": 5}}, 'linux.netDevices["eth0"].name: expected string'),
    ({"": {}}, 'linux.netDevices[""]: not a network interface name: empty'),
    ({"a234567890123456": {}},
     'linux.netDevices["a234567890123456"]: not a network interface name: longer than 15 bytes'),
    # (bytes, not characters: the kernel's IFNAMSIZ)
    ({"\u00e9" * 8: {}}, "longer than 15 bytes"),
    ({".": {}}, 'linux.netDevices["."]: not a network interface name'),
    ({"..": {}}, 'linux.netDevices[".."]: not a network interface name'),
    ({"a/b": {}}, 'linux.netDevices["a/b"]: not a network interface name'),
    ({"a b": {}}, 'linux.netDevices["a b"]: not a network interface name'),
    ({"a\tb": {}}, 'linux.netDevices["a\\tb"]: not a network interface name'),
    ({"a:b": {}}, 'linux.netDevices["a:b"]: not a network interface name'),
    ({"eth%d": {}}, 'linux.netDevices["eth%d"]: not a network interface name: a template'),
    ({"eth0": {"name": ""}}, 'linux.netDevices["eth0"].name: not a network interface name: '
                             "empty"),
    ({"eth0": {"name": "a234567890123456"}}, 'linux.netDevices["eth0"].name: not a network '
                                             "interface name: longer than 15 bytes"),
    ({"eth0": {"name": ".."}}, 'linux.netDevices["eth0"].name: not a network interface name'),
    ({"eth0": {"name": "x/y"}}, 'linux.netDevices["eth0"].name: not a network interface name'),
    ({"eth0": {"name": "x y"}}, 'linux.netDevices["eth0"].name: not a network interface name'),
    ({"eth0": {"name": "x\ny"}}, 'linux.netDevices["eth0"].name: not a network interface name'),
    ({"eth0": {"name": "e%s"}}, 'linux.netDevices["eth0"].name: not a network interface name: '
                                "a template has one %d"),
    ({"eth0": {"name": "e%d%d"}}, 'linux.netDevices["eth0"].name: not a network interface '
                                  "name: a template has one %d"),
    # two devices cannot have one name in the container
    ({"eth0": {"name": "ctr0"}, "eth1": {"name": "ctr0"}},
     'linux.netDevices["eth1"]: "ctr0" is also the name of linux.netDevices["eth0"] in the '
     "container"),
    ({"eth0": {}, "eth1": {"name": "eth0"}},
     'linux.netDevices["eth1"]: "eth0" is also the name of linux.netDevices["eth0"]'),
])
def test_each_bad_value_names_its_json_path(value, message):
    with pytest.raises(ConfigError) as e:
        bundle.check(with_devices(value))
    assert message in str(e.value)
    assert "\n" not in str(e.value)
    # (json_path: what a library caller reads, the message's head)
    assert e.value.json_path.startswith("linux.netDevices")
    assert str(e.value).startswith(e.value.json_path + ": ")


def test_a_null_value_is_absent():
    # (a null member counts as absent, as everywhere in a config)
    spec = with_devices(None)
    bundle.check(spec)
    assert "netDevices" not in spec["linux"]


def test_the_check_is_the_modules_own():
    with pytest.raises(ConfigError, match=r'^x\["e/0"\]: not a network interface name'):
        netdevices.check({"e/0": {}}, "x")
    netdevices.check(None)


def plan_for(spec):
    return make_plan(spec, "/bundle", "/bundle/rootfs", HostInfo(cap_last_cap=40))


@pytest.mark.parametrize("namespaces", [
    [{"type": "mount"}, {"type": "pid"}],                                   # the host's
    [{"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}],     # joined
])
def test_moving_devices_needs_a_new_network_namespace(namespaces):
    spec = with_devices({"eth1": {}})
    spec["linux"]["namespaces"] = namespaces
    del spec["hostname"]
    bundle.check(spec)
    with pytest.raises(ConfigError, match="^linux.netDevices: moving network devices needs a "
                                          "new network namespace$"):
        plan_for(spec)


def test_an_empty_object_needs_nothing():
    spec = with_devices({})
    spec["linux"]["namespaces"] = [{"type": "mount"}]
    del spec["hostname"]
    plan = plan_for(spec)
    assert not [s for s in plan.steps if s.kind == "SYNC"]


def syncs(plan):
    return [(i, s.slots["a"]) for i, s in enumerate(plan.steps) if s.kind == "SYNC"]


@pytest.mark.parametrize("namespaces", [
    None,                                                         # one clone
    [{"type": "mount"}, {"type": "network"}, {"type": "pid"},
     {"type": "ipc", "path": "/proc/1/ns/ipc"}],                  # a join: unshare, fork
])
def test_the_runtime_moves_them_once_every_namespace_exists_before_pivot_root(namespaces):
    spec = with_devices({"eth1": {"name": "ctr0"}})
    if namespaces is not None:
        spec["linux"]["namespaces"] = namespaces
        del spec["hostname"]
    plan = plan_for(spec)
    order = [s.kind for s in plan.steps]
    (at, sync_id), = [(i, a) for i, a in syncs(plan) if a & SYNC_NETDEV]
    # (no hooks: the same sync point, without them)
    assert not sync_id & SYNC_HOOKS
    last_ns = max([i for i, k in enumerate(order) if k in ("UNSHARE", "FORK", "SETNS")
                   and plan.steps[i].slots.get("a") != L.CLONE_NEWCGROUP], default=-1)
    assert last_ns < at < order.index("PIVOT_ROOT")


def test_with_hooks_the_move_comes_at_their_sync_point():
    spec = with_devices({"eth1": {}})
    spec["hooks"] = {"createRuntime": [{"path": "/bin/true"}]}
    sync_ids = [a for _, a in syncs(plan_for(spec))]
    assert [a for a in sync_ids if a & SYNC_NETDEV] == [a for a in sync_ids if a & SYNC_HOOKS]
