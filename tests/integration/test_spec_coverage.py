"""Every field of the runtime-spec is applied, refused or (where it is not
Linux's) warned about: never silently dropped.  And `features` says so."""
import json

import pytest


def _no_resctrl():
    with open("/proc/self/mountinfo") as f:
        return not any(" - resctrl " in line for line in f)


def test_intel_rdt_is_refused_by_its_path(env):
    spec = env.spec()
    spec["linux"]["intelRdt"] = {"closID": "guaranteed", "schemata": ["L3:0=7f0"]}
    r = env.run(spec)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    if _no_resctrl():
        assert r.stderr.strip().endswith("linux.intelRdt: no resctrl file system is mounted on "
                                         "this host: Intel RDT cannot be applied")
    else:
        assert "linux.intelRdt: pyrunc does not apply Intel RDT" in r.stderr
    # and a malformed one is named before the host is looked at
    spec["linux"]["intelRdt"] = {"schemata": ["L3:0=7f0\nMB:0=20"]}
    r = env.run(spec)
    assert r.returncode == 1
    assert r.stderr.strip().endswith("linux.intelRdt.schemata[0]: must not contain a newline")


def test_fields_of_other_platforms_are_warned_about(env):
    spec = env.spec(["true"])
    spec["windows"] = {"layerFolders": ["C:\\layers"]}
    spec["process"]["commandLine"] = "cmd /c dir"
    spec["process"]["user"]["username"] = "ContainerUser"
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    for path in ("windows", "process.commandLine", "process.user.username"):
        assert "%s: not for Linux: ignored" % path in r.stderr, r.stderr


@pytest.mark.parametrize("field", ["intelRdt"])
def test_features_says_disabled_what_is_refused(env, field):
    doc = json.loads(env.pyrunc("features").stdout)
    assert doc["linux"][field] == {"enabled": False}
    spec = env.spec()
    spec["linux"][field] = {}
    r = env.run(spec)
    assert r.returncode == 1 and "linux.%s: " % field in r.stderr, r.stderr
