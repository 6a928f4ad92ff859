"""Idmapped bind mounts (runtime-spec 1.2: mounts[].uidMappings and
gidMappings, the idmap and ridmap options): file owners as the container
sees them through the mount, the owner a file written through it gets on
the host's disk, which submounts are idmapped, and the errors.

(runc 1.1.5 on these machines predates idmapped mounts: pyrunc's tests.)"""
import os
import shutil
import subprocess
import tempfile

import pytest


@pytest.fixture
def src(env, own_rootfs):
    """A host directory with a file of root's and one of uid/gid 1000, and
    a tmpfs mounted on its sub/ (this test's own, unmounted after).  Under
    /var/tmp: a disk file system, which kernels idmap since 5.12 (the v2
    VM's /tmp is a tmpfs, idmappable only since 6.3), reachable by a user
    namespace's root (not under pytest's private tmp)."""
    # (the tests' mountpoints are made in a rootfs of their own)
    env.rootfs = own_rootfs
    top = tempfile.mkdtemp(prefix="pyrunc-idmap-", dir="/var/tmp")
    os.chmod(top, 0o755)
    with open(os.path.join(top, "root-file"), "w") as f:
        f.write("r")
    with open(os.path.join(top, "user-file"), "w") as f:
        f.write("u")
    os.chown(os.path.join(top, "user-file"), 1000, 1000)
    sub = os.path.join(top, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "pyrunc-test", sub], check=True)
    with open(os.path.join(sub, "in-sub"), "w") as f:
        f.write("s")
    try:
        yield top
    finally:
        subprocess.run(["umount", sub], check=True)
        shutil.rmtree(top)


def idmappable(path):
    """Skip the test, saying why, where this kernel cannot idmap path's
    file system (tmpfs before Linux 6.3)."""
    from pyrunc.idmap import idmapped_tree
    try:
        os.close(idmapped_tree(path, False, False, ("0 5000 1\n", "0 5000 1\n")))
    except OSError as e:
        pytest.skip("%s cannot be idmapped here (%s): this kernel cannot idmap its file "
                    "system" % (path, os.strerror(e.errno)))


def _userns(spec, rootfs):
    spec["root"]["path"] = rootfs
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _maps(uid_host, gid_host, size):
    """a mount's uidMappings and gidMappings, from container id 0"""
    return {"uidMappings": [{"containerID": 0, "hostID": uid_host, "size": size}],
            "gidMappings": [{"containerID": 0, "hostID": gid_host, "size": size}]}


MAPS = _maps(5000, 5000, 10)


def _idmapped_bind(src, options=("bind", "idmap"), **maps):
    return dict({"destination": "/data", "type": "bind", "source": src,
                 "options": list(options)}, **maps)


def _owners(out):
    """`ls -ln` lines -> {name: "uid:gid"}"""
    return {f[-1]: "%s:%s" % (f[2], f[3]) for f in (line.split() for line in out.splitlines())
            if len(f) >= 9}


def test_a_mounts_own_mappings_change_the_owners_the_container_sees(env, src):
    idmappable(src)
    spec = env.spec(["sh", "-c", "ls -ln /data; grep ' /data ' /proc/self/mountinfo"])
    spec["mounts"].append(_idmapped_bind(src, **_maps(5000, 7000, 2000)))
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    owners = _owners(r.stdout)
    assert owners["root-file"] == "5000:7000" and owners["user-file"] == "6000:8000", owners
    assert "idmapped" in r.stdout.splitlines()[-1].split()[5], r.stdout


def test_without_mappings_the_containers_user_namespace_maps_the_mount(env, src,
                                                                        userns_rootfs):
    idmappable(src)
    spec = env.spec(["sh", "-c", "ls -ln /idmapped /plain; touch /idmapped/made-inside"])
    _userns(spec, userns_rootfs)
    spec["mounts"] += [
        {"destination": "/idmapped", "type": "bind", "source": src, "options": ["bind", "idmap"]},
        # (rbind: in a user namespace a bind may not uncover what the
        # host's submount covers)
        {"destination": "/plain", "type": "bind", "source": src, "options": ["rbind"]}]
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    idmapped, plain = r.stdout.split("/plain:")
    # through the idmapped bind the host's root is the container's root...
    assert _owners(idmapped)["root-file"] == "0:0"
    assert _owners(idmapped)["user-file"] == "1000:1000"
    # ...through a plain one it is nobody
    assert _owners(plain)["root-file"] == "65534:65534"
    # and what the container's root writes there is the host's root's
    st = os.stat(os.path.join(src, "made-inside"))
    assert (st.st_uid, st.st_gid) == (0, 0)


@pytest.mark.parametrize("option, sub_idmapped", [("idmap", False), ("ridmap", True)])
def test_ridmap_idmaps_the_submounts_of_an_rbind_too(env, src, option, sub_idmapped):
    idmappable(src)
    idmappable(os.path.join(src, "sub"))
    spec = env.spec(["sh", "-c", "awk '$5 == \"/data/sub\" {print $6}' /proc/self/mountinfo; "
                     "ls -ln /data/sub"])
    spec["mounts"].append(_idmapped_bind(src, ("rbind", option), **MAPS))
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert ("idmapped" in lines[0].split(",")) is sub_idmapped, lines
    assert _owners(r.stdout)["in-sub"] == ("5000:5000" if sub_idmapped else "0:0")


def test_the_runtimes_tree_fds_do_not_reach_the_container(env, src):
    idmappable(src)
    spec = env.spec(["ls", "/proc/self/fd"])
    spec["mounts"].append(_idmapped_bind(src, **MAPS))
    r = env.run(spec)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["0", "1", "2", "3"]     # (3: ls's directory)




@pytest.mark.parametrize("mount, words", [
    ({"type": "tmpfs", "source": "tmpfs", "options": ["idmap"], **MAPS},
     "mounts[N].options: idmap and ridmap are for bind mounts only"),
    ({"type": "bind", "source": "SRC", "options": ["bind", "idmap"]},
     "mounts[N].options: idmap without uidMappings and gidMappings takes the container's user "
     "namespace, and it has none"),
    ({"type": "bind", "source": "SRC", "options": ["bind"],
      "uidMappings": MAPS["uidMappings"]},
     "mounts[N].gidMappings: required with uidMappings"),
    ({"type": "bind", "source": "SRC", "options": ["bind", "idmap"], "uidMappings": [],
      "gidMappings": []},
     "mounts[N].uidMappings: an idmapped mount's mappings must not be empty"),
    ({"type": "bind", "source": "SRC", "options": ["bind", "idmap"],
      "uidMappings": [{"containerID": 0, "hostID": 4294967295, "size": 10}],
      "gidMappings": MAPS["gidMappings"]},
     "mounts[N].uidMappings[0]: hostID 4294967295 + size 10 runs past 2^32"),
    # sysfs cannot be idmapped: the kernel's refusal, named by the mount
    ({"type": "bind", "source": "/sys/kernel/mm", "options": ["bind", "idmap"], **MAPS},
     'mounts[N]: idmapped mount of "/sys/kernel/mm": invalid argument'),
])
def test_bad_idmapped_mounts_name_the_field_and_leave_nothing(env, src, mount, words):
    spec = env.spec()
    mount = dict(mount, destination="/data")
    if mount.get("source") == "SRC":
        mount["source"] = src
    spec["mounts"].append(mount)
    r = env.run(spec)
    assert r.returncode == 1, r.stderr
    n = len(spec["mounts"]) - 1
    assert r.stderr.strip().endswith(words.replace("[N]", "[%d]" % n)), r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    # (the env fixture finds no state, cgroup or process left)
