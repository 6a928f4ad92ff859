"""Load config.json from a bundle and check it against runtime-spec 1.x.

The checks are hand-written, not jsonschema: this runs on every `create`
and must cost microseconds.  They cover every field pyrunc acts on and name
the JSON path of what is wrong (`process.args: expected array of strings`).
The full schema in spec/ is there for a deeper check (pyrunc.schema).
"""
import os

from . import jsonio

from .errors import ConfigError
from .linux import RLIMITS

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave",
                "unbindable", "runbindable")
HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")
DEVICE_TYPES = ("c", "b", "u", "p")


def load(bundle):
    """Return (config, rootfs): the checked config and the absolute rootfs."""
    bundle = os.path.abspath(bundle)
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError("JSON specification file config.json not found in %s" % bundle) from None
    except OSError as e:
        raise ConfigError("open %s: %s" % (path, e.strerror.lower())) from None
    try:
        config = jsonio.loads(data)
    except ValueError as e:
        raise ConfigError("config.json: invalid JSON: %s" % e) from None
    check(config)
    rootfs = config["root"]["path"]
    if not os.path.isabs(rootfs):
        rootfs = os.path.join(bundle, rootfs)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise ConfigError("root.path: rootfs %s does not exist or is not a directory" % rootfs)
    return config, rootfs


class _Checker:
    """Type checks that name the JSON path of the first thing wrong."""

    def fail(self, path, msg):
        raise ConfigError("%s: %s" % (path, msg))

    def obj(self, value, path):
        if not isinstance(value, dict):
            self.fail(path, "expected object")
        return value

    def field(self, parent, key, path, kind, required=False):
        """Return parent[key] checked to be of kind, or None if absent."""
        full = "%s.%s" % (path, key) if path else key
        if key not in parent or parent[key] is None:
            if required:
                self.fail(full, "required")
            return None
        value = parent[key]
        KINDS[kind](self, value, full)
        return value


def _string(ck, v, path):
    if not isinstance(v, str):
        ck.fail(path, "expected string")


def _bool(ck, v, path):
    if not isinstance(v, bool):
        ck.fail(path, "expected boolean")


def _int(ck, v, path):
    if not isinstance(v, int) or isinstance(v, bool):
        ck.fail(path, "expected integer")


def _uint(ck, v, path):
    _int(ck, v, path)
    if v < 0:
        ck.fail(path, "expected non-negative integer")


def _object(ck, v, path):
    ck.obj(v, path)


def _strings(ck, v, path):
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        ck.fail(path, "expected array of strings")


def _uints(ck, v, path):
    if not isinstance(v, list):
        ck.fail(path, "expected array of integers")
    for i, x in enumerate(v):
        _uint(ck, x, "%s[%d]" % (path, i))


def _array(ck, v, path):
    if not isinstance(v, list):
        ck.fail(path, "expected array")


def _string_map(ck, v, path):
    ck.obj(v, path)
    for k, x in v.items():
        if not isinstance(x, str):
            ck.fail("%s.%s" % (path, k), "expected string")


def _is_fd_link(path):
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


KINDS = {
    "string": _string, "bool": _bool, "int": _int, "uint": _uint,
    "object": _object, "strings": _strings, "uints": _uints, "array": _array,
    "string_map": _string_map,
}


def check(config):
    """Raise ConfigError naming the first invalid field of config."""
    ck = _Checker()
    ck.obj(config, "config")
    version = ck.field(config, "ociVersion", "", "string", required=True)
    if not version.startswith("1."):
        ck.fail("ociVersion", "unsupported version %r (pyrunc supports 1.x)" % version)
    root = ck.field(config, "root", "", "object", required=True)
    ck.field(root, "path", "root", "string", required=True)
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
    hooks = ck.field(config, "hooks", "", "object") or {}
    for name in HOOK_NAMES:
        for i, h in enumerate(ck.field(hooks, name, "hooks", "array") or ()):
            path = "hooks.%s[%d]" % (name, i)
            ck.obj(h, path)
            hook_path = ck.field(h, "path", path, "string", required=True)
            if not hook_path.startswith("/"):
                ck.fail(path + ".path", "must be an absolute path")
            ck.field(h, "args", path, "strings")
            ck.field(h, "env", path, "strings")
            timeout = ck.field(h, "timeout", path, "int")
            if timeout is not None and timeout < 1:
                ck.fail(path + ".timeout", "must be greater than zero")
    linux = ck.field(config, "linux", "", "object")
    if linux is not None:
        _check_linux(ck, linux)


def check_process(process):
    """Check a process object on its own (exec --process FILE)."""
    ck = _Checker()
    ck.obj(process, "process")
    _check_process(ck, process)


def _check_process(ck, process):
    args = ck.field(process, "args", "process", "strings")
    if not args and "commandLine" not in process:
        ck.fail("process.args", "required and must not be empty")
    cwd = ck.field(process, "cwd", "process", "string", required=True)
    if not cwd.startswith("/"):
        ck.fail("process.cwd", "must be an absolute path, got %r" % cwd)
    if _is_fd_link(cwd):
        # CVE-2024-21626: a file descriptor's magic link leads out of the root
        ck.fail("process.cwd", "%r is a file descriptor link under /proc: refused" % cwd)
    env = ck.field(process, "env", "process", "strings") or ()
    for i, e in enumerate(env):
        if "=" not in e:
            ck.fail("process.env[%d]" % i, "expected KEY=value, got %r" % e)
    ck.field(process, "terminal", "process", "bool")
    size = ck.field(process, "consoleSize", "process", "object")
    if size is not None:
        ck.field(size, "height", "process.consoleSize", "uint", required=True)
        ck.field(size, "width", "process.consoleSize", "uint", required=True)
    ck.field(process, "noNewPrivileges", "process", "bool")
    ck.field(process, "apparmorProfile", "process", "string")
    ck.field(process, "selinuxLabel", "process", "string")
    score = ck.field(process, "oomScoreAdj", "process", "int")
    if score is not None and not -1000 <= score <= 1000:
        ck.fail("process.oomScoreAdj", "must be between -1000 and 1000")
    user = ck.field(process, "user", "process", "object")
    if user is not None:
        ck.field(user, "uid", "process.user", "uint")
        ck.field(user, "gid", "process.user", "uint")
        ck.field(user, "umask", "process.user", "uint")
        ck.field(user, "additionalGids", "process.user", "uints")
    caps = ck.field(process, "capabilities", "process", "object")
    if caps is not None:
        for name in ("bounding", "effective", "inheritable", "permitted", "ambient"):
            ck.field(caps, name, "process.capabilities", "strings")
    seen = set()
    for i, rl in enumerate(ck.field(process, "rlimits", "process", "array") or ()):
        path = "process.rlimits[%d]" % i
        ck.obj(rl, path)
        kind = ck.field(rl, "type", path, "string", required=True)
        if kind not in RLIMITS:
            ck.fail(path + ".type", "unknown rlimit %r" % kind)
        if kind in seen:
            ck.fail(path + ".type", "duplicate rlimit %r" % kind)
        seen.add(kind)
        ck.field(rl, "soft", path, "uint", required=True)
        ck.field(rl, "hard", path, "uint", required=True)


def _check_linux(ck, linux):
    seen = set()
    for i, ns in enumerate(ck.field(linux, "namespaces", "linux", "array") or ()):
        path = "linux.namespaces[%d]" % i
        ck.obj(ns, path)
        kind = ck.field(ns, "type", path, "string", required=True)
        if kind not in NAMESPACE_TYPES:
            ck.fail(path + ".type", "unknown namespace type %r" % kind)
        if kind in seen:
            ck.fail(path + ".type", "duplicate namespace type %r" % kind)
        seen.add(kind)
        ns_path = ck.field(ns, "path", path, "string")
        if ns_path is not None and ns_path and not ns_path.startswith("/"):
            ck.fail(path + ".path", "must be an absolute path")
    for name in ("uidMappings", "gidMappings"):
        for i, m in enumerate(ck.field(linux, name, "linux", "array") or ()):
            path = "linux.%s[%d]" % (name, i)
            ck.obj(m, path)
            for key in ("containerID", "hostID", "size"):
                ck.field(m, key, path, "uint", required=True)
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
            if ck.field(d, key, path, "int", required=kind != "p") is None and kind != "p":
                ck.fail(path + "." + key, "required")
        for key in ("fileMode", "uid", "gid"):
            ck.field(d, key, path, "uint")
    ck.field(linux, "cgroupsPath", "linux", "string")
    prop = ck.field(linux, "rootfsPropagation", "linux", "string")
    if prop is not None and prop not in PROPAGATIONS:
        ck.fail("linux.rootfsPropagation", "unknown propagation %r" % prop)
    ck.field(linux, "sysctl", "linux", "string_map")
    ck.field(linux, "maskedPaths", "linux", "strings")
    ck.field(linux, "readonlyPaths", "linux", "strings")
    ck.field(linux, "mountLabel", "linux", "string")
    resources = ck.field(linux, "resources", "linux", "object")
    if resources is not None:
        _check_resources(ck, resources, "linux.resources")
    offsets = ck.field(linux, "timeOffsets", "linux", "object") or {}
    for clock, value in offsets.items():
        path = "linux.timeOffsets.%s" % clock
        if clock not in ("monotonic", "boottime"):
            ck.fail(path, "unknown clock %r" % clock)
        ck.obj(value, path)
        ck.field(value, "secs", path, "int")
        ck.field(value, "nanosecs", path, "uint")
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
    "blockIO": {"weight": "uint", "leafWeight": "uint"},
    "network": {"classID": "uint"},
}
RESOURCE_ARRAYS = {
    "blockIO.weightDevice": ({"major": "int", "minor": "int"},
                             {"weight": "uint", "leafWeight": "uint"}),
    "hugepageLimits": ({"pageSize": "string", "limit": "int"}, {}),
    "network.priorities": ({"name": "string", "priority": "uint"}, {}),
    "devices": ({"allow": "bool"}, {"type": "string", "major": "int", "minor": "int",
                                    "access": "string"}),
}
for _name in ("throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
              "throttleWriteIOPSDevice"):
    RESOURCE_ARRAYS["blockIO." + _name] = ({"major": "int", "minor": "int", "rate": "uint"},
                                           {})


def check_resources(resources, prefix="linux.resources"):
    """Check a linux.resources object (also `update --resources`)."""
    ck = _Checker()
    ck.obj(resources, prefix)
    _check_resources(ck, resources, prefix)


def _check_resources(ck, res, prefix):
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
    rdma = ck.field(res, "rdma", prefix, "object") or {}
    for dev, limits in rdma.items():
        ck.obj(limits, "%s.rdma.%s" % (prefix, dev))
        for key in ("hcaHandles", "hcaObjects"):
            ck.field(limits, key, "%s.rdma.%s" % (prefix, dev), "uint")
    ck.field(res, "unified", prefix, "string_map")


def _check_seccomp(ck, sc):
    from .seccomp import ACTIONS, FLAGS, OPERATORS
    action = ck.field(sc, "defaultAction", "linux.seccomp", "string", required=True)
    if action not in ACTIONS:
        ck.fail("linux.seccomp.defaultAction", "unknown action %r" % action)
    ck.field(sc, "defaultErrnoRet", "linux.seccomp", "uint")
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
        ck.field(rule, "errnoRet", path, "uint")
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
