#!/usr/bin/env python3
"""Run a command in a container, stream what it prints as it comes, and
get its exit status.

    python3 examples/run_and_capture.py ROOTFS [COMMAND ARG...]

ROOTFS: a root file system (scripts/make-bundle.sh /tmp/demo makes
/tmp/demo/rootfs).  As root."""
import os
import sys
import tempfile

import pyrunc
from _bundle import make_bundle

COMMAND = ["sh", "-c", "echo hello from $(hostname); echo to stderr >&2; "
                       "for i in 1 2 3; do echo line $i; done; exit 7"]


def main():
    rootfs, args = sys.argv[1], sys.argv[2:] or COMMAND
    with tempfile.TemporaryDirectory() as tmp:
        rt = pyrunc.Runtime(os.path.join(tmp, "state"),
                            on_warning=lambda text: print("warning:", text, file=sys.stderr))
        bundle = make_bundle(os.path.join(tmp, "bundle"), rootfs, args)
        r, w = os.pipe()
        # The container's stdout and stderr are the pipe; its init waits
        # for start.
        c = rt.create("capture-%d" % os.getpid(), bundle, stdout=w, stderr=w)
        os.close(w)   # (the container holds the only write end now)
        try:
            c.start()
            with os.fdopen(r, "r") as output:
                for line in output:   # as it comes, until the process exits
                    print("container says: %s" % line.rstrip("\n"))
            status = c.wait()     # its exit status: its init is our child
        finally:
            c.delete(force=True)
    print("exit status: %d" % status)


if __name__ == "__main__":
    main()
