"""cgroupsPath -> directories, from fake /proc files."""
import os

import pytest

from pyrunc.cgroups import container_dir, hierarchies

MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
99 31 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
"""
CGROUP = """\
4:memory:/machine/a
3:cpu:/machine
1:name=systemd:/
0::/init.scope
"""


def fake(tmp_path):
    (tmp_path / "mountinfo").write_text(MOUNTINFO)
    (tmp_path / "cgroup").write_text(CGROUP)
    return {h.name: h for h in hierarchies(str(tmp_path / "mountinfo"),
                                            str(tmp_path / "cgroup"))}


def test_hierarchies_are_found_once_with_our_own_cgroup(tmp_path):
    hs = fake(tmp_path)
    assert set(hs) == {"cpu", "memory", "systemd", "unified"}
    assert hs["memory"].own == "/machine/a" and hs["unified"].own == "/init.scope"
    assert hs["unified"].v2 and not hs["cpu"].v2
    assert hs["systemd"].controllers == ("name=systemd",)


def test_absolute_relative_and_default_paths(tmp_path):
    hs = fake(tmp_path)
    assert container_dir(hs["cpu"], "/a/b", "id") == "/sys/fs/cgroup/cpu/a/b"
    assert container_dir(hs["memory"], "x/y", "id") == "/sys/fs/cgroup/memory/machine/a/x/y"
    assert container_dir(hs["unified"], "", "c1") == "/sys/fs/cgroup/unified/init.scope/c1"


def test_relative_paths_cannot_climb_out(tmp_path):
    hs = fake(tmp_path)
    assert container_dir(hs["memory"], "../../../etc", "id") == \
        "/sys/fs/cgroup/memory/machine/a/etc"


def test_exec_sub_cgroups_as_runc_names_them(tmp_path):
    from pyrunc.cgroups import CgroupError, Cgroups
    cpu, mem = str(tmp_path / "cpu" / "c"), str(tmp_path / "memory" / "c")
    for d in (cpu + "/a", cpu + "/b", mem + "/a"):
        os.makedirs(d)
    cg = Cgroups([("cpu,cpuacct", cpu, False), ("memory", mem, False)])
    assert [p for _, p, _ in cg.sub(["a"]).dirs] == [cpu + "/a", mem + "/a"]
    assert [p for _, p, _ in cg.sub(["cpu:b"]).dirs] == [cpu + "/b", mem]
    assert [p for _, p, _ in cg.sub(["a", "cpuacct:b"]).dirs] == [cpu + "/b", mem + "/a"]
    for bad, text in ((["../x"], "expected"), (["nosuch"], "does not exist"),
                      (["pids:a"], "no cgroup of controller pids"), ([""], "expected")):
        with pytest.raises(CgroupError, match=text):
            cg.sub(bad)


def test_no_controller_is_enabled_in_a_cgroup_with_processes_of_its_own(tmp_path):
    """(the runtime's own cgroup under systemd on pure v2: a threaded
    controller there would make it a thread root that no container's
    process could enter; on the root of the hierarchy there is no rule)"""
    from pyrunc.cgroups import CgroupError, Cgroups
    top = tmp_path / "cg"
    own = top / "own"
    leaf = own / "c1"
    leaf.mkdir(parents=True)
    (top / "cgroup.subtree_control").write_text("")
    (top / "cgroup.procs").write_text("1\n")            # the root: no cgroup.type
    (own / "cgroup.type").write_text("domain\n")
    (own / "cgroup.subtree_control").write_text("")
    (own / "cgroup.procs").write_text("4242\n")
    cg = Cgroups([("", str(leaf), True)], mountpoints={str(leaf): str(top)})
    with pytest.raises(CgroupError, match=r"own\": that cgroup has processes of its own \(4242\)"):
        cg._enable_v2(str(leaf), "pids")
    assert (top / "cgroup.subtree_control").read_text() == "+pids"
    assert (own / "cgroup.subtree_control").read_text() == ""
    (own / "cgroup.procs").write_text("")             # empty: allowed
    cg._enable_v2(str(leaf), "pids")
    assert (own / "cgroup.subtree_control").read_text() == "+pids"
