"""Bad input: one clear line, exit 1, no traceback, nothing created."""
import json
import os

import pytest


def assert_clean_failure(env, r, text):
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert text in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # (entries starting with "." are the runtime's caches, not containers)
    assert not os.path.isdir(env.state_root) or [
        n for n in os.listdir(env.state_root) if not n.startswith(".")] == []


@pytest.mark.parametrize("cid", ["", "a/b", "..", ".", "a b", "a\nb", "x" * 300, "a\tb"])
def test_invalid_ids(env, cid):
    r = env.pyrunc("create", "-b", env.bundle(env.spec()), cid)
    assert_clean_failure(env, r, "container id")


@pytest.mark.parametrize("mutate, text", [
    (lambda s: s["process"].__setitem__("args", "sh"), "process.args: expected array of strings"),
    (lambda s: s["process"].__setitem__("args", ["sh", 1]), "process.args"),
    (lambda s: s["process"].pop("args"), "process.args: required"),
    (lambda s: s.pop("root"), "root: required"),
    (lambda s: s.__setitem__("ociVersion", "2.0.0"), "ociVersion"),
    (lambda s: s["linux"]["namespaces"].append({"type": "foo"}), "unknown namespace type"),
    (lambda s: s["linux"]["namespaces"].append({"type": "pid"}), "duplicate namespace type"),
    (lambda s: s["process"].__setitem__("cwd", "relative"), "process.cwd"),
    (lambda s: s["process"].__setitem__("args", ["no-such-binary"]),
     "executable file not found in $PATH"),
    (lambda s: s["process"].__setitem__("args", ["/bin/nope"]), "no such file or directory"),
    (lambda s: s["root"].__setitem__("path", "/nonexistent/rootfs"), "does not exist"),
    (lambda s: s["mounts"].append({"destination": "/x", "type": "bind",
                                   "source": "/nonexistent/src"}), 'mount "/nonexistent/src"'),
    (lambda s: s["linux"].__setitem__("sysctl", {"vm.swappiness": "1"}),
     "linux.sysctl: vm.swappiness is not in a namespace of the container"),
    (lambda s: (s["linux"].__setitem__("sysctl", {"net.ipv4.ip_forward": "1"}),
                s["linux"]["namespaces"].remove({"type": "network"})),
     "linux.sysctl: net.ipv4.ip_forward needs a new or joined network namespace"),
    (lambda s: s["linux"].__setitem__("personality", {"domain": "BSD"}),
     "linux.personality.domain: unknown domain 'BSD'"),
    (lambda s: s["linux"].__setitem__("personality", {"domain": "LINUX", "flags": ["FAST"]}),
     "linux.personality.flags[0]: unknown flag 'FAST'"),
])
def test_invalid_configs(env, mutate, text):
    spec = env.spec(["true"])
    mutate(spec)
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, text)


def test_missing_and_unparsable_config(env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_failure(env, env.pyrunc("create", "-b", str(empty), env.cid()), "config.json")
    (empty / "config.json").write_text("{nope")
    assert_clean_failure(env, env.pyrunc("create", "-b", str(empty), env.cid()), "invalid JSON")


def test_commands_on_a_missing_container(env):
    for args in (["start"], ["state"], ["kill"], ["delete"]):
        assert_clean_failure(env, env.pyrunc(*args, "nothere"), "does not exist")
    assert env.pyrunc("delete", "-f", "nothere").returncode == 0


def test_unknown_signal_and_usage_errors(env):
    cid = env.cid()
    assert env.pyrunc("create", "-b", env.bundle(env.spec()), cid).returncode == 0
    r = env.pyrunc("kill", cid, "SIGFOO")
    assert r.returncode == 1 and "unknown signal" in r.stderr
    assert env.state(cid)["status"] == "created"
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    for args, text in ((["create", "--bogus", "x"], "flag provided but not defined"),
                       (["create"], "requires exactly 1 argument"),
                       (["nosuchcommand"], "no such command")):
        assert_clean_failure(env, env.pyrunc(*args), text)


def test_version_and_spec(env, tmp_path):
    r = env.pyrunc("--version")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("pyrunc version ") and lines[1].startswith("commit: v")
    assert lines[2] == "spec: 1.3.0"
    assert env.pyrunc("spec", "-b", str(tmp_path)).returncode == 0
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"] and spec["root"]["path"] == "rootfs"
    r = env.pyrunc("spec", "-b", str(tmp_path))
    assert r.returncode == 1 and "exists" in r.stderr


def test_a_failing_step_in_the_child_names_the_step(env, tmp_path):
    spec = env.spec(["true"])
    spec["mounts"].append({"destination": "/bad", "type": "nosuchfs", "source": "x"})
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert_clean_failure(env, r, 'mount "x" on "/bad": no such device')


def test_debug_logs_the_plan_and_json_logs_go_to_the_log_file(env, tmp_path):
    log = tmp_path / "log.json"
    r = env.pyrunc("--debug", "--log", str(log), "--log-format", "json", "run", "-b",
                   env.bundle(env.spec(["true"])), env.cid())
    assert r.returncode == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(l["level"] == "debug" and "pivot_root" in l["msg"] for l in lines)
    assert all(set(l) == {"level", "msg", "time"} for l in lines)
    r = env.pyrunc("--log", str(log), "--log-format", "json", "state", "nothere")
    assert r.returncode == 1
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["level"] == "error" and "does not exist" in last["msg"]
    # a malformed command line too (containerd's shim reads only the log)
    r = env.pyrunc("--log=%s" % log, "--log-format=json", "bogus", "x")
    assert r.returncode == 1
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["msg"] == "pyrunc: no such command: bogus (see pyrunc --help)" == r.stderr.strip()


def test_features_lists_what_works(env):
    from pyrunc.plan import parse_mount_options
    r = env.pyrunc("features")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["ociVersionMin"], doc["ociVersionMax"]) == ("1.0.0", "1.3.0")
    assert sorted(doc["linux"]["namespaces"]) == sorted(
        ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"])
    # every mount option listed is one the planner turns into flags
    for opt in doc["mountOptions"]:
        flags, prop, data = parse_mount_options([opt])
        assert data == "", opt
    seccomp = doc["linux"]["seccomp"]
    assert "SCMP_ACT_NOTIFY" in seccomp["actions"]
    assert "SCMP_ARCH_%s" % os.uname().machine.upper() in seccomp["archs"]
    assert set(seccomp["supportedFlags"]) <= set(seccomp["knownFlags"])
    assert doc["linux"]["cgroup"]["v1"] and doc["linux"]["cgroup"]["v2"]
    assert doc["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    assert {"idmap", "ridmap"} <= set(doc["mountOptions"])
    # every memory policy mode and flag listed is one a config may use
    from pyrunc.bundle import check
    from pyrunc.specgen import default_spec
    policy = doc["linux"]["memoryPolicy"]
    assert "MPOL_BIND" in policy["modes"] and "MPOL_F_STATIC_NODES" in policy["flags"]
    for mode in policy["modes"]:
        spec = default_spec()
        nodes = "" if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") else "0"
        spec["linux"]["memoryPolicy"] = {"mode": mode, "nodes": nodes, "flags": policy["flags"]}
        check(spec)
    # (runc 1.4's key: runtime-spec features.md, linux.netDevices)
    assert doc["linux"]["netDevices"] == {"enabled": True}
