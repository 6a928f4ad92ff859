"""Fixtures of the fuzz tests: the run seed, fake hosts for the planner, the
runner as a subprocess (root)."""
import json
import os
import subprocess
import sys

import pytest

from pyrunc.plan import HostInfo
from support.command import installed_command

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

# PYRUNC_FUZZ_SEED=N runs other cases than the fixed ones
SEED = os.environ.get("PYRUNC_FUZZ_SEED", "20261130")

# the CLI the integration tests run: the installed front-end, else python -m pyrunc
FRONT = installed_command()
CLI = FRONT if FRONT else "%s -m pyrunc" % sys.executable


@pytest.fixture
def need_root():
    if os.geteuid() != 0:
        pytest.skip("runs real containers through the CLI: needs root")


@pytest.fixture
def fake_hosts(tmp_path):
    """HostInfo of three kinds of machine: hybrid v1 (the child joins its
    cgroups), pure v2 under systemd (the runtime joins them), and one with
    both LSMs enabled."""
    cg = tmp_path / "cgroup"
    v1 = [("cpu", str(cg / "cpu" / "c"), False), ("memory", str(cg / "memory" / "c"), False),
          ("unified", str(cg / "unified" / "c"), True)]
    v2 = [("", str(cg / "c"), True)]
    return [HostInfo(cap_last_cap=40, cgroup_mounts=v1),
            HostInfo(cap_last_cap=40, cgroup_mounts=v2, parent_joins=True),
            HostInfo(cap_last_cap=37, cgroup_mounts=v1, apparmor=True, selinux=True,
                     bounding=(1 << 38) - 1 - (1 << 21))]


def run_runner(args, summary, timeout):
    """`python -m tests.fuzz.runner ARGS --summary FILE` -> (summary, output)."""
    cmd = [sys.executable, "-m", "tests.fuzz.runner", "--pyrunc", CLI, "--summary",
           str(summary)] + list(args)
    r = subprocess.run(cmd, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    assert os.path.exists(summary), "the runner wrote no summary:\n%s\n%s" % (
        r.stdout[-3000:], r.stderr[-3000:])
    with open(summary) as f:
        return json.load(f), r.stdout + r.stderr


def corpus_files():
    if not os.path.isdir(CORPUS):
        return []
    return sorted(os.path.join(CORPUS, n) for n in os.listdir(CORPUS) if n.endswith(".json"))
