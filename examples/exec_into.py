#!/usr/bin/env python3
"""Exec into a running container: a command whose output is captured, one
as another user with an extra variable, one left running (detached) and
found among the container's processes.

    python3 examples/exec_into.py ROOTFS

ROOTFS: a root file system (scripts/make-bundle.sh /tmp/demo makes
/tmp/demo/rootfs).  As root."""
import os
import sys
import tempfile

import pyrunc
from _bundle import make_bundle


def capture(c, args, **options):
    """Run args in container c; (exit status, what it printed)."""
    r, w = os.pipe()
    try:
        status = c.exec(args, stdout=w, stderr=w, **options)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        return status, f.read()


def main():
    rootfs = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        rt = pyrunc.Runtime(os.path.join(tmp, "state"),
                            on_warning=lambda text: print("warning:", text, file=sys.stderr))
        bundle = make_bundle(os.path.join(tmp, "bundle"), rootfs, ["sleep", "60"],
                             hostname="target")
        c = rt.create("exec-%d" % os.getpid(), bundle)
        try:
            c.start()
            print("hostname: %r" % capture(c, ["hostname"])[1].strip())
            status, out = capture(c, ["sh", "-c", "echo uid=$(id -u) GREETING=$GREETING"],
                                  user="1000:1000", env=["GREETING=hi"])
            print("as another user: %r (status %d)" % (out.strip(), status))
            print("a failing command: status %d" % capture(c, ["sh", "-c", "exit 4"])[0])
            pid = c.exec(["sleep", "30"], detach=True, stdin=open(os.devnull),
                         stdout=open(os.devnull, "w"))
            print("detached sleep: pid %d, among the container's: %s"
                  % (pid, pid in c.pids()))
            try:
                c.exec(["/no/such/program"])
            except pyrunc.PyruncError as e:
                print("exec of a missing program: %s" % e)
        finally:
            # (it kills the detached sleep too, and reaps it: the processes
            # a Runtime starts are this process's children)
            c.delete(force=True)
    print("deleted")


if __name__ == "__main__":
    main()
