"""Issue 10's examples, one regression test each: a hostile config is one
line of error naming its JSON path, exit status 1, nothing left behind and
nothing of the host changed (support.hostcheck: superblock and mount options,
mounts, sysctls, the cgroup tree, owner and mode of the /dev nodes: support.hostcheck)."""
import json
import os
import resource
import shutil
import subprocess

import pytest

from support import hostcheck

from .test_cli import assert_clean_failure
from .test_host_mount_ns import no_mount_ns

U32 = 1 << 32
U64 = 1 << 64


@pytest.fixture
def host(env):
    """The host as the test found it; at the end nothing of it may have
    changed and nothing new may be left (checked before env's teardown
    force-deletes what a test left)."""
    scope = hostcheck.Scope(own=[str(env.tmp)])
    before = hostcheck.snapshot(markers=[env.marker], dirs=[str(env.tmp)])
    yield
    after = hostcheck.snapshot(markers=[env.marker], dirs=[str(env.tmp)])
    # (what other work on the machine leaves is not this test's)
    changes = [c for c in hostcheck.diff(before, after, scope)
               if c.kind == "host" or env.marker in c.text or str(env.tmp) in c.text]
    assert not changes, "\n".join(map(repr, changes))


def create(env, spec, *extra, cid=None):
    return env.pyrunc("create", *extra, "-b", env.bundle(spec), cid or env.cid())


def mounts_plus(spec, mount):
    """spec with one more mount; returns the JSON path of that mount."""
    spec["mounts"].append(mount)
    return "mounts[%d]" % (len(spec["mounts"]) - 1)


# -- strings: NUL bytes and lone surrogates --------------------------------

def _cgroup_mount_nul(s):
    where = mounts_plus(s, {"destination": "/tmp\u0000/x", "type": "cgroup", "source": "cgroup",
                            "options": ["ro"]})
    return where + ".destination: contains a NUL byte"


def _set(path, value, expect):
    def mutate(spec):
        obj = spec
        for key in path[:-1]:
            obj = obj.setdefault(key, {}) if isinstance(key, str) else obj[key]
        obj[path[-1]] = value
        return expect
    return mutate


HOSTILE_STRINGS = [
    # the host's cgroup2 superblock was once remounted read-only by this one
    _cgroup_mount_nul,
    _set(["process", "args"], ["tr\u0000ue"], "process.args[0]: contains a NUL byte"),
    _set(["linux", "maskedPaths"], ["/proc/kcore\u0000x"],
         "linux.maskedPaths[0]: contains a NUL byte"),
    _set(["process", "env"], ["A=b\u0000c"], "process.env[0]: contains a NUL byte"),
    _set(["linux", "sysctl"], {"net.ipv4.ip_forward": "1\u0000"},
         'linux.sysctl["net.ipv4.ip_forward"]: contains a NUL byte'),
    _set(["hooks"], {"prestart": [{"path": "/bin/true\u0000x"}]},
         "hooks.prestart[0].path: contains a NUL byte"),
    _set(["linux", "cgroupsPath"], "/pyrunc\u0000x", "linux.cgroupsPath: contains a NUL byte"),
    _set(["linux", "resources", "hugepageLimits"], [{"pageSize": "2MB\u0000", "limit": 1}],
         "linux.resources.hugepageLimits[0].pageSize: contains a NUL byte"),
    _set(["linux", "resources", "unified"], {"pids.max\u0000": "5"},
         'linux.resources.unified["pids.max\\u0000"]: contains a NUL byte'),
    _set(["annotations"], {"a": "b\u0000"}, "annotations.a: contains a NUL byte"),
    _set(["process", "cwd"], "/\ud800", "process.cwd: not valid Unicode (a lone surrogate)"),
    _set(["hostname"], "\udc00x", "hostname: not valid Unicode"),
    _set(["mounts", 1, "destination"], "/dev\ud800", "mounts[1].destination: not valid Unicode"),
]


@pytest.mark.parametrize("mutate", HOSTILE_STRINGS)
def test_nul_bytes_and_lone_surrogates_are_refused_by_json_path(env, host, mutate):
    spec = env.spec(["true"])
    expect = mutate(spec)
    assert_clean_failure(env, create(env, spec), expect)


# -- numbers: ranges of the kernel's types ---------------------------------

HOSTILE_NUMBERS = [
    # uid_t is 32 bits: 2^32 wrapped to root, 2^32 + 1000 to uid 1000
    (["process", "user", "uid"], U32, "process.user.uid: 4294967296 is out of range"),
    (["process", "user", "gid"], U32 + 1000, "process.user.gid: 4294968296 is out of range"),
    (["process", "user", "uid"], U32 - 1, "process.user.uid: 4294967295 is out of range"),
    (["process", "user", "additionalGids"], [5, U32], "process.user.additionalGids[1]"),
    (["process", "rlimits"], [{"type": "RLIMIT_CORE", "soft": U64, "hard": U64}],
     "process.rlimits[0].soft: 18446744073709551616 is out of range (uint64"),
    (["hooks"], {"prestart": [{"path": "/bin/true", "timeout": 1 << 31}]},
     "hooks.prestart[0].timeout: 2147483648 is out of range"),
    (["hooks"], {"poststart": [{"path": "/bin/true", "timeout": 1 << 63}]},
     "hooks.poststart[0].timeout: 9223372036854775808 is out of range"),
    (["linux", "devices"], [{"path": "/dev/x", "type": "c", "major": 1 << 12, "minor": 0}],
     "linux.devices[0].major: 4096 is out of range"),
    (["process", "consoleSize"], {"height": 70000, "width": 80},
     "process.consoleSize.height: 70000 is out of range"),
    (["linux", "uidMappings"], [{"containerID": 0, "hostID": U32 - 10, "size": 65536}],
     "linux.uidMappings[0]: hostID 4294967286 + size 65536 runs past 2^32"),
    (["process", "oomScoreAdj"], -(1 << 63) - 1, "process.oomScoreAdj: -9223372036854775809"),
]


@pytest.mark.parametrize("path, value, expect", HOSTILE_NUMBERS)
def test_numbers_out_of_their_kernel_range_are_refused(env, host, path, value, expect):
    spec = env.spec(["true"])
    _set(path, value, None)(spec)
    assert_clean_failure(env, create(env, spec), expect)


def test_rlim_infinity_is_the_top_of_uint64_and_works(env, host):
    spec = env.spec(["sh", "-c", "ulimit -c"])
    spec["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": U64 - 1, "hard": U64 - 1}]
    r = env.run(spec)
    assert (r.returncode, r.stdout.strip()) == (0, "unlimited"), r.stderr


def test_the_longest_hook_timeout_is_waited_in_slices(env, host):
    spec = env.spec(["true"])
    spec["hooks"] = {"prestart": [{"path": "/bin/true", "timeout": (1 << 31) - 1}],
                     "createContainer": [{"path": "/bin/true", "timeout": (1 << 31) - 1}]}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr


def test_null_members_are_absent_members(env, host):
    spec = env.spec(["sh", "-c", "id -u; id -g"])
    spec["process"]["user"] = {"uid": 1000, "gid": None, "additionalGids": None}
    spec["linux"]["resources"]["devices"] = [{"allow": False, "access": None}]
    spec["linux"]["seccomp"] = None
    spec["process"]["rlimits"][0]["type"] = "RLIMIT_NOFILE"
    spec["annotations"] = None
    r = env.run(spec)
    assert (r.returncode, r.stdout.split()) == (0, ["1000", "0"]), r.stderr


def test_json_nested_deeper_than_the_parser_reads_is_invalid_json(env, host):
    spec = env.spec(["true"])
    text = json.dumps(spec)[:-1] + ', "x-deep": ' + "[" * 100000 + "]" * 100000 + "}"
    bundle = env.tmp / "deep"
    bundle.mkdir()
    (bundle / "config.json").write_text(text)
    r = env.pyrunc("create", "-b", str(bundle), env.cid())
    assert_clean_failure(env, r, "config.json: invalid JSON: nested too deeply")


# -- the rootfs and the mounts ---------------------------------------------

def test_a_rootfs_that_is_a_symlink_out_of_the_bundle_is_refused(env, host, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    bundle = tmp_path / "b"
    bundle.mkdir()
    os.symlink(str(target), bundle / "rootfs")
    spec = env.spec(["true"])
    spec["root"]["path"] = "rootfs"
    (bundle / "config.json").write_text(json.dumps(spec))
    r = env.pyrunc("create", "-b", str(bundle), env.cid())
    assert_clean_failure(env, r, "root.path: invalid rootfs %s/rootfs: a symlink" % bundle)
    # nothing was made in the symlink's target (dev, proc, sys, tmp, run...)
    assert os.listdir(target) == []


def test_a_bind_over_a_file_of_proc_is_refused(env, host, tmp_path):
    source = tmp_path / "pattern"
    source.write_text("|/tmp/pwn\n")
    spec = env.spec(["true"])
    where = mounts_plus(spec, {"destination": "/proc/sys/kernel/core_pattern", "type": "bind",
                               "source": str(source), "options": ["bind", "rw"]})
    assert_clean_failure(env, create(env, spec), where + ".destination: "
                         "/proc/sys/kernel/core_pattern is inside /proc")


def test_a_bind_into_proc_through_a_symlink_of_the_image_is_refused(env, host, own_rootfs,
                                                                  tmp_path):
    """The destination is checked where it resolved: the child refuses a
    target on a procfs, whatever path led there."""
    os.symlink("/proc/sys/kernel", own_rootfs / "evil")
    source = tmp_path / "pattern"
    source.write_text("|/tmp/pwn\n")
    env.rootfs = own_rootfs
    spec = env.spec(["true"])
    where = mounts_plus(spec, {"destination": "/evil/core_pattern", "type": "bind",
                               "source": str(source), "options": ["bind", "rw"]})
    assert_clean_failure(env, create(env, spec),
                         '%s: mount "%s" on "/evil/core_pattern": the target resolves inside '
                         '/proc: refused' % (where, source))


def test_only_a_procfs_may_be_bound_over_proc(env, host, own_rootfs):
    (own_rootfs / "fake").mkdir()
    env.rootfs = own_rootfs
    spec = env.spec(["true"])
    where = mounts_plus(spec, {"destination": "/proc", "type": "bind",
                               "source": str(own_rootfs / "fake"), "options": ["rbind"]})
    assert_clean_failure(env, create(env, spec), "%s: mount" % where)
    assert_clean_failure(env, create(env, spec), "the source is not a procfs")
    spec = env.spec(["true"])
    where = mounts_plus(spec, {"destination": "/proc", "type": "tmpfs", "source": "tmpfs"})
    assert_clean_failure(env, create(env, spec), "%s: 'tmpfs' cannot be mounted on /proc: it "
                                                 "is not of type proc" % where)


def test_the_files_lxcfs_emulates_may_be_bound_over_proc(env, host, tmp_path):
    source = tmp_path / "uptime"
    source.write_text("12345.67 89.00\n")
    spec = env.spec(["cat", "/proc/uptime"])
    spec["mounts"].append({"destination": "/proc/uptime", "type": "bind",
                           "source": str(source), "options": ["bind", "ro"]})
    r = env.run(spec)
    assert (r.returncode, r.stdout) == (0, "12345.67 89.00\n"), r.stderr


def test_a_mount_source_in_the_runtimes_own_proc_is_refused(env, host):
    for source in ("/proc/self/cwd", "/proc/thread-self/root", "/proc/self/fd/3"):
        spec = env.spec(["true"])
        where = mounts_plus(spec, {"destination": "/mnt", "type": "bind", "source": source,
                                   "options": ["rbind"]})
        assert_clean_failure(env, create(env, spec), "%s.source: %s is a path of the "
                                                     "runtime's own process" % (where, source))


def test_the_hosts_root_and_kernel_file_systems_are_no_rootfs(env, host):
    """(Without a mount namespace the container's /proc and /dev would have
    covered the host's; in /dev, /sys and /proc the mount points would be
    made among the host's devices and kernel files.)"""
    for mount_ns in (True, False):
        spec = env.spec(["true"]) if mount_ns else no_mount_ns(env, ["true"])
        spec["root"]["path"] = "/."
        assert_clean_failure(env, create(env, spec),
                             "root.path: the host's / cannot be a container's rootfs")
        for path in ("/dev", "/dev/shm", "/sys/fs/cgroup/unified", "/proc/self/root/tmp/.."):
            spec["root"]["path"] = path
            assert_clean_failure(env, create(env, spec), "root.path: ")


def test_without_a_mount_namespace_what_is_stacked_on_the_root_goes_too(env, host,
                                                                       own_rootfs):
    """readonlyPaths "/" binds the root again, on top of the private bind
    of the rootfs in the host's namespace: delete detaches both."""
    env.rootfs = own_rootfs
    spec = no_mount_ns(env, ["true"])
    spec["linux"]["readonlyPaths"] = ["/../../.."]
    cid = env.cid()
    assert env.pyrunc("create", "-b", env.bundle(spec), cid).returncode == 0
    with open("/proc/self/mountinfo") as f:
        assert sum(line.split()[4] == str(own_rootfs) for line in f) == 2
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_without_a_mount_namespace_a_mask_over_a_cgroup_directory_goes_first(env, host,
                                                                            own_rootfs):
    """(Found by the fuzzer: the cgroup directory under the mask was busy
    when delete removed the cgroups before the rootfs bind.)"""
    env.rootfs = own_rootfs
    spec = no_mount_ns(env, ["true"])
    spec["linux"]["maskedPaths"].append("/sys/fs/cgroup/unified")
    cid = env.cid()
    assert env.pyrunc("create", "-b", env.bundle(spec), cid).returncode == 0
    r = env.pyrunc("delete", "-f", cid)
    assert (r.returncode, r.stderr) == (0, "")


def test_the_hosts_mount_namespace_is_not_joined(env, host):
    """Its "/" would be made rslave and pivot_root'ed away, for every
    process of the host."""
    for path in ("/proc/1/ns/mnt", "/proc/self/ns/mnt"):
        spec = env.spec(["true"])
        spec["linux"]["namespaces"] = [{"type": "mount", "path": path} if ns["type"] == "mount"
                                       else ns for ns in spec["linux"]["namespaces"]]
        # (where pid 1's namespaces cannot even be looked at, as in this
        # sandbox, that is the error)
        assert_clean_failure(env, create(env, spec), "linux.namespaces[4].path: %s" % path)
        if path == "/proc/self/ns/mnt":
            assert_clean_failure(env, create(env, spec), "is the runtime's own mount namespace")


def test_a_mount_on_top_of_the_rootfs_is_refused(env, host):
    spec = env.spec(["true"])
    where = mounts_plus(spec, {"destination": "/", "type": "tmpfs", "source": "tmpfs"})
    assert_clean_failure(env, create(env, spec), where + ".destination: a mount on top of "
                                                         "the rootfs")


def test_a_device_bound_into_a_user_namespace_must_be_that_device(env, host, userns_rootfs):
    env.rootfs = userns_rootfs
    spec = _userns_spec(env, ["true"])
    spec["linux"]["devices"] = [{"path": "/etc/hostname", "type": "c", "major": 1, "minor": 3}]
    assert_clean_failure(env, create(env, spec), "bind device /etc/hostname: the host's file "
                                                 "there is not that device: refused")


def _userns_spec(env, args):
    spec = env.spec(args)
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    return spec


def test_user_and_time_namespaces_together(env, host, userns_rootfs):
    env.rootfs = userns_rootfs
    spec = _userns_spec(env, ["cat", "/proc/uptime"])
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["linux"]["timeOffsets"] = {"boottime": {"secs": 864000, "nanosecs": 0}}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    with open("/proc/uptime") as f:
        outside = float(f.read().split()[0])
    assert 864000 - 60 < float(r.stdout.split()[0]) - outside < 864000 + 60


# -- errors after start are reported, as runc reports them -----------------

def _image_with_a_binary_without_its_loader(rootfs):
    shutil.copy("/bin/true", rootfs / "bin" / "dyntrue")   # dynamic: no ld.so there


def test_a_failed_execve_after_start_is_reported_by_run(env, host, own_rootfs):
    _image_with_a_binary_without_its_loader(own_rootfs)
    env.rootfs = own_rootfs
    log = env.tmp / "log.json"
    r = env.pyrunc("--log", str(log), "--log-format", "json", "run", "-b",
                   env.bundle(env.spec(["/bin/dyntrue"])), env.cid())
    assert (r.returncode, r.stderr) == (1, "exec /bin/dyntrue: no such file or directory\n")
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["level"], e["msg"]) for e in logged] == [
        ("error", "exec /bin/dyntrue: no such file or directory")]


def test_a_failed_execve_after_start_goes_to_the_containers_stderr(env, host, own_rootfs):
    """After create has exited, the init writes the error itself (runc's
    init does), and start succeeds."""
    _image_with_a_binary_without_its_loader(own_rootfs)
    env.rootfs = own_rootfs
    cid = env.cid()
    err = env.tmp / "init-stderr"
    with open(err, "w") as f:
        assert env.pyrunc("create", "-b", env.bundle(env.spec(["/bin/dyntrue"])), cid,
                          stderr=f).returncode == 0
    pid = env.state(cid)["pid"]
    assert env.pyrunc("start", cid).returncode == 0
    from .test_lifecycle import wait_exit
    wait_exit(pid)
    assert err.read_text() == "exec /bin/dyntrue: no such file or directory\n"
    assert env.pyrunc("delete", cid).returncode == 0


def test_a_failing_start_container_hook_is_reported_by_run(env, host):
    spec = env.spec(["true"])
    spec["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
    r = env.run(spec)
    assert (r.returncode, r.stderr) == (1, "startContainer hook #0 /bin/false: exit status 1\n")


# -- the disk, the fds, a concurrent delete --------------------------------

def test_a_full_disk_under_root_is_a_clean_error(env, host):
    full = env.tmp / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,nr_inodes=64", "tmpfs", str(full)],
                   check=True)
    try:
        with open(full / "filler", "wb") as f:
            try:
                f.write(b"x" * 65536 * 2)
            except OSError:
                pass
        r = env.pyrunc("--root", str(full), "create", "-b", env.bundle(env.spec(["true"])),
                       env.cid())
        assert r.returncode == 1 and "no space left on device" in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1 and "internal error" not in r.stderr
        assert sorted(os.listdir(full)) == ["filler"]
    finally:
        subprocess.run(["umount", str(full)], check=True)


def _limit_fds(n):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return preexec


def test_few_free_fds_are_a_clean_error(env, host):
    """With 4 free fds up to a dozen: create succeeds or fails in one line,
    never an internal error, and leaves nothing."""
    spec = env.spec(["true"])
    del spec["process"]["rlimits"]   # (raising the hard limit again needs CAP_SYS_RESOURCE)
    bundle = env.bundle(spec)
    outcomes = set()
    for n in range(7, 20):
        cid = env.cid()
        r = env.pyrunc("create", "-b", bundle, cid, preexec_fn=_limit_fds(n))
        assert r.returncode in (0, 1) and "internal error" not in r.stderr, (n, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) <= 1, (n, r.stderr)
        outcomes.add(r.returncode)
        assert env.pyrunc("delete", "-f", cid).returncode == 0
    assert outcomes == {0, 1}   # the range did reach both


def test_create_racing_delete_force_on_one_id(env, host):
    bundle = env.bundle(env.spec(["true"]))
    cid = env.cid()
    base = ["--root", env.state_root]
    from .conftest import PYRUNC
    for i in range(25):
        # (stderr to files: the init that create leaves holds its stdio)
        errs = [env.tmp / ("race-%d-%s" % (i, what)) for what in ("create", "delete")]
        procs = []
        for args, path in ((["create", "-b", bundle, cid], errs[0]),
                           (["delete", "-f", cid], errs[1])):
            with open(path, "w") as err:
                procs.append(subprocess.Popen(PYRUNC + base + args, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=err))
        for p, path in zip(procs, errs):
            p.wait(timeout=30)
            err = path.read_text()
            assert p.returncode in (0, 1) and "internal error" not in err, err
            assert "Traceback" not in err and len(err.splitlines()) <= 1, err
        assert env.pyrunc("delete", "-f", cid).returncode == 0
        assert env.pyrunc("list", "-q").stdout == ""


def test_a_failing_poststop_hook_does_not_keep_delete_force_from_removing(env, host):
    spec = env.spec(["true"])
    spec["hooks"] = {"poststop": [{"path": "/nonexistent/hook"}]}
    cid = env.cid()
    assert env.pyrunc("create", "-b", env.bundle(spec), cid).returncode == 0
    r = env.pyrunc("delete", "-f", cid)
    assert r.returncode == 0 and "poststop hook #0 /nonexistent/hook" in r.stderr, r.stderr
    assert env.pyrunc("list", "-q").stdout == ""
