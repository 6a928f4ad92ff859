"""spec -> plan: pure functions, no root needed."""
import pytest

from pyrunc import linux as L
from pyrunc import steps as S
from pyrunc.errors import ConfigError
from pyrunc.plan import (SYNC_CGROUP, SYNC_HOOKS, SYNC_SETUP, SYNC_SOURCES, SYNC_TIMENS, HostInfo,
                         make_exec_plan, make_plan, map_text, parse_mount_options)
from pyrunc.specgen import default_spec as runc_template


def default_spec(**kw):
    """runc's template with a cgroup namespace too, as these tests expect."""
    spec = runc_template(**kw)
    spec["linux"]["namespaces"].append({"type": "cgroup"})
    return spec


def plan_for(spec, **kw):
    return make_plan(spec, "/bundle", "/bundle/rootfs", HostInfo(cap_last_cap=40), **kw)


def kinds(plan):
    return [s.kind for s in plan.steps]


def steps(plan, kind):
    return [s for s in plan.steps if s.kind == kind]


def test_default_spec_creates_its_namespaces_in_one_clone():
    plan = plan_for(default_spec())
    expected = (L.CLONE_NEWPID | L.CLONE_NEWNET | L.CLONE_NEWIPC | L.CLONE_NEWUTS |
                L.CLONE_NEWNS)
    assert plan.clone_flags == expected and plan.direct and plan.self_join
    # no user namespace and no hooks: the child never waits for the parent
    order = kinds(plan)
    assert "SYNC" not in order and "FORK" not in order
    assert plan.steps[0].kind == "UNSHARE"
    assert plan.steps[0].slots["a"] == L.CLONE_NEWCGROUP


def test_the_child_joins_its_v1_cgroups_itself_before_its_cgroup_namespace():
    host = HostInfo(cgroup_mounts=[("cpu", "/sys/fs/cgroup/cpu/c1", False),
                                   ("unified", "/sys/fs/cgroup/unified/c1", True)])
    plan = make_plan(default_spec(), "/b", "/b/rootfs", host)
    first, second = plan.steps[:2]
    assert (first.kind, first.slots) == ("WRITE_HOST", {"s1": "/sys/fs/cgroup/cpu/c1/tasks",
                                                        "s2": "0"})
    assert first.desc == 'join cgroup "/sys/fs/cgroup/cpu/c1"'
    # cgroup v2 is joined by clone (CLONE_INTO_CGROUP), not by a step
    assert second.kind == "UNSHARE"


def test_with_a_user_namespace_the_parent_joins_the_cgroups_during_the_mounts():
    spec = default_spec()
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = spec["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536}]
    plan = plan_for(spec)
    order = kinds(plan)
    assert not plan.self_join
    syncs = [s.slots["a"] for s in steps(plan, "SYNC")]
    assert syncs == [SYNC_SETUP, SYNC_CGROUP]
    cgroup_sync = len(order) - 1 - order[::-1].index("SYNC")
    assert order.index("MOUNT") < cgroup_sync < order.index("UNSHARE") < order.index("PIVOT_ROOT")


def test_steps_follow_the_spec_order():
    order = kinds(plan_for(default_spec()))
    assert order.index("OPEN_ROOT") < order.index("MOUNT") < order.index("MKNOD")
    assert order.index("MASK") < order.index("PIVOT_ROOT") < order.index("USER")
    assert order.index("CAPS") < order.index("LOOKUP") < order.index("READY")
    assert order[-3:] == ["READY", "WAIT_START", "EXEC"]


def test_joining_a_namespace_forks_the_init_after_setns():
    spec = default_spec()
    spec["linux"]["namespaces"] = [{"type": "mount"}, {"type": "pid", "path": "/proc/1/ns/pid"},
                                   {"type": "network", "path": "/proc/1/ns/net"}]
    del spec["hostname"]
    plan = plan_for(spec)
    assert plan.clone_flags == 0
    order = kinds(plan)
    assert order[:2] == ["SETNS", "SETNS"]
    assert [s.slots["a"] for s in steps(plan, "SETNS")] == [L.CLONE_NEWNET, L.CLONE_NEWPID]
    assert order.index("SYNC") < order.index("UNSHARE") < order.index("FORK")


def test_user_namespace_maps_are_text_for_proc():
    spec = default_spec()
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 10}]
    plan = plan_for(spec)
    assert plan.user_ns
    # the maps are written before the child does anything in its namespace
    assert plan.steps[0].kind == "SYNC" and plan.steps[0].slots["a"] == SYNC_SETUP
    assert plan.uid_map == "0 100000 65536\n"
    assert plan.gid_map == "0 200000 10\n"
    # mknod is not allowed in a user namespace: devices are bind mounts
    assert not steps(plan, "MKNOD")
    assert {s.slots["s2"] for s in steps(plan, "BIND_DEV")} >= {"/dev/null", "/dev/tty"}


def _userns_spec_with_binds(n):
    spec = default_spec()
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = spec["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["mounts"] += [{"destination": "/m%d" % i, "type": "bind", "source": "src%d" % i,
                        "options": ["rbind"]} for i in range(n)]
    return spec


def test_in_a_user_namespace_the_runtime_opens_the_bind_sources_for_the_child():
    plan = plan_for(_userns_spec_with_binds(2))
    # (the clone made the mount namespace: the first sync serves both)
    assert plan.steps[0].kind == "SYNC" and plan.steps[0].slots["a"] == SYNC_SETUP | SYNC_SOURCES
    assert plan.bind_sources == ["/bundle/src0", "/bundle/src1"]
    binds = [s for s in steps(plan, "MOUNT") if s.slots["s1"] in plan.bind_sources]
    assert [(s.slots["d"] & 32, s.slots["d"] >> 8) for s in binds] == [(32, 0), (32, 1)]
    # past what one message can pass, the child looks the source up itself
    plan = plan_for(_userns_spec_with_binds(300))
    assert len(plan.bind_sources) == 253
    assert steps(plan, "MOUNT")[-1].slots["d"] & 32 == 0


def test_bind_sources_are_opened_once_the_mount_namespace_is_there():
    spec = _userns_spec_with_binds(1)
    for ns in spec["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/1/ns/net"
    plan = plan_for(spec)
    order = kinds(plan)
    sources = [i for i, s in enumerate(plan.steps)
               if s.kind == "SYNC" and s.slots["a"] & SYNC_SOURCES]
    new_mnt = [i for i, s in enumerate(plan.steps)
               if s.kind == "UNSHARE" and s.slots["a"] & L.CLONE_NEWNS]
    assert len(sources) == 1 and new_mnt[0] < sources[0] < order.index("FORK")


def test_without_a_user_namespace_bind_sources_are_the_childs_to_open():
    spec = default_spec()
    spec["mounts"].append({"destination": "/m", "type": "bind", "source": "/src",
                           "options": ["rbind"]})
    plan = plan_for(spec)
    assert plan.bind_sources is None
    assert not any(s.slots.get("a", 0) & SYNC_SOURCES for s in steps(plan, "SYNC"))
    assert not any(s.slots.get("d", 0) & 32 for s in steps(plan, "MOUNT"))


def test_user_namespace_without_mappings_is_an_error():
    spec = default_spec()
    spec["linux"]["namespaces"].append({"type": "user"})
    with pytest.raises(ConfigError, match="uidMappings"):
        plan_for(spec)


def test_time_namespace_offsets_are_written_by_the_runtime_before_the_fork():
    spec = default_spec()
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["linux"]["timeOffsets"] = {"boottime": {"secs": 86400, "nanosecs": 0}}
    plan = plan_for(spec)
    assert plan.timens_offsets == "boottime 86400 0\n"
    syncs = [i for i, s in enumerate(plan.steps)
             if s.kind == "SYNC" and s.slots["a"] & SYNC_TIMENS]
    assert len(syncs) == 1
    unshare = [i for i, s in enumerate(plan.steps)
               if s.kind == "UNSHARE" and s.slots["a"] & L.CLONE_NEWTIME]
    assert unshare[0] < syncs[0] < kinds(plan).index("FORK")


def test_without_a_mount_namespace_the_child_chroots_and_mounts_nothing_on_the_host():
    spec = default_spec()
    spec["linux"]["namespaces"] = [{"type": "pid"}]
    del spec["hostname"]
    plan = plan_for(spec)
    assert plan.host_mount_ns
    order = kinds(plan)
    # the runtime made the rootfs a private bind; the host's "/" is left alone
    assert "MOUNT_HOST" not in order and "PIVOT_ROOT" not in order
    assert order.index("MOUNT") < order.index("MASK") < order.index("CHROOT") < order.index("EXEC")
    assert not plan_for(default_spec()).host_mount_ns


def test_a_new_user_namespace_needs_a_new_mount_namespace():
    spec = default_spec(rootless=True)
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != "mount"]
    with pytest.raises(ConfigError, match="needs a new mount namespace"):
        plan_for(spec)


@pytest.mark.parametrize("key, needs", [
    ("net.ipv4.ip_forward", "network"),
    ("kernel.shmmax", "ipc"),
    ("fs.mqueue.msg_max", "ipc"),
    ("kernel.domainname", "uts"),
])
def test_a_sysctl_needs_the_namespace_that_owns_it(key, needs):
    spec = default_spec()
    del spec["hostname"]
    spec["linux"]["sysctl"] = {key: "1"}
    plan_for(spec)
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] != needs]
    with pytest.raises(ConfigError, match="linux.sysctl: %s needs a new or joined %s"
                       % (key.replace(".", r"\."), needs)):
        plan_for(spec)
    spec["linux"]["namespaces"].append({"type": needs, "path": "/proc/1/ns/x"})
    plan_for(spec)


def test_a_sysctl_no_namespace_owns_is_refused():
    spec = default_spec()
    spec["linux"]["sysctl"] = {"vm.swappiness": "10"}
    with pytest.raises(ConfigError, match="vm.swappiness is not in a namespace"):
        plan_for(spec)


@pytest.mark.parametrize("options, flags, prop, data", [
    (["nosuid", "nodev", "noexec"], L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC, 0, ""),
    (["ro", "rw"], 0, 0, ""),
    (["rbind", "rslave"], L.MS_BIND | L.MS_REC, L.MS_SLAVE | L.MS_REC, ""),
    (["mode=755", "size=65536k", "strictatime"], L.MS_STRICTATIME, 0, "mode=755,size=65536k"),
    (["noatime", "atime"], 0, 0, ""),
    (["shared"], 0, L.MS_SHARED, ""),
    (["runbindable"], 0, L.MS_UNBINDABLE | L.MS_REC, ""),
])
def test_mount_options(options, flags, prop, data):
    assert parse_mount_options(options) == (flags, prop, data)


def test_bind_mount_remounts_with_its_flags_and_resolves_relative_sources():
    spec = default_spec()
    spec["mounts"] = [{"destination": "/data", "type": "bind", "source": "data",
                       "options": ["rbind", "ro", "nosuid", "private"]}]
    mount = steps(plan_for(spec), "MOUNT")[0]
    assert mount.slots["s1"] == "/bundle/data"
    assert mount.slots["flags"] == L.MS_BIND | L.MS_REC
    assert mount.slots["b"] == L.MS_RDONLY | L.MS_NOSUID
    assert mount.slots["c"] == L.MS_PRIVATE
    assert mount.desc == 'mounts[0]: mount "data" on "/data"'


def test_destinations_are_cleaned():
    spec = default_spec()
    spec["mounts"] = [{"destination": "a/../../tmp", "type": "tmpfs", "source": "tmpfs"}]
    assert steps(plan_for(spec), "MOUNT")[0].slots["s2"] == "/tmp"


def test_bind_mounted_dev_skips_default_devices():
    spec = default_spec()
    spec["mounts"].append({"destination": "/dev", "type": "bind", "source": "/dev",
                           "options": ["rbind"]})
    plan = plan_for(spec)
    assert not steps(plan, "MKNOD") and not steps(plan, "SYMLINK")


def test_default_devices_and_linux_devices():
    spec = default_spec()
    spec["linux"]["devices"] = [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229,
                                 "fileMode": 0o600, "uid": 1000, "gid": 1000}]
    nodes = {s.slots["s1"]: s.slots for s in steps(plan_for(spec), "MKNOD")}
    assert set(nodes) == {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                          "/dev/urandom", "/dev/tty", "/dev/fuse"}
    assert nodes["/dev/null"]["b"] == (1 << 8) | 3
    fuse = nodes["/dev/fuse"]
    assert fuse["a"] == L.S_IFCHR | 0o600
    assert fuse["b"] == (10 << 8) | 229
    assert (fuse["c"], fuse["d"]) == (1000, 1000)


def test_capability_masks_and_warnings():
    spec = default_spec()
    spec["process"]["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
        "inheritable": [], "ambient": ["CAP_KILL"]}
    plan = plan_for(spec)
    bounding = steps(plan, "BOUNDING")[0].slots
    caps = steps(plan, "CAPS")[0].slots
    assert bounding["a"] == (1 << 5) | (1 << 10)
    assert bounding["b"] == 40
    assert caps["a"] == caps["b"] == caps["d"] == 1 << 5
    assert caps["c"] == 0
    # an ambient capability that is not inheritable cannot be raised: that
    # matters (a warning) for a user that is not root
    assert not any("not raised" in w for w in plan.warnings)
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert any("CAP_KILL not raised" in w for w in plan_for(spec).warnings)


def test_capability_beyond_the_kernel_is_a_warning():
    spec = default_spec()
    spec["process"]["capabilities"] = {"bounding": ["CAP_CHECKPOINT_RESTORE"]}
    plan = make_plan(spec, "/b", "/b/rootfs", HostInfo(cap_last_cap=37))
    assert steps(plan, "BOUNDING")[0].slots["a"] == 0
    assert any("not supported by this kernel" in w for w in plan.warnings)


def test_process_user_rlimits_and_lookup():
    spec = default_spec()
    spec["process"]["user"] = {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 0o077}
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NPROC", "soft": 10, "hard": 20}]
    spec["process"]["env"] = ["PATH=/opt/bin:/bin", "A=b"]
    spec["process"]["args"] = ["tool", "--flag"]
    plan = plan_for(spec)
    user = steps(plan, "USER")[0].slots
    assert (user["a"], user["b"], user["v1"]) == (1000, 100, ["5", "6"])
    assert steps(plan, "UMASK")[0].slots["a"] == 0o077
    assert steps(plan, "RLIMIT")[0].slots == {"a": L.RLIMITS["RLIMIT_NPROC"], "b": 10, "c": 20}
    lookup = steps(plan, "LOOKUP")[0].slots
    assert (lookup["s1"], lookup["s2"]) == ("tool", "/opt/bin:/bin")
    exe = steps(plan, "EXEC")[0].slots
    assert exe["v1"] == ["tool", "--flag"] and exe["v2"] == ["PATH=/opt/bin:/bin", "A=b"]


def test_sysctl_masked_and_readonly_paths():
    spec = default_spec()
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    plan = plan_for(spec)
    assert steps(plan, "WRITE_PROC")[0].slots == {"s1": "/proc/sys/net/ipv4/ip_forward",
                                                  "s2": "1"}
    assert "/proc/kcore" in [s.slots["s1"] for s in steps(plan, "MASK")]
    assert "/proc/sys" in [s.slots["s1"] for s in steps(plan, "READONLY")]


def test_readonly_root_and_no_pivot():
    plan = plan_for(default_spec(), no_pivot=True)
    assert "MOVE_ROOT" in kinds(plan) and "PIVOT_ROOT" not in kinds(plan)
    assert steps(plan, "REMOUNT_ROOT")[0].slots["a"] == L.MS_RDONLY


def test_hooks_in_the_container_get_the_state_from_the_sync_payload():
    spec = default_spec()
    hook = {"path": "/bin/true", "args": ["true", "x"], "env": ["A=1"], "timeout": 5}
    spec["hooks"] = {"createContainer": [hook], "startContainer": [hook], "poststop": [hook]}
    plan = plan_for(spec)
    order = kinds(plan)
    assert [s.slots["a"] for s in steps(plan, "SYNC")] == [SYNC_HOOKS]
    create_hook, start_hook = steps(plan, "HOOK")
    assert create_hook.slots["b"] == 0 and start_hook.slots["b"] == 1
    assert create_hook.slots["v1"] == ["true", "x"] and create_hook.slots["a"] == 5
    assert order.index("HOOK") < order.index("PIVOT_ROOT")
    assert order.index("WAIT_START") < len(order) - 1 - order[::-1].index("HOOK") < order.index("EXEC")


def test_no_process_signals_ready_without_a_fifo():
    spec = default_spec()
    del spec["process"]
    plan = plan_for(spec)
    assert kinds(plan)[-2:] == ["READY", "WAIT_START"] and "EXEC" not in kinds(plan)


def test_hostname_needs_a_uts_namespace():
    spec = default_spec()
    spec["linux"]["namespaces"] = [{"type": "mount"}]
    with pytest.raises(ConfigError, match="uts"):
        plan_for(spec)


def test_map_text():
    assert map_text([{"containerID": 0, "hostID": 1, "size": 2},
                     {"containerID": 5, "hostID": 6, "size": 7}]) == "0 1 2\n5 6 7\n"


def test_personality_is_set_before_the_user_changes():
    spec = default_spec()
    spec["linux"]["personality"] = {"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}
    plan = plan_for(spec)
    step = steps(plan, "PERSONALITY")[0]
    assert step.slots["a"] == 0x0008 | 0x0040000
    assert kinds(plan).index("PERSONALITY") < kinds(plan).index("USER")


def test_lsm_labels_are_written_to_proc_attr_when_the_lsm_is_enabled():
    spec = default_spec()
    spec["process"]["apparmorProfile"] = "docker-default"
    spec["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"
    spec["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    plan = make_plan(spec, "/b", "/b/rootfs", HostInfo(apparmor=True, selinux=True))
    writes = {s.slots["s1"]: s.slots["s2"] for s in steps(plan, "WRITE_PROC")}
    assert writes["/proc/self/attr/apparmor/exec"] == "exec docker-default"
    assert writes["/proc/self/attr/exec"] == "system_u:system_r:container_t:s0"
    order = kinds(plan)
    assert order.index("PIVOT_ROOT") < order.index("WRITE_PROC") < order.index("USER")
    tmpfs = [s for s in steps(plan, "MOUNT") if s.slots.get("s3") == "tmpfs"][0]
    assert 'context="system_u:object_r:container_file_t:s0"' in tmpfs.slots["s4"]
    proc = [s for s in steps(plan, "MOUNT") if s.slots.get("s3") == "proc"][0]
    assert "context" not in (proc.slots.get("s4") or "")
    assert not plan.warnings


def test_lsm_labels_without_the_lsm_are_warnings():
    spec = default_spec()
    spec["process"]["apparmorProfile"] = "docker-default"
    spec["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    plan = plan_for(spec)
    assert not steps(plan, "WRITE_PROC")
    assert not any("context" in (s.slots.get("s4") or "") for s in steps(plan, "MOUNT"))
    assert len(plan.warnings) == 2


def test_socket_activation_keeps_the_listening_fds_and_sets_the_env():
    spec = default_spec()
    spec["process"]["env"] = ["A=1", "LISTEN_FDS=9", "LISTEN_PID=9"]
    plan = plan_for(spec, preserve_fds=1, listen_fds=2)
    assert steps(plan, "CLOSE_FDS")[0].slots["a"] == 3 + 2 + 1
    exec_step = steps(plan, "EXEC")[0]
    env = exec_step.slots["v2"]
    assert env[:2] == ["A=1", "LISTEN_FDS=2"]
    # the child writes its pid into the slot the planner made
    assert env[exec_step.slots["a"] - 1].startswith("LISTEN_PID=") and len(env) == 3
    plain = plan_for(default_spec())
    assert steps(plain, "EXEC")[0].slots["a"] == 0
    assert not any(e.startswith("LISTEN_") for e in steps(plain, "EXEC")[0].slots["v2"])


def test_exec_plan_joins_cgroups_then_namespaces_then_forks():
    host = HostInfo(cgroup_mounts=[("cpu", "/sys/fs/cgroup/cpu/c1", False),
                                   ("", "/sys/fs/cgroup/unified/c1", True)])
    spec = default_spec()
    spec["process"]["terminal"] = True
    plan = make_exec_plan(spec, spec["process"], host, pidfd=7, init_pid=42)
    order = kinds(plan)
    assert order[:6] == ["WRITE_HOST", "WRITE_HOST", "SETNS_FD", "FORK", "OPEN_ROOT", "CLOSE"]
    assert plan.steps[4].slots["s1"] == "/"
    assert [s.slots["s1"] for s in steps(plan, "WRITE_HOST")] == [
        "/sys/fs/cgroup/cpu/c1/tasks", "/sys/fs/cgroup/unified/c1/cgroup.procs"]
    setns = plan.steps[2].slots
    assert setns["a"] == 7 and setns["b"] == (L.CLONE_NEWPID | L.CLONE_NEWNET |
                                              L.CLONE_NEWIPC | L.CLONE_NEWUTS | L.CLONE_NEWNS |
                                              L.CLONE_NEWCGROUP)
    # an exec'd process has no exec fifo, does not die with the runtime,
    # gets a pty without /dev/console
    assert "WAIT_START" not in order and "READY" not in order
    assert order.index("DETACH") < order.index("EXEC")
    assert steps(plan, "CONSOLE")[0].slots["c"] == 0
    no_mnt = default_spec()
    no_mnt["linux"]["namespaces"] = [{"type": "pid"}]
    plan = make_exec_plan(no_mnt, no_mnt["process"], HostInfo(), pidfd=7, init_pid=42)
    assert steps(plan, "OPEN_ROOT")[0].slots["s1"] == "/proc/42/root"
    assert "CHROOT" in kinds(plan)


def test_capabilities_unknown_unsupported_and_ungrantable():
    spec = default_spec()
    spec["process"]["capabilities"]["effective"].append("CAP_TEST")
    with pytest.raises(ConfigError, match="process.capabilities.effective: unknown capability "
                                          "'CAP_TEST'"):
        plan_for(spec)
    spec = default_spec()
    spec["process"]["capabilities"]["bounding"].append("CAP_CHECKPOINT_RESTORE")   # 40
    plan = make_plan(spec, "/b", "/b/rootfs", HostInfo(cap_last_cap=39))
    assert any("CAP_CHECKPOINT_RESTORE is not supported by this kernel" in w
               for w in plan.warnings)
    spec = default_spec()
    spec["process"]["capabilities"]["permitted"].append("CAP_SYS_RESOURCE")   # 24
    with pytest.raises(ConfigError, match="CAP_SYS_RESOURCE is not in the runtime's own "
                                          "bounding set"):
        make_plan(spec, "/b", "/b/rootfs", HostInfo(bounding=~(1 << 24)))


def test_tmpcopyup_is_a_step_flag_not_a_mount_option():
    spec = default_spec()
    spec["mounts"] = [
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "tmpcopyup", "mode=1777"]},
        {"destination": "/m", "type": "mqueue", "source": "mqueue", "options": ["tmpcopyup"]}]
    tmp, mq = [s for s in steps(plan_for(spec), "MOUNT") if s.slots["s2"] in ("/tmp", "/m")]
    assert tmp.slots["s4"] == "mode=1777" and tmp.slots["d"] == 2
    assert mq.data is None and mq.checks == 0


@pytest.mark.parametrize("options, attrs", [
    (["rro"], (L.MOUNT_ATTR_RDONLY, 0)),
    (["rro", "rrw"], (0, L.MOUNT_ATTR_RDONLY)),
    (["rnosuid", "rnodev", "rnoexec"], (L.MOUNT_ATTR_NOSUID | L.MOUNT_ATTR_NODEV |
                                        L.MOUNT_ATTR_NOEXEC, 0)),
    (["rnoatime"], (L.MOUNT_ATTR_NOATIME, L.MOUNT_ATTR__ATIME)),
    (["rnoatime", "rstrictatime"], (L.MOUNT_ATTR_STRICTATIME, L.MOUNT_ATTR__ATIME)),
    (["rnoatime", "ratime"], (0, L.MOUNT_ATTR__ATIME)),
    (["rro", "rsuid", "rdev", "rexec", "rsymfollow"],
     (L.MOUNT_ATTR_RDONLY, L.MOUNT_ATTR_NOSUID | L.MOUNT_ATTR_NODEV | L.MOUNT_ATTR_NOEXEC |
      L.MOUNT_ATTR_NOSYMFOLLOW)),
    (["rnosymfollow", "rnodiratime"], (L.MOUNT_ATTR_NOSYMFOLLOW | L.MOUNT_ATTR_NODIRATIME, 0)),
    (["rnodiratime", "rdiratime"], (0, L.MOUNT_ATTR_NODIRATIME)),
    (["rrelatime"], (L.MOUNT_ATTR_RELATIME, L.MOUNT_ATTR__ATIME)),
    (["rnoatime", "rnorelatime"], (0, L.MOUNT_ATTR__ATIME)),
    (["rstrictatime", "rnostrictatime"], (0, L.MOUNT_ATTR__ATIME)),
    (["ro", "bind", "size=1m"], (0, 0)),
])
def test_recursive_mount_attributes(options, attrs):
    from pyrunc.plan import recursive_attrs
    assert recursive_attrs(options) == attrs
    # they are no file system data
    assert parse_mount_options(options + ["rro", "rnoexec"])[2] == \
        parse_mount_options(options)[2]


def test_a_mount_with_recursive_options_gets_a_setattr_step_after_it():
    spec = default_spec()
    spec["mounts"].append({"destination": "/data", "type": "bind", "source": "/srv",
                           "options": ["rbind", "rro", "rnosuid"]})
    plan = plan_for(spec)
    kinds_ = kinds(plan)
    at = kinds_.index("MOUNT_SETATTR")
    assert kinds_[at - 1] == "MOUNT" and plan.steps[at - 1].slots["s2"] == "/data"
    assert plan.steps[at].slots == {"s1": "/data", "a": L.MOUNT_ATTR_RDONLY |
                                    L.MOUNT_ATTR_NOSUID, "b": 0}
    assert len(steps(plan_for(default_spec()), "MOUNT_SETATTR")) == 0


def test_user_sysctls_need_a_user_namespace():
    spec = default_spec()
    spec["linux"]["sysctl"] = {"user.max_user_namespaces": "5"}
    with pytest.raises(ConfigError, match=r"linux.sysctl: user\.max_user_namespaces needs a "
                       "new or joined user namespace"):
        plan_for(spec)
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = spec["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536}]
    plan = plan_for(spec)
    assert [s.slots for s in steps(plan, "WRITE_PROC")] == [
        {"s1": "/proc/sys/user/max_user_namespaces", "s2": "5"}]


def _idmapped_spec(**mount):
    spec = default_spec()
    spec["mounts"].append(dict({"destination": "/data", "type": "bind", "source": "/srv",
                                "options": ["rbind", "ridmap"]}, **mount))
    return spec


def test_idmapped_binds_get_their_trees_from_the_opener_last():
    calls = []

    def opener(source, rec_clone, rec_idmap, maps):
        calls.append((source, rec_clone, rec_idmap, maps))
        return 40 + len(calls)
    maps = {"uidMappings": [{"containerID": 0, "hostID": 5000, "size": 10}],
            "gidMappings": [{"containerID": 0, "hostID": 7000, "size": 10}]}
    plan = plan_for(_idmapped_spec(**maps), open_idmapped=opener)
    assert calls == [("/srv", True, True, ("0 5000 10\n", "0 7000 10\n"))]
    mount = [s for s in steps(plan, "MOUNT") if s.slots["s2"] == "/data"][0]
    assert mount.slots["d"] == S.MOUNT_TREE | 41 << 8
    assert plan.tree_fds == [41]
    # without mappings of its own: the container's user namespace's
    spec = _idmapped_spec(options=["bind", "idmap"])
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = spec["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": 100000, "size": 65536}]
    plan_for(spec, open_idmapped=opener)
    assert calls[-1] == ("/srv", False, False, ("0 100000 65536\n", "0 100000 65536\n"))
    # or the one it joins
    spec["linux"]["namespaces"][-1] = {"type": "user", "path": "/proc/42/ns/user"}
    del spec["linux"]["uidMappings"], spec["linux"]["gidMappings"]
    plan_for(spec, open_idmapped=opener)
    assert calls[-1][3] == "/proc/42/ns/user"


def test_mappings_without_an_idmap_option_count_as_idmap():
    calls = []

    def opener(source, rec_clone, rec_idmap, maps):
        calls.append((source, rec_clone, rec_idmap, maps))
        return 50
    plan = plan_for(_idmapped_spec(options=["bind"],
                                   uidMappings=[{"containerID": 0, "hostID": 5000, "size": 1}],
                                   gidMappings=[{"containerID": 0, "hostID": 6000, "size": 1}]),
                    open_idmapped=opener)
    assert calls == [("/srv", False, False, ("0 5000 1\n", "0 6000 1\n"))]
    assert plan.tree_fds == [50]


def test_a_failing_idmapped_tree_closes_the_ones_made_and_names_the_mount():
    import os
    made = []

    def opener(source, rec_clone, rec_idmap, maps):
        if made:
            raise OSError(22, "Invalid argument")
        made.append(os.open("/", os.O_PATH))
        return made[-1]
    maps = {"uidMappings": [{"containerID": 0, "hostID": 5000, "size": 10}],
            "gidMappings": [{"containerID": 0, "hostID": 7000, "size": 10}]}
    spec = _idmapped_spec(**maps)
    spec["mounts"].append(dict(spec["mounts"][-1], destination="/data2", source="/sys"))
    with pytest.raises(ConfigError, match=r'mounts\[%d\]: idmapped mount of "/sys": invalid '
                       'argument' % (len(spec["mounts"]) - 1)):
        plan_for(spec, open_idmapped=opener)
    with pytest.raises(OSError):
        os.fstat(made[0])
