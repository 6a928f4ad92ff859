#!/usr/bin/env python3
"""A pool of containers with limits: memory and pids per container, read
back from their stats, one of them updated while it runs.

    python3 examples/pool.py ROOTFS [N]

ROOTFS: a root file system (scripts/make-bundle.sh /tmp/demo makes
/tmp/demo/rootfs).  As root."""
import os
import sys
import tempfile

import pyrunc
from _bundle import make_bundle

MiB = 1 << 20


def main():
    rootfs = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        rt = pyrunc.Runtime(os.path.join(tmp, "state"),
                            on_warning=lambda text: print("warning:", text, file=sys.stderr))
        pool = []
        try:
            for i in range(n):
                bundle = make_bundle(os.path.join(tmp, "b%d" % i), rootfs,
                                     ["sh", "-c", "sleep 60 & sleep 60 & wait"],
                                     hostname="worker%d" % i)
                c = rt.create("pool-%d-%d" % (os.getpid(), i), bundle,
                              stdin=open(os.devnull), stdout=open(os.devnull, "w"))
                # limits after create, before start: the same as a config's
                c.update(memory="%dm" % (32 + 16 * i), pids_limit=10 + i)
                c.start()
                pool.append(c)
            report(pool)
            pool[0].update(pids_limit=5)
            print("%s: pids limit now 5" % pool[0].id)
            report(pool[:1])
        finally:
            for c in pool:
                c.delete(force=True)
    print("pool of %d deleted" % len(pool))


def report(pool):
    for c in pool:
        stats = c.stats()
        memory, pids = stats["memory"]["usage"], stats["pids"]
        print("%s: %d processes (limit %d), memory %.1f MiB (limit %d MiB)"
              % (c.id, pids["current"], pids["limit"], memory["usage"] / MiB,
                 memory["limit"] // MiB))


if __name__ == "__main__":
    main()
