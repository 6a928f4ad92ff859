"""A snapshot of the host facts a container config could change, and a diff.

snapshot() reads, in about 10 ms (as seen from the caller's mount namespace:
the fuzz runner's workers have /dev as a copy, see runner.py):
  - /proc/self/mountinfo and /proc/1/mountinfo: every mount's point, type,
    source, root, per-mount options and superblock options;
  - hostname and domainname;
  - sysctls a config could reach: the top level of /proc/sys/net/ipv4 and
    /proc/sys/net/core, kernel.core_pattern, kernel.hostname,
    kernel.domainname, the IPC ones and fs.mqueue.*;
  - the directories of every cgroup hierarchy, a few levels deep (deeper
    below the reader's own cgroup, where relative cgroupsPaths land);
  - owner, group, mode and rdev of every entry directly in /dev and in
    /dev/shm, and the names in / itself;
  - processes carrying a marker: in their cmdline or cgroup, or whose root
    or cwd is under one of the given directories.

diff(before, after, own) says what changed, one line each, as Change
items that are either "leftover" (something new that stayed: a mount under
our own directories, a cgroup directory, a process) or "host" (something
that existed and was altered: superblock flags, a sysctl, /dev/null's
owner, a mount of /, /proc, /sys, /dev or /sys/fs/cgroup/*).  The machine
runs other work, so mounts are compared only where a container could reach
them (see Scope) and superblock options only for superblocks present in
both snapshots.

restore(before, after) puts back what can be put back safely (sysctls,
hostname, domainname, owner and mode of /dev entries) and says what it did.
"""
import os
import re
import time

SYSCTL_DIRS = ("/proc/sys/net/ipv4", "/proc/sys/net/core")
SYSCTL_FILES = (
    "kernel/core_pattern", "kernel/hostname", "kernel/domainname", "kernel/msgmax",
    "kernel/msgmnb", "kernel/msgmni", "kernel/sem", "kernel/shmall", "kernel/shmmax",
    "kernel/shmmni", "kernel/shm_rmid_forced",
)
MQUEUE_DIR = "/proc/sys/fs/mqueue"
# mount points that are compared whatever the scope: what a container's
# set-up touches on the host side when something goes wrong
KEY_POINTS = ("/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
              "/sys/fs/cgroup", "/tmp", "/run")
CGROUP_DEPTH = 4
OLD_CGROUP = 30.0

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape(field):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field) if "\\" in field else field


class Mount:
    __slots__ = ("id", "parent", "dev", "root", "point", "opts", "fstype", "source",
                 "super")

    def __init__(self, line):
        left, _, right = line.partition(" - ")
        f = left.split(" ")
        r = right.split(" ")
        self.id, self.parent, self.dev = f[0], f[1], f[2]
        self.root = unescape(f[3])
        self.point = unescape(f[4])
        self.opts = f[5]
        self.fstype = r[0]
        self.source = unescape(r[1]) if len(r) > 1 else ""
        self.super = r[2] if len(r) > 2 else ""

    def key(self):
        """What identifies a mount's look: everything but its ids."""
        return (self.point, self.fstype, self.source, self.root, self.opts, self.super)

    def __repr__(self):
        return "%s on %s type %s (%s; super %s%s)" % (
            self.source, self.point, self.fstype, self.opts, self.super,
            "" if self.root == "/" else "; root " + self.root)


def read_mountinfo(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    return [Mount(line) for line in text.splitlines() if line]


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return "<%s>" % e.strerror


def read_sysctls():
    out = {}
    for top in SYSCTL_DIRS + (MQUEUE_DIR,):
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for e in entries:
            if e.is_file(follow_symlinks=False):
                # (write-only files, such as flush, answer EACCES/EINVAL)
                out[e.path[len("/proc/sys/"):]] = _read(e.path)
    for name in SYSCTL_FILES:
        out[name] = _read("/proc/sys/" + name)
    return out


def _own_cgroups():
    """hierarchy key (controllers, or "" for v2) -> our cgroup path."""
    own = {}
    for line in _read("/proc/self/cgroup").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            own[parts[1]] = parts[2]
    return own


def cgroup_tree(mounts):
    """Directories of each cgroup hierarchy mounted under /sys/fs/cgroup
    (path -> mtime): CGROUP_DEPTH levels, three more below our own cgroup."""
    own = _own_cgroups()
    out = {}
    for m in mounts:
        if m.fstype not in ("cgroup", "cgroup2") or not m.point.startswith("/sys/fs/cgroup"):
            continue
        if m.fstype == "cgroup2":
            mine = own.get("", "/")
        else:
            names = set(m.super.split(","))
            mine = next((p for k, p in own.items() if k and set(k.split(",")) <= names), "/")
        rel = os.path.relpath(mine, m.root) if mine.startswith(m.root) else "."
        deep = m.point if rel == "." else os.path.join(m.point, rel)
        levels = deep.count("/")

        def descend(path, level):
            if level < CGROUP_DEPTH or (deep + "/").startswith(path + "/"):
                return True
            # below our own cgroup: the container's and a few more
            return path.startswith(deep + "/") and path.count("/") - levels < 3

        def walk(d, level):
            try:
                it = os.scandir(d)
            except OSError:
                return
            with it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        try:
                            out[e.path] = e.stat(follow_symlinks=False).st_mtime
                        except OSError:
                            continue
                        if descend(e.path, level):
                            walk(e.path, level + 1)
        walk(m.point, 1)
    return out


def dev_entries(top="/dev"):
    out = {}
    try:
        entries = list(os.scandir(top))
    except OSError:
        return out
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        out[e.name] = (st.st_uid, st.st_gid, st.st_mode, st.st_rdev)
    return out


def processes(markers=(), dirs=()):
    """pid -> why, for processes whose cmdline or cgroup holds a marker,
    or whose root or cwd is in one of dirs."""
    out = {}
    bmarkers = [m.encode() for m in markers if m]
    dirs = [d.rstrip("/") + "/" for d in dirs if d]
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        base = "/proc/" + name
        why = None
        if bmarkers:
            for part in ("cmdline", "cgroup"):
                try:
                    with open(base + "/" + part, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                hit = next((m for m in bmarkers if m in data), None)
                if hit:
                    why = "%s has %s: %s" % (part, hit.decode(),
                                             data.replace(b"\0", b" ")[:120].decode("utf-8",
                                                                                     "replace"))
                    break
        if why is None and dirs:
            for part in ("root", "cwd"):
                try:
                    target = os.readlink(base + "/" + part)
                except OSError:
                    continue
                if (target + "/").startswith(tuple(dirs)):
                    why = "%s is %s" % (part, target)
                    break
        if why is not None and _zombie(base):
            why = None
        if why is not None:
            try:
                with open(base + "/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ")[:80].decode("utf-8", "replace")
            except OSError:
                cmd = "?"
            out[int(name)] = "pid %s (%s): %s" % (name, cmd.strip(), why)
    return out


def _zombie(base):
    """A zombie holds nothing but its pid (its parent reaps it)."""
    try:
        with open(base + "/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")


class Snapshot:
    __slots__ = ("mounts", "pid1_mounts", "hostname", "domainname", "sysctl", "cgroups",
                 "dev", "rootdir", "procs", "took", "when")


def snapshot(markers=(), dirs=()):
    """The host facts now; markers and dirs select the processes."""
    t0 = time.perf_counter()
    s = Snapshot()
    s.when = time.time()
    s.mounts = read_mountinfo("/proc/self/mountinfo")
    s.pid1_mounts = read_mountinfo("/proc/1/mountinfo")
    s.hostname = _read("/proc/sys/kernel/hostname")
    s.domainname = _read("/proc/sys/kernel/domainname")
    s.sysctl = read_sysctls()
    s.cgroups = cgroup_tree(s.mounts)
    s.dev = dev_entries()
    s.dev.update(("shm/" + k, v) for k, v in dev_entries("/dev/shm").items())
    try:
        s.rootdir = set(os.listdir("/"))
    except OSError:
        s.rootdir = set()
    s.procs = processes(markers, dirs)
    s.took = time.perf_counter() - t0
    return s


class Change:
    """kind: "leftover" (something new stayed) or "host" (something that
    was there changed); text: what, in one line; path: the file or
    directory it is about, if it is about one."""
    __slots__ = ("kind", "text", "path")

    def __init__(self, kind, text, path=None):
        self.kind = kind
        self.text = text
        self.path = path

    def __eq__(self, other):
        return isinstance(other, Change) and (self.kind, self.text) == (other.kind, other.text)

    def __hash__(self):
        return hash((self.kind, self.text))

    def __repr__(self):
        return "%s: %s" % (self.kind, self.text)


class Scope:
    """Which mounts a diff compares: those at KEY_POINTS and under own
    (directories of ours, where a new mount is a leftover), plus
    /sys/fs/cgroup/*."""

    def __init__(self, own=()):
        self.own = tuple(d.rstrip("/") for d in own)

    @staticmethod
    def _under(path, dirs):
        return any(path == d or path.startswith(d + "/") for d in dirs)

    def mount_in_scope(self, point):
        return (point in KEY_POINTS or self._under(point, self.own)
                or os.path.dirname(point) == "/sys/fs/cgroup")


def _multiset(items):
    out = {}
    for it in items:
        out[it] = out.get(it, 0) + 1
    return out


def _diff_mounts(label, before, after, scope, own_kind_new):
    changes = []
    b = _multiset(m.key() for m in before if scope.mount_in_scope(m.point))
    a = _multiset(m.key() for m in after if scope.mount_in_scope(m.point))
    byk = {m.key(): m for m in list(before) + list(after)}
    for k in sorted(set(a) | set(b)):
        n = a.get(k, 0) - b.get(k, 0)
        if not n:
            continue
        m = byk[k]
        mine = Scope._under(m.point, scope.own)
        if n > 0:
            kind = own_kind_new if mine else "host"
            changes.append(Change(kind, "%s: new mount%s %r" % (
                label, " x%d" % n if n > 1 else "", m), m.point))
        else:
            changes.append(Change("host", "%s: mount gone%s %r" % (
                label, " x%d" % -n if n < -1 else "", m), m.point))
    return changes


def _supers(mounts):
    out = {}
    for m in mounts:
        out.setdefault((m.dev, m.fstype), (set(), []))[0].add(m.super)
        out[(m.dev, m.fstype)][1].append(m.point)
    return out


def diff(before, after, scope=None):
    """What changed from before to after, as a list of Change."""
    scope = scope or Scope()
    if not after.mounts or not before.mounts:
        # /proc is gone from this namespace (or covered): nothing below can
        # be read, so nothing can be compared; the namespace itself is lost
        return [Change("host", "mounts: /proc/self/mountinfo unreadable %s: the namespace's "
                               "mounts are gone or covered" % ("before" if not before.mounts
                                                               else "after"))]
    out = []
    # superblock options: for every superblock in both (a flag such as ro
    # on a shared superblock changes it for every mount of it, everywhere)
    for label, b_m, a_m in (("mounts", before.mounts, after.mounts),
                            ("host mounts (pid 1)", before.pid1_mounts, after.pid1_mounts)):
        sb, sa = _supers(b_m), _supers(a_m)
        for key in sorted(set(sb) & set(sa)):
            if sb[key][0] != sa[key][0]:
                out.append(Change("host", "%s: superblock %s (%s on %s): options %s -> %s" % (
                    label, key[0], key[1], sb[key][1][0], ",".join(sorted(sb[key][0])),
                    ",".join(sorted(sa[key][0])))))
    out += _diff_mounts("mounts", before.mounts, after.mounts, scope, "leftover")
    out += _diff_mounts("host mounts (pid 1)", before.pid1_mounts, after.pid1_mounts,
                        scope, "host")
    for name in ("hostname", "domainname"):
        if getattr(before, name) != getattr(after, name):
            out.append(Change("host", "%s: %r -> %r" % (name, getattr(before, name),
                                                        getattr(after, name))))
    for key in sorted(set(before.sysctl) | set(after.sysctl)):
        if before.sysctl.get(key) != after.sysctl.get(key):
            out.append(Change("host", "sysctl %s: %r -> %r" % (
                key.replace("/", "."), before.sysctl.get(key), after.sysctl.get(key))))
    for d in sorted(set(after.cgroups) - set(before.cgroups)):
        out.append(Change("leftover", "cgroup directory new: %s" % d, d))
    for d in sorted(set(before.cgroups) - set(after.cgroups)):
        # other work's cgroups come and go: a directory that had been there
        # for a while (OLD_CGROUP seconds) is somebody's for good
        if before.cgroups[d] < before.when - OLD_CGROUP:
            out.append(Change("host", "cgroup directory gone: %s" % d, d))
    for name in sorted(set(before.dev) | set(after.dev)):
        b, a = before.dev.get(name), after.dev.get(name)
        if b == a:
            continue
        path = "/dev/" + name
        if b is None:
            out.append(Change("host", "%s new: %s" % (path, _dev_text(a)), path))
        elif a is None:
            out.append(Change("host", "%s gone (was %s)" % (path, _dev_text(b)), path))
        else:
            out.append(Change("host", "%s: %s -> %s" % (path, _dev_text(b), _dev_text(a)), path))
    for name in sorted(after.rootdir - before.rootdir):
        out.append(Change("host", "/%s new in /" % name, "/" + name))
    for name in sorted(before.rootdir - after.rootdir):
        out.append(Change("host", "/%s gone from /" % name, "/" + name))
    for pid in sorted(set(after.procs) - set(before.procs)):
        out.append(Change("leftover", "process %s" % after.procs[pid]))
    return out


def _dev_text(entry):
    uid, gid, mode, rdev = entry
    text = "%d:%d mode %o" % (uid, gid, mode)
    if rdev:
        text += " rdev %d:%d" % (os.major(rdev), os.minor(rdev))
    return text


def restore(before, after):
    """Put back what can be: sysctls, hostname, domainname, owner and mode
    of /dev entries present in both.  Returns what was done (lines)."""
    done = []
    for key, value in before.sysctl.items():
        if after.sysctl.get(key) != value and not value.startswith("<"):
            try:
                with open("/proc/sys/" + key, "w") as f:
                    f.write(value)
                done.append("sysctl %s restored" % key)
            except OSError as e:
                done.append("sysctl %s NOT restored: %s" % (key, e.strerror))
    for name in ("hostname", "domainname"):
        value = getattr(before, name)
        if getattr(after, name) != value:
            try:
                with open("/proc/sys/kernel/" + name, "w") as f:
                    f.write(value.rstrip("\n"))
                done.append("%s restored" % name)
            except OSError as e:
                done.append("%s NOT restored: %s" % (name, e.strerror))
    for name, b in before.dev.items():
        a = after.dev.get(name)
        if a is None or a == b or a[3] != b[3] or (a[2] & 0o170000) != (b[2] & 0o170000):
            continue
        path = "/dev/" + name
        try:
            os.lchown(path, b[0], b[1])
            if (b[2] & 0o170000) != 0o120000:
                os.chmod(path, b[2] & 0o7777)
            done.append("%s owner and mode restored" % path)
        except OSError as e:
            done.append("%s NOT restored: %s" % (path, e.strerror))
    return done
