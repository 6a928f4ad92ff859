"""SIGKILL `pyrunc create` at random instants; after each, `delete -f` must
leave nothing: no state, no cgroup, no process, no mount.

    cd /work/main
    /opt/pyrunc/bin/python tests/crash/kill_create.py -n 400 [--no-mount-ns] [--seed S]
        [--also-run] [--at-bind K] [--no-delete] [--pyrunc CMD] [--json FILE] [-v]

One run makes /tmp/pyrunc-crash-XXXXXXXX (busybox-static rootfs, bundle,
state root), measures how long a full `create` takes (median of a few),
then for each try starts `pyrunc --root R create -b B ID`, SIGKILLs it
after a delay drawn uniformly from [0, 1.2 x that median], reaps it, runs
`pyrunc --root R delete -f ID` and looks at what is left (see
tests/support/leftovers.py for "nothing left").  Whatever is left is counted, then
removed (the id's processes and cgroup directories, mounts at or under
this run's rootfs, state entries) so that the next try starts clean.

--no-mount-ns   the config without a mount namespace (no "mount", "uts",
                hostname): create binds the rootfs onto itself in the
                host's mount namespace.
--also-run      also kill `pyrunc run -d` the same way (-n tries, delays
                from its own median).
--at-bind K     K more tries (--no-mount-ns only; for run -d too) killed
                not at a random instant but as soon as the bind of the
                rootfs shows in /proc/self/mountinfo (poll(2) on it): the
                instant where a create that dies leaves a bind its state
                does not record.
--no-delete     skip delete -f: a check of the checks, which must then find
                what the killed commands leave (and the clean-up remove it).
--pyrunc CMD    the command (default /usr/local/bin/pyrunc, the front-end);
                e.g. "/some/venv/bin/python -m pyrunc" for another build.

The installed package is fingerprinted (names, sizes, mtimes) at the start
and after every try: a reinstall during the run stops it, and the try it
overlapped is not counted.

Exit status: 0 if every try left nothing, 1 if some left something or
delete -f failed, 2 if the harness could not clean up after a try (it
stops there), the installed pyrunc changed, or the run could not start.
"""
import argparse
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import leftovers as lo  # noqa: E402
from support.rootfs import make_busybox_rootfs  # noqa: E402

FRONT = "/usr/local/bin/pyrunc"


def brief(kind, what, most=3):
    """A leftover in a few words: how many, and the first few."""
    if not isinstance(what, list):
        return "%s: %s" % (kind, what)
    if kind == "mount":
        what = [point for _, point in what]
    elif kind.startswith("process"):
        what = ["%d %s %s (%s)" % p for p in what]
    more = ", ..." if len(what) > most else ""
    return "%s: %d [%s%s]" % (kind, len(what), ", ".join(map(str, what[:most])), more)


def describe(o):
    """One line for a try that left something."""
    parts = []
    if o.delete_rc != 0:
        parts.append("delete -f exit %s: %s" % (o.delete_rc, o.delete_err))
    for kind, what in o.left.items():
        parts.append(brief(kind, what))
    when = "killed at %.2f ms" % (o.killed_at * 1000) if o.killed_at is not None else \
        "ended before the kill (exit %s)" % o.rc
    return "%s (%s): %s" % (o.cid, when, "; ".join(parts))


def summary(label, median, bound, outcomes):
    lines = ["", "== %s: %d tries, median %.1f ms, %s" % (
        label, len(outcomes), median * 1000,
        "kill delays uniform in [0, %.1f] ms" % (bound * 1000) if bound is not None
        else "killed at the bind of the rootfs")]
    killed = [o for o in outcomes if o.killed_at is not None]
    ended = [o for o in outcomes if o.killed_at is None]
    lines.append("   killed: %d; ended before the kill: %d (exit 0: %d, other: %s)" % (
        len(killed), len(ended), sum(o.rc == 0 for o in ended),
        sorted(set(o.rc for o in ended if o.rc != 0)) or "none"))
    groups = OrderedDict()
    for o in sorted(outcomes, key=lambda o: o.key() != "nothing left"):
        groups.setdefault(o.key(), []).append(o)
    for key, os_ in groups.items():
        at = ""
        if key != "nothing left":
            at = "  at " + ", ".join(
                "%.2f" % (o.killed_at * 1000) if o.killed_at is not None else "(ended)"
                for o in sorted(os_, key=lambda o: o.killed_at or 1e9)) + " ms"
        lines.append("   %-40s %4d%s" % (key + ":", len(os_), at))
    failed_deletes = [o for o in outcomes if o.delete_rc != 0]
    lines.append("   delete -f failed: %d%s" % (len(failed_deletes), "".join(
        "\n      %s: exit %s: %s" % (o.cid, o.delete_rc, o.delete_err)
        for o in failed_deletes)))
    errs = sorted(set(o.stderr for o in outcomes if o.killed_at is None and o.rc not in (0,)))
    if errs:
        lines.append("   stderr of a command that failed on its own: %s" % errs)
    late = [o for o in outcomes if "process-late" in o.left]
    if late:
        lines.append("   (process-late: a process carrying the id was alive after delete -f "
                     "and exited within 2 s: %d)" % len(late))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=400, help="tries (default 400)")
    ap.add_argument("--no-mount-ns", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--also-run", action="store_true", help="also kill `run -d`")
    ap.add_argument("--at-bind", type=int, default=0, metavar="K",
                    help="K tries killed at the bind of the rootfs (with --no-mount-ns)")
    ap.add_argument("--no-delete", action="store_true",
                    help="skip delete -f (a check of the checks: they must find what a "
                         "killed create leaves)")
    ap.add_argument("--measure", type=int, default=7, help="creates to time (default 7)")
    ap.add_argument("--pyrunc", default=FRONT,
                    help="the command, split as a shell would (default %s; e.g. "
                         "\"/some/venv/bin/python -m pyrunc\" for another build)" % FRONT)
    ap.add_argument("--json", help="write every try to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per try")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("kill_create.py runs real containers: it needs root", file=sys.stderr)
        return 2
    if args.at_bind and not args.no_mount_ns:
        print("--at-bind needs --no-mount-ns (with a mount namespace nothing is mounted "
              "in the host's)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    cmd = shlex.split(args.pyrunc)
    try:
        build = lo.build_fingerprint(cmd)
    except (OSError, subprocess.CalledProcessError) as e:
        print("cannot find the pyrunc that %r runs: %s" % (args.pyrunc, e), file=sys.stderr)
        return 2
    marker = "crash" + uuid.uuid4().hex[:8]
    top = tempfile.mkdtemp(prefix="pyrunc-crash-", dir="/tmp")
    os.chmod(top, 0o755)
    rootfs = os.path.join(top, "rootfs")
    state_root = os.path.join(top, "state")
    outdir = os.path.join(top, "out")
    os.mkdir(outdir)
    variant = "no-mount-ns" if args.no_mount_ns else "mount-ns"
    print("%s, %s, seed %d, marker %s, in %s\nbuild %s" % (
        args.pyrunc, variant, seed, marker, top, build), flush=True)
    n = [0]

    def cid():
        n[0] += 1
        return "%s-%0*d" % (marker, lo.ID_WIDTH, n[0])

    watched = [top, rootfs]
    reports, records, status = [], [], 0
    try:
        make_busybox_rootfs(rootfs)
        bundle = lo.write_bundle(os.path.join(top, "bundle"),
                                 lo.crash_spec(rootfs, mount_ns=not args.no_mount_ns))
        verbs = ["create"] + (["run -d"] if args.also_run else [])
        for verb in verbs:
            before = lo.mounts_under(watched)
            ids = [cid() for _ in range(args.measure)]
            times = lo.measure(cmd, state_root, verb, bundle, ids, outdir)
            for i in ids:
                left = lo.look(cmd, state_root, i, before, watched)
                if left:
                    raise RuntimeError("a full %s then delete -f left %r" % (verb, left))
            median = statistics.median(times)
            bound = 1.2 * median
            print("%s: %s ms -> median %.1f ms; killing in [0, %.1f] ms" % (
                verb, " ".join("%.1f" % (t * 1000) for t in times), median * 1000,
                bound * 1000), flush=True)
            plans = [(verb, rng.uniform(0, bound), False) for _ in range(args.n)]
            plans += [(verb, None, True) for _ in range(args.at_bind)]
            outcomes = {False: [], True: []}
            for i, (v, delay, at_mount) in enumerate(plans):
                o = lo.one_try(cmd, state_root, v, bundle, cid(), rootfs, watched, outdir,
                               delay=delay, at_mount=at_mount, delete=not args.no_delete)
                now = lo.build_fingerprint(cmd)
                if now != build:
                    # this try may have run half the old, half the new build
                    print("  [%d] the installed pyrunc changed (reinstalled?): %s -> %s; "
                          "this try (%s) is not counted, and the run stops here" % (
                              i + 1, build, now, describe(o) if o.left else o.cid),
                          flush=True)
                    status = 2
                    break
                outcomes[at_mount].append(o)
                records.append({"verb": v, "variant": variant, "cid": o.cid,
                                "delay_ms": None if delay is None else delay * 1000,
                                "killed_at_ms": None if o.killed_at is None
                                else o.killed_at * 1000,
                                "exit": o.rc, "stderr": o.stderr,
                                "delete_exit": o.delete_rc, "delete_stderr": o.delete_err,
                                "left": {k: repr(v) for k, v in o.left.items()},
                                "cleaned": o.cleaned, "clean_failed": o.clean_failed})
                if o.left or o.delete_rc != 0:
                    status = max(status, 1)
                    print("  [%d] %s" % (i + 1, describe(o)), flush=True)
                    if o.cleaned:
                        print("        cleaned up: %s" % "; ".join(
                            o.cleaned if args.verbose else o.cleaned[:2] + (
                                ["... (%d steps)" % len(o.cleaned)] if len(o.cleaned) > 2
                                else [])), flush=True)
                elif args.verbose:
                    print("  [%d] %s: nothing left (%s)" % (
                        i + 1, o.cid, "killed at %.2f ms" % (o.killed_at * 1000)
                        if o.killed_at is not None else "ended, exit %s" % o.rc), flush=True)
                if o.clean_failed:
                    print("  [%d] could not clean up: %s" % (i + 1, o.clean_failed),
                          flush=True)
                    status = 2
                    break
                if (i + 1) % 50 == 0:
                    print("  ... %d/%d" % (i + 1, len(plans)), flush=True)
            label = "%s, %s" % (verb, variant)
            reports.append(summary(label, median, bound, outcomes[False]))
            if outcomes[True]:
                reports.append(summary(label + ", killed at the bind", median, None,
                                       outcomes[True]))
            if status == 2:
                break
    except (RuntimeError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        status = 2
    finally:
        for r in reports:
            print(r)
        print("\nbuild %s; seed %d (rerun: --seed %d)" % (build, seed, seed))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"seed": seed, "variant": variant, "tries": records}, f, indent=1)
        status = max(status, finish(cmd, state_root, marker, top, rootfs))
    return status


def finish(cmd, state_root, marker, top, rootfs):
    """Remove the run's directory, after making sure nothing of it is
    mounted or running any more."""
    lo.clean(marker, state_root, set(), rootfs)
    left = lo.look(cmd, state_root, marker, set(), [top])
    # (the state goes with the directory; what must not be there is a
    # mount under it, which rmtree would walk into, or a process)
    left.pop("list", None)
    left.pop("state", None)
    if left:
        print("NOT removing %s: still left: %r" % (top, left), file=sys.stderr)
        return 2
    shutil.rmtree(top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
