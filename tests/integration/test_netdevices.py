"""linux.netDevices (runtime-spec 1.3, config-linux.md "Network Devices"):
a host interface moved into the container's network namespace, renamed,
with its permanent global addresses, up; gone from the host; a veth
destroyed with the namespace (nothing is moved back at delete); every
error one line naming the JSON path, with nothing left behind and the
interface where it was.  The tests touch only veth pairs they create
(names with the test process's pid), and remove them whatever happens."""
import itertools
import os
import subprocess
import time

import pytest

from .test_lifecycle import wait_exit

_n = itertools.count()


def ip(*args, netns_of=None, check=True):
    cmd = ["ip"] + list(args)
    if netns_of is not None:
        cmd = ["nsenter", "--net=/proc/%d/ns/net" % netns_of] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0 or not check, "%s: %s" % (" ".join(cmd), r.stderr)
    return r


def exists_on_host(name):
    return ip("link", "show", "dev", name, check=False).returncode == 0


def wait_gone(name, timeout=10.0):
    """A namespace is cleaned up by the kernel after its last process:
    the devices in it go a little later."""
    deadline = time.monotonic() + timeout
    while exists_on_host(name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Veth:
    """A veth pair of the host: `name` (moved by the tests) and `peer`."""

    def __init__(self):
        tag = "%d%d" % (os.getpid() % 100000, next(_n))
        self.name, self.peer = "ndv%sa" % tag, "ndv%sb" % tag
        ip("link", "add", self.name, "type", "veth", "peer", "name", self.peer)
        ip("link", "set", self.peer, "up")

    def remove(self):
        # (deleting one end deletes both; either may be gone, or moved)
        for name in (self.name, self.peer):
            ip("link", "del", name, check=False)


@pytest.fixture
def veth():
    made = []

    def make():
        made.append(Veth())
        return made[-1]
    yield make
    for v in made:
        v.remove()


def addresses(name, netns_of=None):
    """{(address/prefix, scope)} of an interface, without the kernel's own
    IPv6 link-local one."""
    out = ip("-o", "addr", "show", "dev", name, netns_of=netns_of).stdout
    found = set()
    for line in out.splitlines():
        words = line.split()
        addr = words[3]
        scope = words[words.index("scope") + 1]
        if not addr.startswith("fe80:"):
            found.add((addr, scope))
    return found


def links(netns_of):
    return {line.split(":")[1].strip().split("@")[0]
            for line in ip("-o", "link", netns_of=netns_of).stdout.splitlines()}


def net_spec(env, devices, args=("sleep", "60")):
    spec = env.spec(list(args))
    spec["linux"]["netDevices"] = devices
    return spec


def test_a_device_moves_in_renamed_with_its_permanent_global_addresses_and_up(env, veth):
    v = veth()
    ip("addr", "add", "10.231.7.1/24", "dev", v.name)
    ip("-6", "addr", "add", "fd00:231:7::1/64", "dev", v.name, "nodad")
    # neither permanent nor global: they stay behind (and are lost with the move)
    ip("addr", "add", "10.231.8.1/24", "dev", v.name, "valid_lft", "300", "preferred_lft", "300")
    ip("addr", "add", "10.231.9.1/32", "dev", v.name, "scope", "host")
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(net_spec(env, {v.name: {"name": "ctr0"}})), cid)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    # moved at create, before the container is reported created
    assert not exists_on_host(v.name)
    assert links(pid) == {"lo", "ctr0"}
    assert addresses("ctr0", netns_of=pid) == {("10.231.7.1/24", "global"),
                                               ("fd00:231:7::1/64", "global")}
    flags = ip("-o", "link", "show", "dev", "ctr0", netns_of=pid).stdout
    assert "<BROADCAST,MULTICAST,UP,LOWER_UP>" in flags
    assert "nodad" in ip("-o", "-6", "addr", "show", "dev", "ctr0", netns_of=pid).stdout
    assert env.pyrunc("start", cid).returncode == 0
    # and as the container sees it
    r = env.pyrunc("exec", cid, "sh", "-c", "cat /sys/class/net/ctr0/operstate; ip -o -4 addr "
                                            "show dev ctr0")
    assert r.returncode == 0, r.stderr
    state, addr = r.stdout.splitlines()
    assert state == "up" and "inet 10.231.7.1/24" in addr
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    wait_exit(pid)
    # not moved back: a veth dies with the namespace, and its peer with it
    assert wait_gone(v.peer), "the host end of the veth outlived the container's namespace"
    assert not exists_on_host(v.name)


def test_a_name_with_percent_d_is_a_template_the_kernel_fills(env, veth):
    v, w = veth(), veth()
    cid = env.cid()
    spec = net_spec(env, {v.name: {"name": "ctr%d"}, w.name: {"name": "ctr%d"}})
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    assert links(pid) == {"lo", "ctr0", "ctr1"}
    assert "UP" in ip("-o", "link", "show", "dev", "ctr1", netns_of=pid).stdout
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_without_a_name_the_device_keeps_its_own(env, veth):
    v = veth()
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(net_spec(env, {v.name: {}})), cid)
    assert r.returncode == 0, r.stderr
    assert links(env.state(cid)["pid"]) == {"lo", v.name}
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_in_a_user_namespace(env, veth, userns_rootfs):
    env.rootfs = userns_rootfs
    v = veth()
    ip("addr", "add", "10.231.10.1/24", "dev", v.name)
    spec = net_spec(env, {v.name: {"name": "ctr0"}})
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    assert addresses("ctr0", netns_of=pid) == {("10.231.10.1/24", "global")}
    assert env.pyrunc("delete", "-f", cid).returncode == 0


# -- errors: one line naming the path, exit 1, nothing left behind ----------

def failed_create(env, spec):
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(spec), cid)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # no container, no state directory (the env fixture checks the
    # cgroups and processes when the test ends)
    assert env.pyrunc("list", "-q").stdout.split() == []
    assert not [n for n in os.listdir(env.state_root) if not n.startswith(".")] \
        if os.path.isdir(env.state_root) else True
    return r.stderr.strip()


def test_a_device_the_host_lacks_is_an_error(env):
    absent = "ndx%d" % (os.getpid() % 100000)
    assert not exists_on_host(absent)
    err = failed_create(env, net_spec(env, {absent: {}}))
    assert err.endswith('linux.netDevices["%s"]: no such network interface on the host'
                        % absent), err


def test_a_name_taken_in_the_container_is_an_error_and_the_device_stays(env, veth):
    v = veth()
    ip("addr", "add", "10.231.11.1/24", "dev", v.name)
    err = failed_create(env, net_spec(env, {v.name: {"name": "lo"}}))
    assert err.endswith('linux.netDevices["%s"].name: "lo" is already taken in the '
                        "container's network namespace" % v.name), err
    assert addresses(v.name) == {("10.231.11.1/24", "global")}


def test_without_a_new_network_namespace_it_is_refused(env, veth):
    v = veth()
    spec = net_spec(env, {v.name: {}})
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "network"]
    err = failed_create(env, spec)
    assert err.endswith("linux.netDevices: moving network devices needs a new network "
                        "namespace"), err
    # a joined one is somebody else's: refused too
    spec["linux"]["namespaces"].append({"type": "network", "path": "/proc/1/ns/net"})
    err = failed_create(env, spec)
    assert err.endswith("linux.netDevices: moving network devices needs a new network "
                        "namespace"), err
    assert exists_on_host(v.name)


def test_a_bad_value_is_refused_before_anything_is_done(env):
    err = failed_create(env, net_spec(env, {"eth0": {"name": "a/b"}}))
    assert err.endswith('linux.netDevices["eth0"].name: not a network interface name: '
                        "'a/b' holds '/', ':' or whitespace"), err
    err = failed_create(env, net_spec(env, ["eth0"]))
    assert err.endswith("linux.netDevices: expected object"), err


def test_when_a_later_device_fails_the_ones_moved_come_back(env, veth):
    v = veth()
    ip("addr", "add", "10.231.12.1/24", "dev", v.name)
    ip("link", "set", v.name, "up")
    absent = "ndx%d" % (os.getpid() % 100000)
    err = failed_create(env, net_spec(env, {v.name: {"name": "ctr0"}, absent: {}}))
    assert err.endswith('linux.netDevices["%s"]: no such network interface on the host'
                        % absent), err
    # back with its own name, its address and up, as before the create
    assert exists_on_host(v.name)
    assert addresses(v.name) == {("10.231.12.1/24", "global")}
    assert "UP" in ip("-o", "link", "show", "dev", v.name).stdout.split(">")[0]
    assert exists_on_host(v.peer)


def test_when_a_create_hook_fails_after_the_move_the_device_comes_back(env, veth):
    v = veth()
    ip("addr", "add", "10.231.14.1/24", "dev", v.name)
    spec = net_spec(env, {v.name: {"name": "ctr0"}})
    spec["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    err = failed_create(env, spec)
    assert "createRuntime" in err, err
    assert addresses(v.name) == {("10.231.14.1/24", "global")}
    assert exists_on_host(v.peer)


def test_when_the_kernel_moves_a_device_but_refuses_its_name_it_comes_back(veth, monkeypatch):
    """(the kernel moves a device, then renames it: a name taken there
    fails after the move; create's own check comes first, so this is
    forced here, with the library's mover and a namespace of our own)"""
    from pyrunc import netdevices
    from pyrunc.errors import SpawnError
    v = veth()
    ip("addr", "add", "10.231.13.1/24", "dev", v.name)
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink("/proc/%d/ns/net" % holder.pid) == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        monkeypatch.setattr(netdevices, "_exists", lambda rtnl, name: False)
        mover = netdevices.NetDevices({v.name: {"name": "lo"}})
        with pytest.raises(SpawnError) as e:
            mover.move_into(holder.pid)
        assert str(e.value) == 'linux.netDevices["%s"]: move it into the container\'s network ' \
            "namespace: file exists" % v.name
        assert not exists_on_host(v.name)   # (where the kernel left it)
        assert v.name in links(holder.pid)
        warnings = []
        mover.undo(warnings.append)
        assert warnings == []
        assert exists_on_host(v.name) and v.name not in links(holder.pid)
        assert addresses(v.name) == {("10.231.13.1/24", "global")}
    finally:
        holder.kill()
        holder.wait()
