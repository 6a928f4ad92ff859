"""linux.intelRdt's resctrl logic (resctrl.py) on a stand-in resctrl tree:
no machine here has Intel RDT to mount resctrl with, so its kernel side
(mkdir makes a group's schemata and tasks files, rmdir removes a group
with them) is faked by a directory tree; what the runtime writes where is
read back from it."""
import os

import pytest

from pyrunc import resctrl
from pyrunc.errors import BadArgument, ConfigError
from pyrunc.plan import HostInfo, make_exec_plan
from pyrunc.resctrl import RdtGroup, check_update, destroy, mount_point, task_files
from pyrunc.specgen import default_spec


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A stand-in resctrl mount: its root group, and mkdir/rmdir that act
    as resctrl's do (a new group comes with its files)."""
    top = tmp_path / "resctrl"
    top.mkdir()
    for name in ("schemata", "tasks"):
        (top / name).write_text("")
    (top / "schemata").write_text("L3:0=7ff;1=7ff\nMB:0=100;1=100\n")
    (top / "mon_groups").mkdir()
    real_mkdir, real_rmdir = os.mkdir, os.rmdir

    def mkdir(path, mode=0o777, **kw):
        real_mkdir(path, mode, **kw)
        if kw or not str(path).startswith(str(top)):
            return
        for name in ("schemata", "tasks"):
            open(os.path.join(path, name), "w").close()
        if os.path.basename(os.path.dirname(path)) != "mon_groups":
            real_mkdir(os.path.join(path, "mon_groups"))

    def rmdir(path, **kw):
        if kw or not path.startswith(str(top)):
            return real_rmdir(path, **kw)
        if not os.path.isdir(path):
            raise FileNotFoundError(2, "No such file or directory")
        for where, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.unlink(os.path.join(where, name))
            for name in dirs:
                real_rmdir(os.path.join(where, name))
        real_rmdir(path)
    monkeypatch.setattr(resctrl.os, "mkdir", mkdir)
    monkeypatch.setattr(resctrl.os, "rmdir", rmdir)
    return str(top)


def lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_the_mount_is_found_in_mountinfo(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                    "40 22 0:33 / /sys/fs/res\\040ctrl rw - resctrl resctrl rw\n")
    assert mount_point(str(info)) == "/sys/fs/res ctrl"
    info.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n")
    assert mount_point(str(info)) is None


def test_a_container_without_closid_gets_a_group_of_its_own_with_its_schemata(root):
    rdt = {"l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=20", "schemata": ["L2:0=3"],
           "enableMonitoring": True}
    group = RdtGroup(rdt, "c1", root)
    group.check()
    group.make()
    own = os.path.join(root, "c1")
    # l3CacheSchema first, memBwSchema, then schemata: each its own write
    assert lines(os.path.join(own, "schemata")) == ["L3:0=f", "MB:0=20", "L2:0=3"]
    group.add(4242)
    assert lines(os.path.join(own, "tasks")) == ["4242"]
    assert lines(os.path.join(own, "mon_groups", "c1", "tasks")) == ["4242"]
    state = group.to_state()
    assert state == {"path": own, "remove": True, "mon": os.path.join(own, "mon_groups", "c1")}
    assert task_files(state) == [own + "/tasks", own + "/mon_groups/c1/tasks"]
    assert destroy(state) == [] and not os.path.exists(own)
    # a group of that name that is there already may be somebody else's
    os.mkdir(own)
    with pytest.raises(ConfigError, match="linux.intelRdt: the resctrl group .*/c1 exists"):
        RdtGroup(rdt, "c1", root).check()


def test_a_closid_group_that_exists_must_hold_the_schemata(root):
    os.mkdir(os.path.join(root, "gold"))
    with open(os.path.join(root, "gold", "schemata"), "w") as f:
        f.write("    L3:0=07f0;1=1F\n      MB:0= 20;1= 70\n")
    good = RdtGroup({"closID": "gold", "l3CacheSchema": "L3:0=7f0;1=01f",
                     "schemata": ["MB:0=20"]}, "c1", root)
    good.check()
    good.make()
    # (nothing is written to a group that is there: it is checked)
    assert lines(os.path.join(root, "gold", "schemata"))[0] == "    L3:0=07f0;1=1F"
    good.add(7)
    assert lines(os.path.join(root, "gold", "tasks")) == ["7"]
    # and it is not removed at delete: not made for the container
    assert destroy(good.to_state()) == [] and os.path.isdir(os.path.join(root, "gold"))
    bad = RdtGroup({"closID": "gold", "memBwSchema": "MB:0=30"}, "c1", root)
    with pytest.raises(ConfigError, match="the existing group 'gold' does not have the schema "
                       "'MB:0=30'"):
        bad.check()


def test_a_closid_without_schemata_must_exist_and_one_with_them_is_made(root):
    with pytest.raises(ConfigError, match=r"linux.intelRdt.closID: no resctrl group 'silver'"):
        RdtGroup({"closID": "silver"}, "c1", root).check()
    made = RdtGroup({"closID": "silver", "memBwSchema": "MB:0=50"}, "c1", root)
    made.check()
    made.make()
    assert lines(os.path.join(root, "silver", "schemata")) == ["MB:0=50"]
    # made, but named by the config: kept at delete (runtime-spec)
    assert destroy(made.to_state()) == [] and os.path.isdir(os.path.join(root, "silver"))


def test_closid_slash_is_the_default_group(root):
    group = RdtGroup({"closID": "/"}, "c1", root)
    group.check()
    group.make()
    group.add(9)
    assert lines(os.path.join(root, "tasks")) == ["9"]
    assert destroy(group.to_state()) == [] and os.path.isdir(root)


def test_update_writes_the_schema_lines_to_the_group(root):
    group = RdtGroup({}, "c2", root)
    group.make()
    state = group.to_state()
    check_update(state, "L3:0=3", "MB:0=10")
    resctrl.update(state, "L3:0=3", "MB:0=10")
    assert lines(os.path.join(root, "c2", "schemata")) == ["L3:0=3", "MB:0=10"]
    with pytest.raises(BadArgument, match="--mem-bw-schema 'L3:0=1': expected one line "
                       "starting with MB:"):
        check_update(state, None, "L3:0=1")
    with pytest.raises(BadArgument, match="the container has no Intel RDT group"):
        check_update(None, "L3:0=3", None)


def test_an_exec_process_joins_the_groups_itself():
    spec = default_spec()
    host = HostInfo()
    host.rdt_tasks = ["/sys/fs/resctrl/c1/tasks", "/sys/fs/resctrl/c1/mon_groups/c1/tasks"]
    plan = make_exec_plan(spec, spec["process"], host, pidfd=7, init_pid=42)
    writes = [s.slots for s in plan.steps if s.kind == "WRITE_HOST"]
    assert writes == [{"s1": path, "s2": "0"} for path in host.rdt_tasks]
    # before it enters the container's namespaces
    kinds = [s.kind for s in plan.steps]
    assert kinds.index("WRITE_HOST") < kinds.index("SETNS_FD")
