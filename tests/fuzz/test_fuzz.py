"""Hostile configs (issue 10): pyrunc answers a mutated config.json with one
line naming what is wrong, or runs it, and never changes the host.

(a) no root: mutated configs through the input boundary and the planner;
(b) root: every saved failure (tests/fuzz/corpus/) replayed through the CLI;
(c) root: a short run of real cases.
The harness itself (mutator, host snapshot) is checked first, so that a
green run means something."""
import copy
import functools
import json
import os
import time
from collections import Counter

import pytest

from pyrunc import bundle as bundle_mod
from pyrunc.cgroups.resources import writes
from pyrunc.errors import PyruncError
from pyrunc.plan import make_plan

from support import hostcheck
from .conftest import SEED, corpus_files, run_runner
from .mutate import SEED_NAMES, Mutator, dumps, make_case, seeds, v2_controllers

CASES = 3000


@functools.lru_cache(maxsize=None)
def cases():
    return [make_case(SEED, i) for i in range(CASES)]


def _load(bundle, text):
    """bundle.load without the file (3000 writes of config.json cost
    seconds): the same parse, check and rootfs resolution."""
    data = text.encode("ascii")
    config = bundle_mod.parse_json(data, "config.json")
    bundle_mod.check(config, data)
    return config, bundle_mod.resolve_rootfs(bundle, config["root"]["path"])


# where each cgroup controller is (cgroups.resources.writes asks): this
# machine's layout (v2 for what cgroup2 lists, as the seeds' "unified"
# assumes), all v2, none
_V2_HERE = set(v2_controllers())
LAYOUTS = (lambda c: "v2" if c in _V2_HERE else "v1", lambda c: "v2", lambda c: None)


def _through_the_boundary(bundle, text, host, version_of):
    """What create does with a config before it touches the machine."""
    config, rootfs = _load(bundle, text)
    linux = config.get("linux") or {}
    if linux.get("resources") is not None:
        writes(linux["resources"], version_of, linux.get("devices") or ())
    make_plan(config, bundle, rootfs, host, container_id="fuzz")


# -- the harness ---------------------------------------------------------------

def test_every_seed_is_a_config_pyrunc_accepts(tmp_path, fake_hosts):
    # a seed that is already refused would leave the mutations nothing to find
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    assert sorted(seeds()) == sorted(SEED_NAMES)
    for name, spec in seeds().items():
        _through_the_boundary(str(bundle), json.dumps(spec), fake_hosts[0], LAYOUTS[0])


def test_cases_are_the_same_for_a_seed_and_every_operator_is_used():
    first = cases()
    assert [c.text for c in first[:50]] == [make_case(SEED, i).text for i in range(50)]
    assert make_case(SEED, 0).text != make_case(SEED + "x", 0).text
    used = Counter(op.split()[0] for c in first for op in c.ops)
    assert set(used) == {name for name, _ in Mutator.OPERATORS}, used
    assert {c.seed for c in first} == set(SEED_NAMES)
    # ASCII JSON: a lone surrogate is written as an escape, not lost
    assert all(c.text.isascii() for c in first)
    assert any("\\ud800" in c.text for c in first)


def test_dumps_writes_what_json_dumps_cannot():
    from .mutate import Raw
    text = dumps({"a": Raw("1e400"), "b": ["\ud800", Raw("[" * 1500 + "1" + "]" * 1500)]})
    assert text.startswith('{"a": 1e400, "b": ["\\ud800", [[[')
    assert json.loads(text.replace("[" * 1500 + "1" + "]" * 1500, "1"))["a"] == float("inf")


def _mount_line(point, super_opts="rw", fstype="tmpfs", dev="0:99", mid="900"):
    return hostcheck.Mount("%s 1 %s / %s rw,relatime - %s none %s" % (mid, dev, point, fstype,
                                                                     super_opts))


def test_hostcheck_names_a_superblock_flag_the_dev_owner_and_a_leftover_mount():
    before = hostcheck.snapshot()
    assert before.took < 0.1 and before.mounts and before.dev and before.sysctl
    own = "/tmp/pyrunc-fuzz-test"
    before.mounts.append(_mount_line("/srv/data", "rw,size=4k", dev="0:97"))
    after = copy.copy(before)
    after.mounts = before.mounts[:-1] + [
        _mount_line("/srv/data", "ro,size=4k", dev="0:97"),
        _mount_line(own + "/b/rootfs/proc", fstype="proc"),
        _mount_line("/run/docker/netns/x", dev="0:98")]
    after.dev = dict(before.dev)
    uid, gid, mode, rdev = before.dev["null"]
    after.dev["null"] = (100000, 100000, mode, rdev)
    after.sysctl = dict(before.sysctl, **{"kernel/core_pattern": "|/tmp/x"})
    texts = {c.text: c.kind for c in hostcheck.diff(before, after, hostcheck.Scope(own=[own]))}
    # /srv/data is no place a container reaches, but its superblock is shared
    assert texts.pop("mounts: superblock 0:97 (tmpfs on /srv/data): options rw,size=4k -> "
                     "ro,size=4k") == "host"
    assert texts.pop("/dev/null: 0:0 mode %o rdev 1:3 -> 100000:100000 mode %o rdev 1:3"
                     % (mode, mode)) == "host"
    assert texts.pop("sysctl kernel.core_pattern: %r -> '|/tmp/x'"
                     % before.sysctl["kernel/core_pattern"]) == "host"
    # the docker mount is somebody else's: only ours is left
    assert texts == {"mounts: new mount none on %s/b/rootfs/proc type proc (rw,relatime; "
                     "super rw)" % own: "leftover"}


# -- (a) no root ---------------------------------------------------------------

def test_mutated_configs_end_in_one_line_errors_or_a_plan(tmp_path, fake_hosts):
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    t0 = time.perf_counter()
    bad, accepted = [], 0
    for i, case in enumerate(cases()):
        try:
            _through_the_boundary(str(bundle), case.text, fake_hosts[i % 3], LAYOUTS[i % 3])
            accepted += 1
        except PyruncError as e:
            if "\n" in str(e) or "\r" in str(e) or not str(e):
                bad.append((case, "%s not one line: %r" % (type(e).__name__, str(e)[:300])))
        except Exception as e:  # noqa: BLE001 - what the test is about
            bad.append((case, "%s: %s" % (type(e).__name__, str(e)[:300])))
    took = time.perf_counter() - t0
    kinds = Counter(why.split(":")[0] for _, why in bad)
    assert not bad, "%d of %d configs (seed %s) got no clean error: %s\n%s" % (
        len(bad), CASES, SEED, dict(kinds), "\n".join(
            "#%d [%s] %s => %s" % (c.index, c.seed, "; ".join(c.ops)[:200], why)
            for c, why in bad[:15]))
    # the mutations leave many configs valid: the planner is reached, not only the checks
    assert accepted > CASES // 10, accepted
    # 2 s here; the bound catches a pathological case (a 100,000-part
    # root.path costs pyrunc's realpath 1.7 s), not a busy machine
    assert took < 15, "%.1fs" % took


# -- (b), (c) root -------------------------------------------------------------

@pytest.mark.root
def test_the_replay_of_a_seed_config_ends_ok(need_root, tmp_path):
    # the replay machinery itself: an unmutated config runs, leaves nothing
    case = tmp_path / "seed.json"
    case.write_text(json.dumps({"class": "ok", "seed": "hostmnt", "ops": [], "userns": False,
                                "config": make_case(SEED, 0, mutations=False,
                                                    only=["hostmnt"]).text}))
    summary, output = run_runner(["--replay", str(case)], tmp_path / "summary.json", 120)
    (result,), = [summary["replays"]]
    assert (result["class"], result["changes"]) == ("ok", []), output[-3000:]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Every corpus case replayed by one runner, each in a fresh worker."""
    if os.geteuid() != 0:
        pytest.skip("runs real containers through the CLI: needs root")
    files = corpus_files()
    summary, output = run_runner(["--replay"] + files,
                                 tmp_path_factory.mktemp("replay") / "summary.json",
                                 60 + 20 * len(files))
    return {r["file"]: r for r in summary["replays"]}, summary, output


@pytest.mark.root
@pytest.mark.parametrize("path", corpus_files(), ids=os.path.basename)
def test_a_saved_failure_now_ends_clean(replayed, path):
    results, summary, output = replayed
    name = os.path.basename(path)
    assert name in results, "not replayed: the replay stopped before it\n" + output[-3000:]
    result = results[name]
    assert result["class"] in ("ok", "clean error") and not result["changes"], (
        "%s: %s: %s\n%s" % (name, result["class"], result["line"], output[-3000:]))
    swept = [line for line in summary.get("final_sweep") or () if result["id"] in line]
    assert not swept, "left after the case, removed by the runner's final sweep: %s" % swept


@pytest.mark.root
def test_a_short_run_of_real_cases_is_clean(need_root, tmp_path):
    t0 = time.time()
    summary, output = run_runner(["-n", "60", "--seed", SEED, "--keep-going", "--no-save",
                                  "--timeout", "20"], tmp_path / "summary.json", 600)
    counts = summary["counts"]
    assert summary["cases"] == 60, output[-3000:]
    assert counts["ok"] + counts["clean error"] == 60, "%s\n%s" % (
        {k: v for k, v in counts.items() if v}, "\n".join(
            "%s x%d: #%d [%s] %s => %s" % (d["class"], d["count"], d["example"]["index"],
                                           d["example"]["seed"], "; ".join(d["example"]["ops"]),
                                           d["example"]["line"])
            for d in summary["distinct"]))
    assert counts["ok"] >= 5, counts   # real containers ran, not only refusals
    assert not summary.get("final_sweep"), summary["final_sweep"]
    print("60 real cases in %.1fs" % (time.time() - t0))
