"""Run mutated configs through the real CLI and classify what happens.

    cd /work/main && /opt/pyrunc/bin/python -m tests.fuzz.runner -n 20000 --seed 1 --jobs 2

Each case: config.json (tests/fuzz/mutate.py) in a bundle with its own
busybox rootfs, `pyrunc --root R create -b B ID`, `start` if create
succeeded, then always `delete -f`, each with a timeout and output to
files.  A case is one of

  ok              create (and start) succeeded and nothing was left
  clean error     exit status 1 and one line on stderr (warnings aside)
                  without "internal error" or "Traceback"
  INTERNAL ERROR  "internal error" or a traceback, or status 1 with no
                  line or several
  CRASH           killed by a signal or a status other than 0 and 1
  HANG            a command still running after --timeout
  LEFTOVER        after delete -f: the id in `pyrunc list`, an entry in
                  the state root, a cgroup directory, a process, a mount
  HOST CHANGE     hostcheck.diff found the host altered

(the most severe one wins).  The runner is a supervisor: the cases run
in --jobs workers, each a copy of this module started under `unshare
--mount --propagation private` (unless --no-private-ns), in whose mount
namespace "/" and /sys/fs/cgroup are read-only, /dev is a tmpfs copy and
the fuzz directory is the one writable place (Workspace._protect): a
config that binds a host directory cannot write into it, and one without
a mount namespace reaches only the worker's.  Both that namespace's
mountinfo and /proc/1/mountinfo are compared.  A worker whose namespace a
case changed is started afresh.  A run stops at the first HOST CHANGE
(unless --keep-going; always when it could not be undone), after putting
back what hostcheck.restore can.

Cases that are neither ok nor clean are saved in tests/fuzz/corpus/ (or
--corpus DIR) as CLASS-HASH.json, one file per (class, first line with
its values masked).  --replay FILE... runs saved cases again, verbosely,
each in a fresh worker.  README.md tells more.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from .mutate import SEED_NAMES, USERNS_HOST_ID, make_case

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import hostcheck  # noqa: E402
from support.rootfs import make_busybox_rootfs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
PYRUNC = os.environ.get("PYRUNC_FUZZ_CLI", "/usr/local/bin/pyrunc")
IN_NS_ENV = "PYRUNC_FUZZ_IN_NS"
TOP_ENV = "PYRUNC_FUZZ_TOP"
MARKER_ENV = "PYRUNC_FUZZ_MARKER"

OK, CLEAN, INTERNAL, CRASH, HANG, LEFTOVER, HOST = (
    "ok", "clean error", "INTERNAL ERROR", "CRASH", "HANG", "LEFTOVER", "HOST CHANGE")
SEVERITY = (OK, CLEAN, INTERNAL, CRASH, HANG, LEFTOVER, HOST)
# the harness's own failure in a case (a traceback of the runner): counted
# apart, never saved as pyrunc's
RUNNER_ERROR = "RUNNER ERROR"
SLUG = {INTERNAL: "internal", CRASH: "crash", HANG: "hang", LEFTOVER: "leftover",
        HOST: "host-change", CLEAN: "clean", OK: "ok", RUNNER_ERROR: "runner-error"}
OUTPUT_LIMIT = 65536

# cgroup directories of other work on this machine: test containers named
# like ours (letters, hex marker, -number: the integration tests' pt...,
# other fuzz runs), engines' containers
FOREIGN_CGROUP = re.compile(r"(^|/)([a-z]+[0-9a-f]{6,}-[0-9r]+(/|$)|[0-9a-f]{64}|libpod-|docker-)")


# -- the rootfs --------------------------------------------------------------

def copy_rootfs(base, dest):
    """A per-case copy: directories, symlinks and small files made anew
    (with the base's owners), the busybox binary hard-linked."""
    st = os.lstat(base)
    os.mkdir(dest, st.st_mode & 0o7777)
    os.chown(dest, st.st_uid, st.st_gid)
    for dirpath, dirnames, filenames in os.walk(base):
        rel = os.path.relpath(dirpath, base)
        out = os.path.join(dest, rel) if rel != "." else dest
        for d in dirnames:
            s = os.lstat(os.path.join(dirpath, d))
            p = os.path.join(out, d)
            if (s.st_mode & 0o170000) == 0o120000:
                os.symlink(os.readlink(os.path.join(dirpath, d)), p)
                os.lchown(p, s.st_uid, s.st_gid)
                continue
            os.mkdir(p)
            os.chown(p, s.st_uid, s.st_gid)
            os.chmod(p, s.st_mode & 0o7777)
        for name in filenames:
            src = os.path.join(dirpath, name)
            p = os.path.join(out, name)
            s = os.lstat(src)
            if (s.st_mode & 0o170000) == 0o120000:
                os.symlink(os.readlink(src), p)
                os.lchown(p, s.st_uid, s.st_gid)
            elif name == "busybox":
                os.link(src, p)
            else:
                shutil.copy2(src, p)
                os.chown(p, s.st_uid, s.st_gid)


def _fingerprint(path):
    s = os.lstat(path)
    return (s.st_size, s.st_mtime_ns, s.st_mode, s.st_uid, s.st_gid)


# -- mounts of ours ------------------------------------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = (
    1, 2, 4, 32, 4096, 8192, 16384)
_libc = None


def _lib():
    global _libc
    import ctypes
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
        _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return _libc


def umount(target):
    """umount2(target, MNT_DETACH)."""
    import ctypes
    if _lib().umount2(target.encode(), 2) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), target)


def mount(source, target, fstype, flags, data=None):
    """mount(2) itself: mount(8) would also write its table under /run,
    which is read-only in the worker's namespace."""
    import ctypes

    def b(text):
        return None if text is None else text.encode()
    if _lib().mount(b(source), b(target), b(fstype), flags, b(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "mount %s on %s: %s" % (source, target, os.strerror(err)))


def mounts_under(top, path="/proc/self/mountinfo"):
    top = top.rstrip("/")
    return [m for m in hostcheck.read_mountinfo(path)
            if m.point == top or m.point.startswith(top + "/")]


def unmount_under(top, keep_top=True):
    """Detach every mount under top: only our own.  The shallowest and,
    at one point, the newest first: MNT_DETACH takes what is mounted below
    it along, also the copies a recursive bind stacked out of reach."""
    done = []
    for _ in range(200):
        ms = [m for m in mounts_under(top) if not (keep_top and m.point == top.rstrip("/"))]
        if not ms:
            break
        m = min(ms, key=lambda m: (m.point.count("/"), -int(m.id)))
        try:
            umount(m.point)
            done.append("detached %s (%s)" % (m.point, m.fstype))
        except OSError as e:
            done.append("detach %s: %s" % (m.point, e.strerror))
            break
    return done


def safe_rmtree(path):
    """Remove path unless something is mounted under it (rmtree would then
    walk into a file system that is not ours) or the mount table cannot be
    read (a case took /proc away from this namespace)."""
    if not hostcheck.read_mountinfo("/proc/self/mountinfo") or mounts_under(path):
        return False
    # rm, not shutil.rmtree: a case can leave a directory 100,000 levels
    # deep (a mount destination "/d/d/d/..."), past Python's recursion
    subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return not os.path.lexists(path)


# -- the workspace -------------------------------------------------------------

class Workspace:
    """/tmp/pyrunc-fuzz-XXXX: the two rootfs bases (made once, by
    prepare), one directory per worker (its state root and the case
    bundles), new corpus files; one object per worker process."""

    def __init__(self, top, marker, pyrunc=PYRUNC, timeout=20.0, protect=True):
        self.top = top
        self.marker = marker
        self.pyrunc = shlex.split(pyrunc)   # a command: "python -m pyrunc" too
        self.timeout = timeout
        self.base = os.path.join(top, "rootfs")
        self.base_userns = os.path.join(top, "rootfs-userns")
        self.new_corpus = os.path.join(top, "corpus-new")
        self.fingerprints = self._fingerprints()
        self.protected = protect and self._protect()
        self.empty = os.path.join(top, "empty")
        with open(self.empty, "w"):
            pass

    @staticmethod
    def prepare(top):
        for d in ("corpus-new", "seen"):
            os.makedirs(os.path.join(top, d), exist_ok=True)
        make_busybox_rootfs(os.path.join(top, "rootfs"))
        make_busybox_rootfs(os.path.join(top, "rootfs-userns"), USERNS_HOST_ID)

    def _fingerprints(self):
        return [_fingerprint(os.path.join(b, "bin", "busybox"))
                for b in (self.base, self.base_userns)]

    def check_bases(self):
        """Rebuild the rootfs bases if a case wrote into them (through
        the hard-linked busybox); returns a note or None."""
        if self._fingerprints() == self.fingerprints:
            return None
        for b, uid in ((self.base, 0), (self.base_userns, USERNS_HOST_ID)):
            if mounts_under(b):
                raise RuntimeError("mounted under the rootfs base %s" % b)
            shutil.rmtree(b, ignore_errors=True)
            make_busybox_rootfs(b, uid or None)
        self.fingerprints = self._fingerprints()
        return "the rootfs bases were changed through a case's rootfs: rebuilt"

    def _protect(self):
        """In the worker's own mount namespace only: the fuzz directory
        becomes a mount of its own; "/" and the tmpfs at /sys/fs/cgroup
        (v1, hybrid) read-only (bind remounts: the per-mount flag of our copies, not the
        superblocks); /dev a tmpfs with copies of the host's nodes (a case
        that writes into /dev, e.g. with root.path "/dev", changes the copy,
        which hostcheck compares, not the host's)."""
        if os.environ.get(IN_NS_ENV) != "1":
            return False
        try:
            mount(self.top, self.top, None, MS_BIND)
            mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            # (the tmpfs of the v1 and hybrid layouts; on pure v2 that is
            # the cgroup2 mount, where the containers' cgroups are made)
            if any(m.point == "/sys/fs/cgroup" and m.fstype == "tmpfs"
                   for m in hostcheck.read_mountinfo("/proc/self/mountinfo")):
                mount(None, "/sys/fs/cgroup", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            self._private_dev()
        except OSError as e:
            print("warning: protecting the worker's namespace: %s" % e, file=sys.stderr)
            return False
        return True

    def _private_dev(self):
        copy = os.path.join(self.top, "dev-%d" % os.getpid())
        os.mkdir(copy)
        mount("tmpfs", copy, "tmpfs", MS_NOSUID, "mode=755")
        for e in os.scandir("/dev"):
            st = e.stat(follow_symlinks=False)
            p, kind = os.path.join(copy, e.name), st.st_mode & 0o170000
            if kind == 0o120000:
                os.symlink(os.readlink(e.path), p)
            elif kind == 0o040000:
                os.mkdir(p)
            elif kind in (0o020000, 0o060000, 0o010000):
                os.mknod(p, st.st_mode, st.st_rdev)
            else:
                continue   # sockets, files: nothing a container uses
            os.lchown(p, st.st_uid, st.st_gid)
            if kind != 0o120000:
                os.chmod(p, st.st_mode & 0o7777)
        # what is mounted in /dev, as it is seen: the host's devpts (the
        # runtime's console) bound, a tmpfs of our own for /dev/shm (a
        # config whose root.path is /dev/shm makes its mount points there)
        subs = sorted({m.point for m in hostcheck.read_mountinfo("/proc/self/mountinfo")
                       if m.point.startswith("/dev/")}, key=lambda p: p.count("/"))
        done = []
        for point in subs:
            if any(point.startswith(d + "/") for d in done):
                continue   # came with its parent (MS_REC)
            target = copy + point[len("/dev"):]
            os.makedirs(target, exist_ok=True)
            if point == "/dev/shm":
                mount("shm", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
            else:
                mount(point, target, None, MS_BIND | MS_REC)
            done.append(point)
        mount(copy, "/dev", None, MS_MOVE)

    def worker_dir(self, worker):
        d = os.path.join(self.top, "w%d" % worker)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        return d

    def state_root(self, worker):
        return os.path.join(self.worker_dir(worker), "state")


# -- one case ------------------------------------------------------------------

class Result:
    __slots__ = ("cls", "flags", "commands", "changes", "cleanup", "cid", "seconds", "notes",
                 "persisting", "taint")

    def __init__(self, cid):
        self.cid = cid
        self.cls = OK
        self.flags = []        # (class, why)
        self.commands = []
        self.changes = []
        self.cleanup = []
        self.notes = []
        self.persisting = []    # host changes clean-up and restore could not undo
        self.taint = False      # the worker's namespace is not as it was
        self.seconds = 0.0

    def flag(self, cls, why):
        self.flags.append((cls, why))
        if SEVERITY.index(cls) > SEVERITY.index(self.cls):
            self.cls = cls

    def first_line(self):
        """What tells this failure from others of its class."""
        for cls, why in self.flags:
            if cls == self.cls:
                return why
        return ""

    def to_json(self):
        return {"class": self.cls, "flags": [list(f) for f in self.flags],
                "commands": self.commands, "changes": [repr(c) for c in self.changes],
                "cleanup": self.cleanup, "notes": self.notes, "seconds": round(self.seconds, 3)}


def _read(path, limit=16 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "backslashreplace")
    except OSError:
        return ""


def _cut(text):
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "[... %d more]" % (
        len(text) - OUTPUT_LIMIT)


# pids of the CLI commands running now: reap_orphans leaves them to their
# Popen (a wait of ours would steal their exit status)
_ACTIVE = set()


def become_subreaper():
    """Orphans of the cases (a container's init once create has exited)
    become our children, not pid 1's: reaped here, and still ours to find
    if delete -f leaves them running."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER


def reap_orphans():
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in _ACTIVE:
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2:].split()
        if rest[0] == b"Z" and int(rest[1]) == me:
            try:
                os.waitpid(int(name), os.WNOHANG)
            except ChildProcessError:
                pass


def run_cmd(argv, cwd, name, timeout, stdin):
    """Run one CLI command, input from the file stdin (not /dev/null: a
    case may hide it from the runner's namespace), output to files in cwd;
    its own session, so a timeout kills what it started (only that)."""
    out, err = os.path.join(cwd, name + ".out"), os.path.join(cwd, name + ".err")
    t0 = time.perf_counter()
    with open(out, "wb") as fo, open(err, "wb") as fe, open(stdin, "rb") as fi:
        p = subprocess.Popen(argv, cwd=cwd, stdin=fi, stdout=fo, stderr=fe,
                             start_new_session=True)
        _ACTIVE.add(p.pid)
        hung = False
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            hung = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = p.wait()
        finally:
            _ACTIVE.discard(p.pid)
    stderr = _read(err)
    return {"argv": argv, "rc": rc, "hung": hung, "seconds": round(time.perf_counter() - t0, 3),
            "stdout": _cut(_read(out, OUTPUT_LIMIT + 1)), "stderr": _cut(stderr),
            # judged on the whole text, stored cut
            "error_lines": [ln[:300] for ln in stderr.split("\n")
                            if ln and not _is_warning(ln)],
            "internal": [ln[:300] for ln in stderr.split("\n") if "internal error" in ln],
            "traceback": "Traceback" in stderr}


def _is_warning(line):
    return line.startswith("time=") and " level=warning " in line


def judge(cmd, res, name):
    """Classify one command's ending; True if it succeeded."""
    if cmd["hung"]:
        res.flag(HANG, "%s: no exit within %gs" % (name, cmd["seconds"]))
        return False
    rc, lines = cmd["rc"], cmd["error_lines"]
    if cmd["traceback"]:
        res.flag(INTERNAL, "%s: Traceback: %s" % (name, lines[-1] if lines else ""))
        return False
    if cmd["internal"]:
        res.flag(INTERNAL, "%s: %s" % (name, cmd["internal"][0]))
        return False
    if rc < 0:
        res.flag(CRASH, "%s: killed by signal %d" % (name, -rc))
        return False
    if rc == 0:
        return True
    if rc != 1:
        res.flag(CRASH, "%s: exit status %d: %s" % (name, rc, lines[0] if lines else ""))
        return False
    if len(lines) != 1:
        res.flag(INTERNAL, "%s: status 1 with %d error lines: %r" % (
            name, len(lines), " | ".join(ln[:100] for ln in lines[:3])))
        return False
    res.flag(CLEAN, "%s: %s" % (name, lines[0]))
    return False


def run_case(ws, worker, cid, text, uses_userns, before=None, verbose=False):
    """Write config `text` into a bundle and run create/start/delete -f.
    Returns (Result, snapshot after)."""
    t0 = time.perf_counter()
    res = Result(cid)
    wdir = ws.worker_dir(worker)
    bundle = os.path.join(wdir, cid)
    if os.path.lexists(bundle) and not safe_rmtree(bundle):
        # (a worker that stopped in this case left it with a mount under it)
        os.rename(bundle, "%s.left-%d" % (bundle, time.time()))
    os.mkdir(bundle)
    os.chmod(bundle, 0o755)
    copy_rootfs(ws.base_userns if uses_userns else ws.base, os.path.join(bundle, "rootfs"))
    with open(os.path.join(bundle, "config.json"), "w") as f:
        f.write(text)
    scope = hostcheck.Scope(own=[wdir])
    if before is None:
        before = hostcheck.snapshot([cid], [wdir])
    root = ws.state_root(worker)
    had = set(_state_entries(root))
    base = ws.pyrunc + ["--root", root]
    created = judge_cmd(res, run_cmd(base + ["create", "-b", bundle, cid], bundle, "create",
                                     ws.timeout, ws.empty), "create", verbose)
    if created:
        judge_cmd(res, run_cmd(base + ["start", cid], bundle, "start", ws.timeout, ws.empty),
                  "start", verbose)
    deleted = run_cmd(base + ["delete", "-f", cid], bundle, "delete", ws.timeout, ws.empty)
    res.commands.append(deleted)
    if verbose:
        _show(deleted)
    if deleted["rc"] != 0 or deleted["hung"]:
        alone = Result(cid)
        judge(deleted, alone, "delete -f")
        for cls, why in alone.flags:
            # a clean error of delete -f is no better: it must remove what
            # create made or began
            res.flag(LEFTOVER if cls == CLEAN else cls, why)
    reap_orphans()
    listed = run_cmd(base + ["list", "-q"], bundle, "list", ws.timeout, ws.empty)
    if cid in listed["stdout"].split():
        res.flag(LEFTOVER, "still listed by pyrunc list")
    entries = [n for n in _state_entries(root) if n not in had or n == cid]
    if entries:
        res.flag(LEFTOVER, "state root has %s" % ", ".join(sorted(entries)))
    after = hostcheck.snapshot([cid], [wdir])
    changes = hostcheck.diff(before, after, scope)
    parts = cgroups_path_parts(text)
    host_root = config_rootfs(text, bundle, ws.top)
    changes = [c for c in changes if _ours(c, cid, parts) or _under(c.path, host_root)]
    if changes:
        # churn of other work settles; what is ours stays
        time.sleep(0.3)
        after = hostcheck.snapshot([cid], [wdir])
        again = set(hostcheck.diff(before, after, scope))
        changes = [c for c in changes if c in again]
    # A config whose root.path is a directory of the host (root.path "/dev")
    # has that directory changed by its own mounts' mkdirs, as runc would:
    # the config's doing, not a fault; undone below all the same.
    expected = [c for c in changes if _under(c.path, host_root)]
    changes = [c for c in changes if c not in expected]
    for c in expected:
        res.notes.append("the config's rootfs is the host's %s: %s" % (host_root, c.text))
    res.taint = any(c.path.startswith("/dev/") for c in expected)
    res.cleanup += [line for c in expected if c.text.startswith("cgroup directory new: ")
                    for line in _rmdir(c.path)]
    res.changes = changes
    for c in changes:
        res.flag(HOST if c.kind == "host" else LEFTOVER, c.text)
    if any(c.kind == "host" for c in changes):
        res.cleanup += ["restore: " + line for line in hostcheck.restore(before, after)]
    if res.cls in (LEFTOVER, HOST, HANG, CRASH):
        res.cleanup += clean_case(ws, worker, cid, bundle, before, after)
        after = hostcheck.snapshot([cid], [wdir])
        # what cleaning and restoring could not undo, outside our namespace
        res.persisting = [c for c in hostcheck.diff(before, after, scope)
                          if c.kind == "host" and not c.text.startswith("mounts:")
                          and _ours(c, cid, parts) and not _under(c.path, host_root)]
        for c in res.persisting:
            res.notes.append("still changed after clean-up: %s" % c.text)
    if not safe_rmtree(bundle):
        res.cleanup.append("bundle %s NOT removed: mounts under it, or none to be seen"
                           % bundle)
    note = ws.check_bases()
    if note:
        res.notes.append(note)
    res.seconds = time.perf_counter() - t0
    return res, after


def _state_entries(root):
    """The state root's entries but its dot-entries (the runtime's caches)."""
    try:
        return [n for n in os.listdir(root) if not n.startswith(".")]
    except FileNotFoundError:
        return []


def clean_stale(ws, w):
    """What a case left in this worker's state root before the worker's
    namespace was lost (it was counted then): its processes and cgroups
    (by its id) and its state.  Not by `delete -f`: the state may record
    a rootfs bind of the lost namespace ("/" itself), which this one would
    then detach."""
    root = ws.state_root(w)
    done = []
    for cid in _state_entries(root):
        done += ["%s: %s" % (cid, line) for line in sweep(cid)]
        state = os.path.join(root, cid)
        done.append("state %s %s" % (state, "removed" if safe_rmtree(state) else "NOT removed"))
    return done


def judge_cmd(res, cmd, name, verbose):
    res.commands.append(cmd)
    if verbose:
        _show(cmd)
    return judge(cmd, res, name)


def _show(cmd):
    print("$ %s\n  -> %s%s (%.3fs)" % (" ".join(cmd["argv"]), cmd["rc"],
                                       " HUNG" if cmd["hung"] else "", cmd["seconds"]))
    for stream in ("stdout", "stderr"):
        if cmd[stream]:
            print("  %s: %s" % (stream, cmd[stream].rstrip()[:2000].replace("\n", "\n    ")))


def _under(path, top):
    return bool(path and top) and (path == top or path.startswith(top.rstrip("/") + "/"))


def config_rootfs(text, bundle, ours):
    """root.path resolved as a runtime would, when it is a directory
    outside our own ones (the host's), else None."""
    try:
        path = json.loads(text)["root"]["path"]
    except Exception:  # noqa: BLE001 - deep nesting, 1e400, a mutated shape
        return None
    if not isinstance(path, str) or "\0" in path:
        return None
    try:
        real = os.path.realpath(os.path.join(bundle, path))
    except (ValueError, OSError):
        return None
    return None if _under(real, ours) or not os.path.isdir(real) else real


def _rmdir(d):
    """rmdir a cgroup directory, waiting for its dying processes."""
    for _ in range(20):
        try:
            os.rmdir(d)
            return ["rmdir %s" % d]
        except FileNotFoundError:
            return []
        except OSError as e:
            if e.errno != 16:  # EBUSY: its processes are still dying
                return ["rmdir %s: %s" % (d, e.strerror)]
            time.sleep(0.05)
    return ["rmdir %s: busy" % d]


def cgroups_path_parts(text):
    """The components of the config's linux.cgroupsPath (cut at a NUL, as
    a C string is), or () when there is none: where its cgroups can be."""
    try:
        path = json.loads(text)["linux"]["cgroupsPath"]
    except Exception:  # noqa: BLE001 - deep nesting, 1e400, a mutated shape
        m = re.search(r'"cgroupsPath"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
        try:
            path = json.loads('"%s"' % m.group(1)) if m else None
        except ValueError:
            path = None
    if not isinstance(path, str):
        return ()
    path = os.path.normpath("/" + path.split("\0")[0]).strip("/")
    return tuple(p for p in path.split("/") if p)


def _ours(change, cid, parts=()):
    """Is a cgroup change the case's?  Other work on the machine makes and
    removes cgroups all the time (the machine's own sessions, tests): a
    directory that came or went is the case's when it has the case's id or
    ends like (a start of) the config's cgroupsPath, where a runtime that
    got it wrong would make or remove one."""
    if not change.text.startswith(("cgroup directory new: ", "cgroup directory gone: ")):
        return True
    path = change.path
    if cid in path:
        return True
    if FOREIGN_CGROUP.search(path):
        return False
    tail = path.split("/")
    return any(tuple(tail[-k:]) == parts[:k] for k in range(1, len(parts) + 1))


def clean_case(ws, worker, cid, bundle, before, after):
    """Remove what a case left: only things of this case."""
    done = []
    base = ws.pyrunc + ["--root", ws.state_root(worker)]
    r = run_cmd(base + ["delete", "-f", cid], ws.worker_dir(worker), "cleanup-delete",
                ws.timeout, ws.empty)
    done.append("delete -f again: status %s %s" % (r["rc"], r["stderr"].strip()[:200]))
    snap = hostcheck.snapshot([cid], [bundle])
    for pid, why in snap.procs.items():
        try:
            os.kill(pid, signal.SIGKILL)
            done.append("killed %s" % why)
        except ProcessLookupError:
            pass
    done += unmount_under(bundle, keep_top=False)
    new_dirs = sorted(set(after.cgroups) - set(before.cgroups), key=lambda d: -d.count("/"))
    for d in new_dirs:
        if cid in d or not FOREIGN_CGROUP.search(d):
            done += _rmdir(d)
    state = os.path.join(ws.state_root(worker), cid)
    if os.path.lexists(state):
        done.append("state %s removed" % state if safe_rmtree(state)
                    else "state %s NOT removed" % state)
    return done


# -- corpus --------------------------------------------------------------------

def dedup_key(cls, line, cid, top):
    """Failures are the same when their line is, once the values in it
    are masked: paths of the run, quoted strings, long words, numbers."""
    line = line.replace(top, "<top>").replace(cid, "<id>")
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "<s>", line)
    line = re.sub(r"\S{40,}", "<long>", line)
    line = re.sub(r"[0-9a-f]{16,}", "<hex>", line)
    return cls, re.sub(r"\d+", "N", line)[:200]


def corpus_name(key):
    return "%s-%s.json" % (SLUG[key[0]], hashlib.sha1(repr(key).encode()).hexdigest()[:10])


def save_case(ws, case, res, key):
    doc = {"class": res.cls, "key": list(key), "seed": case.seed, "run_seed": case.run_seed,
           "index": case.index, "ops": case.ops, "config": case.text,
           "userns": case.seed == "userns", "id": res.cid, "top": ws.top,
           "pyrunc": ws.pyrunc, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    doc.update(res.to_json())
    path = os.path.join(ws.new_corpus, corpus_name(key))
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True)
    return path


# -- the run -------------------------------------------------------------------

def _entry(case, res, cid):
    return {"index": case.index, "seed": case.seed, "ops": case.ops, "class": res.cls,
            "line": res.first_line(), "changes": [repr(c) for c in res.changes],
            "cleanup": res.cleanup, "notes": res.notes, "seconds": round(res.seconds, 3)}


def _first_time(ws, key):
    """True for the first worker that meets this failure (O_EXCL)."""
    path = os.path.join(ws.top, "seen", corpus_name(key))
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        return False


def _tainted(res):
    """A mount of our namespace outside our directories came or went: the
    namespace no longer mirrors the host, the worker starts a fresh one."""
    return res.taint or any(c.kind == "host" and c.text.startswith("mounts:")
                            for c in res.changes)


def work(args, ws, w):
    """A worker: cases start+w, start+w+jobs, ... not done yet, in its own
    mount namespace.  Exit status 3: start me again in a fresh one."""
    wdir = ws.worker_dir(w)
    results = os.path.join(wdir, "results.jsonl")
    done = set()
    if os.path.exists(results):
        with open(results) as f:
            done = {json.loads(line)["index"] for line in f if line.strip()}
    known = set(os.listdir(args.corpus)) if os.path.isdir(args.corpus) else set()
    for line in clean_stale(ws, w):
        print("  worker %d: %s" % (w, line), flush=True)
    after = None
    jobs = max(1, args.jobs)
    with open(results, "a") as out:
        for i in range(args.start + w, args.start + args.n, jobs):
            if i in done:
                continue
            if os.path.exists(os.path.join(ws.top, "STOP")):
                return 0
            case = make_case(args.seed, i, mutations=not args.no_mutate, only=args.only)
            cid = "%s-%06d" % (ws.marker, i)
            if jobs > 1:
                after = None   # the other workers' cases ran meanwhile
            try:
                res, after = run_case(ws, w, cid, case.text, case.seed == "userns",
                                      before=after, verbose=args.verbose)
            except Exception:  # noqa: BLE001 - the harness's, not pyrunc's: go on
                import traceback
                print("  #%d %s: %s" % (i, RUNNER_ERROR, traceback.format_exc()), flush=True)
                out.write(json.dumps({"index": i, "seed": case.seed, "ops": case.ops,
                                      "class": RUNNER_ERROR}) + "\n")
                out.flush()
                return 3   # a fresh namespace for the next case
            entry = _entry(case, res, cid)
            if res.cls not in (OK, CLEAN):
                key = dedup_key(res.cls, res.first_line(), cid, ws.top)
                entry["key"] = list(key)
                if jobs > 1 and res.cls == HOST:
                    res.notes.append("%d workers ran at once: replay it alone" % jobs)
                first = _first_time(ws, key)
                if first and not args.no_save and corpus_name(key) not in known:
                    save_case(ws, case, res, key)
                if first or res.cleanup:
                    print("  #%d %s [%s] %s: %s" % (
                        i, res.cls, case.seed, "; ".join(case.ops)[:150],
                        res.first_line()[:200]), flush=True)
                    for line in res.cleanup:
                        print("      cleanup: %s" % line, flush=True)
                    for line in res.notes:
                        print("      note: %s" % line, flush=True)
            out.write(json.dumps(entry, ensure_ascii=True) + "\n")
            out.flush()
            if res.persisting or (res.cls == HOST and not args.keep_going):
                print("HOST CHANGE in case %d: stopping%s" % (
                    i, " (it could not be undone)" if res.persisting
                    else " (--keep-going to go on)"), flush=True)
                open(os.path.join(ws.top, "STOP"), "w").close()
                return 0
            if _tainted(res):
                print("worker %d: its mount namespace changed: a fresh one" % w, flush=True)
                return 3
    return 0


def replay(ws, paths, verbose=True, first=0):
    """Run saved corpus cases again; returns per-file results."""
    out = []
    for i, path in enumerate(paths, first):
        with open(path) as f:
            doc = json.load(f)
        cid = "%s-r%05d" % (ws.marker, i)
        if verbose:
            print("== %s (was %s; seed %s): %s" % (path, doc.get("class"), doc.get("seed"),
                                                  "; ".join(doc.get("ops") or ())), flush=True)
        # (a directory of its own: what an earlier case left is not its)
        res, _ = run_case(ws, i, cid, doc["config"], doc.get("userns", False),
                          verbose=verbose)
        if verbose:
            print("-> %s: %s" % (res.cls, res.first_line()))
            for c in res.changes:
                print("   change: %r" % c)
            for line in res.cleanup:
                print("   cleanup: %s" % line)
            for line in res.notes:
                print("   note: %s" % line)
            print(flush=True)
        out.append({"file": os.path.basename(path), "id": cid, "class": res.cls,
                    "line": res.first_line(), "changes": [repr(c) for c in res.changes],
                    "cleanup": res.cleanup, "notes": res.notes, "commands": res.commands})
        if _tainted(res):
            break
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.runner",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=1000, help="number of cases (default 1000)")
    p.add_argument("--seed", default="1", help="run seed: case i is make_case(seed, i)")
    p.add_argument("--start", type=int, default=0, help="first case index")
    p.add_argument("--jobs", type=int, default=1, help="workers (each its own namespace)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per pyrunc command")
    p.add_argument("--no-private-ns", action="store_true",
                   help="run in the caller's mount namespace (no read-only /)")
    p.add_argument("--no-mutate", action="store_true", help="the seeds as they are")
    p.add_argument("--only", nargs="+", choices=SEED_NAMES, metavar="SEED",
                   help="draw from these seeds only: %s" % " ".join(SEED_NAMES))
    p.add_argument("--keep-going", action="store_true", help="go on after a HOST CHANGE")
    p.add_argument("--corpus", default=CORPUS, help="where new failures are saved")
    p.add_argument("--no-save", action="store_true", help="save no corpus file")
    p.add_argument("--summary", help="write the counts and failures as JSON here")
    p.add_argument("--replay", nargs="+", metavar="FILE", help="run saved cases again")
    p.add_argument("--pyrunc", default=PYRUNC, help="the CLI to test (default %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def inner(args):
    """One worker process, in its own mount namespace."""
    become_subreaper()
    top = os.environ[TOP_ENV]
    ws = Workspace(top, os.environ[MARKER_ENV], pyrunc=args.pyrunc, timeout=args.timeout,
                   protect=not args.no_private_ns)
    if not ws.protected and not args.no_private_ns:
        print("warning: / is not read-only in the worker's namespace", file=sys.stderr)
    if args.replay:
        results = replay(ws, args.replay, verbose=True, first=args.worker or 0)
        with open(os.path.join(top, "replay-%d.json" % (args.worker or 0)), "w") as f:
            json.dump(results, f, indent=1)
        return 0
    try:
        return work(args, ws, args.worker or 0)
    except Exception:  # noqa: BLE001 - the harness's own failure: a fresh worker
        import traceback
        traceback.print_exc()
        return 4


def _install_mtime():
    try:
        import pyrunc
        return os.stat(os.path.join(os.path.dirname(pyrunc.__file__), "bundle.py")).st_mtime
    except (ImportError, OSError):
        return None


class Supervisor:
    """Runs the workers, starts a fresh one when a worker's namespace
    changed, adds up their results, cleans up."""

    def __init__(self, args, argv, top, marker):
        self.args, self.argv, self.top, self.marker = args, argv, top, marker
        self.t0 = time.time()

    def spawn(self, w, argv=None):
        env = dict(os.environ, **{TOP_ENV: self.top, MARKER_ENV: self.marker, IN_NS_ENV: "1"})
        cmd = [sys.executable, "-m", "tests.fuzz.runner"] + list(
            self.argv if argv is None else argv) + ["--worker", str(w)]
        if not self.args.no_private_ns:
            cmd = ["unshare", "--mount", "--propagation", "private", "--"] + cmd
        return subprocess.Popen(cmd, env=env, cwd=REPO)

    def entries(self):
        out = []
        for w in range(max(1, self.args.jobs)):
            path = os.path.join(self.top, "w%d" % w, "results.jsonl")
            if os.path.exists(path):
                with open(path) as f:
                    out += [json.loads(line) for line in f if line.strip()]
        return out

    def progress(self, entries):
        counts = {c: 0 for c in SEVERITY + (RUNNER_ERROR,)}
        for e in entries:
            counts[e["class"]] += 1
        rate = len(entries) / max(time.time() - self.t0, 1e-9)
        print("[%6.0fs] %d/%d  %s  %.1f cases/s" % (
            time.time() - self.t0, len(entries), self.args.n,
            " ".join("%s=%d" % (SLUG[c], counts[c]) for c in SEVERITY + (RUNNER_ERROR,)
                     if c != RUNNER_ERROR or counts[c]), rate), flush=True)
        return counts

    def run(self):
        jobs = max(1, self.args.jobs)
        procs = {w: self.spawn(w) for w in range(jobs)}
        restarts = 0
        last = time.time()
        while procs:
            time.sleep(0.2)
            for w, p in list(procs.items()):
                rc = p.poll()
                if rc is None:
                    continue
                del procs[w]
                stop = os.path.exists(os.path.join(self.top, "STOP"))
                if rc in (3, 4) and not stop and restarts < 50:
                    restarts += 1
                    procs[w] = self.spawn(w)
                elif rc not in (0,):
                    print("worker %d ended with status %s" % (w, rc), flush=True)
            if time.time() - last > 10:
                last = time.time()
                self.progress(self.entries())
        entries = self.entries()
        elapsed = time.time() - self.t0
        counts = self.progress(entries)
        print("\n%d cases in %.1fs: %.2f cases/s (%d worker restarts)" % (
            len(entries), elapsed, len(entries) / max(elapsed, 1e-9), restarts))
        for c in SEVERITY + ((RUNNER_ERROR,) if counts[RUNNER_ERROR] else ()):
            print("  %-15s %d" % (c, counts[c]))
        distinct = {}
        for e in entries:
            if "key" in e:
                k = tuple(e["key"])
                distinct.setdefault(k, []).append(e)
        if distinct:
            print("distinct failures:")
            for k, es in sorted(distinct.items()):
                print("  %s x%d (e.g. #%d [%s] %s): %s" % (
                    k[0], len(es), es[0]["index"], es[0]["seed"], "; ".join(es[0]["ops"])[:120],
                    es[0]["line"][:200]))
        return {"cases": len(entries), "seconds": round(elapsed, 2), "counts": counts,
                "restarts": restarts,
                "stopped": os.path.exists(os.path.join(self.top, "STOP")),
                "distinct": [{"class": k[0], "key": k[1], "count": len(es), "example": es[0]}
                             for k, es in sorted(distinct.items())]}

    def replay(self):
        """One worker, in a fresh namespace, per saved case."""
        results = []
        files = self.args.replay
        for i, path in enumerate(files):
            argv = [a for a in self.argv if a not in files and a != "--replay"]
            p = self.spawn(i, argv + ["--replay", path])
            p.wait()
            out = os.path.join(self.top, "replay-%d.json" % i)
            if os.path.exists(out):
                with open(out) as f:
                    results += json.load(f)
            else:
                results.append({"file": os.path.basename(path), "class": "RUNNER ERROR",
                                "line": "the worker ended with status %s" % p.returncode,
                                "changes": [], "cleanup": []})
        return {"replays": results}


def sweep(marker):
    """What the run's containers left that delete -f did not take: their
    processes (by marker) and cgroup directories (by marker)."""
    done = []
    for pid, why in hostcheck.processes([marker]).items():
        try:
            os.kill(pid, signal.SIGKILL)
            done.append("killed %s" % why)
        except ProcessLookupError:
            pass
    mounts = hostcheck.read_mountinfo("/proc/self/mountinfo")
    dirs = [d for d in hostcheck.cgroup_tree(mounts) if marker in d]
    for d in sorted(dirs, key=lambda d: -d.count("/")):
        done += _rmdir(d)
    return done


def outer(args, argv):
    """Make the fuzz directory and the rootfs bases, run the workers (each
    in a private mount namespace), collect the corpus and the summary,
    remove what is left."""
    if os.geteuid() != 0:
        raise SystemExit("the fuzz runner runs real containers: it needs root")
    top = tempfile.mkdtemp(prefix="pyrunc-fuzz-", dir="/tmp")
    os.chmod(top, 0o755)
    marker = "fz" + uuid.uuid4().hex[:6]
    installed = _install_mtime()
    code = 1
    try:
        Workspace.prepare(top)
        sup = Supervisor(args, argv, top, marker)
        if args.replay:
            summary = sup.replay()
            code = int(not summary["replays"] or
                       any(r["class"] not in (OK, CLEAN) for r in summary["replays"]))
        else:
            print("pyrunc fuzz: %d cases, seed %s, %d worker(s), marker %s, dir %s%s" % (
                args.n, args.seed, args.jobs, marker, top,
                ", seeds unmutated" if args.no_mutate else ""), flush=True)
            summary = sup.run()
            code = int(any(summary["counts"][c] for c in SEVERITY[2:] + (RUNNER_ERROR,)))
        if _install_mtime() != installed:
            print("warning: pyrunc was reinstalled during the run", flush=True)
            summary["reinstalled"] = True
        new = os.path.join(top, "corpus-new")
        saved = []
        if os.path.isdir(new) and not args.no_save:
            os.makedirs(args.corpus, exist_ok=True)
            for name in sorted(os.listdir(new)):
                dest = os.path.join(args.corpus, name)
                if not os.path.exists(dest):
                    shutil.copy(os.path.join(new, name), dest)
                    saved.append(dest)
        if saved:
            print("corpus: %s" % " ".join(os.path.relpath(p) for p in saved))
        summary["saved"] = saved
    finally:
        left = sweep(marker)
        for line in left:
            print("final sweep: %s" % line, flush=True)
        leaks = mounts_under(top) + mounts_under(top, "/proc/1/mountinfo")
        if leaks:
            print("NOT removing %s: mounted under it: %s" % (top, leaks), file=sys.stderr)
            code = code or 1
        else:
            subprocess.run(["rm", "-rf", "--one-file-system", "--", top])
    summary["final_sweep"] = left
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if os.environ.get(IN_NS_ENV) == "1" and os.environ.get(TOP_ENV):
        return inner(args)
    return outer(args, argv)


if __name__ == "__main__":
    sys.exit(main())
