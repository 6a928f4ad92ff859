"""A config without a mount namespace: the container shares the host's, its
mounts go under a private bind of the rootfs that delete detaches, and the
host's own mounts are never changed."""
import os
import shutil
import subprocess
from collections import Counter

from pyrunc.hostmount import top_mount_id

from .test_cli import assert_clean_failure
from .test_lifecycle import wait_exit


def host_mounts(env):
    """The host's mount points under this test session's directories (the
    machine runs other things, whose mounts come and go)."""
    session = str(env.tmp.parent)
    with open("/proc/self/mountinfo") as f:
        points = (line.split(" ", 5)[4] for line in f)
        return sorted(p for p in points if p.startswith(session))


def no_mount_ns(env, args, rootfs=None):
    spec = env.spec(args)
    if rootfs is not None:
        spec["root"]["path"] = str(rootfs)
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] not in ("mount", "uts")]
    del spec["hostname"]
    return spec


def test_the_container_shares_the_mount_namespace_but_not_the_root(env, rootfs):
    before = host_mounts(env)
    spec = no_mount_ns(env, ["sh", "-c", "readlink /proc/self/ns/mnt; ls /bin/busybox; "
                                         "ls /dev/null /dev/pts/ptmx; test -e /work && echo HOST"])
    cid = env.cid()
    out = env.tmp / "out"
    with open(out, "w") as f:   # the container's stdout is create's
        r = env.pyrunc("create", "-b", env.bundle(spec), cid, stdout=f)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    # while it exists, its mounts are under the rootfs, and only there
    added = list((Counter(host_mounts(env)) - Counter(before)).elements())
    assert str(rootfs) in added and "%s/proc" % rootfs in added
    assert all(m == str(rootfs) or m.startswith(str(rootfs) + "/") for m in added)
    assert os.readlink("/proc/%d/root" % pid) == str(rootfs)
    assert env.pyrunc("start", cid).returncode == 0
    wait_exit(pid)
    assert env.pyrunc("delete", cid).returncode == 0
    assert out.read_text().split() == [os.readlink("/proc/self/ns/mnt"), "/bin/busybox",
                                       "/dev/null", "/dev/pts/ptmx"]
    assert host_mounts(env) == before


def test_a_failing_create_leaves_no_mount(env):
    before = host_mounts(env)
    spec = no_mount_ns(env, ["true"])
    spec["mounts"].append({"destination": "/bad", "type": "nosuchfs", "source": "x"})
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, 'mount "x" on "/bad": no such device')
    assert host_mounts(env) == before


def test_delete_leaves_a_mount_that_was_on_the_rootfs_before(env, rootfs, tmp_path):
    """An engine's own mount on the rootfs (an overlay, here a tmpfs) is
    not the runtime's to remove."""
    own = tmp_path / "mounted-rootfs"
    own.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(own)], check=True)
    try:
        shutil.copytree(rootfs, own, symlinks=True, dirs_exist_ok=True)
        engine_mount = top_mount_id(str(own))
        r = env.run(no_mount_ns(env, ["sh", "-c", "echo ran"], rootfs=own))
        assert (r.returncode, r.stdout) == (0, "ran\n"), r.stderr
        assert top_mount_id(str(own)) == engine_mount
    finally:
        subprocess.run(["umount", str(own)], check=True)


def test_delete_force_of_a_running_container_detaches_its_mounts(env):
    before = host_mounts(env)
    cid = env.cid()
    spec = no_mount_ns(env, ["sleep", "30"])
    assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid).returncode == 0
    assert host_mounts(env) != before
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    assert host_mounts(env) == before
