"""OCI hooks: when they run, what they read on stdin, what a failure does."""
import json
import os
import subprocess

from .test_lifecycle import wait_exit


def hook(tmp_path, name, log, body=""):
    path = tmp_path / ("hook-" + name)
    path.write_text("#!/bin/sh\nstate=$(cat)\necho \"%s $1 $HOOKVAR $state\" >> %s\n%s\n"
                    % (name, log, body))
    os.chmod(path, 0o755)
    return {"path": str(path), "args": [str(path), "arg-" + name], "env": ["HOOKVAR=v-" + name]}


def entries(log):
    out = []
    for line in log.read_text().splitlines():
        name, arg, var, state = line.split(" ", 3)
        out.append((name, arg, var, json.loads(state)))
    return out


def test_all_hooks_run_in_order_with_the_state_on_stdin(env, tmp_path, own_rootfs):
    env.rootfs = own_rootfs
    log = tmp_path / "hooks.log"
    names = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"]
    spec = env.spec(["true"])
    spec["hooks"] = {n: [hook(tmp_path, n, log)] for n in names}
    # startContainer runs in the container after pivot_root: its path is
    # looked up there, and it logs through a bind mount of tmp_path.
    inside = own_rootfs / "hook-startContainer"
    inside.write_text((tmp_path / "hook-startContainer").read_text())
    os.chmod(inside, 0o755)
    spec["hooks"]["startContainer"][0]["path"] = "/hook-startContainer"
    spec["mounts"].append({"destination": str(tmp_path), "type": "bind",
                           "source": str(tmp_path), "options": ["bind"]})
    spec["annotations"] = {"org.example/key": "value"}
    cid = env.cid()
    bundle = env.bundle(spec)
    assert env.pyrunc("create", "-b", bundle, cid, stdin=subprocess.DEVNULL).returncode == 0
    pid = env.state(cid)["pid"]
    assert [e[0] for e in entries(log)] == names[:3]
    assert env.pyrunc("start", cid).returncode == 0
    wait_exit(pid)
    assert env.pyrunc("delete", cid).returncode == 0
    got = entries(log)
    assert [e[0] for e in got] == names
    for name, arg, var, state in got:
        assert arg == "arg-" + name and var == "v-" + name, (name, arg, var)
        assert state["id"] == cid and state["bundle"] == bundle
        assert state["annotations"] == {"org.example/key": "value"}
        assert state["ociVersion"].startswith("1.")
    statuses = {name: state["status"] for name, _, _, state in got}
    assert statuses["createRuntime"] == "created" and statuses["poststop"] == "stopped"
    assert statuses["poststart"] == "running"
    assert all(state["pid"] == pid for name, _, _, state in got if name != "poststop")


def test_a_failing_create_hook_fails_create_and_leaves_nothing(env, tmp_path):
    for kind in ("prestart", "createRuntime", "createContainer"):
        spec = env.spec(["true"])
        spec["hooks"] = {kind: [hook(tmp_path, kind, tmp_path / "log", "exit 3")]}
        cid = env.cid()
        r = env.pyrunc("create", "-b", env.bundle(spec), cid)
        assert r.returncode == 1
        assert kind in r.stderr and "exit status 3" in r.stderr
        assert "Traceback" not in r.stderr
        assert not os.path.exists(os.path.join(env.state_root, cid))


def test_a_hook_that_times_out_is_killed(env, tmp_path):
    spec = env.spec(["true"])
    h = hook(tmp_path, "createRuntime", tmp_path / "log", "sleep 30")
    h["timeout"] = 1
    spec["hooks"] = {"createRuntime": [h]}
    r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
    assert r.returncode == 1 and "timed out" in r.stderr


def test_failing_poststart_and_poststop_hooks_are_warnings(env, tmp_path):
    spec = env.spec(["true"])
    spec["hooks"] = {k: [hook(tmp_path, k, tmp_path / "log", "exit 1")]
                     for k in ("poststart", "poststop")}
    r = env.run(spec)
    assert r.returncode == 0
    assert "poststart hook" in r.stderr and "poststop hook" in r.stderr
    assert "warning" in r.stderr
