"""Namespaces: new ones, joined ones, user mappings, time offsets."""
import os
import subprocess

from .test_lifecycle import wait_exit


def ns_links(pid="self"):
    return {n: os.readlink("/proc/%s/ns/%s" % (pid, n)) for n in ("net", "ipc", "uts", "pid")}


def test_new_namespaces_differ_from_the_host(env):
    r = env.run(env.spec(["sh", "-c", "for n in net ipc uts mnt cgroup; do readlink "
                                      "/proc/self/ns/$n; done; ls /sys/class/net; "
                                      "cat /proc/self/cgroup"]))
    lines = r.stdout.splitlines()
    host = [os.readlink("/proc/self/ns/" + n) for n in ("net", "ipc", "uts", "mnt", "cgroup")]
    assert all(a != b for a, b in zip(lines[:5], host))
    assert lines[5:6] == ["lo"]
    assert all(line.endswith(":/") for line in lines[6:])


def test_domainname(env):
    spec = env.spec(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
    spec["hostname"] = "box"
    spec["domainname"] = "example.org"
    assert env.run(spec).stdout.split() == ["box", "example.org"]


def test_user_namespace_mappings(env, userns_rootfs):
    env.rootfs = userns_rootfs
    _run_in_user_namespace(env)


def _run_in_user_namespace(env):
    spec = env.spec(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                                 "sleep 30"])
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["mounts"] = [m for m in spec["mounts"] if m["destination"] not in ("/sys/fs/cgroup",)]
    cid = env.cid()
    out = env.tmp / "out"
    with open(out, "w") as f:
        r = env.pyrunc("run", "-d", "-b", env.bundle(spec), cid, stdout=f,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    pid = env.state(cid)["pid"]
    with open("/proc/%d/status" % pid) as f:
        uid_line = [l for l in f if l.startswith("Uid:")][0]
    assert uid_line.split()[1:] == ["100000"] * 4
    assert env.pyrunc("delete", "-f", cid).returncode == 0
    wait_exit(pid)
    lines = [l.split() for l in out.read_text().splitlines()]
    assert lines[0] == ["0", "100000", "65536"] and lines[1] == ["0", "100000", "65536"]
    assert lines[2] == ["0"]


def test_time_namespace_offsets(env):
    spec = env.spec(["cat", "/proc/uptime"])
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["linux"]["timeOffsets"] = {"boottime": {"secs": 864000, "nanosecs": 0}}
    inside = float(env.run(spec).stdout.split()[0])
    with open("/proc/uptime") as f:
        outside = float(f.read().split()[0])
    assert 864000 - 60 < inside - outside < 864000 + 60


def test_joining_the_namespaces_of_another_container(env):
    a = env.cid()
    r = env.pyrunc("run", "-d", "-b", env.bundle(env.spec(["sleep", "30"])), a,
                   stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    apid = env.state(a)["pid"]
    spec = env.spec(["sh", "-c", "for n in net ipc uts pid; do readlink /proc/self/ns/$n; "
                                 "done; ps -o comm"])
    for ns in spec["linux"]["namespaces"]:
        path = {"network": "net", "ipc": "ipc", "uts": "uts", "pid": "pid"}.get(ns["type"])
        if path:
            ns["path"] = "/proc/%d/ns/%s" % (apid, path)
    del spec["hostname"]
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    theirs = ns_links(apid)
    assert lines[:4] == [theirs["net"], theirs["ipc"], theirs["uts"], theirs["pid"]]
    assert "sleep" in lines[4:]
    assert env.pyrunc("delete", "-f", a).returncode == 0
    wait_exit(apid)
