"""Paths inside the rootfs never resolve out of it (CVE-2021-30465 class):
symlinks planted in the rootfs, absolute or ../.., are followed inside the
root for mount targets, cwd, masked and read-only paths and device nodes."""
import os


def plant(rootfs, name, target):
    os.symlink(target, os.path.join(rootfs, name))


def host_dir(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    (d / "keep").write_text("host file")
    return d


def assert_untouched(d):
    assert sorted(os.listdir(d)) == ["keep"]
    assert (d / "keep").read_text() == "host file"
    with open("/proc/self/mountinfo") as f:
        assert str(d) not in f.read()


def test_mount_targets_behind_symlinks_stay_in_the_rootfs(env, own_rootfs, tmp_path):
    env.rootfs = own_rootfs
    victim = host_dir(tmp_path, "victim")
    plant(own_rootfs, "abs", str(victim))
    plant(own_rootfs, "rel", "../../../../../../../../" + str(victim).lstrip("/"))
    spec = env.spec(["stat", "-f", "-c", "%T", "/abs/x", "/rel/y"])
    spec["root"]["readonly"] = False
    spec["mounts"] += [{"destination": "/abs/x", "type": "tmpfs", "source": "tmpfs"},
                       {"destination": "/rel/y", "type": "tmpfs", "source": "tmpfs"}]
    r = env.run(spec)
    assert r.stdout.split() == ["tmpfs", "tmpfs"], r.stderr
    assert_untouched(victim)
    # the targets were made inside the rootfs, where the links point there
    assert (own_rootfs / str(victim).lstrip("/") / "x").is_dir()


def test_cwd_masked_readonly_and_devices_behind_symlinks(env, own_rootfs, tmp_path):
    env.rootfs = own_rootfs
    victim = host_dir(tmp_path, "victim2")
    plant(own_rootfs, "esc", str(victim))
    spec = env.spec(["sh", "-c", "pwd"])
    spec["root"]["readonly"] = False
    spec["process"]["cwd"] = "/esc/work"
    spec["linux"]["maskedPaths"].append("/esc/keep")
    spec["linux"]["readonlyPaths"].append("/esc")
    spec["linux"]["devices"] = [{"type": "c", "path": "/esc/null2", "major": 1, "minor": 3}]
    r = env.run(spec)
    # the link was followed inside the root (pwd prints the physical path)
    assert r.stdout.strip() in ("/esc/work", str(victim) + "/work"), r.stderr
    assert_untouched(victim)


def test_a_proc_symlink_cannot_redirect_sysctl_writes(env, own_rootfs, tmp_path):
    # /proc in the rootfs is a symlink and no proc is mounted there: the
    # sysctl write must not go through the link (CVE-2019-19921 class)
    env.rootfs = own_rootfs
    fake = tmp_path / "fakeproc" / "sys" / "kernel"
    fake.mkdir(parents=True)
    (fake / "domainname").write_text("untouched")
    os.rmdir(own_rootfs / "proc")
    plant(own_rootfs, "proc", str(tmp_path / "fakeproc"))
    spec = env.spec(["true"])
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/proc"]
    spec["linux"]["maskedPaths"] = []
    spec["linux"]["readonlyPaths"] = []
    spec["linux"]["sysctl"] = {"kernel.domainname": "evil"}
    r = env.run(spec)
    assert r.returncode == 1 and "sysctl" in r.stderr
    assert (fake / "domainname").read_text() == "untouched"
