"""The compiled front-end (csrc/front.c): start and delete of a plain
container without the interpreter, everything else through the Python CLI,
with the same results and the same errors either way.

Which way a call went is read from strace: the fast way is one execve (the
front-end itself), the Python way two (then the interpreter)."""
import os
import shutil
import subprocess
import sys

import pytest

from pyrunc.cgroups import container_dir, hierarchies

from .conftest import FRONT
from .test_lifecycle import wait_exit

PYTHON_CLI = [sys.executable, "-m", "pyrunc"]


def traced(env, *args):
    """Run the front-end under strace; returns (CompletedProcess, number of
    execve calls that succeeded)."""
    strace = shutil.which("strace")
    assert strace, "strace is needed: apt-get install strace"
    log = env.tmp / "strace.log"
    r = env.pyrunc(*args, command=[strace, "-f", "-qq", "-e", "trace=execve",
                                   "-o", str(log), FRONT])
    lines = log.read_text().splitlines()
    return r, sum(1 for line in lines if "execve(" in line and line.endswith("= 0"))


def created(env, spec):
    cid = env.cid()
    r = env.pyrunc("create", "-b", env.bundle(spec), cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return cid, env.state(cid)["pid"]


def test_the_installed_command_is_the_front_end():
    assert FRONT, "the distribution installed no pyrunc command (setup.py's build_scripts)"
    with open(FRONT, "rb") as f:
        assert f.read(4) == b"\x7fELF", "%s is not the compiled front-end" % FRONT
    r = subprocess.run([FRONT, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("pyrunc version")


def test_plain_start_and_delete_run_no_interpreter(env):
    cid, pid = created(env, env.spec(["sleep", "30"]))
    cgroups = [container_dir(h, "", cid) for h in hierarchies()]
    assert all(os.path.isdir(d) for d in cgroups)

    r, execs = traced(env, "--log", str(env.tmp / "log"), "--log-format", "json", "start", cid)
    assert r.returncode == 0, r.stderr
    assert execs == 1
    assert open("/proc/%d/cmdline" % pid).read().startswith("sleep")
    assert env.state(cid)["status"] == "running"

    assert env.pyrunc("kill", cid, "KILL").returncode == 0
    wait_exit(pid)
    r, execs = traced(env, "delete", cid)
    assert r.returncode == 0, r.stderr
    assert execs == 1
    assert not os.path.exists(os.path.join(env.state_root, cid))
    assert not [d for d in cgroups if os.path.exists(d)]
    assert not os.path.exists(env.tmp / "log"), "nothing to log on success"


def test_delete_force_of_a_missing_container_succeeds_without_python(env):
    r, execs = traced(env, "delete", "--force", env.cid())
    assert (r.returncode, r.stderr, execs) == (0, "", 1)


def test_a_container_with_hooks_goes_through_python(env, tmp_path):
    out = tmp_path / "hooks.out"
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\necho \"$1\" >> %s\n" % out)
    hook.chmod(0o755)
    spec = env.spec(["true"])
    spec["hooks"] = {"poststart": [{"path": str(hook), "args": ["hook", "poststart"]}],
                     "poststop": [{"path": str(hook), "args": ["hook", "poststop"]}]}
    cid, pid = created(env, spec)
    assert not os.path.exists(os.path.join(env.state_root, cid, "fastpath"))
    r, execs = traced(env, "start", cid)
    assert r.returncode == 0, r.stderr
    assert execs >= 2
    wait_exit(pid)
    r, execs = traced(env, "delete", cid)
    assert r.returncode == 0, r.stderr
    assert execs >= 2
    assert out.read_text() == "poststart\npoststop\n"


def test_a_damaged_fastpath_file_only_means_python_does_the_work(env):
    cid, pid = created(env, env.spec(["true"]))
    path = os.path.join(env.state_root, cid, "fastpath")
    with open(path, "w") as f:
        f.write("pyrunc-fastpath 1\nnot numbers\n")
    r, execs = traced(env, "start", cid)
    assert r.returncode == 0, r.stderr
    assert execs >= 2
    wait_exit(pid)
    assert env.pyrunc("delete", cid).returncode == 0
    assert not os.path.exists(os.path.join(env.state_root, cid))


@pytest.mark.parametrize("args", [
    ("start", "{running}"),
    ("start", "{stopped}"),
    ("start", "{missing}"),
    ("start", "bad/id"),
    ("start",),
    ("start", "{running}", "extra"),
    ("delete", "{running}"),
    ("delete", "{missing}"),
    ("delete", "-x", "{stopped}"),
    ("--log-format", "yaml", "delete", "{stopped}"),
    ("--root", "", "delete", "{stopped}"),
])
def test_errors_are_the_python_cli_s(env, args):
    """Each bad call gives the same exit status and message through the
    front-end as through `python -m pyrunc`, and changes nothing."""
    running, running_pid = created(env, env.spec(["sleep", "30"]))
    assert env.pyrunc("start", running).returncode == 0
    stopped, stopped_pid = created(env, env.spec(["true"]))
    assert env.pyrunc("start", stopped).returncode == 0
    wait_exit(stopped_pid)
    names = {"running": running, "stopped": stopped, "missing": env.cid()}
    argv = [a.format(**names) for a in args]
    front = env.pyrunc(*argv)
    python = env.pyrunc(*argv, command=PYTHON_CLI)
    assert front.returncode != 0
    assert (front.returncode, front.stderr) == (python.returncode, python.stderr)
    assert front.stderr.count("\n") == 1 and "Traceback" not in front.stderr
    assert env.state(running)["status"] == "running"
    assert env.state(stopped)["status"] == "stopped"
    for cid in (running, stopped):
        assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_the_front_end_starts_python_without_the_site_module(env):
    """(README: `python -I -S`, the package's directory on sys.path) The
    process the front-end became, seen while the container runs."""
    from .conftest import readline
    spec = env.spec(["sh", "-c", "echo up; read x; true"])
    r_in, w_in = os.pipe()
    p = subprocess.Popen([FRONT, "--root", env.state_root, "run", "-b", env.bundle(spec),
                          env.cid()], stdin=r_in, stdout=subprocess.PIPE)
    os.close(r_in)
    try:
        assert readline(p.stdout) == "up\n"
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            argv = f.read().split(b"\0")
        assert argv[1:3] == [b"-I", b"-S"], argv
    finally:
        os.close(w_in)
        assert p.wait(timeout=30) == 0
