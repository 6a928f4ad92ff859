"""What the examples share: a bundle directory for a command, over a root
file system they are given (scripts/make-bundle.sh DIR builds one in
DIR/rootfs from Debian's busybox-static)."""
import json
import os

import pyrunc


def make_bundle(directory, rootfs, args, hostname="example"):
    """DIR/config.json: runc's template running args, rootfs read-only
    (any number of containers share it), no terminal."""
    spec = pyrunc.default_spec(terminal=False, args=list(args))
    spec["root"] = {"path": os.path.abspath(rootfs), "readonly": True}
    spec["hostname"] = hostname
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(spec, f, indent=2)
    return directory
