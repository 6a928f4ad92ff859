"""Mounts, devices, masked and read-only paths, sysctl, pivot_root."""
import os


def mountinfo_of(out, target):
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == target:
            return line
    raise AssertionError("%s not mounted:\n%s" % (target, out))


def host_mounts(env):
    """The host's mount points where a leak from a container would show:
    the system trees and this test session's directories (other mounts of
    the machine come and go: engines, other sessions)."""
    session = str(env.tmp.parent)
    system = ("/proc", "/sys", "/dev", "/run")
    with open("/proc/self/mountinfo") as f:
        points = (line.split()[4] for line in f)
        return sorted(p for p in points if p == "/" or p.startswith(session) or
                      any(p == s or p.startswith(s + "/") for s in system))


def test_default_mounts_and_devices(env):
    before = host_mounts(env)
    r = env.run(env.spec(["sh", "-c", "cat /proc/self/mountinfo; echo ---; "
                                      "ls -l /dev /dev/pts; stat -c '%F %t:%T %a %n' "
                                      "/dev/null /dev/zero /dev/full /dev/random /dev/urandom "
                                      "/dev/tty; for l in /dev/ptmx /dev/fd /dev/stdin "
                                      "/dev/stdout /dev/stderr; do readlink $l; done"]))
    assert r.returncode == 0, r.stderr
    mounts, rest = r.stdout.split("---\n")
    assert " - proc " in mountinfo_of(mounts, "/proc")
    assert " - tmpfs " in mountinfo_of(mounts, "/dev")
    assert " - devpts " in mountinfo_of(mounts, "/dev/pts")
    assert " - mqueue " in mountinfo_of(mounts, "/dev/mqueue")
    assert mountinfo_of(mounts, "/sys").split()[5].startswith("ro,")
    nodes = [line for line in rest.splitlines() if line.startswith("character special file")]
    assert [n.split()[3:] for n in nodes] == [
        ["1:3", "666", "/dev/null"], ["1:5", "666", "/dev/zero"], ["1:7", "666", "/dev/full"],
        ["1:8", "666", "/dev/random"], ["1:9", "666", "/dev/urandom"],
        ["5:0", "666", "/dev/tty"]]
    assert rest.splitlines()[-5:] == ["pts/ptmx", "/proc/self/fd", "/proc/self/fd/0",
                                      "/proc/self/fd/1", "/proc/self/fd/2"]
    assert host_mounts(env) == before


def test_bind_mounts_rw_ro_and_file(env, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "one-file").write_text("file content")
    spec = env.spec(["sh", "-c", "echo written > /mnt/rw/x; cat /mnt/file; "
                                 "echo > /mnt/ro/y && echo ro-writable"])
    spec["mounts"] += [
        {"destination": "/mnt/rw", "type": "bind", "source": str(shared), "options": ["rbind"]},
        {"destination": "/mnt/ro", "type": "bind", "source": str(shared),
         "options": ["bind", "ro", "nosuid", "nodev"]},
        {"destination": "/mnt/file", "type": "bind", "source": str(tmp_path / "one-file"),
         "options": ["bind", "ro"]},
    ]
    r = env.run(spec)
    assert (shared / "x").read_text() == "written\n"
    assert "file content" in r.stdout
    assert "ro-writable" not in r.stdout and "Read-only file system" in r.stderr
    assert not (shared / "y").exists()


def test_tmpfs_options_and_mount_flags(env):
    spec = env.spec(["cat", "/proc/self/mountinfo"])
    spec["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "noexec", "noatime", "size=1m",
                                       "mode=700"]})
    line = mountinfo_of(env.run(spec).stdout, "/scratch")
    opts = line.split()[5].split(",")
    assert {"nosuid", "nodev", "noexec", "noatime"} <= set(opts)
    assert "size=1024k" in line and "mode=700" in line


def test_root_readonly_true_and_false(env, own_rootfs):
    env.rootfs = own_rootfs
    spec = env.spec(["sh", "-c", "touch /newfile && echo writable"])
    r = env.run(spec)
    assert "writable" not in r.stdout and "Read-only" in r.stderr
    spec["root"]["readonly"] = False
    assert env.run(spec).stdout == "writable\n"
    assert (own_rootfs / "newfile").exists()


def test_masked_and_readonly_paths(env):
    spec = env.spec(["sh", "-c", "wc -c < /proc/keys; ls /proc/acpi | wc -l; "
                                 "echo 1 > /proc/sysrq-trigger || echo ro-refused; "
                                 "touch /proc/acpi/x || echo masked-ro"])
    spec["linux"]["maskedPaths"] += ["/proc/does-not-exist"]
    r = env.run(spec)
    lines = r.stdout.split()
    assert lines[:2] == ["0", "0"]
    assert "ro-refused" in r.stdout and "masked-ro" in r.stdout


def test_linux_devices_are_created_with_mode_and_owner(env):
    spec = env.spec(["stat", "-c", "%F %t:%T %a %u:%g", "/dev/fuse", "/dev/mypipe"])
    spec["linux"]["devices"] = [
        {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 0o600,
         "uid": 1000, "gid": 1000},
        {"type": "p", "path": "/dev/mypipe", "fileMode": 0o640}]
    out = env.run(spec).stdout.splitlines()
    assert out[0] == "character special file a:e5 600 1000:1000"
    assert out[1] == "fifo 0:0 640 0:0"


def test_sysctl_in_the_container_namespaces(env):
    spec = env.spec(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax"])
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}
    assert env.run(spec).stdout.split() == ["1", "12345"]
    with open("/proc/sys/kernel/msgmax") as f:
        assert f.read().strip() != "12345"


def test_user_sysctls_are_the_user_namespaces(env, userns_rootfs):
    """user.max_* counts belong to a user namespace (runc 1.4 allows them
    with one); the host's stay as they are"""
    spec = env.spec(["cat", "/proc/sys/user/max_user_namespaces",
                     "/proc/sys/user/max_pid_namespaces"])
    spec["root"]["path"] = userns_rootfs
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = spec["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["sysctl"] = {"user.max_user_namespaces": "7",
                               "user/max_pid_namespaces": "9"}
    with open("/proc/sys/user/max_user_namespaces") as f:
        before = f.read()
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["7", "9"]
    with open("/proc/sys/user/max_user_namespaces") as f:
        assert f.read() == before
    # without a user namespace: refused, one line naming the key
    del spec["linux"]["uidMappings"], spec["linux"]["gidMappings"]
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "user"]
    r = env.run(spec)
    assert r.returncode == 1
    assert r.stderr.strip().endswith("linux.sysctl: user.max_user_namespaces needs a new or "
                                     "joined user namespace: it would change the host's")


def test_no_pivot_moves_the_rootfs_to_slash(env):
    r = env.pyrunc("run", "--no-pivot", "-b",
                   env.bundle(env.spec(["sh", "-c", "ls /bin/busybox; cat /etc/passwd"])),
                   env.cid())
    assert r.returncode == 0, r.stderr
    assert "/bin/busybox" in r.stdout and "user:x:1000" in r.stdout


def test_rootfs_propagation_is_applied_to_slash(env):
    spec = env.spec(["cat", "/proc/self/mountinfo"])
    spec["linux"]["rootfsPropagation"] = "rprivate"
    line = mountinfo_of(env.run(spec).stdout, "/")
    assert "shared:" not in line and "master:" not in line
    spec["linux"]["rootfsPropagation"] = "rslave"
    line = mountinfo_of(env.run(spec).stdout, "/")
    assert "master:" in line or "shared:" not in line


def test_mount_propagation_options(env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    spec = env.spec(["cat", "/proc/self/mountinfo"])
    spec["mounts"] += [
        {"destination": "/shared", "type": "bind", "source": str(src),
         "options": ["rbind", "rshared"]},
        {"destination": "/private", "type": "bind", "source": str(src),
         "options": ["rbind", "rprivate"]},
        {"destination": "/unbindable", "type": "tmpfs", "source": "tmpfs",
         "options": ["unbindable"]}]
    out = env.run(spec).stdout
    assert "shared:" in mountinfo_of(out, "/shared")
    private = mountinfo_of(out, "/private")
    assert "shared:" not in private and "master:" not in private
    assert "unbindable" in mountinfo_of(out, "/unbindable")


def test_tmpcopyup_fills_the_tmpfs_with_the_images_directory(env, own_rootfs):
    """Podman's --tmpfs and --read-only ask for runc's tmpcopyup: the tmpfs
    starts with the image's files (modes, owners, symlinks kept), and
    writes go to the tmpfs, not to the image."""
    d = own_rootfs / "data"
    (d / "sub").mkdir(parents=True)
    (d / "file").write_text("from the image\n")
    os.chmod(d / "file", 0o606)
    os.chown(d / "file", 1000, 1000)
    os.symlink("/etc/passwd", d / "link")   # copied as a link, not followed
    (d / "sub" / "deep").write_text("deep\n")
    os.mkfifo(d / "fifo")
    spec = env.spec(["sh", "-c", "grep ' /data ' /proc/mounts | cut -d' ' -f3; cat /data/file "
                                 "/data/sub/deep; stat -c '%a %u:%g' /data/file; "
                                 "readlink /data/link; [ -p /data/fifo ] && echo fifo; "
                                 "echo new > /data/file; cat /data/file"])
    spec["root"]["path"] = str(own_rootfs)
    spec["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                           "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["tmpfs", "from the image", "deep", "606 1000:1000",
                                     "/etc/passwd", "fifo", "new"]
    assert (d / "file").read_text() == "from the image\n"
