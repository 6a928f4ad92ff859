"""What a `pyrunc create` (or `run -d`) killed with SIGKILL may leave on the
host once `delete -f` has run, and how to remove it.

Shared by tests/crash/kill_create.py (the 400-instant measurement) and
tests/integration/test_crash_consistency.py (its bounded version in the
default test run).  Nothing here imports pyrunc's internals but
pyrunc.specgen: the harness judges the runtime from the outside, as an
engine would see it.

"Nothing left" for a container id means:
  - `pyrunc list -q` does not list it (nor anything else of the root),
  - the state root has no entry but dot-entries (the runtime's caches),
  - no directory whose name contains the id under /sys/fs/cgroup,
  - no live process whose cmdline or /proc/PID/cgroup carries the id,
  - /proc/self/mountinfo has no mount at or under the watched paths (the
    run's temporary directory, the rootfs) that was not there before.

Cleaning up touches only what carries the id, and only mounts at or under
the caller's own rootfs that were not there before the try.
"""
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

ID_WIDTH = 5   # ids are MARKER-NNNNN: no id is a substring of another


# -- the build -----------------------------------------------------------------
def build_fingerprint(cmd):
    """A short hash of the installed pyrunc (every file of the package the
    command runs from: name, size, mtime): a reinstall during a run
    changes it, and the tries after it measure another build."""
    import hashlib
    package = _package_of(tuple(cmd))
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            h.update(("%s %d %d\n" % (os.path.relpath(path, package), st.st_size,
                                       st.st_mtime_ns)).encode())
    return "%s:%s" % (package, h.hexdigest()[:12])


_packages = {}


def _package_of(cmd):
    """The pyrunc package directory cmd runs: the front-end's own (it lives
    in the package), or, for `PYTHON -m pyrunc`, the one PYTHON imports."""
    if cmd not in _packages:
        front = os.path.realpath(shutil.which(cmd[0]) or cmd[0])
        package = os.path.dirname(front)
        if not os.path.exists(os.path.join(package, "runtime.py")):
            package = subprocess.run(
                [cmd[0], "-c", "import os, pyrunc; print(os.path.dirname(pyrunc.__file__))"],
                capture_output=True, text=True, check=True).stdout.strip()
        _packages[cmd] = package
    return _packages[cmd]


# -- the bundle ---------------------------------------------------------------
def crash_spec(rootfs, mount_ns=True, args=("sleep", "100")):
    """The default config (read-only root at an absolute path); without a
    mount namespace as tests/integration/test_host_mount_ns.py makes it:
    no "mount" and no "uts" namespace, no hostname."""
    from pyrunc.specgen import default_spec
    spec = default_spec(terminal=False, args=list(args))
    spec["root"] = {"path": os.path.abspath(str(rootfs)), "readonly": True}
    if not mount_ns:
        spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                       if ns["type"] not in ("mount", "uts")]
        del spec["hostname"]
    return spec


def write_bundle(directory, spec):
    import json
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(spec, f)
    return str(directory)


# -- looking -------------------------------------------------------------------
def _unescape(text):
    return text.replace("\\040", " ").replace("\\011", "\t").replace(
        "\\012", "\n").replace("\\134", "\\")


def _at_or_under(path, prefixes):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def mounts_under(prefixes):
    """{(mount id, mount point)} of /proc/self/mountinfo at or under any of
    prefixes (the rest of the machine mounts and unmounts as it likes)."""
    prefixes = [os.path.realpath(str(p)) for p in prefixes]
    found = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" ", 5)
            point = _unescape(fields[4])
            if _at_or_under(point, prefixes):
                found.add((int(fields[0]), point))
    return found


def cgroup_dirs_with(cid, top="/sys/fs/cgroup"):
    """Every directory under top (all hierarchies: v1 and the unified one)
    whose name contains cid."""
    found = []
    for dirpath, dirnames, _ in os.walk(top):
        for d in dirnames:
            if cid in d:
                found.append(os.path.join(dirpath, d))
    return found


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None


def _proc_state(pid):
    stat = _read("/proc/%d/stat" % pid, "rb")
    if not stat:
        return None
    return stat[stat.rindex(b")") + 2:].split()[0].decode()


def processes_with(cid):
    """[(pid, state, why, cmdline)] of the processes whose cmdline or cgroup
    carries cid (zombies included: the caller decides)."""
    me = os.getpid()
    out = []
    token = cid.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        why = []
        cmdline = _read("/proc/%d/cmdline" % pid, "rb") or b""
        if token in cmdline:
            why.append("cmdline")
        cgroup = _read("/proc/%d/cgroup" % pid, "rb") or b""
        if token in cgroup:
            why.append("cgroup")
        if why:
            state = _proc_state(pid)
            if state is None:
                continue   # gone meanwhile
            out.append((pid, state, "+".join(why),
                        cmdline.replace(b"\0", b" ").decode(errors="replace").strip()))
    return out


def wait_gone(pids, timeout):
    """Wait (on pidfds, no polling) until every pid has exited, at most
    timeout seconds; returns the pids still alive (not zombies) then."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except OSError:
            pass   # gone already
    deadline = time.monotonic() + timeout
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        pending = dict(fds)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, _ in poller.poll(left * 1000):
                poller.unregister(fd)
                pending.pop(fd, None)
        return sorted(pid for pid in pending.values() if _proc_state(pid) not in (None, "Z", "X"))
    finally:
        for fd in fds:
            os.close(fd)


def pyrunc(cmd, state_root, *args, timeout=60):
    """(exit status, stdout, stderr) of `CMD --root STATE_ROOT ARGS`, output
    through files (a container keeps the stdio it was given).  A call that
    does not end within timeout is killed: status "timeout"."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            p = subprocess.Popen(list(cmd) + ["--root", state_root] + list(args),
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        except OSError as e:   # (pyrunc being reinstalled, say)
            return "cannot run", "", str(e)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "timeout"
        out.seek(0)
        err.seek(0)
        return rc, out.read(), err.read()


def look(cmd, state_root, cid, mounts_before, watched, grace=2.0):
    """What is left of cid; {} when nothing is.  Keys:
    list       what `pyrunc list -q` prints (or why it failed)
    state      entries of the state root (not dot-entries)
    cgroup     cgroup directories whose name contains cid
    process    live processes carrying cid, still there `grace` s later
    process-late  such processes that were there when looked at, but
               exited within grace (dying: e.g. killed by PDEATHSIG)
    mount      mounts at or under `watched` that were not in mounts_before
    """
    left = {}
    rc, out, err = pyrunc(cmd, state_root, "list", "-q")
    if rc != 0:
        left["list"] = "list -q failed (%s): %s" % (rc, err.strip())
    elif out.split():
        left["list"] = out.split()
    if os.path.isdir(state_root):
        entries = sorted(n for n in os.listdir(state_root) if not n.startswith("."))
        if entries:
            left["state"] = entries
    dirs = cgroup_dirs_with(cid)
    if dirs:
        left["cgroup"] = dirs
    procs = [p for p in processes_with(cid) if p[1] not in ("Z", "X")]
    if procs:
        alive = set(wait_gone([p[0] for p in procs], grace))
        stayed = [p for p in procs if p[0] in alive]
        went = [p for p in procs if p[0] not in alive]
        if stayed:
            left["process"] = stayed
        if went:
            left["process-late"] = went
    new = sorted(mounts_under(watched) - set(mounts_before), key=lambda m: m[1])
    if new:
        left["mount"] = new
    return left


# -- cleaning up -----------------------------------------------------------------
def _kill_cgroup(d):
    """SIGKILL every process of one of our cgroup directories (thawed first:
    a v1 freezer left FROZEN would keep them from dying)."""
    killed = []
    freezer = os.path.join(d, "freezer.state")
    if os.path.exists(freezer) and (_read(freezer) or "").strip() != "THAWED":
        with open(freezer, "w") as f:
            f.write("THAWED")
    for pid in (_read(os.path.join(d, "cgroup.procs")) or "").split():
        try:
            os.kill(int(pid), signal.SIGKILL)
            killed.append(int(pid))
        except ProcessLookupError:
            pass
    return killed


def clean(cid, state_root, mounts_before, rootfs):
    """Remove whatever carries cid, and the mounts at or under rootfs that
    were not there before; returns what was done (for the report) and what
    could not be removed."""
    done, failed = [], []
    for _ in range(3):
        dirs = cgroup_dirs_with(cid)
        pids = set()
        for d in dirs:
            pids.update(_kill_cgroup(d))
        for pid, state, _, _ in processes_with(cid):
            if state not in ("Z", "X"):
                try:
                    os.kill(pid, signal.SIGKILL)
                    pids.add(pid)
                except ProcessLookupError:
                    pass
        if pids:
            done.append("killed %s" % sorted(pids))
            still = wait_gone(pids, 10)
            if still:
                failed.append("processes did not die: %s" % still)
        for d in sorted(dirs, key=len, reverse=True):
            try:
                os.rmdir(d)
                done.append("rmdir %s" % d)
            except FileNotFoundError:
                pass
            except OSError as e:
                failed.append("rmdir %s: %s" % (d, e.strerror))
        if not cgroup_dirs_with(cid) and not [
                p for p in processes_with(cid) if p[1] not in ("Z", "X")]:
            break
    rootfs = os.path.realpath(str(rootfs))
    for _ in range(10):
        new = sorted(m for m in mounts_under([rootfs]) - set(mounts_before))
        if not new:
            break
        # the shallowest first: umount -l takes what is under it along
        point = min((m[1] for m in new), key=len)
        r = subprocess.run(["umount", "-l", point], capture_output=True, text=True)
        if r.returncode == 0:
            done.append("umount -l %s" % point)
        else:
            failed.append("umount -l %s: %s" % (point, r.stderr.strip()))
            break
    if os.path.isdir(state_root):
        for name in os.listdir(state_root):
            if not name.startswith("."):
                shutil.rmtree(os.path.join(state_root, name), ignore_errors=True)
                done.append("rm -r %s" % os.path.join(state_root, name))
    return done, failed


# -- killing ---------------------------------------------------------------------
class Outcome:
    """One try: how the killed command ended, what delete -f said, what was
    left."""
    __slots__ = ("cid", "delay", "killed_at", "rc", "stderr", "delete_rc", "delete_err",
                 "left", "cleaned", "clean_failed")

    def key(self):
        """The summary's category: what was left ("nothing left" if nothing)."""
        kinds = sorted(self.left)
        if self.delete_rc != 0:
            kinds.insert(0, "delete -f failed")
        return ", ".join(kinds) if kinds else "nothing left"


def kill_after(argv, delay, out, err):
    """Start argv, SIGKILL it `delay` s after the start (a sleep picks the
    instant; it synchronises nothing) and reap it.  Returns (exit status,
    seconds from the start to the kill, or None if it ended before)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rest = t0 + delay - time.monotonic()
    if rest > 0:
        time.sleep(rest)
    killed_at = None
    if p.poll() is None:
        killed_at = time.monotonic() - t0
        p.send_signal(signal.SIGKILL)
    rc = p.wait()
    # (it may have ended between the poll and the kill)
    return rc, killed_at if rc == -signal.SIGKILL else None


def kill_on_mount(argv, path, out, err, timeout=30):
    """Start argv and SIGKILL it as soon as something is mounted at path
    (poll(2) on /proc/self/mountinfo wakes on every change of the mount
    table; other changes are looked at and ignored).  Returns (exit
    status, seconds to the kill, or None if it ended or timed out without
    a mount at path)."""
    path = os.path.realpath(str(path))
    fd = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    pidfd = os.pidfd_open(p.pid)
    killed_at = None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLPRI | select.POLLERR)
        poller.register(pidfd, select.POLLIN)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            ready = dict(poller.poll(max(0, deadline - time.monotonic()) * 1000))
            if fd in ready and any(point == path for _, point in mounts_under([path])):
                killed_at = time.monotonic() - t0
                p.send_signal(signal.SIGKILL)
                break
            if pidfd in ready:
                break
    finally:
        os.close(pidfd)
        os.close(fd)
    if killed_at is None and p.poll() is None:
        p.kill()   # the timeout: not a kill at a mount
    rc = p.wait()
    return rc, killed_at if rc == -signal.SIGKILL else None


def one_try(cmd, state_root, verb, bundle, cid, rootfs, watched, outdir, delay=None,
            at_mount=False, delete=True):
    """Kill `CMD --root STATE_ROOT VERB -b BUNDLE CID` (verb: "create" or
    "run -d") after delay s, or at the bind of the rootfs with at_mount;
    run delete -f (not with delete=False: to check the checks), look at
    what is left, clean it up.  Returns an Outcome."""
    o = Outcome()
    o.cid, o.delay = cid, delay
    before = mounts_under(watched)
    argv = list(cmd) + ["--root", state_root] + verb.split() + ["-b", bundle, cid]
    with open(os.path.join(outdir, "cmd.out"), "w") as out, \
            open(os.path.join(outdir, "cmd.err"), "w+") as err:
        if at_mount:
            o.rc, o.killed_at = kill_on_mount(argv, rootfs, out, err)
        else:
            o.rc, o.killed_at = kill_after(argv, delay, out, err)
        err.seek(0)
        o.stderr = err.read().strip()
    o.delete_rc, o.delete_err = 0, ""
    if delete:
        o.delete_rc, _, o.delete_err = pyrunc(cmd, state_root, "delete", "-f", cid)
        o.delete_err = o.delete_err.strip()
    o.left = look(cmd, state_root, cid, before, watched)
    o.cleaned, o.clean_failed = clean(cid, state_root, before, rootfs)
    # the next try must start from a clean machine
    again = look(cmd, state_root, cid, before, watched, grace=5)
    again.pop("process-late", None)
    if again:
        o.clean_failed.append("still left after cleaning up: %r" % again)
    return o


def measure(cmd, state_root, verb, bundle, cids, outdir):
    """Seconds each full `VERB` takes, from the start to its exit (each
    container then deleted with delete -f)."""
    times = []
    for cid in cids:
        argv = list(cmd) + ["--root", state_root] + verb.split() + ["-b", bundle, cid]
        with open(os.path.join(outdir, "cmd.out"), "w") as out, \
                open(os.path.join(outdir, "cmd.err"), "w+") as err:
            t0 = time.monotonic()
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            times.append(time.monotonic() - t0)
            err.seek(0)
            if rc != 0:
                raise RuntimeError("%s failed (%s): %s" % (" ".join(argv), rc, err.read()))
        rc, _, derr = pyrunc(cmd, state_root, "delete", "-f", cid)
        if rc != 0:
            raise RuntimeError("delete -f %s failed (%s): %s" % (cid, rc, derr))
    return times
