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
    assert config["hostname"] == "pyrunc"


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
