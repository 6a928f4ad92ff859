"""config.json checks: each error names the JSON path of what is wrong."""
import copy
import json

import pytest

from pyrunc import bundle
from pyrunc.errors import ConfigError
from pyrunc.specgen import default_spec

GOOD = default_spec(terminal=False)


def bad(mutate):
    spec = copy.deepcopy(GOOD)
    mutate(spec)
    return spec


def _set(path, value):
    def mutate(spec):
        obj = spec
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
    return mutate


def _del(path):
    def mutate(spec):
        obj = spec
        for key in path[:-1]:
            obj = obj[key]
        del obj[path[-1]]
    return mutate


def test_default_spec_is_valid():
    bundle.check(copy.deepcopy(GOOD))


@pytest.mark.parametrize("mutate, message", [
    (_set(["process", "args"], "sh"), "process.args: expected array of strings"),
    (_set(["process", "args"], ["sh", 1]), "process.args: expected array of strings"),
    (_set(["process", "args"], []), "process.args: required"),
    (_del(["process", "args"]), "process.args: required"),
    (_set(["process", "cwd"], "tmp"), "process.cwd: must be an absolute path"),
    (_del(["process", "cwd"]), "process.cwd: required"),
    (_del(["root"]), "root: required"),
    (_set(["root", "path"], 5), "root.path: expected string"),
    (_set(["ociVersion"], "2.0.0"), "ociVersion: unsupported version"),
    (_del(["ociVersion"]), "ociVersion: required"),
    (_set(["linux", "namespaces"], [{"type": "foo"}]), "linux.namespaces[0].type: unknown"),
    (_set(["linux", "namespaces"], [{"type": "pid"}, {"type": "pid"}]),
     "linux.namespaces[1].type: duplicate"),
    (_set(["process", "user"], {"uid": -1, "gid": 0}), "process.user.uid: expected non-negative"),
    (_set(["process", "rlimits"], [{"type": "NOFILE", "soft": 1, "hard": 1}]),
     "process.rlimits[0].type: unknown rlimit"),
    (_set(["process", "env"], ["NOEQUALS"]), "process.env[0]: expected KEY=value"),
    (_set(["process", "oomScoreAdj"], 5000), "process.oomScoreAdj"),
    (_set(["hooks"], {"prestart": [{"args": []}]}), "hooks.prestart[0].path: required"),
    (_set(["hooks"], {"poststop": [{"path": "/x", "timeout": 0}]}),
     "hooks.poststop[0].timeout: 0 is out of range"),
    (_set(["annotations"], {"a": 1}), "annotations.a: expected string"),
    (_set(["mounts"], [{"type": "tmpfs"}]), "mounts[0].destination: required"),
    (_set(["mounts"], [{"destination": "/x", "options": "ro"}]),
     "mounts[0].options: expected array of strings"),
    (_set(["linux", "rootfsPropagation"], "bogus"), "linux.rootfsPropagation: unknown"),
    (_set(["linux", "devices"], [{"type": "x", "path": "/dev/x"}]),
     "linux.devices[0].type: unknown device type"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_FOO"}),
     "linux.seccomp.defaultAction: unknown action"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}),
     "linux.seccomp.syscalls[0].args[0].op: unknown operator"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]}),
     "linux.seccomp.syscalls[0].names: expected array of strings"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW",
                                 "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}),
     "linux.seccomp.flags[0]: unknown flag"),
    (_set(["process", "terminal"], "yes"), "process.terminal: expected boolean"),
    (_set(["process", "consoleSize"], {"height": 24}), "process.consoleSize.width: required"),
])
def test_invalid_configs_name_the_json_path(mutate, message):
    with pytest.raises(ConfigError) as err:
        bundle.check(bad(mutate))
    assert message in str(err.value)


def test_load_resolves_the_rootfs_relative_to_the_bundle(tmp_path):
    (tmp_path / "rootfs").mkdir()
    spec = copy.deepcopy(GOOD)
    spec["process"]["terminal"] = False
    (tmp_path / "config.json").write_text(json.dumps(spec))
    config, rootfs, _ = bundle.load(str(tmp_path))
    assert rootfs == str(tmp_path / "rootfs")
    assert config["hostname"] == "runc"


def test_load_errors(tmp_path):
    with pytest.raises(ConfigError, match="config.json not found"):
        bundle.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        bundle.load(str(tmp_path))
    spec = copy.deepcopy(GOOD)
    spec["process"]["terminal"] = False
    (tmp_path / "config.json").write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match="rootfs .* does not exist"):
        bundle.load(str(tmp_path))


# -- the input boundary: strings, nulls, numbers, mounts -------------------

@pytest.mark.parametrize("mutate, message", [
    (_set(["process", "args"], ["a\0b"]), "process.args[0]: contains a NUL byte"),
    (_set(["annotations"], {"k\0": "v"}), 'annotations["k\\u0000"]: contains a NUL byte'),
    (_set(["linux", "sysctl"], {"net.core.somaxconn": "\ud800"}),
     'linux.sysctl["net.core.somaxconn"]: not valid Unicode (a lone surrogate)'),
    (_set(["x-extension"], {"deep": [{"k": "\udfff"}]}), "x-extension.deep[0].k: not valid"),
    (_set(["process", "user"], {"uid": 1 << 32, "gid": 0}),
     "process.user.uid: 4294967296 is out of range (uid/gid: at most 4294967294)"),
    (_set(["process", "user"], {"uid": 0, "gid": 0, "umask": 1 << 32}),
     "process.user.umask: 4294967296 is out of range (uint32"),
    (_set(["process", "rlimits"], [{"type": "RLIMIT_NOFILE", "soft": -1, "hard": 1}]),
     "process.rlimits[0].soft: expected non-negative integer, got -1"),
    (_set(["process", "consoleSize"], {"height": 1 << 16, "width": 1}),
     "process.consoleSize.height: 65536 is out of range (uint16"),
    (_set(["linux", "devices"], [{"type": "c", "path": "/dev/x", "major": 1, "minor": 1 << 20}]),
     "linux.devices[0].minor: 1048576 is out of range (device minor"),
    (_set(["linux", "timeOffsets"], {"boottime": {"secs": 1, "nanosecs": 1000000000}}),
     "linux.timeOffsets.boottime.nanosecs: must be below 1000000000"),
    (_set(["linux", "cgroupsPath"], "/.."), "linux.cgroupsPath: '/..' names the root cgroup"),
    (_set(["linux", "resources"], {"hugepageLimits": [{"pageSize": "../x", "limit": 1}]}),
     "linux.resources.hugepageLimits[0].pageSize: '../x' is not a page size"),
    (_set(["linux", "resources"], {"unified": {"../memory.max": "1"}}),
     'linux.resources.unified["../memory.max"]: not a controller file'),
    (_set(["linux", "resources"], {"network": {"priorities": [{"name": "a b", "priority": 1}]}}),
     "linux.resources.network.priorities[0].name: 'a b' is not a network interface name"),
    (_set(["linux", "resources"], {"blockIO": {"weight": 1 << 16}}),
     "linux.resources.blockIO.weight: 65536 is out of range"),
    (_set(["hooks"], {"prestart": [{"path": "/x", "env": ["NOEQUALS"]}]}),
     "hooks.prestart[0].env[0]: expected KEY=value"),
    (_set(["mounts"], [{"destination": "//proc/sys", "type": "bind", "source": "/x"}]),
     "mounts[0].destination: /proc/sys is inside /proc"),
    (_set(["mounts"], [{"destination": "/proc", "type": "sysfs", "source": "sysfs"}]),
     "mounts[0]: 'sysfs' cannot be mounted on /proc"),
    (_set(["mounts"], [{"destination": "/x", "source": "/proc/thread-self/fd",
                        "options": ["rbind"]}]),
     "mounts[0].source: /proc/thread-self/fd is a path of the runtime's own process"),
    (_set(["mounts"], [{"destination": "/.", "type": "tmpfs"}]),
     "mounts[0].destination: a mount on top of the rootfs"),
])
def test_hostile_values_name_the_json_path(mutate, message):
    with pytest.raises(ConfigError) as err:
        bundle.check(bad(mutate))
    assert message in str(err.value)


def test_lxcfs_files_and_procfs_may_be_mounted_in_proc():
    spec = copy.deepcopy(GOOD)
    spec["mounts"] += [
        {"destination": "/proc/meminfo", "type": "bind", "source": "/x", "options": ["bind"]},
        {"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]},
        {"destination": "/mnt", "source": "/proc/1/ns/net", "options": ["bind"]}]
    bundle.check(spec)


def test_null_members_are_dropped_and_the_text_tells_when_to_look():
    spec = copy.deepcopy(GOOD)
    spec["process"]["user"] = {"uid": 5, "gid": None}
    spec["linux"]["seccomp"] = None
    data = json.dumps(spec).encode()
    bundle.check(spec, data)
    assert spec["process"]["user"] == {"uid": 5} and "seccomp" not in spec["linux"]
    # without \u or null in the text there is nothing for the walk to find
    clean = copy.deepcopy(GOOD)
    clean_data = json.dumps(clean).encode()
    assert b"null" not in clean_data and b"\\u" not in clean_data
    bundle.check(clean, clean_data)


def test_numbers_at_the_top_of_their_range_pass():
    spec = copy.deepcopy(GOOD)
    spec["process"]["user"] = {"uid": (1 << 32) - 2, "gid": (1 << 32) - 2, "umask": 0o777}
    spec["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": (1 << 64) - 1,
                                   "hard": (1 << 64) - 1}]
    spec["linux"]["devices"] = [{"type": "b", "path": "/dev/x", "major": 4095,
                                 "minor": (1 << 20) - 1}]
    spec["hooks"] = {"poststop": [{"path": "/x", "timeout": (1 << 31) - 1}]}
    bundle.check(spec)


def test_json_too_deep_for_the_parser_is_a_config_error():
    with pytest.raises(ConfigError, match="config.json: invalid JSON: nested too deeply"):
        bundle.parse_json(b"[" * 100000 + b"]" * 100000, "config.json")


def test_a_rootfs_path_through_a_symlink_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert bundle.resolve_rootfs(str(tmp_path), "real") == str(tmp_path / "real")
    with pytest.raises(ConfigError, match="root.path: invalid rootfs .*link: a symlink"):
        bundle.resolve_rootfs(str(tmp_path), "link")


def test_messages_are_one_readable_line():
    with pytest.raises(ConfigError) as err:
        bundle.check(bad(_set(["mounts"], [{"destination": "/d" + "/a" * 100000}])))
    assert str(err.value).startswith("mounts[0].destination: longer than 4095 bytes")
    with pytest.raises(ConfigError) as err:
        bundle.resolve_rootfs("/nonexistent", "root\nfs" + "x" * 5000)
    text = str(err.value)
    assert "\n" not in text and "root\\nfs" in text and len(text) < 2100


def test_a_config_error_names_its_json_path():
    """(the library's ConfigError.json_path: the message's own prefix)"""
    spec = default_spec()
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": -1}]
    with pytest.raises(ConfigError) as e:
        bundle.check(spec)
    assert e.value.json_path == "linux.uidMappings[0].size"
    assert ConfigError("config.json: invalid JSON", json_path="x").json_path == "x"
    assert ConfigError("not a path: at all").json_path is None
