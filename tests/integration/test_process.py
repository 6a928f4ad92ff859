"""What the container's process sees: ids, caps, limits, env, fds."""
import os
import subprocess

import pytest

from pyrunc.linux import CAP_NUMBERS

from .test_cli import assert_clean_failure


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def mask(*names):
    return "%016x" % sum(1 << CAP_NUMBERS[n] for n in names)


def test_pid_1_hostname_and_no_new_privs(env):
    r = env.run(env.spec(["sh", "-c", "echo $$; hostname; cat /proc/self/status"]))
    pid, host, status = r.stdout.split("\n", 2)
    assert (pid, host) == ("1", "pyrunc")
    assert status_field(status, "NoNewPrivs") == "1"


def test_capability_sets_are_exactly_the_configured_ones(env):
    spec = env.spec(["cat", "/proc/self/status"])
    spec["process"]["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
    out = env.run(spec).stdout
    assert status_field(out, "CapBnd") == mask("CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN")
    assert status_field(out, "CapEff") == mask("CAP_KILL", "CAP_NET_BIND_SERVICE")
    assert status_field(out, "CapPrm") == mask("CAP_KILL", "CAP_NET_BIND_SERVICE")
    assert status_field(out, "CapInh") == mask("CAP_KILL")
    assert status_field(out, "CapAmb") == mask("CAP_KILL")


def test_non_root_user_keeps_ambient_capabilities(env):
    spec = env.spec(["cat", "/proc/self/status"])
    spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 7]}
    caps = ["CAP_NET_BIND_SERVICE"]
    spec["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted",
                                                         "inheritable", "ambient")}
    out = env.run(spec).stdout
    assert status_field(out, "Uid").split() == ["1000"] * 4
    assert status_field(out, "Gid").split() == ["1000"] * 4
    assert status_field(out, "Groups").split() == ["5", "7"]
    assert status_field(out, "CapEff") == mask("CAP_NET_BIND_SERVICE")
    assert status_field(out, "CapAmb") == mask("CAP_NET_BIND_SERVICE")


def test_unknown_capability_is_an_error(env):
    spec = env.spec(["true"])
    spec["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "process.capabilities.bounding: unknown capability "
                                 "'CAP_NOT_A_THING'")


def test_a_capability_the_runtime_lacks_is_an_error(env):
    """On this host root lacks CAP_SYS_RESOURCE (in the v2 VM it has all):
    a container cannot be given it."""
    with open("/proc/self/status") as f:
        have = int(status_field(f.read(), "CapBnd"), 16)
    missing = [name for name, num in CAP_NUMBERS.items()
               if num <= 40 and not have & (1 << num)]
    if not missing:
        pytest.skip("the runtime has every capability here: nothing it could not grant")
    spec = env.spec(["true"])
    spec["process"]["capabilities"]["permitted"].append(missing[0])
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, "process.capabilities.permitted: %s is not in the runtime's "
                                 "own bounding set: it cannot be granted" % missing[0])


def test_env_cwd_umask_rlimits_and_oom_score(env, own_rootfs):
    env.rootfs = own_rootfs
    spec = env.spec(["sh", "-c", "echo $FOO; pwd; umask; grep 'Max open files' /proc/self/limits;"
                                 " cat /proc/self/oom_score_adj"])
    spec["process"]["env"].append("FOO=bar baz")
    spec["process"]["cwd"] = "/work/deep"
    spec["process"]["user"]["umask"] = 0o027
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    spec["process"]["oomScoreAdj"] = 123
    out = env.run(spec).stdout.splitlines()
    assert out[0] == "bar baz"
    assert out[1] == "/work/deep"
    assert out[2] == "0027"
    assert out[3].split()[3:5] == ["321", "654"]
    assert out[4] == "123"
    assert (own_rootfs / "work" / "deep").is_dir()


def test_stdin_is_inherited(env):
    r = env.pyrunc("run", "-b", env.bundle(env.spec(["sh", "-c", "read x; echo got $x"])),
                   env.cid(), input="hello\n")
    assert r.stdout == "got hello\n"


def test_only_stdio_and_preserved_fds_are_inherited(env, tmp_path):
    extra = tmp_path / "extra"
    extra.write_text("preserved")

    def run_with_fd3(*args):
        # fd 3 is opened by a shell in front of pyrunc (not in this process,
        # whose low fds belong to pytest)
        cmd = ["sh", "-c", 'exec 3<"$0"; exec "$@"', str(extra), os.sys.executable, "-m",
               "pyrunc", "--root", env.state_root, "run"] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    spec = env.spec(["sh", "-c", "cat <&3; echo; ls /proc/self/fd"])
    r = run_with_fd3("--preserve-fds", "1", "-b", env.bundle(spec), env.cid())
    lines = r.stdout.splitlines()
    assert lines[0] == "preserved", r.stderr
    # 0-2, the preserved 3, and the fd ls opens to read the directory
    assert sorted(int(x) for x in lines[1:]) == [0, 1, 2, 3, 4]
    r = run_with_fd3("-b", env.bundle(env.spec(["ls", "/proc/self/fd"])), env.cid())
    assert sorted(int(x) for x in r.stdout.split()) == [0, 1, 2, 3]  # 3: ls's own


def test_exit_status_of_a_missing_command_inside_a_shell(env):
    r = env.run(env.spec(["sh", "-c", "no-such-command"]))
    assert r.returncode == 127


def test_home_comes_from_the_rootfs_passwd_unless_set(env):
    spec = env.spec(["sh", "-c", "echo $HOME"])
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert env.run(spec).stdout == "/home/user\n"
    spec["process"]["user"] = {"uid": 4242, "gid": 4242}
    assert env.run(spec).stdout == "/\n"
    spec["process"]["env"].append("HOME=/custom")
    assert env.run(spec).stdout == "/custom\n"


def test_sysfs_in_a_user_namespace_without_its_own_network_namespace(env):
    spec = env.spec(["sh", "-c", "ls /sys/kernel >/dev/null && echo sys-ok"])
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"]
                                   if n["type"] != "network"] + [{"type": "user"}]
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    r = env.run(spec)
    assert r.stdout == "sys-ok\n", r.stderr


def test_personality_linux32(env):
    spec = env.spec(["uname", "-m"])
    assert env.run(spec).stdout == os.uname().machine + "\n"
    spec["linux"]["personality"] = {"domain": "LINUX32"}
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert r.stdout in ("i686\n", "armv8l\n", "armv7l\n")


def test_personality_flags_reach_the_process(env):
    spec = env.spec(["cat", "/proc/self/personality"])
    spec["linux"]["personality"] = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}
    r = env.run(spec)
    assert int(r.stdout, 16) == 0x0040000, r.stderr


def test_lsm_labels_on_a_host_without_the_lsm_are_warnings(env):
    from pyrunc.host import apparmor_enabled as _apparmor_enabled
    if os.path.exists("/sys/fs/selinux/enforce") or _apparmor_enabled():
        pytest.skip("SELinux or AppArmor is enabled here: labels are applied, not warned about")
    spec = env.spec(["true"])
    spec["process"]["apparmorProfile"] = "docker-default"
    spec["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"
    spec["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    r = env.run(spec)
    assert r.returncode == 0
    for what in ("process.apparmorProfile: AppArmor", "process.selinuxLabel: SELinux",
                 "linux.mountLabel: SELinux"):
        assert what in r.stderr


APPARMOR_PROFILE = """
profile %s flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  mount,
  umount,
  pivot_root,
  signal,
  ptrace,
  unix,
  deny /etc/hostname r,
}
"""


def test_apparmor_profile_confines_the_process(env, own_rootfs):
    from pyrunc.host import apparmor_enabled as _apparmor_enabled
    import shutil
    if not _apparmor_enabled():
        pytest.skip("AppArmor is not enabled on this kernel (the v2 VM has it)")
    parser = shutil.which("apparmor_parser")
    if parser is None:
        pytest.fail("AppArmor is enabled but apparmor_parser is missing: apt-get install apparmor")
    mounted_here = False
    if not os.path.exists("/sys/kernel/security/apparmor"):
        subprocess.run(["mount", "-t", "securityfs", "securityfs", "/sys/kernel/security"],
                       check=True)
        mounted_here = True
    name = env.marker + "-profile"
    subprocess.run([parser, "-r"], input=(APPARMOR_PROFILE % name).encode(), check=True)
    try:
        (own_rootfs / "etc" / "hostname").write_text("secret\n")
        env.rootfs = own_rootfs
        spec = env.spec(["sh", "-c", "cat /proc/self/attr/current; cat /etc/hostname"])
        spec["process"]["apparmorProfile"] = name
        r = env.run(spec)
        assert r.stdout == "%s (enforce)\n" % name, r.stderr
        assert "Permission denied" in r.stderr
        # exec: the container's profile, or the one --apparmor names
        spec["process"]["args"] = ["sleep", "1000"]
        cid = env.cid()
        assert env.pyrunc("run", "-d", "-b", env.bundle(spec), cid).returncode == 0
        show = ["sh", "-c", "cat /proc/self/attr/current; cat /etc/hostname"]
        r = env.pyrunc("exec", cid, *show)
        assert r.stdout == "%s (enforce)\n" % name and "Permission denied" in r.stderr, r.stderr
        spec["process"].pop("apparmorProfile")
        other = env.cid()
        assert env.pyrunc("run", "-d", "-b", env.bundle(spec), other).returncode == 0
        r = env.pyrunc("exec", other, *show)
        assert r.stdout == "unconfined\nsecret\n", r.stderr
        r = env.pyrunc("exec", "--apparmor", name, other, *show)
        assert r.stdout == "%s (enforce)\n" % name and "Permission denied" in r.stderr, r.stderr
        for c in (cid, other):
            assert env.pyrunc("delete", "-f", c).returncode == 0
    finally:
        subprocess.run([parser, "-R"], input=(APPARMOR_PROFILE % name).encode(), check=True)
        if mounted_here:
            subprocess.run(["umount", "/sys/kernel/security"], check=True)
