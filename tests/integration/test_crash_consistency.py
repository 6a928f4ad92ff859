"""SIGKILL of `pyrunc create` at any instant, with and without a mount
namespace: `delete -f` leaves nothing (no state, no cgroup, no process, no
mount).  The bounded version of tests/crash/kill_create.py (which does 400
instants and reports counts); both use tests/support/leftovers.py for what
"nothing left" means and for cleaning up after a try, so that one try's
leftovers do not hide or cause the next one's.

Without a mount namespace, create binds the rootfs onto itself in the
host's mount namespace; a create killed between that bind and the state
that records it used to leave the bind behind (1 to 2 tries in 100 at a
random instant).  Random instants rarely land in such a window, so the
no-mount-namespace case also kills create exactly there: as soon as the
bind shows in /proc/self/mountinfo (poll(2) wakes on every change of the
mount table).

PYRUNC_CRASH_SEED=N replays the random instants' draw (not their timing).
"""
import os
import random
import statistics

import pytest
from support import leftovers as lo

from .conftest import PYRUNC

TRIES = 25     # random instants per variant
AT_BIND = 5    # kills at the bind of the rootfs (no mount namespace)
MEASURE = 3    # creates timed to choose the range of the instants


class Crash:
    """One test's bundle, ids and tries, on top of conftest's env (whose
    teardown checks containers, state, cgroups and processes again)."""

    def __init__(self, env, rootfs, mount_ns):
        self.env = env
        self.rootfs = str(rootfs)
        self.bundle = env.bundle(lo.crash_spec(rootfs, mount_ns=mount_ns), "bundle")
        self.out = str(env.tmp / "out")
        os.makedirs(self.out, exist_ok=True)
        # the mounts to compare: this test's directory and the rootfs (the
        # rest of the machine mounts and unmounts as it likes)
        self.watched = [str(env.tmp), self.rootfs]
        self.n = 0

    def cid(self):
        self.n += 1
        return "%s-%0*d" % (self.env.marker, lo.ID_WIDTH, self.n)

    def median_create(self):
        ids = [self.cid() for _ in range(MEASURE)]
        before = lo.mounts_under(self.watched)
        times = lo.measure(PYRUNC, self.env.state_root, "create", self.bundle, ids, self.out)
        for cid in ids:   # (a create that ran to its end, then delete -f)
            left = lo.look(PYRUNC, self.env.state_root, cid, before, self.watched)
            assert not left, "create, then delete -f of %s left %r" % (cid, left)
        return statistics.median(times)

    def kill(self, delay=None, at_mount=False):
        return lo.one_try(PYRUNC, self.env.state_root, "create", self.bundle, self.cid(),
                          self.rootfs, self.watched, self.out, delay=delay, at_mount=at_mount)


def _bad(o):
    """What is wrong with one try, or None."""
    if not o.left and o.delete_rc == 0 and not o.clean_failed:
        return None
    when = "killed at %.2f ms" % (o.killed_at * 1000) if o.killed_at is not None \
        else "create ended first (exit %s)" % o.rc
    what = []
    if o.delete_rc != 0:
        what.append("delete -f exit %s: %s" % (o.delete_rc, o.delete_err))
    what += ["%s: %s" % kv for kv in o.left.items()]
    if o.clean_failed:
        what.append("the test could not clean up: %s" % o.clean_failed)
    return "%s (%s): %s" % (o.cid, when, "; ".join(what))


@pytest.mark.parametrize("mount_ns", [True, False], ids=["mount-ns", "no-mount-ns"])
def test_delete_force_after_create_killed_at_random_instants_leaves_nothing(
        env, rootfs, mount_ns):
    crash = Crash(env, rootfs, mount_ns)
    bound = 1.2 * crash.median_create()
    seed = int(os.environ.get("PYRUNC_CRASH_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    tries = [crash.kill(delay=rng.uniform(0, bound)) for _ in range(TRIES)]
    bad = [b for b in map(_bad, tries) if b]
    assert not bad, "seed %d, instants in [0, %.1f] ms: %d of %d tries left something:\n%s" % (
        seed, bound * 1000, len(bad), TRIES, "\n".join(bad))
    assert any(o.killed_at is not None for o in tries)   # (it did kill creates)


def test_delete_force_after_create_killed_at_the_bind_leaves_no_mount(env, rootfs):
    crash = Crash(env, rootfs, mount_ns=False)
    tries = []
    # a loaded machine may let a create finish before the kill lands: such
    # a try still counts (delete -f must clean up), but more are made, so
    # that AT_BIND of them were killed with the bind in place
    while sum(o.killed_at is not None for o in tries) < AT_BIND and len(tries) < 3 * AT_BIND:
        tries.append(crash.kill(at_mount=True))
    bad = [b for b in map(_bad, tries) if b]
    assert not bad, "%d of %d creates killed at the bind left something:\n%s" % (
        len(bad), len(tries), "\n".join(bad))
    assert any(o.killed_at is not None for o in tries), [(o.rc, o.stderr) for o in tries]


@pytest.mark.parametrize("mount_ns", [True, False], ids=["mount-ns", "no-mount-ns"])
def test_the_checks_see_what_a_container_leaves_without_delete(env, rootfs, mount_ns):
    """The checks above can fail: a created container that is not deleted
    is seen in every place they look (and the clean-up removes it)."""
    crash = Crash(env, rootfs, mount_ns)
    cid = crash.cid()
    before = lo.mounts_under(crash.watched)
    rc, _, err = lo.pyrunc(PYRUNC, env.state_root, "create", "-b", crash.bundle, cid)
    assert rc == 0, err
    left = lo.look(PYRUNC, env.state_root, cid, before, crash.watched)
    cleaned, failed = lo.clean(cid, env.state_root, before, crash.rootfs)
    assert not failed
    assert not lo.look(PYRUNC, env.state_root, cid, before, crash.watched)
    expected = {"list", "state", "cgroup", "process"} | (set() if mount_ns else {"mount"})
    assert set(left) == expected, left
    # the init waiting for start, found by its cgroup
    assert any("cgroup" in why for _, _, why, _ in left["process"]), left["process"]
    if not mount_ns:
        assert any(point == os.path.realpath(crash.rootfs) for _, point in left["mount"])
