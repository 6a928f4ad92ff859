"""Load config.json from a bundle and check it against runtime-spec 1.x.
(One module of ~650 lines: one walk over the document, one checker per
kind of value; its size is the size of the runtime-spec.)

The checks are hand-written, not jsonschema: this runs on every `create`
and must cost microseconds.  They cover every field pyrunc acts on and name
the JSON path of what is wrong (`process.args: expected array of strings`).
The full schema in spec/ is there for a deeper check (pyrunc.schema).
"""
from __future__ import annotations

import os
import posixpath

from . import jsonio

from .errors import ConfigError, strerror
from .linux import RLIMITS
from .tables import (DEVICE_TYPES, HOOK_KINDS, NAMESPACE_TYPES, PROCESS_SCHED_FIELDS,
                     PROPAGATIONS)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Container, Iterable, Iterator, NoReturn

    # a check of one kind of value: (checker, value, JSON path)
    Check = Callable[["_Checker", Any, str], None]



# A config bigger than this is refused before it is parsed (Docker's
# seccomp profile, the biggest part of real configs, is ~30 KiB).
MAX_CONFIG_SIZE = 64 << 20


def load(bundle: str) -> tuple[dict[str, Any], str, bytes]:
    """Return (config, rootfs, data): the checked config, the absolute
    rootfs and config.json as it was read."""
    bundle = os.path.abspath(bundle)
    path = os.path.join(bundle, "config.json")
    data = read_file(path, "open " + path, missing="JSON specification file config.json "
                     "not found in %s" % bundle)
    config = parse_json(data, "config.json")
    check(config, data)
    rootfs = resolve_rootfs(bundle, config["root"]["path"])
    return config, rootfs, data


def read_json(path: str, name: str) -> Any:
    """Parse a JSON file of the user's (exec --process, update --resources);
    every failure is a ConfigError naming the file."""
    return parse_json(read_file(path, name), name)


def read_file(path: str, name: str, missing: str | None = None) -> bytes:
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_CONFIG_SIZE:
                raise ConfigError("%s: larger than %d MiB" % (name, MAX_CONFIG_SIZE >> 20))
            data = f.read(MAX_CONFIG_SIZE + 1)
    except FileNotFoundError:
        raise ConfigError(missing or "%s: no such file or directory" % name) from None
    except OSError as e:
        # (for mypy: open(2), fstat(2) and read(2) failures carry errno)
        assert e.errno is not None
        raise ConfigError("%s: %s" % (name, strerror(e.errno))) from None
    return data


def parse_json(data: bytes, name: str) -> Any:
    if len(data) > MAX_CONFIG_SIZE:
        raise ConfigError("%s: larger than %d MiB" % (name, MAX_CONFIG_SIZE >> 20))
    try:
        return jsonio.loads(data)
    except RecursionError:
        raise ConfigError("%s: invalid JSON: nested too deeply" % name) from None
    except ValueError as e:
        # (UnicodeDecodeError too: the bytes are not UTF-8)
        raise ConfigError("%s: invalid JSON: %s" % (name, str(e).splitlines()[0][:200])) \
            from None


def resolve_rootfs(bundle: str, root_path: str) -> str:
    """root.path, relative to the bundle, as runc takes it: an existing
    directory whose path holds no symlink (runc: `invalid rootfs`): a
    symlink in the image's rootfs path would lead the runtime's own
    mkdirs and mounts out of the bundle."""
    base = os.path.realpath(bundle)
    rootfs = os.path.normpath(os.path.join(base, root_path))
    real = os.path.realpath(rootfs)
    if real == "/":
        # (without a mount namespace the container's mounts would cover the
        # host's own /proc, /dev...; with one it makes no sense either)
        raise ConfigError("root.path: the host's / cannot be a container's rootfs")
    for kernel_fs in ("/proc", "/sys", "/dev"):
        # (the mount points made there would be the host's devices' and
        # kernel files' neighbours)
        if real == kernel_fs or real.startswith(kernel_fs + "/"):
            raise ConfigError("root.path: %s is in the host's %s: refused" % (real, kernel_fs))
    if real != rootfs:
        raise ConfigError("root.path: invalid rootfs %s: a symlink (to %s): refused"
                          % (rootfs, real))
    if not os.path.isdir(rootfs):
        raise ConfigError("root.path: rootfs %s does not exist or is not a directory" % rootfs)
    return rootfs


def walk(doc: Any, name: str, data: bytes | None = None) -> None:
    """The input boundary every document of the user's passes first: no
    string (key or value) holds a NUL byte, which the kernel would cut the
    string at, or a lone surrogate, which has no bytes at all; and a null
    member is dropped, as if absent (Go's encoding/json, which runc uses,
    reads null so), so that the checks below and the planner never meet
    None where a value must be.  (Nesting is bounded by the parser, which
    refuses what it cannot read without recursing too deep: parse_json;
    nothing else recurses into a document, this walk has its own stack.)

    data: the JSON text doc was parsed from.  A NUL or a lone surrogate can
    only come from a \\u escape (the parser refuses raw control characters
    and bytes that are not UTF-8), a None only from `null`: without either
    the walk has nothing to find, and create saves its ~0.2 ms."""
    if data is not None and b"\\u" not in data and b"null" not in data:
        return
    stack = [(doc, name)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            nulls = [k for k, v in value.items() if v is None]
            for k in nulls:
                del value[k]
            items: Iterable[tuple[Any, Any]] = value.items()
        else:
            items = enumerate(value)
        for k, v in items:
            sub = _json_path(path, k)
            if isinstance(k, str):
                _check_text(k, sub)
            if isinstance(v, str):
                _check_text(v, sub)
            elif isinstance(v, (dict, list)):
                stack.append((v, sub))


def _json_path(path: str, key: str | int) -> str:
    """config.json paths as the errors name them: linux.sysctl["a b"], args[0]."""
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    if key.isascii() and key.replace("_", "a").replace("-", "a").isalnum():
        return "%s.%s" % (path, key) if path else key
    return "%s[%s]" % (path, jsonio.dumps(key))


def _check_text(text: str, path: str) -> None:
    if "\0" in text:
        raise ConfigError("%s: contains a NUL byte" % path)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ConfigError("%s: not valid Unicode (a lone surrogate)" % path) from None


class _Checker:
    """Type checks that name the JSON path of the first thing wrong."""

    def fail(self, path: str, msg: str) -> NoReturn:
        raise ConfigError("%s: %s" % (path, msg))

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "expected object")
        return value

    def field(self, parent: dict[str, Any], key: str, path: str, kind: str,
              required: bool = False) -> Any:
        """Return parent[key] checked to be of kind, or None if absent."""
        full = "%s.%s" % (path, key) if path else key
        if key not in parent or parent[key] is None:
            if required:
                self.fail(full, "required")
            return None
        value = parent[key]
        KINDS[kind](self, value, full)
        return value


def _string(ck: _Checker, v: Any, path: str) -> None:
    if not isinstance(v, str):
        ck.fail(path, "expected string")


def _bool(ck: _Checker, v: Any, path: str) -> None:
    if not isinstance(v, bool):
        ck.fail(path, "expected boolean")


def _ranged(low: int, high: int, what: str) -> Check:
    """A check of an integer kind: JSON numbers have no range, the kernel's
    types do (a uid of 2^32 would wrap to 0)."""
    def check(ck: _Checker, v: Any, path: str) -> None:
        if not isinstance(v, int) or isinstance(v, bool):
            ck.fail(path, "expected integer")
        if v < low:
            ck.fail(path, "expected non-negative integer, got %d" % v if low == 0 else
                    "%d is out of range (%s: at least %d)" % (v, what, low))
        if v > high:
            ck.fail(path, "%d is out of range (%s: at most %d)" % (v, what, high))
    return check


def _object(ck: _Checker, v: Any, path: str) -> None:
    ck.obj(v, path)


def _strings(ck: _Checker, v: Any, path: str) -> None:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        ck.fail(path, "expected array of strings")


def _array_of(kind: str) -> Check:
    def check(ck: _Checker, v: Any, path: str) -> None:
        if not isinstance(v, list):
            ck.fail(path, "expected array of integers")
        for i, x in enumerate(v):
            KINDS[kind](ck, x, "%s[%d]" % (path, i))
    return check


def _array(ck: _Checker, v: Any, path: str) -> None:
    if not isinstance(v, list):
        ck.fail(path, "expected array")


def _string_map(ck: _Checker, v: Any, path: str) -> None:
    ck.obj(v, path)
    for k, x in v.items():
        if not isinstance(x, str):
            ck.fail(_json_path(path, k), "expected string")


def _is_fd_link(path: str) -> bool:
    """/proc/{self,thread-self,PID}[/task/TID]/fd/..., /proc/.../cwd or
    /root: magic links that lead wherever a process points them."""
    parts = [p for p in os.path.normpath(path).split("/") if p][:5]
    if len(parts) < 3 or parts[0] != "proc":
        return False
    if not (parts[1] in ("self", "thread-self") or parts[1].isdigit()):
        return False
    if parts[2] == "task" and len(parts) >= 5 and parts[3].isdigit():
        parts = parts[2:]
    return parts[2] in ("fd", "cwd", "root", "exe", "map_files")


def _check_env(ck: _Checker, env: list[str] | None, path: str) -> None:
    for i, e in enumerate(env or ()):
        if "=" not in e:
            ck.fail("%s[%d]" % (path, i), "expected KEY=value, got %r" % e)


# runc's rules for mounts into /proc: procfs itself on /proc (a new one, or
# a bind of a procfs), and over /proc/... only the files lxcfs emulates;
# anything else could hide or unlock what maskedPaths and readonlyPaths
# guard (a writable bind over /proc/sys/kernel/core_pattern is the host's).
PROC_MOUNTS_ALLOWED = frozenset((
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
    "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled"))


def is_bind(mount: dict[str, Any]) -> bool:
    return mount.get("type") == "bind" or any(
        o in ("bind", "rbind") for o in mount.get("options") or ())


def is_idmapped(mount: dict[str, Any]) -> bool:
    """An idmapped mount (runtime-spec 1.2): the idmap or ridmap option,
    or mappings of its own (which runc takes as idmap)."""
    return "uidMappings" in mount or "gidMappings" in mount or any(
        o in ("idmap", "ridmap") for o in mount.get("options") or ())


def clean_path(path: str) -> str:
    """Absolute, normalised container path ("a/../b" -> "/b")."""
    # (normpath keeps a leading "//", which POSIX allows to be special)
    return posixpath.normpath("/" + path.lstrip("/"))


def _check_path_length(ck: _Checker, text: str, path: str) -> None:
    """(the kernel takes no longer path: refused here, by its JSON path)"""
    if len(text) >= PATH_MAX or len(text.encode()) >= PATH_MAX:
        ck.fail(path, "longer than %d bytes" % (PATH_MAX - 1))


def _check_mount(ck: _Checker, m: dict[str, Any], path: str) -> None:
    for key in ("destination", "source"):
        _check_path_length(ck, m.get(key) or "", "%s.%s" % (path, key))
    dest = clean_path(m["destination"])
    bind = is_bind(m)
    if dest == "/":
        ck.fail(path + ".destination", "a mount on top of the rootfs: refused")
    if dest == "/proc":
        if not bind and m.get("type") != "proc":
            ck.fail(path, "%r cannot be mounted on /proc: it is not of type proc (a bind of a "
                    "procfs is allowed)" % (m.get("type") or m.get("source") or ""))
    elif dest.startswith("/proc/") and dest not in PROC_MOUNTS_ALLOWED:
        ck.fail(path + ".destination", "%s is inside /proc: only procfs on /proc and the "
                "files lxcfs emulates may be mounted there" % dest)
    source = m.get("source") or ""
    if bind and _is_own_proc(source):
        ck.fail(path + ".source", "%s is a path of the runtime's own process: refused" % source)


def _is_own_proc(path: str) -> bool:
    """/proc/self/..., /proc/thread-self/...: in a mount source they would
    name the runtime's child, its fds and cwd, not anything of the host's."""
    parts = os.path.normpath(path).split("/")
    return len(parts) >= 3 and parts[0] == "" and parts[1] == "proc" and \
        parts[2] in ("self", "thread-self")


U32_MAX = (1 << 32) - 1
PATH_MAX = 4096
KINDS = {
    "string": _string, "bool": _bool, "object": _object, "strings": _strings,
    "array": _array, "string_map": _string_map,
    "int": _ranged(-(1 << 63), (1 << 63) - 1, "int64"),
    "int32": _ranged(-(1 << 31), (1 << 31) - 1, "int32"),
    "uint": _ranged(0, (1 << 64) - 1, "uint64"),
    "u32": _ranged(0, U32_MAX, "uint32"),
    "u16": _ranged(0, (1 << 16) - 1, "uint16"),
    # uid_t and gid_t: (uid_t)-1 means "unchanged" to the kernel
    "id": _ranged(0, U32_MAX - 1, "uid/gid"),
    # a hook's timeout in seconds (poll(2) takes milliseconds in an int)
    "timeout": _ranged(1, (1 << 31) - 1, "seconds"),
    # Linux device numbers: 12 bits of major, 20 of minor
    "major": _ranged(0, (1 << 12) - 1, "device major"),
    "minor": _ranged(0, (1 << 20) - 1, "device minor"),
}
KINDS["ids"] = _array_of("id")
# a device number in a cgroup device rule: -1 is any
KINDS["rule_dev"] = _ranged(-1, U32_MAX, "device number")


def check(config: Any, data: bytes | None = None) -> None:
    """Raise ConfigError naming the first invalid field of config (data: the
    JSON text it was parsed from, if any: see walk)."""
    ck = _Checker()
    ck.obj(config, "config")
    walk(config, "", data)
    version = ck.field(config, "ociVersion", "", "string", required=True)
    if not version.startswith("1."):
        ck.fail("ociVersion", "unsupported version %r (pyrunc supports 1.x)" % version)
    root = ck.field(config, "root", "", "object", required=True)
    _check_path_length(ck, ck.field(root, "path", "root", "string", required=True), "root.path")
    ck.field(root, "readonly", "root", "bool")
    ck.field(config, "hostname", "", "string")
    ck.field(config, "domainname", "", "string")
    ck.field(config, "annotations", "", "string_map")
    process = ck.field(config, "process", "", "object")
    if process is not None:
        _check_process(ck, process)
    mounts = ck.field(config, "mounts", "", "array") or ()
    for i, m in enumerate(mounts):
        path = "mounts[%d]" % i
        ck.obj(m, path)
        ck.field(m, "destination", path, "string", required=True)
        ck.field(m, "type", path, "string")
        ck.field(m, "source", path, "string")
        ck.field(m, "options", path, "strings")
        _check_mappings(ck, m, path)
        _check_mount(ck, m, path)
    hooks = ck.field(config, "hooks", "", "object") or {}
    for name in HOOK_KINDS:
        for i, h in enumerate(ck.field(hooks, name, "hooks", "array") or ()):
            path = "hooks.%s[%d]" % (name, i)
            ck.obj(h, path)
            hook_path = ck.field(h, "path", path, "string", required=True)
            if not hook_path.startswith("/"):
                ck.fail(path + ".path", "must be an absolute path")
            ck.field(h, "args", path, "strings")
            _check_env(ck, ck.field(h, "env", path, "strings"), path + ".env")
            ck.field(h, "timeout", path, "timeout")
    linux = ck.field(config, "linux", "", "object")
    if linux is not None:
        _check_linux(ck, linux)


def check_process(process: Any) -> None:
    """Check a process object on its own (exec --process FILE)."""
    ck = _Checker()
    ck.obj(process, "process")
    walk(process, "process")
    _check_process(ck, process)


def _check_process(ck: _Checker, process: dict[str, Any]) -> None:
    args = ck.field(process, "args", "process", "strings")
    if not args:
        # (commandLine is for Windows)
        ck.fail("process.args", "required and must not be empty")
    cwd = ck.field(process, "cwd", "process", "string", required=True)
    _check_path_length(ck, cwd, "process.cwd")
    if not cwd.startswith("/"):
        ck.fail("process.cwd", "must be an absolute path, got %r" % cwd)
    if _is_fd_link(cwd):
        # CVE-2024-21626: a file descriptor's magic link leads out of the root
        ck.fail("process.cwd", "%r is a file descriptor link under /proc: refused" % cwd)
    _check_env(ck, ck.field(process, "env", "process", "strings"), "process.env")
    ck.field(process, "terminal", "process", "bool")
    size = ck.field(process, "consoleSize", "process", "object")
    if size is not None:
        ck.field(size, "height", "process.consoleSize", "u16", required=True)
        ck.field(size, "width", "process.consoleSize", "u16", required=True)
    ck.field(process, "noNewPrivileges", "process", "bool")
    ck.field(process, "apparmorProfile", "process", "string")
    ck.field(process, "selinuxLabel", "process", "string")
    score = ck.field(process, "oomScoreAdj", "process", "int")
    if score is not None and not -1000 <= score <= 1000:
        ck.fail("process.oomScoreAdj", "must be between -1000 and 1000")
    user = ck.field(process, "user", "process", "object")
    if user is not None:
        ck.field(user, "uid", "process.user", "id")
        ck.field(user, "gid", "process.user", "id")
        ck.field(user, "umask", "process.user", "u32")
        ck.field(user, "additionalGids", "process.user", "ids")
    caps = ck.field(process, "capabilities", "process", "object")
    if caps is not None:
        for name in ("bounding", "effective", "inheritable", "permitted", "ambient"):
            ck.field(caps, name, "process.capabilities", "strings")
    for rl, path in _typed_entries(ck, process, "rlimits", "process", RLIMITS, "rlimit"):
        ck.field(rl, "soft", path, "uint", required=True)
        ck.field(rl, "hard", path, "uint", required=True)
    if any(k in process for k in PROCESS_SCHED_FIELDS):
        from .procattrs import check_process as check_attrs
        check_attrs(ck, process)


def _typed_entries(ck: _Checker, parent: dict[str, Any], key: str, where: str,
                   known: Container[str], what: str) -> Iterator[tuple[dict[str, Any], str]]:
    """The entries of an array of objects, each with a "type" of `known`
    that no other entry has (rlimits, namespaces): (entry, its path)."""
    seen: set[str] = set()
    for i, entry in enumerate(ck.field(parent, key, where, "array") or ()):
        path = "%s.%s[%d]" % (where, key, i)
        ck.obj(entry, path)
        kind = ck.field(entry, "type", path, "string", required=True)
        if kind not in known:
            ck.fail(path + ".type", "unknown %s %r" % (what, kind))
        if kind in seen:
            ck.fail(path + ".type", "duplicate %s %r" % (what, kind))
        seen.add(kind)
        yield entry, path


def _check_mappings(ck: _Checker, parent: dict[str, Any], where: str) -> None:
    """uidMappings and gidMappings (of linux, or of a mount)."""
    for name in ("uidMappings", "gidMappings"):
        for i, m in enumerate(ck.field(parent, name, where, "array") or ()):
            path = "%s.%s[%d]" % (where, name, i)
            ck.obj(m, path)
            for key in ("containerID", "hostID", "size"):
                ck.field(m, key, path, "u32", required=True)
            for key in ("containerID", "hostID"):
                if m[key] + m["size"] > U32_MAX + 1:
                    ck.fail(path, "%s %d + size %d runs past 2^32" % (key, m[key], m["size"]))


def _check_linux(ck: _Checker, linux: dict[str, Any]) -> None:
    for ns, path in _typed_entries(ck, linux, "namespaces", "linux", NAMESPACE_TYPES,
                                   "namespace type"):
        ns_path = ck.field(ns, "path", path, "string")
        if ns_path is not None and ns_path and not ns_path.startswith("/"):
            ck.fail(path + ".path", "must be an absolute path")
    _check_mappings(ck, linux, "linux")
    for i, d in enumerate(ck.field(linux, "devices", "linux", "array") or ()):
        path = "linux.devices[%d]" % i
        ck.obj(d, path)
        kind = ck.field(d, "type", path, "string", required=True)
        if kind not in DEVICE_TYPES:
            ck.fail(path + ".type", "unknown device type %r" % kind)
        dev_path = ck.field(d, "path", path, "string", required=True)
        if not dev_path.startswith("/"):
            ck.fail(path + ".path", "must be an absolute path")
        for key in ("major", "minor"):
            ck.field(d, key, path, key, required=kind != "p")
        ck.field(d, "fileMode", path, "u32")
        for key in ("uid", "gid"):
            ck.field(d, key, path, "id")
    cgroups_path = ck.field(linux, "cgroupsPath", "linux", "string")
    if cgroups_path and cgroups_path.startswith("/") and \
            os.path.normpath(cgroups_path).strip("/") == "":
        ck.fail("linux.cgroupsPath", "%r names the root cgroup, which is the host's"
                % cgroups_path)
    prop = ck.field(linux, "rootfsPropagation", "linux", "string")
    if prop is not None and prop not in PROPAGATIONS:
        ck.fail("linux.rootfsPropagation", "unknown propagation %r" % prop)
    ck.field(linux, "sysctl", "linux", "string_map")
    ck.field(linux, "maskedPaths", "linux", "strings")
    ck.field(linux, "readonlyPaths", "linux", "strings")
    ck.field(linux, "mountLabel", "linux", "string")
    if linux.get("netDevices") is not None:   # (its module: only for configs that have them)
        from .netdevices import check as check_net_devices
        check_net_devices(linux["netDevices"])
    resources = ck.field(linux, "resources", "linux", "object")
    if resources is not None:
        _check_resources(ck, resources, "linux.resources")
    rdt = ck.field(linux, "intelRdt", "linux", "object")
    if rdt is not None:
        for key in ("closID", "l3CacheSchema", "memBwSchema"):
            text = ck.field(rdt, key, "linux.intelRdt", "string") or ""
            if "\n" in text:
                ck.fail("linux.intelRdt." + key, "must not contain a newline")
        for i, line in enumerate(ck.field(rdt, "schemata", "linux.intelRdt", "strings") or ()):
            if "\n" in line:
                ck.fail("linux.intelRdt.schemata[%d]" % i, "must not contain a newline")
        ck.field(rdt, "enableMonitoring", "linux.intelRdt", "bool")
        if rdt.get("memBwSchema") and not rdt["memBwSchema"].startswith("MB:"):
            ck.fail("linux.intelRdt.memBwSchema", "must start with MB:")
        if rdt.get("closID") is not None and rdt["closID"] != "/" and (
                not rdt["closID"] or "/" in rdt["closID"] or rdt["closID"] in (".", "..")):
            # (a directory of the resctrl mount, or "/" for its root)
            ck.fail("linux.intelRdt.closID", "%r is not a resctrl group name" % rdt["closID"])
    if "memoryPolicy" in linux:
        from .procattrs import check_memory_policy
        check_memory_policy(ck, linux)
    offsets = ck.field(linux, "timeOffsets", "linux", "object") or {}
    for clock, value in offsets.items():
        path = "linux.timeOffsets.%s" % clock
        if clock not in ("monotonic", "boottime"):
            ck.fail(path, "unknown clock %r" % clock)
        ck.obj(value, path)
        ck.field(value, "secs", path, "int")
        nanosecs = ck.field(value, "nanosecs", path, "u32")
        if nanosecs is not None and nanosecs >= 1000000000:
            ck.fail(path + ".nanosecs", "must be below 1000000000")
    seccomp = ck.field(linux, "seccomp", "linux", "object")
    if seccomp is not None:
        _check_seccomp(ck, seccomp)
    persona = ck.field(linux, "personality", "linux", "object")
    if persona is not None:
        from .linux import PERSONALITY_DOMAINS, PERSONALITY_FLAGS
        domain = ck.field(persona, "domain", "linux.personality", "string", required=True)
        if domain not in PERSONALITY_DOMAINS:
            ck.fail("linux.personality.domain", "unknown domain %r (LINUX or LINUX32)" % domain)
        for i, flag in enumerate(ck.field(persona, "flags", "linux.personality", "strings")
                                 or ()):
            if flag not in PERSONALITY_FLAGS:
                ck.fail("linux.personality.flags[%d]" % i, "unknown flag %r" % flag)


# linux.resources: field -> kind, for the objects and the arrays of objects
RESOURCE_OBJECTS = {
    "memory": {"limit": "int", "reservation": "int", "swap": "int", "kernel": "int",
               "kernelTCP": "int", "swappiness": "uint", "disableOOMKiller": "bool",
               "useHierarchy": "bool", "checkBeforeUpdate": "bool"},
    "cpu": {"shares": "uint", "quota": "int", "period": "uint", "burst": "uint",
            "realtimeRuntime": "int", "realtimePeriod": "uint", "cpus": "string",
            "mems": "string", "idle": "int"},
    "pids": {"limit": "int"},
    "blockIO": {"weight": "u16", "leafWeight": "u16"},
    "network": {"classID": "u32"},
}
RESOURCE_ARRAYS = {
    "blockIO.weightDevice": ({"major": "int", "minor": "int"},
                             {"weight": "u16", "leafWeight": "u16"}),
    "hugepageLimits": ({"pageSize": "string", "limit": "uint"}, {}),
    "network.priorities": ({"name": "string", "priority": "u32"}, {}),
    "devices": ({"allow": "bool"}, {"type": "string", "major": "rule_dev", "minor": "rule_dev",
                                    "access": "string"}),
}
for _name in ("throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
              "throttleWriteIOPSDevice"):
    RESOURCE_ARRAYS["blockIO." + _name] = ({"major": "int", "minor": "int", "rate": "uint"},
                                           {})


def check_resources(resources: Any, prefix: str = "linux.resources") -> None:
    """Check a linux.resources object (also `update --resources`)."""
    ck = _Checker()
    ck.obj(resources, prefix)
    walk(resources, prefix)
    _check_resources(ck, resources, prefix)


def _check_resources(ck: _Checker, res: dict[str, Any], prefix: str) -> None:
    for name, fields in RESOURCE_OBJECTS.items():
        obj = ck.field(res, name, prefix, "object")
        for key, kind in fields.items():
            if obj is not None:
                ck.field(obj, key, "%s.%s" % (prefix, name), kind)
    for dotted, (required, optional) in RESOURCE_ARRAYS.items():
        parent, _, name = dotted.rpartition(".")
        holder = res.get(parent) if parent else res
        if not isinstance(holder, dict):
            continue
        for i, item in enumerate(ck.field(holder, name, "%s.%s" % (prefix, parent) if parent
                                          else prefix, "array") or ()):
            path = "%s.%s[%d]" % (prefix, dotted, i)
            ck.obj(item, path)
            for key, kind in required.items():
                ck.field(item, key, path, kind, required=True)
            for key, kind in optional.items():
                ck.field(item, key, path, kind)
            if name == "devices":
                if item.get("type", "a") not in ("a", "b", "c"):
                    ck.fail(path + ".type", "unknown device type %r (a, b or c)" % item["type"])
                if set(item.get("access", "rwm")) - set("rwm"):
                    ck.fail(path + ".access", "%r: only r, w and m" % item["access"])
            elif name == "hugepageLimits" and not _is_page_size(item["pageSize"]):
                # (it names a file of the hugetlb controller)
                ck.fail(path + ".pageSize", "%r is not a page size such as 2MB or 1GB"
                        % item["pageSize"])
            elif name == "priorities" and not _is_name(item["name"], 15):
                ck.fail(path + ".name", "%r is not a network interface name" % item["name"])
    rdma = ck.field(res, "rdma", prefix, "object") or {}
    for dev, limits in rdma.items():
        rpath = _json_path(prefix + ".rdma", dev)
        if not _is_name(dev, 64):
            ck.fail(rpath, "%r is not an RDMA device name" % dev)
        ck.obj(limits, rpath)
        for key in ("hcaHandles", "hcaObjects"):
            ck.field(limits, key, rpath, "u32")
    for key in ck.field(res, "unified", prefix, "string_map") or ():
        controller, dot, rest = key.partition(".")
        if not dot or not rest or "/" in key or not controller.isalnum() \
                or controller == "cgroup":
            ck.fail(_json_path(prefix + ".unified", key), "not a controller file (such as "
                    "memory.high)")


def _is_page_size(text: str) -> bool:
    """2MB, 1GB, 64KB: runc's hugetlb page size names."""
    return len(text) > 2 and text[:-2].isdigit() and text[-2:] in ("KB", "MB", "GB", "TB")


def _is_name(text: str, longest: int) -> bool:
    """An interface or device name: no space, no slash, not . or .."""
    return 0 < len(text) <= longest and text not in (".", "..") and \
        not any(c.isspace() or c == "/" for c in text)


def _check_seccomp(ck: _Checker, sc: dict[str, Any]) -> None:
    from .seccomp import ACTIONS, FLAGS, OPERATORS
    action = ck.field(sc, "defaultAction", "linux.seccomp", "string", required=True)
    if action not in ACTIONS:
        ck.fail("linux.seccomp.defaultAction", "unknown action %r" % action)
    if action == "SCMP_ACT_NOTIFY":
        # (the set-up after the filter, sending its listener on, would wait
        # on itself; runc's words)
        ck.fail("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be used as default "
                "action")
    ck.field(sc, "defaultErrnoRet", "linux.seccomp", "u32")
    for i, arch in enumerate(ck.field(sc, "architectures", "linux.seccomp", "strings") or ()):
        if not arch.startswith("SCMP_ARCH_"):
            ck.fail("linux.seccomp.architectures[%d]" % i, "unknown architecture %r" % arch)
    for i, flag in enumerate(ck.field(sc, "flags", "linux.seccomp", "strings") or ()):
        if flag not in FLAGS:
            ck.fail("linux.seccomp.flags[%d]" % i, "unknown flag %r" % flag)
    listener = ck.field(sc, "listenerPath", "linux.seccomp", "string")
    ck.field(sc, "listenerMetadata", "linux.seccomp", "string")
    notify = action == "SCMP_ACT_NOTIFY"
    for i, rule in enumerate(ck.field(sc, "syscalls", "linux.seccomp", "array") or ()):
        path = "linux.seccomp.syscalls[%d]" % i
        ck.obj(rule, path)
        ck.field(rule, "names", path, "strings", required=True)
        action = ck.field(rule, "action", path, "string", required=True)
        if action not in ACTIONS:
            ck.fail(path + ".action", "unknown action %r" % action)
        notify = notify or action == "SCMP_ACT_NOTIFY"
        if action == "SCMP_ACT_NOTIFY" and "write" in rule["names"]:
            ck.fail(path + ".names", "SCMP_ACT_NOTIFY cannot be used for the write syscall")
        ck.field(rule, "errnoRet", path, "u32")
        for j, arg in enumerate(ck.field(rule, "args", path, "array") or ()):
            apath = "%s.args[%d]" % (path, j)
            ck.obj(arg, apath)
            index = ck.field(arg, "index", apath, "uint", required=True)
            if index > 5:
                ck.fail(apath + ".index", "must be between 0 and 5")
            ck.field(arg, "value", apath, "uint", required=True)
            ck.field(arg, "valueTwo", apath, "uint")
            op = ck.field(arg, "op", apath, "string", required=True)
            if op not in OPERATORS:
                ck.fail(apath + ".op", "unknown operator %r" % op)
    if notify and not listener:
        ck.fail("linux.seccomp.listenerPath", "required with SCMP_ACT_NOTIFY")
    if listener and not listener.startswith("/"):
        ck.fail("linux.seccomp.listenerPath", "must be an absolute path, got %r" % listener)
