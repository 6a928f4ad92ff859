"""The Python side of the child protocol, without a child."""
import os

import pytest

from pyrunc import spawn
from pyrunc.errors import SpawnError
from pyrunc.plan import HostInfo, make_plan
from pyrunc.specgen import default_spec


class _FailingClone:
    """The shim, but clone() fails as it did in a systemd-managed VM
    (CLONE_INTO_CGROUP: operation not supported)."""

    real = spawn.lib

    def __getattr__(self, name):
        return getattr(self.real, name)

    @staticmethod
    def pyrunc_spawn(cplan, pidfd):
        return -95


def test_a_failed_clone_is_reported_and_cleanup_closes_nothing_twice(monkeypatch):
    plan = make_plan(default_spec(), "/b", "/b/rootfs", HostInfo())
    child = spawn.Child(plan)
    monkeypatch.setattr(spawn, "lib", _FailingClone())
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(SpawnError, match="clone: operation not supported"):
        child.spawn()
    child.kill()   # what a failed create does next: no EBADF
    assert set(os.listdir("/proc/self/fd")) == before
