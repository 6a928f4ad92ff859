"""A structure-aware mutator of runtime-spec 1.3 config.json documents.

Seeds are valid configs built from pyrunc.specgen.default_spec (terminal
off, args ["true"]), one per area of the spec: a user namespace mapped to
100000, no mount namespace, the six hooks, seccomp, resources, devices,
sysctl, a time namespace, rlimits, capabilities.  A case applies 1-3
operators at places picked along the JSON structure:

  leaf      a leaf becomes a hostile value (NUL or a lone surrogate inside
            a string, "../../..", /proc magic links, 4097-byte strings,
            2**32, 2**64+1, -1, floats, 1e400 ...)
  type      a node becomes null or a value of another type
  delete    a key of an object goes
  add       a key the schema knows at that place is added (hostile value,
            or a plausible one built from the schema, with hostile leaves)
  rename    a key becomes a hostile string (maps: sysctl, unified, ...)
  dup/drop  an array item is duplicated or dropped
  nest      a value is wrapped in 1000+ levels of arrays or objects
  swap      two values of the document trade places

Everything is decided by random.Random: make_case(seed, i) is the same
document on every machine and in every process, so a run can be split
between workers and a case found by (seed, index).  Documents are written
by dumps(): json.dumps with ensure_ascii (a lone surrogate survives as
"\\ud800"), plus raw text where json.dumps cannot write the value (1e400,
a 5000-digit number, nesting deeper than its recursion limit).
"""
import copy
import json
import os
import random

from pyrunc.schema import SCHEMAS, SPEC_DIR
from pyrunc.specgen import default_spec

# the runtime-spec schema as pyrunc installs it (pyrunc.schema)
SCHEMA_FILE = os.path.join(SPEC_DIR, SCHEMAS["config"])

USERNS_HOST_ID = 100000


class Raw:
    """JSON text that json.dumps cannot produce, written as it is."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return "Raw(%s)" % (self.text if len(self.text) < 40 else
                            self.text[:20] + "..." + self.text[-10:])

    def __deepcopy__(self, memo):
        return self


def dumps(doc):
    """The document as JSON text (ASCII: lone surrogates stay escapes)."""
    raws = []

    def default(obj):
        if isinstance(obj, Raw):
            raws.append(obj.text)
            return "\u0001RAW%d\u0001" % (len(raws) - 1)
        raise TypeError("%r is not JSON serialisable" % (obj,))

    text = json.dumps(doc, ensure_ascii=True, default=default)
    for i, raw in enumerate(raws):
        text = text.replace('"\\u0001RAW%d\\u0001"' % i, raw, 1)
    return text


# -- hostile values -----------------------------------------------------------

HOSTILE_STRINGS = (
    "", "\u0000", "/tmp\u0000/x", "tr\u0000ue", "\ud800", "/\udfff", "a\ud800b",
    "../../..", "../../../../../../etc", "/../../../..", ".", "..", "/", "//", "/.",
    "/proc/self/cwd", "/proc/self/root", "/proc/self/fd/3", "/proc/thread-self/cwd",
    "/proc/sys/kernel/core_pattern", "/proc/sys", "/proc", "/sys", "/sys/fs/cgroup",
    "/sys/fs/cgroup/unified", "/dev", "/dev/null", "/dev/pts/ptmx", "/etc/passwd",
    "a\nb", "x\r\ny", " ", "\t", "-1", "0", "4294967296", "18446744073709551617",
    "%s%s%n", "${HOME}", "*", "rw,suid,dev", "remount,ro", "bind", "rbind",
    "shared", "mode=4777", "size=-1", "=", "A=B=C", "é\u2028\u00ff", "\U0001f600",
    "max", "-1 -1", "0-4095", "\\", "'\"`",
)
HOSTILE_NUMBERS = (
    2**32, 2**32 - 1, 2**31, 2**31 - 1, 2**63, 2**63 - 1, 2**64, 2**64 - 1, 2**64 + 1,
    -1, -(2**31), -(2**63), -(2**63) - 1, 0, 1, 10**30, -10**30,
    0.5, 1.0, -0.0, 1e10, 1e300, float("inf"), float("-inf"), float("nan"),
    Raw("1e400"), Raw("-1e400"), Raw("1E-400"), Raw("1" * 5000),
)
WRONG_TYPES = (None, True, False, 0, -1, "", "x", [], {}, [None], {"": None}, [[]], 1.5)


def _long_strings(rng, orig):
    n = rng.choice((256, 4095, 4096, 4097, 65536, 200000))
    kind = rng.randrange(3)
    if kind == 0:
        return "A" * n
    if kind == 1:
        return "/" + "/".join(["d"] * (n // 2))
    return (orig or "x") * (n // max(1, len(orig or "x")) + 1)


def hostile_string(rng, orig=""):
    r = rng.random()
    if r < 0.2 and orig:
        # a NUL or a lone surrogate inside the original value
        at = rng.randrange(len(orig) + 1)
        return orig[:at] + rng.choice(("\u0000", "\ud800", "\udc00", "\n")) + orig[at:]
    if r < 0.3:
        return _long_strings(rng, orig)
    if r < 0.38 and orig:
        return rng.choice((orig + "/../../..", "../" + orig, orig + "\u0000",
                           "//" + orig, orig + "/", orig.upper(), " " + orig))
    return rng.choice(HOSTILE_STRINGS)


def hostile_number(rng):
    return rng.choice(HOSTILE_NUMBERS)


def hostile_value(rng, orig=None):
    """A hostile value, mostly of the original's kind."""
    r = rng.random()
    if isinstance(orig, str) and r < 0.75:
        return hostile_string(rng, orig)
    if isinstance(orig, (int, float)) and not isinstance(orig, bool) and r < 0.75:
        return hostile_number(rng)
    k = rng.random()
    if k < 0.45:
        return hostile_string(rng, orig if isinstance(orig, str) else "")
    if k < 0.85:
        return hostile_number(rng)
    return rng.choice(WRONG_TYPES)


# -- the schema ---------------------------------------------------------------

_SCHEMA = None


def schema():
    global _SCHEMA
    if _SCHEMA is None:
        with open(SCHEMA_FILE) as f:
            _SCHEMA = json.load(f)
    return _SCHEMA


def schema_at(path):
    """The schema node that describes the value at path (keys and
    indices), or None where the schema says nothing."""
    node = schema()
    for step in path:
        if not isinstance(node, dict):
            return None
        if isinstance(step, int):
            node = node.get("items")
        else:
            props = node.get("properties") or {}
            if step in props:
                node = props[step]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return None
    return node if isinstance(node, dict) else None


_ALL_KEYS = None


def all_schema_keys():
    """Every property name the schema knows, at any level."""
    global _ALL_KEYS
    if _ALL_KEYS is None:
        keys = set()

        def walk(node):
            if isinstance(node, dict):
                keys.update((node.get("properties") or {}).keys())
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(schema())
        _ALL_KEYS = sorted(keys)
    return _ALL_KEYS


PLAUSIBLE_STRINGS = ("/tmp", "/dev/null", "x", "rw", "1", "tmpfs", "bind", "/bin/true",
                     "SCMP_ACT_ALLOW", "LINUX", "max", "0", "c")
PLAUSIBLE_INTS = (0, 1, 2, 5, 100, 1000, 65536, 1 << 20)


def from_schema(rng, node, depth=0, hostile_p=0.15):
    """A value of the shape the schema node describes; some leaves hostile."""
    if not isinstance(node, dict):
        return hostile_value(rng)
    if "enum" in node:
        return rng.choice(node["enum"]) if rng.random() > hostile_p else hostile_value(rng, "")
    kind = node.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object" or "properties" in node:
        if depth > 4:
            return {}
        out = {}
        props = node.get("properties") or {}
        required = node.get("required") or ()
        for key, sub in props.items():
            if key in required or rng.random() < 0.5:
                out[key] = from_schema(rng, sub, depth + 1, hostile_p)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and rng.random() < 0.7:
            out[rng.choice(("k", "net.ipv4.ip_forward", "memory.high", "a.b"))] = \
                from_schema(rng, extra, depth + 1, hostile_p)
        return out
    if kind == "array":
        if depth > 4:
            return []
        return [from_schema(rng, node.get("items"), depth + 1, hostile_p)
                for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    if rng.random() < hostile_p:
        return hostile_value(rng)
    if kind == "string":
        return rng.choice(PLAUSIBLE_STRINGS)
    if kind == "integer":
        return rng.choice(PLAUSIBLE_INTS)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "number":
        return rng.choice((0, 1.5, 100))
    return hostile_value(rng)


# -- the document as a tree of places -----------------------------------------

def nodes(doc, path=()):
    """(path, value) of every node below the root, parents first."""
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return
    for key, value in items:
        sub = path + (key,)
        yield sub, value
        yield from nodes(value, sub)


def get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def put(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


def path_text(path):
    out = ""
    for step in path:
        if isinstance(step, int):
            out += "[%d]" % step
        else:
            out += ("." if out else "") + str(step)
    return out or "(root)"


def short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 15] + "..." + text[-12:]


class Mutator:
    """Applies operators to a document, drawing everything from rng."""

    OPERATORS = (("leaf", 30), ("type", 14), ("delete", 12), ("add", 16), ("rename", 5),
                 ("dup", 7), ("drop", 5), ("nest", 3), ("swap", 8))

    def __init__(self, rng):
        self.rng = rng
        self._names = [n for n, _ in self.OPERATORS]
        self._weights = [w for _, w in self.OPERATORS]

    def pick(self, doc, want=None):
        """A place reached by a random walk from the root (so a small
        section is as likely as maskedPaths' ten items); want filters
        the kind of value.  None when the walk finds nothing suitable."""
        rng = self.rng
        for _ in range(20):
            path, node = (), doc
            while True:
                if isinstance(node, dict) and node:
                    key = rng.choice(list(node))
                elif isinstance(node, list) and node:
                    key = rng.randrange(len(node))
                else:
                    break
                path, node = path + (key,), node[key]
                if rng.random() < 0.3:
                    break
            if path and (want is None or want(node)):
                return path
        places = [p for p, v in nodes(doc) if want is None or want(v)]
        return rng.choice(places) if places else None

    def mutate(self, doc, count=None):
        """Mutate doc in place; returns the list of what was done."""
        rng = self.rng
        count = count or rng.choice((1, 1, 2, 3))
        done = []
        for _ in range(count):
            op = rng.choices(self._names, self._weights)[0]
            what = getattr(self, "op_" + op)(doc)
            if what:
                done.append(what)
        return done

    def op_leaf(self, doc):
        path = self.pick(doc, lambda v: not isinstance(v, (dict, list)))
        if path is None:
            return None
        old = get(doc, path)
        new = hostile_value(self.rng, old)
        put(doc, path, new)
        return "leaf %s: %s -> %s" % (path_text(path), short(old), short(new))

    def op_type(self, doc):
        path = self.pick(doc)
        if path is None:
            return None
        old = get(doc, path)
        new = None if self.rng.random() < 0.5 else self.rng.choice(WRONG_TYPES)
        put(doc, path, copy.deepcopy(new))
        return "type %s: %s -> %s" % (path_text(path), short(old, 30), short(new))

    def op_delete(self, doc):
        path = self.pick(doc)
        # up to the nearest place that is a key of an object
        while path and not isinstance(get(doc, path[:-1]), dict):
            path = path[:-1]
        if not path:
            return None
        del get(doc, path[:-1])[path[-1]]
        return "delete %s" % path_text(path)

    def op_add(self, doc):
        objects = [()] + [p for p, v in nodes(doc) if isinstance(v, dict)]
        path = self.rng.choice(objects)
        node = schema_at(path)
        props = (node or {}).get("properties") or {}
        target = get(doc, path)
        if props and self.rng.random() < 0.85:
            missing = [k for k in props if k not in target]
            key = self.rng.choice(missing if missing and self.rng.random() < 0.7
                                  else list(props))
            sub = props[key]
        else:
            # a key known somewhere else in the spec, out of place here
            key = self.rng.choice(all_schema_keys())
            sub = None
        if sub is not None and self.rng.random() < 0.5:
            value = from_schema(self.rng, sub)
        else:
            value = hostile_value(self.rng, "")
        target[key] = value
        return "add %s: %s" % (path_text(path + (key,)), short(value))

    def op_rename(self, doc):
        path = self.pick(doc, lambda v: isinstance(v, dict) and bool(v))
        if path is None:
            return None
        target = get(doc, path)
        key = self.rng.choice(list(target))
        new = hostile_string(self.rng, key)
        target[new] = target.pop(key)
        return "rename %s -> %s" % (path_text(path + (key,)), short(new))

    def op_dup(self, doc):
        path = self.pick(doc, lambda v: isinstance(v, list) and bool(v))
        if path is None:
            return None
        arr = get(doc, path)
        i = self.rng.randrange(len(arr))
        times = self.rng.choice((1, 1, 1, 2, 64))
        for _ in range(times):
            arr.insert(self.rng.randrange(len(arr) + 1), copy.deepcopy(arr[i]))
        return "dup %s x%d" % (path_text(path + (i,)), times)

    def op_drop(self, doc):
        path = self.pick(doc, lambda v: isinstance(v, list) and bool(v))
        if path is None:
            return None
        arr = get(doc, path)
        i = self.rng.randrange(len(arr))
        del arr[i]
        return "drop %s" % path_text(path + (i,))

    def op_nest(self, doc):
        path = self.pick(doc)
        if path is None:
            return None
        depth = self.rng.choice((1000, 1001, 2500, 20000))
        inner = dumps(get(doc, path))
        if self.rng.random() < 0.5:
            text = "[" * depth + inner + "]" * depth
        else:
            text = '{"a":' * depth + inner + "}" * depth
        put(doc, path, Raw(text))
        return "nest %s in %d levels" % (path_text(path), depth)

    def op_swap(self, doc):
        a = self.pick(doc)
        b = self.pick(doc)
        if a is None or b is None or a[:len(b)] == b or b[:len(a)] == a:
            return None
        va, vb = get(doc, a), get(doc, b)
        put(doc, a, vb)
        put(doc, b, va)
        return "swap %s <-> %s" % (path_text(a), path_text(b))


# -- seeds ----------------------------------------------------------------------

def _base(rootfs):
    spec = default_spec(terminal=False, args=["true"])
    spec["root"] = {"path": rootfs, "readonly": True}
    return spec


def _block_device():
    """major:minor of the disk under / (for blockIO throttles)."""
    dev = os.stat("/").st_dev
    return os.major(dev), os.minor(dev)


def v2_controllers():
    for path in ("/sys/fs/cgroup/unified/cgroup.controllers", "/sys/fs/cgroup/cgroup.controllers"):
        try:
            with open(path) as f:
                return f.read().split()
        except OSError:
            continue
    return []


def seeds(rootfs="rootfs"):
    """name -> a valid config (dict), root.path = rootfs."""
    out = {}
    out["default"] = _base(rootfs)

    spec = default_spec(rootless=True, terminal=False, args=["true"])
    spec["root"] = {"path": rootfs, "readonly": True}
    for name in ("uidMappings", "gidMappings"):
        spec["linux"][name] = [{"containerID": 0, "hostID": USERNS_HOST_ID, "size": 65536}]
    out["userns"] = spec

    spec = _base(rootfs)
    spec["linux"]["namespaces"] = [ns for ns in spec["linux"]["namespaces"]
                                   if ns["type"] not in ("mount", "uts")]
    del spec["hostname"]
    out["hostmnt"] = spec

    spec = _base(rootfs)
    spec["hooks"] = {name: [{"path": "/bin/true", "args": ["true", name],
                             "env": ["HOOK=%s" % name], "timeout": 10}]
                     for name in ("prestart", "createRuntime", "createContainer",
                                  "startContainer", "poststart", "poststop")}
    out["hooks"] = spec

    spec = _base(rootfs)
    spec["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 255, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0x10000000, "op": "SCMP_CMP_GE"}]},
        ],
    }
    out["seccomp"] = spec

    spec = _base(rootfs)
    major, minor = _block_device()
    res = {
        "memory": {"limit": 256 << 20, "reservation": 128 << 20, "swap": 512 << 20,
                   "swappiness": 10, "disableOOMKiller": False},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor,
                                               "rate": 100 << 20}],
                    "throttleWriteIOPSDevice": [{"major": major, "minor": minor,
                                                 "rate": 1000}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
    }
    v2 = v2_controllers()
    if "hugetlb" in v2 or os.path.isdir("/sys/fs/cgroup/hugetlb"):
        res["hugepageLimits"] = [{"pageSize": "2MB", "limit": 64 << 20}]
    if "hugetlb" in v2:
        res["unified"] = {"hugetlb.1GB.max": "max"}
    elif "pids" in v2:
        res["unified"] = {"pids.max": "100"}
    spec["linux"]["resources"] = res
    out["resources"] = spec

    spec = _base(rootfs)
    spec["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666,
         "uid": 0, "gid": 0},
        {"path": "/dev/xvda9", "type": "b", "major": 202, "minor": 9, "fileMode": 0o600},
        {"path": "/dev/fifo0", "type": "p", "fileMode": 0o620, "uid": 1000, "gid": 1000},
    ]
    spec["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    out["devices"] = spec

    spec = _base(rootfs)
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "16384",
                               "net.core.somaxconn": "1024"}
    out["sysctl"] = spec

    spec = _base(rootfs)
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0},
                                    "boottime": {"secs": 3600, "nanosecs": 500}}
    out["timens"] = spec

    spec = _base(rootfs)
    spec["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 512, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_AS", "soft": 1 << 34, "hard": 1 << 34},
        {"type": "RLIMIT_STACK", "soft": 8 << 20, "hard": 16 << 20},
    ]
    spec["process"]["user"] = {"uid": 1000, "gid": 1000, "umask": 0o027,
                               "additionalGids": [5, 1000]}
    spec["process"]["oomScoreAdj"] = 100
    out["rlimits"] = spec

    spec = _base(rootfs)
    caps = ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_KILL", "CAP_SETUID"]
    spec["process"]["capabilities"] = {"bounding": caps, "effective": caps,
                                       "permitted": caps, "inheritable": caps[:2],
                                       "ambient": caps[:1]}
    spec["process"]["noNewPrivileges"] = False
    out["capabilities"] = spec
    return out


SEED_NAMES = ("default", "userns", "hostmnt", "hooks", "seccomp", "resources", "devices",
              "sysctl", "timens", "rlimits", "capabilities")

_SEED_TEXT = {}


def seed(name, rootfs="rootfs"):
    """A fresh copy of one seed (kept as text: a copy is one json.loads)."""
    key = (name, rootfs)
    if key not in _SEED_TEXT:
        for n, spec in seeds(rootfs).items():
            _SEED_TEXT[(n, rootfs)] = json.dumps(spec)
    return json.loads(_SEED_TEXT[key])


class Case:
    """One mutated config: which seed, what was done, the JSON text."""

    __slots__ = ("run_seed", "index", "seed", "ops", "text")

    def __init__(self, run_seed, index, seed_name, ops, text):
        self.run_seed = run_seed
        self.index = index
        self.seed = seed_name
        self.ops = ops
        self.text = text

    def __repr__(self):
        return "Case(%s#%d %s: %s)" % (self.run_seed, self.index, self.seed,
                                        "; ".join(self.ops))


def make_case(run_seed, index, rootfs="rootfs", mutations=True, only=None):
    """Case `index` of a run with seed run_seed; mutations=False gives the
    seed unchanged (the runner's --no-mutate); only: the seeds to draw from
    (default all)."""
    rng = random.Random("%s:%d" % (run_seed, index))
    name = rng.choice(tuple(only) if only else SEED_NAMES)
    doc = seed(name, rootfs)
    ops = Mutator(rng).mutate(doc) if mutations else []
    return Case(run_seed, index, name, ops, dumps(doc))
