"""The programs of examples/ run, use only the public API, say what they
should, and leave nothing behind (issue 12)."""
import ast
import os
import subprocess
import sys

import pytest

from .conftest import _cgroup_leftovers, _processes_with

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _run(name, *args):
    p = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, name)] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    # (the containers' ids carry the example's pid)
    marker = "-%d-" % p.pid if name == "pool.py" else "-%d" % p.pid
    assert not _cgroup_leftovers(marker) and not _processes_with(marker)
    return out


def test_run_and_capture_streams_the_output_and_gives_the_status(rootfs):
    out = _run("run_and_capture.py", str(rootfs))
    assert out.splitlines() == [
        "container says: hello from example", "container says: to stderr",
        "container says: line 1", "container says: line 2", "container says: line 3",
        "exit status: 7"]


def test_a_pool_gets_its_limits_and_an_update(rootfs):
    lines = _run("pool.py", str(rootfs), "3").splitlines()
    limits = [(l.split("limit ")[1].split(")")[0], l.split("limit ")[2].split(")")[0])
              for l in lines if "processes" in l]
    assert limits == [("10", "32 MiB"), ("11", "48 MiB"), ("12", "64 MiB"), ("5", "32 MiB")]
    assert lines[-1] == "pool of 3 deleted"


def test_exec_into_a_running_container(rootfs):
    out = _run("exec_into.py", str(rootfs))
    assert "hostname: 'target'" in out
    assert "as another user: 'uid=1000 GREETING=hi' (status 0)" in out
    assert "a failing command: status 4" in out
    assert "among the container's: True" in out
    assert "exec of a missing program: " in out and "no such file or directory" in out


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(EXAMPLES) if n.endswith(".py")))
def test_examples_use_only_the_public_api(name):
    """No `from pyrunc.x import`, no pyrunc.x.y access: only pyrunc.NAME
    with NAME in pyrunc.__all__."""
    import pyrunc
    with open(os.path.join(EXAMPLES, name)) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyrunc"):
            pytest.fail("%s: from %s import" % (name, node.module))
        if isinstance(node, ast.Import):
            assert all(a.name == "pyrunc" or not a.name.startswith("pyrunc")
                       for a in node.names), name
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "pyrunc":
            assert node.attr in pyrunc.__all__, "%s: pyrunc.%s" % (name, node.attr)
