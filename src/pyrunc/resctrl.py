"""linux.intelRdt (Intel Resource Director Technology) through the resctrl
file system, as runtime-spec 1.3 (config-linux.md, "IntelRdt") says:

- the group is the directory closID names under the resctrl mount ("/":
  the mount's root, the default CLOS), or without closID one named after
  the container, which the runtime makes and removes at delete;
- l3CacheSchema, then memBwSchema, then each line of schemata are written
  to the group's `schemata` file; a closID group that exists already must
  hold them (an error otherwise), one without any schema must exist;
- the container's processes are written to the group's `tasks` (the init
  once created, each exec process itself before it enters the container);
- enableMonitoring: a MON group mon_groups/<id> of the group, made for
  the container and removed at delete.

Imported only for a config with intelRdt.  Every path is recorded in the
container's state before it is made (delete -f after a crash finds it).
"""
from __future__ import annotations

import os

from .errors import ConfigError, PyruncError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypedDict

    class RdtState(TypedDict):
        path: str             # the group's directory
        remove: bool          # made for the container: removed at delete
        mon: str | None       # the MON group's directory, removed at delete


def mount_point(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """Where the resctrl file system is mounted, or None."""
    from .cgroups import mountinfo_unescape
    try:
        with open(mountinfo) as f:
            for line in f:
                if line.split(" - ", 1)[-1].startswith("resctrl "):
                    return mountinfo_unescape(line.split()[4])
    except OSError:
        pass
    return None


def schema_lines(rdt: dict[str, Any]) -> list[str]:
    """What goes into the group's schemata file, in the spec's order."""
    lines = [rdt[k] for k in ("l3CacheSchema", "memBwSchema") if rdt.get(k)]
    return lines + list(rdt.get("schemata") or ())


class RdtGroup:
    """The resctrl group of a container whose linux.intelRdt is rdt."""

    def __init__(self, rdt: dict[str, Any], cid: str, root: str) -> None:
        self.closid = rdt.get("closID")
        if self.closid == "/":
            self.path = root
        else:
            self.path = os.path.join(root, self.closid or cid)
        # (spec: removed only when the runtime made it for the container)
        self.remove = not self.closid
        self.lines = schema_lines(rdt)
        self.mon = os.path.join(self.path, "mon_groups", cid) if rdt.get("enableMonitoring") \
            else None

    def to_state(self) -> RdtState:
        return {"path": self.path, "remove": self.remove, "mon": self.mon}

    def check(self) -> None:
        """Before anything is made (or recorded): an existing closID group
        must hold the schemata asked for, one without any must exist, and
        the container's own group must not exist yet (it is removed at
        delete: it may be nobody else's).  ConfigError naming intelRdt."""
        exists = os.path.isdir(self.path)
        if self.remove and exists:
            raise ConfigError("linux.intelRdt: the resctrl group %s exists already" % self.path)
        if self.closid and not self.lines and not exists:
            raise ConfigError("linux.intelRdt.closID: no resctrl group %r (%s does not exist)"
                              % (self.closid, self.path))
        if self.closid and exists and self.lines:
            current = _read(os.path.join(self.path, "schemata"))
            for line in self.lines:
                if not _holds(current, line):
                    raise ConfigError("linux.intelRdt: the existing group %r does not have "
                                      "the schema %r" % (self.closid, line))
        if self.mon is not None and os.path.isdir(self.mon):
            raise ConfigError("linux.intelRdt: the MON group %s exists already" % self.mon)

    def make(self) -> None:
        """Make the group if it is not there, with its schemata, and the
        MON group.  PyruncError naming linux.intelRdt."""
        if not os.path.isdir(self.path):
            _do("make the resctrl group %s" % self.path, os.mkdir, self.path)
            for line in self.lines:
                _write(os.path.join(self.path, "schemata"), line + "\n")
        if self.mon is not None:
            _do("make the resctrl MON group %s" % self.mon, os.mkdir, self.mon)

    def add(self, pid: int) -> None:
        for path in task_files(self.to_state()):
            _write(path, "%d\n" % pid)


def task_files(state: RdtState) -> list[str]:
    """The tasks files a process of the container is written to."""
    return [os.path.join(d, "tasks") for d in (state["path"], state["mon"]) if d is not None]


def check_update(state: RdtState | None, l3_cache_schema: str | None,
                 mem_bw_schema: str | None) -> None:
    """update --l3-cache-schema / --mem-bw-schema: BadArgument unless the
    container has a group and each is one line of its resource."""
    from .errors import BadArgument
    if not state:
        raise BadArgument("--l3-cache-schema, --mem-bw-schema: the container has no Intel RDT "
                          "group (linux.intelRdt)")
    for flag, text, prefix in (("--l3-cache-schema", l3_cache_schema, "L3"),
                               ("--mem-bw-schema", mem_bw_schema, "MB")):
        if text and (not text.startswith(prefix + ":") or "\n" in text):
            raise BadArgument("%s %r: expected one line starting with %s:" % (flag, text,
                                                                              prefix))


def update(state: RdtState, l3_cache_schema: str | None, mem_bw_schema: str | None) -> None:
    """update --l3-cache-schema / --mem-bw-schema: written to the group."""
    for line in (l3_cache_schema, mem_bw_schema):
        if line:
            _write(os.path.join(state["path"], "schemata"), line + "\n")


def destroy(state: RdtState) -> list[str]:
    """Remove what was made for the container; -> what is left."""
    left = []
    for path, made in ((state["mon"], True), (state["path"], state["remove"])):
        if path is None or not made:
            continue
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError:
            left.append(path)
    return left


def _holds(current: list[str], line: str) -> bool:
    """Does the schemata file (its lines) have the resource line `line`
    (each domain's value, compared as the kernel prints them: hex bitmasks
    without leading zeros, case aside)?"""
    name, _, domains = line.strip().partition(":")
    want = _domains(domains)
    for have in current:
        other, _, values = have.strip().partition(":")
        if other.strip() == name.strip():
            got = _domains(values)
            return all(got.get(k) == v for k, v in want.items())
    return False


def _domains(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(";"):
        dom, _, value = item.partition("=")
        if dom.strip():
            out[dom.strip()] = value.strip().lower().lstrip("0") or "0"
    return out


def _read(path: str) -> list[str]:
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError as e:
        raise PyruncError("linux.intelRdt: read %s: %s" % (path, strerror(e.errno))) from None


def _write(path: str, text: str) -> None:
    """One write(2): one command to the kernel (a schemata line, a pid).
    (O_APPEND changes nothing to resctrl's files, which take each write
    whole; a test's stand-in files keep every line.)"""
    def write() -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    _do("write %r to %s" % (text.strip(), path), write)


def _do(what: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except OSError as e:
        raise PyruncError("linux.intelRdt: %s: %s" % (what, strerror(e.errno))) from None
