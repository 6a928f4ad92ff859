"""The systemd cgroup driver (--systemd-cgroup): a transient scope per
container.  It needs systemd as init: run it in the v2 VM booted with
systemd (scripts/test-in-v2vm.sh with V2_SYSTEMD=1)."""
import os
import subprocess

import pytest

from pyrunc.cgroups import systemd

from .test_lifecycle import wait_exit

pytestmark = pytest.mark.skipif(not systemd.running(),
                                reason="systemd is not running here (the v2 VM has it "
                                       "with V2_SYSTEMD=1)")


def unit_property(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit],
                          capture_output=True, text=True).stdout.strip()


def test_a_scope_per_container_with_its_limits(env):
    cid = env.cid()
    unit = "pyrunc-%s.scope" % cid
    spec = env.spec(["sleep", "30"])
    spec["linux"]["cgroupsPath"] = "system.slice:pyrunc:%s" % cid
    spec["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 30}}
    r = env.pyrunc("--systemd-cgroup", "run", "-d", "-b", env.bundle(spec), cid)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    assert unit_property(unit, "ActiveState") == "active"
    with open("/proc/%d/cgroup" % pid) as f:
        assert f.read().strip().endswith("/system.slice/%s" % unit)
    scope = "/sys/fs/cgroup/system.slice/" + unit
    assert open(scope + "/memory.max").read().strip() == str(64 << 20)
    assert open(scope + "/pids.max").read().strip() == "30"
    # pause and resume freeze the scope; delete -f of a paused one stops it
    for command, frozen in (("pause", "1"), ("resume", "0"), ("pause", "1")):
        r = env.pyrunc("--systemd-cgroup", command, cid)
        assert r.returncode == 0, r.stderr
        assert open(scope + "/cgroup.freeze").read().strip() == frozen
        assert env.state(cid)["status"] == ("paused" if frozen == "1" else "running")
    assert env.pyrunc("--systemd-cgroup", "delete", "-f", cid).returncode == 0
    wait_exit(pid)
    # systemd drops the empty scope (at once, or just after: see stop_unit)
    from .test_cgroup_commands import wait_for
    wait_for(lambda: unit_property(unit, "LoadState") in ("not-found", ""))
    wait_for(lambda: not os.path.exists(scope))


def test_a_bad_cgroups_path_is_refused(env):
    spec = env.spec(["true"])
    spec["linux"]["cgroupsPath"] = "/not/a/slice"
    r = env.pyrunc("--systemd-cgroup", "create", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 1 and 'expects "slice:prefix:name"' in r.stderr
    assert not [n for n in os.listdir(env.state_root) if not n.startswith(".")]
