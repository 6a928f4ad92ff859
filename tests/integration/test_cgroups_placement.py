"""cgroupsPath: the container is placed in every hierarchy, then removed."""
import os
import subprocess
import uuid


def hierarchies():
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if " - cgroup" in line]


def test_absolute_cgroups_path_is_created_joined_and_removed(env):
    top = "/pyrunc-test-%s" % uuid.uuid4().hex[:8]
    spec = env.spec(["sleep", "30"])
    spec["linux"]["cgroupsPath"] = top + "/c1"
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "cgroup"]
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    for mnt in hierarchies():
        with open(mnt + top + "/c1/cgroup.procs") as f:
            assert str(pid) in f.read().split(), mnt
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    for mnt in hierarchies():
        assert not os.path.exists(mnt + top), mnt


def test_default_cgroup_is_the_id_under_our_own(env):
    cid = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(env.spec(["sleep", "30"])), cid,
                   stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    with open("/proc/self/cgroup") as f:
        mine = {l.split(":", 2)[1]: l.split(":", 2)[2] for l in f.read().splitlines()}
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        assert path.rstrip("/").endswith("/" + cid) or path == "/" + cid
        assert path.startswith(mine[ctrls].rstrip("/"))
    assert env.pyrunc("delete", "-f", cid).returncode == 0


def test_cgroup_mount_inside_shows_the_container_cgroup_read_only(env):
    # cgroup v1: one directory per hierarchy; pure v2: the cgroup itself
    sub = "" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "/pids"
    r = env.run(env.spec(["sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup%s/cgroup.procs; "
                                      "touch /sys/fs/cgroup%s/x || echo ro" % (sub, sub)]))
    lines = r.stdout.split()
    if sub:
        assert "memory" in lines and "pids" in lines
    else:
        assert "cgroup.procs" in lines
    assert "1" in lines and lines[-1] == "ro"


def test_a_cgroup_with_processes_is_not_shared(env):
    """An existing cgroup that has processes of somebody else is refused,
    and left as it was."""
    top = "/pyrunc-test-%s" % uuid.uuid4().hex[:8]
    made = []
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for mnt in hierarchies():
            d = mnt + top
            os.mkdir(d)
            made.append(d)
        cpuset = [d for d in made if "/cpuset/" in d]
        for d in cpuset:
            for name in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.dirname(d) + "/" + name) as f, open(d + "/" + name, "w") as g:
                    g.write(f.read())
        for d in made:
            with open(d + "/cgroup.procs", "w") as f:
                f.write(str(sleeper.pid))
        spec = env.spec(["true"])
        spec["linux"]["cgroupsPath"] = top
        r = env.pyrunc("create", "-b", env.bundle(spec), env.cid())
        assert r.returncode == 1 and "already has processes (%d)" % sleeper.pid in r.stderr
        for d in made:
            with open(d + "/cgroup.procs") as f:
                assert f.read().split() == [str(sleeper.pid)]
    finally:
        sleeper.kill()
        sleeper.wait()
        for d in made:
            os.rmdir(d)
