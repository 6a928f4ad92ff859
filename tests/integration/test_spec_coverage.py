"""Every field of the runtime-spec is applied, refused or (where it is not
Linux's) warned about: never silently dropped.  And `features` says so."""
import json

import pytest


def _no_resctrl():
    with open("/proc/self/mountinfo") as f:
        return not any(" - resctrl " in line for line in f)


def test_intel_rdt_without_resctrl_is_refused_by_its_path(env):
    """(where no resctrl is mounted, as on these machines: the runtime-spec
    wants an error; the resctrl logic itself is unit-tested on a fake
    resctrl tree, tests/unit/test_resctrl.py)"""
    if not _no_resctrl():
        pytest.skip("resctrl is mounted here: this is the test for hosts without it")
    spec = env.spec()
    spec["linux"]["intelRdt"] = {"closID": "guaranteed", "schemata": ["L3:0=7f0"]}
    r = env.run(spec)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("linux.intelRdt: no resctrl file system is mounted on "
                                     "this host: Intel RDT cannot be applied")
    # and a malformed one is named before the host is looked at
    for rdt, words in [({"schemata": ["L3:0=7f0\nMB:0=20"]},
                        "linux.intelRdt.schemata[0]: must not contain a newline"),
                       ({"memBwSchema": "L3:0=f"}, "linux.intelRdt.memBwSchema: must start "
                        "with MB:"),
                       ({"closID": "../x"}, "linux.intelRdt.closID: '../x' is not a resctrl "
                        "group name")]:
        spec["linux"]["intelRdt"] = rdt
        r = env.run(spec)
        assert r.returncode == 1
        assert r.stderr.strip().endswith(words), r.stderr


def test_fields_of_other_platforms_are_warned_about(env):
    spec = env.spec(["true"])
    spec["windows"] = {"layerFolders": ["C:\\layers"]}
    spec["process"]["commandLine"] = "cmd /c dir"
    spec["process"]["user"]["username"] = "ContainerUser"
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    for path in ("windows", "process.commandLine", "process.user.username"):
        assert "%s: not for Linux: ignored" % path in r.stderr, r.stderr


def test_features_lists_intel_rdt_as_built(env):
    doc = json.loads(env.pyrunc("features").stdout)
    assert doc["linux"]["intelRdt"] == {"enabled": True, "schemata": True, "monitoring": True}
