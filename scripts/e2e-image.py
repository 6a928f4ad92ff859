#!/usr/bin/env python3
"""Build a busybox container image archive from Debian's busybox-static,
with no registry: one uncompressed layer, its config, and both a
docker-archive manifest.json and an OCI image layout (oci-layout,
index.json, blobs/sha256/...) in one tar, so that `docker load`,
`podman load` and `ctr image import` all take the same file.

    scripts/e2e-image.py OUT.tar [--tag localhost/pyrunc-busybox:e2e]
                         [--busybox /usr/bin/busybox] [--rootfs DIR]

--rootfs DIR also unpacks the layer into DIR (an OCI bundle's rootfs for
runtimes driven without an image store).  The archive is reproducible: the
same busybox gives the same bytes.  Standard library only.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

DEFAULT_TAG = "localhost/pyrunc-busybox:e2e"
# A fixed time for every entry and the config, so the image id is stable.
EPOCH = 1704067200  # 2024-01-01T00:00:00Z
CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "user:x:1000:1000:user:/home/user:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"

# (path, mode, uid) of the directories of the rootfs, parents first.
DIRS = [
    ("bin", 0o755, 0), ("dev", 0o755, 0), ("etc", 0o755, 0), ("home", 0o755, 0),
    ("home/user", 0o755, 1000), ("proc", 0o555, 0), ("root", 0o700, 0), ("run", 0o755, 0),
    ("sys", 0o555, 0), ("tmp", 0o1777, 0), ("usr", 0o755, 0), ("usr/bin", 0o755, 0),
    ("var", 0o755, 0), ("var/tmp", 0o1777, 0),
]


def _entry(name, kind, mode, uid=0, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = info.gid = uid
    info.uname = info.gname = ""
    info.mtime = EPOCH
    info.size = size
    info.linkname = linkname
    return info


def layer_tar(busybox):
    """The rootfs as an uncompressed tar (bytes): busybox and a symlink per
    applet in /bin, /etc/passwd and /etc/group with a user 1000."""
    with open(busybox, "rb") as f:
        binary = f.read()
    applets = subprocess.run([busybox, "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode, uid in DIRS:
            tar.addfile(_entry(name, tarfile.DIRTYPE, mode, uid))
        tar.addfile(_entry("bin/busybox", tarfile.REGTYPE, 0o755, size=len(binary)),
                    io.BytesIO(binary))
        for applet in sorted(set(applets) - {"busybox"}):
            tar.addfile(_entry("bin/" + applet, tarfile.SYMTYPE, 0o777, linkname="busybox"))
        # env is looked up in /usr/bin by scripts' #! lines.
        tar.addfile(_entry("usr/bin/env", tarfile.SYMTYPE, 0o777, linkname="../../bin/busybox"))
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            data = text.encode()
            tar.addfile(_entry(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    return buf.getvalue()


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def image_archive(layer, tag):
    """The image archive (bytes) around one layer tar."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    layer_digest = _digest(layer)
    config = _json({
        "architecture": arch,
        "os": "linux",
        "created": CREATED,
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": CREATED, "created_by": "scripts/e2e-image.py (busybox-static)"}],
    })
    config_digest = _digest(config)
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": len(layer)}],
    })
    manifest_digest = _digest(manifest)
    index = _json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            # containerd names the image from the first, podman from the second.
            "annotations": {"io.containerd.image.name": tag,
                            "org.opencontainers.image.ref.name": tag},
        }],
    })

    def blob(digest):
        return "blobs/sha256/" + digest.split(":", 1)[1]

    docker_manifest = _json([{"Config": blob(config_digest), "RepoTags": [tag],
                              "Layers": [blob(layer_digest)]}])
    files = [
        ("oci-layout", _json({"imageLayoutVersion": "1.0.0"})),
        ("index.json", index),
        ("manifest.json", docker_manifest),
        (blob(config_digest), config),
        (blob(layer_digest), layer),
        (blob(manifest_digest), manifest),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("blobs", "blobs/sha256"):
            tar.addfile(_entry(name, tarfile.DIRTYPE, 0o755))
        for name, data in files:
            tar.addfile(_entry(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    return buf.getvalue(), config_digest


def unpack_rootfs(layer, dest):
    """Unpack the layer into dest (made, or emptied first)."""
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        # Our own entries only; "tar" keeps owners and modes (run as root).
        kw = {"filter": "tar"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest, **kw)
    os.chmod(dest, 0o755)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the image archive to write")
    p.add_argument("--tag", default=DEFAULT_TAG)
    p.add_argument("--busybox", default=shutil.which("busybox") or "/usr/bin/busybox")
    p.add_argument("--rootfs", help="also unpack the rootfs into this directory")
    args = p.parse_args(argv)
    if not os.path.exists(args.busybox):
        sys.exit("busybox not found at %s: apt-get install busybox-static" % args.busybox)
    layer = layer_tar(args.busybox)
    archive, image_id = image_archive(layer, args.tag)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive)
    os.replace(tmp, args.out)
    if args.rootfs:
        unpack_rootfs(layer, args.rootfs)
    print("%s: %s (image id %s)" % (args.out, args.tag, image_id))


if __name__ == "__main__":
    main()
