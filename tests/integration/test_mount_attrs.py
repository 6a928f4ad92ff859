"""Recursive mount attributes (runtime-spec 1.1/1.2: rro, rnosuid, rnoexec,
rnoatime...): mount_setattr(2) with AT_RECURSIVE reaches the submounts of
an rbind, which a plain `ro` does not.  Seen from inside the container:
/proc/self/mountinfo and what a write does."""
import subprocess

import pytest


@pytest.fixture
def tree(tmp_path, env, own_rootfs):
    """A host directory with a tmpfs mounted on its sub/ (this test's own
    mount, unmounted after it).  The test's containers get a rootfs of
    their own: /mnt is made in it, not in the shared one."""
    env.rootfs = own_rootfs
    top = tmp_path / "tree"
    (top / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "pyrunc-test", str(top / "sub")],
                   check=True)
    try:
        yield str(top)
    finally:
        subprocess.run(["umount", str(top / "sub")], check=True)


def _mount_options(env, options, tree, script):
    spec = env.spec(["sh", "-c", script])
    spec["mounts"].append({"destination": "/mnt", "type": "bind", "source": tree,
                           "options": ["rbind"] + options})
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    return r.stdout


SHOW = ("for m in /mnt /mnt/sub; do "
        "awk -v m=$m '$5 == m {print m, $6}' /proc/self/mountinfo; done; "
        "touch /mnt/sub/x 2>/dev/null && echo sub-writable || echo sub-read-only")


@pytest.mark.parity
@pytest.mark.parametrize("option, sub", [("rro", "ro"), ("ro", "rw")])
def test_rro_reaches_the_submounts_where_plain_ro_does_not(env, tree, option, sub):
    """rro makes the rbind's submount read-only too; a plain ro leaves it
    writable, as runc does."""
    out = _mount_options(env, [option], tree, SHOW).splitlines()
    opts = dict(line.split() for line in out[:2])
    assert opts["/mnt"].split(",")[0] == "ro" and opts["/mnt/sub"].split(",")[0] == sub, out
    assert out[2] == ("sub-read-only" if sub == "ro" else "sub-writable")


@pytest.mark.parity
def test_recursive_nosuid_nodev_noexec_noatime_nosymfollow(env, tree):
    out = _mount_options(env, ["rnosuid", "rnodev", "rnoexec", "rnoatime", "rnosymfollow"],
                         tree, SHOW).splitlines()
    for line in out[:2]:
        mnt, opts = line.split()
        assert {"nosuid", "nodev", "noexec", "noatime", "nosymfollow"} <= \
            set(opts.split(",")), line


def test_the_later_recursive_option_wins(env, tree):
    """(as in runc's current code; runc 1.1.5 here keeps the earlier one:
    its set and clear masks both hold the attribute, and set wins)"""
    out = _mount_options(env, ["rnoexec", "rexec", "rnoatime", "rrelatime", "rro", "rrw"],
                         tree, SHOW).splitlines()
    for line in out[:2]:
        mnt, opts = line.split()
        assert "noexec" not in opts and "noatime" not in opts and "relatime" in opts, line
    assert out[2] == "sub-writable"


def test_recursive_options_are_listed_by_features(env):
    import json
    doc = json.loads(env.pyrunc("features").stdout)
    assert {"rro", "rrw", "rnosuid", "rnoexec", "rnoatime", "rstrictatime",
            "rnosymfollow"} <= set(doc["mountOptions"])
