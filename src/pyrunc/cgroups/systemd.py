"""The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is
a transient scope unit that systemd creates, with Delegate=yes, as runc
makes it.  cgroupsPath is "slice:prefix:name" -> unit "prefix-name.scope"
in "slice" (default system.slice; user.slice for a user).

systemd is asked over its private socket (/run/systemd/private, root
only: no bus daemon in between; for a caller that is not root, its own
user manager's, $XDG_RUNTIME_DIR/systemd/private, whose cgroup
user@UID.service systemd delegates to the user) with a minimal D-Bus client: EXTERNAL
authentication, the marshalling of the few types these calls use, and
waiting for the job's JobRemoved signal.  The resource files of the scope
are then written by the cgroupfs code, as runc does for what has no unit
property: SystemdCgroups is the cgroupfs driver where systemd makes, fills
and removes the directories.
"""
from __future__ import annotations

import os
import posixpath
import struct

from ..errors import PyruncError
from .fs import CgroupError, Cgroups
from .layout import hierarchies

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping, Sequence

    from .fs import CgroupDir, CgroupsState
    from .layout import Hierarchy

    # a message's header fields: field code -> value
    Headers = dict[int, Any]

SOCKET = "/run/systemd/private"
PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4


class SystemdError(PyruncError):
    pass


def unit_and_slice(cgroups_path: str | None, cid: str) -> tuple[str, str]:
    """"slice:prefix:name" -> ("prefix-name.scope", "slice")."""
    parts = (cgroups_path or "").split(":")
    if cgroups_path and len(parts) != 3:
        raise SystemdError('linux.cgroupsPath: %r: the systemd driver expects '
                           '"slice:prefix:name"' % cgroups_path)
    slice_, prefix, name = parts if cgroups_path else ("", "pyrunc", cid)
    # (a user's manager has no system.slice: its containers go to its
    # user.slice, as runc puts them)
    slice_ = slice_ or ("user.slice" if manager_uid() is not None else "system.slice")
    if not slice_.endswith(".slice") or "/" in slice_:
        raise SystemdError("linux.cgroupsPath: %r is not a slice name" % slice_)
    if name.endswith(".slice"):
        raise SystemdError("linux.cgroupsPath: a slice (%r) as the container's unit is not "
                           "supported" % name)
    unit = name if name.endswith(".scope") else "%s-%s.scope" % (prefix or "pyrunc", name)
    if "/" in unit:
        raise SystemdError("linux.cgroupsPath: %r is not a unit name" % unit)
    return unit, slice_


def slice_path(slice_: str) -> str:
    """a-b-c.slice -> /a.slice/a-b.slice/a-b-c.slice (systemd's nesting)."""
    if slice_ == "-.slice":
        return "/"
    parts = slice_[:-len(".slice")].split("-")
    return "/" + "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


# -- D-Bus marshalling (little-endian) ---------------------------------------

class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def align(self, n: int) -> None:
        self.buf += b"\0" * (-len(self.buf) % n)

    def put(self, sig: str, value: Any) -> None:
        """Marshal one complete type `sig` (y b u t s o g v a(...) (...))."""
        c = sig[0]
        if c == "y":
            self.buf.append(value)
        elif c in "bu":
            self.align(4)
            self.buf += struct.pack("<I", int(value))
        elif c == "i":
            self.align(4)
            self.buf += struct.pack("<i", value)
        elif c == "t":
            self.align(8)
            self.buf += struct.pack("<Q", value)
        elif c in "so":
            data = value.encode()
            self.align(4)
            self.buf += struct.pack("<I", len(data)) + data + b"\0"
        elif c == "g":
            data = value.encode()
            self.buf += bytes([len(data)]) + data + b"\0"
        elif c == "v":
            inner, v = value
            self.put("g", inner)
            self.put(inner, v)
        elif c == "a":
            elem = _first(sig[1:])
            self.align(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.align(_alignment(elem))
            start = len(self.buf)
            for item in value:
                self.put(elem, item)
            self.buf[at:at + 4] = struct.pack("<I", len(self.buf) - start)
        elif c == "(":
            self.align(8)
            for s, v in zip(_split(sig[1:-1]), value):
                self.put(s, v)
        else:
            raise ValueError(sig)


def _alignment(sig: str) -> int:
    return {"y": 1, "g": 1, "b": 4, "u": 4, "i": 4, "s": 4, "o": 4, "a": 4, "t": 8, "(": 8,
            "v": 1}[sig[0]]


def _first(sig: str) -> str:
    """The first complete type of a signature."""
    if sig[0] == "a":
        return "a" + _first(sig[1:])
    if sig[0] == "(":
        depth = 0
        for i, c in enumerate(sig):
            depth += {"(": 1, ")": -1}.get(c, 0)
            if depth == 0:
                return sig[:i + 1]
    return sig[0]


def _split(sig: str) -> list[str]:
    out = []
    while sig:
        t = _first(sig)
        out.append(t)
        sig = sig[len(t):]
    return out


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.pos = offset

    def align(self, n: int) -> None:
        self.pos += -self.pos % n

    def get(self, sig: str) -> Any:
        c = sig[0]
        if c == "y":
            self.pos += 1
            return self.data[self.pos - 1]
        if c in "bu":
            self.align(4)
            self.pos += 4
            return struct.unpack_from("<I", self.data, self.pos - 4)[0]
        if c == "t":
            self.align(8)
            self.pos += 8
            return struct.unpack_from("<Q", self.data, self.pos - 8)[0]
        if c in "so":
            n = self.get("u")
            self.pos += n + 1
            return self.data[self.pos - n - 1:self.pos - 1].decode()
        if c == "g":
            n = self.get("y")
            self.pos += n + 1
            return self.data[self.pos - n - 1:self.pos - 1].decode()
        if c == "v":
            inner = self.get("g")
            return self.get(inner)
        if c == "a":
            n = self.get("u")
            elem = _first(sig[1:])
            self.align(_alignment(elem))
            end = self.pos + n
            items = []
            while self.pos < end:
                items.append(self.get(elem))
            return items
        if c == "(":
            self.align(8)
            return tuple(self.get(s) for s in _split(sig[1:-1]))
        raise ValueError(sig)


class Bus:
    """A connection to systemd's private socket."""

    def __init__(self, path: str | None = None) -> None:
        path = path or socket_path()
        import _socket
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.serial = 0
        self.pending = bytearray()
        # signals received while waiting for a reply
        self.signals: list[tuple[Headers, _Reader]] = []
        # systemd answers at once; a stop job waits for the processes, and
        # a wait past this is reported instead of hanging
        self.sock.settimeout(60)
        try:
            self.sock.connect(path)
            # (the uid systemd sees: in a user namespace, the host's one)
            uid = manager_uid()
            self.sock.sendall(b"\0AUTH EXTERNAL %s\r\n" % str(
                os.getuid() if uid is None else uid).encode().hex().encode())
            line = self._line()
            if not line.startswith(b"OK "):
                raise SystemdError("systemd refused the connection: %r" % line)
            self.sock.sendall(b"BEGIN\r\n")
        except OSError as e:
            self.sock.close()
            raise SystemdError("connect to systemd (%s): %s" % (path, e.strerror)) from None

    def _line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemdError("systemd closed the connection")
            self.pending += chunk
        line, _, rest = bytes(self.pending).partition(b"\r\n")
        self.pending = bytearray(rest)
        return line

    def _recv_exact(self, n: int) -> bytes:
        while len(self.pending) < n:
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                raise SystemdError("no answer from systemd: %s" % (e.strerror or e)) from None
            if not chunk:
                raise SystemdError("systemd closed the connection")
            self.pending += chunk
        data = bytes(self.pending[:n])
        del self.pending[:n]
        return data

    def call(self, member: str, sig: str = "",
             args: Sequence[Any] = ()) -> tuple[str, _Reader]:
        """Call a Manager method; returns (reply signature, reader)."""
        self.serial += 1
        serial = self.serial
        body = _Writer()
        for s, v in zip(_split(sig), args):
            body.put(s, v)
        fields = [(1, ("o", PATH)), (2, ("s", MANAGER)), (3, ("s", member)),
                  (6, ("s", "org.freedesktop.systemd1"))]
        if sig:
            fields.append((8, ("g", sig)))
        head = _Writer()
        head.buf += struct.pack("<cBBBII", b"l", METHOD_CALL, 0, 1, len(body.buf), serial)
        head.put("a(yv)", fields)
        head.align(8)
        self.sock.sendall(bytes(head.buf) + bytes(body.buf))
        while True:
            mtype, headers, reader = self.receive()
            if mtype == SIGNAL:
                self.signals.append((headers, reader))
                continue
            if headers.get(5) != serial:
                continue
            if mtype == ERROR:
                text = reader.get("s") if headers.get(8, "").startswith("s") else ""
                raise SystemdError("systemd %s: %s: %s" % (member, headers.get(4), text))
            return headers.get(8, ""), reader

    def receive(self) -> tuple[int, Headers, _Reader]:
        fixed = self._recv_exact(16)
        if fixed[0:1] != b"l":
            raise SystemdError("systemd answered in an unexpected byte order")
        mtype, body_len, fields_len = fixed[1], struct.unpack_from("<I", fixed, 4)[0], \
            struct.unpack_from("<I", fixed, 12)[0]
        rest = self._recv_exact(fields_len + (-(16 + fields_len) % 8) + body_len)
        data = fixed + rest
        headers = dict(_Reader(data, 12).get("a(yv)"))
        body_at = 16 + fields_len + (-(16 + fields_len) % 8)
        return mtype, headers, _Reader(data[body_at:], 0)

    def wait_job(self, job: str) -> str:
        """Wait for JobRemoved of `job`; returns its result ("done", ...)."""
        while True:
            for i, (headers, reader) in enumerate(self.signals):
                if headers.get(3) == "JobRemoved":
                    result: str   # (JobRemoved's body: id, job, unit, result)
                    _, path, _, result = (reader.get("u"), reader.get("o"), reader.get("s"),
                                          reader.get("s"))
                    reader.pos = 0
                    if path == job:
                        del self.signals[i]
                        return result
            mtype, headers, reader = self.receive()
            if mtype == SIGNAL:
                self.signals.append((headers, reader))

    def close(self) -> None:
        self.sock.close()


def start_scope(unit: str, slice_: str, pid: int, description: str) -> None:
    """Create the transient scope with pid in it, delegated to us."""
    bus = Bus()
    try:
        bus.call("Subscribe")
        props = [("Description", ("s", description)), ("Slice", ("s", slice_)),
                 ("Delegate", ("b", True)), ("PIDs", ("au", [pid])),
                 ("DefaultDependencies", ("b", False)),
                 ("MemoryAccounting", ("b", True)), ("CPUAccounting", ("b", True)),
                 ("TasksAccounting", ("b", True)), ("IOAccounting", ("b", True))]
        _, reader = bus.call("StartTransientUnit", "ssa(sv)a(sa(sv))",
                             (unit, "replace", props, []))
        result = bus.wait_job(reader.get("o"))
        if result != "done":
            raise SystemdError("systemd could not start %s: %s" % (unit, result))
    finally:
        bus.close()


def stop_unit(unit: str, gone: Callable[[], bool] = lambda: False) -> None:
    """Stop the scope (its cgroup goes with it); a unit already gone is
    fine.  Open problem: when the scope empties at the same moment (delete
    -f right after cgroup.kill), systemd 252 in the v2 VM now and then
    never answers StopUnit; after a few seconds without an answer, the
    scope counts as stopped if gone() says no process is left in it
    (systemd then drops the empty scope itself)."""
    try:
        bus = Bus()
    except SystemdError:
        return
    bus.sock.settimeout(3)
    try:
        bus.call("Subscribe")
        try:
            _, reader = bus.call("StopUnit", "ss", (unit, "replace"))
        except SystemdError as e:
            if "NoSuchUnit" in str(e) or ("no answer" in str(e) and gone()):
                return
            raise
        bus.wait_job(reader.get("o"))
    finally:
        bus.close()


def manager_uid() -> int | None:
    """Whose systemd pyrunc asks: None for the system's; else the host uid
    of a rootless caller, whose own user manager that is (runc's rule):
    a uid that is not 0, or root of a user namespace (a rootless Podman's)
    with an XDG_RUNTIME_DIR, whose uid 0 is that user on the host."""
    euid = os.geteuid()
    if euid != 0:
        return euid
    from ..state import in_user_namespace, own_uid_map
    if not in_user_namespace() or not os.environ.get("XDG_RUNTIME_DIR"):
        return None
    for inside, outside, size in own_uid_map():
        if inside == 0 and size >= 1:
            return outside
    return None


def socket_path() -> str:
    """The manager's private socket: the system's, or a user manager's
    ($XDG_RUNTIME_DIR/systemd/private), whose cgroup user@UID.service
    systemd delegates to the user."""
    if manager_uid() is None:
        return SOCKET
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if not xdg:
        raise CgroupError("--systemd-cgroup as uid %d: XDG_RUNTIME_DIR is not set (the user's "
                          "systemd is asked there)" % os.geteuid())
    return os.path.join(xdg, "systemd", "private")


def manager_cgroup() -> str:
    """Where the manager's slices are in the cgroup tree: the root, or a
    user manager's user@UID.service (systemd's fixed names)."""
    uid = manager_uid()
    return "" if uid is None else "/user.slice/user-%d.slice/user@%d.service" % (uid, uid)


def running() -> bool:
    """Is systemd the init here, with the private socket we would ask?"""
    return os.path.isdir("/run/systemd/system") and os.path.exists(socket_path())


def scope_dirs(unit: str, slice_: str, hierarchies: Iterable[Hierarchy]) -> list[CgroupDir]:
    """The scope's directory in each hierarchy systemd manages."""
    rel = manager_cgroup() + posixpath.join(slice_path(slice_), unit)
    return [(h.name, h.mountpoint + rel, h.v2) for h in hierarchies]


class SystemdCgroups(Cgroups):
    """The systemd driver: the container's cgroups are the transient scope
    "prefix-name.scope" in its slice, which exists only once it has a
    process (join starts it with the child's pid) and goes when stopped."""

    joined_by_parent = True
    dirs_only = False

    def __init__(self, dirs: list[CgroupDir], unit: str, slice_: str,
                 created: Iterable[str] = (), controllers: dict[str, list[str]] | None = None,
                 mountpoints: dict[str, str] | None = None) -> None:
        super().__init__(dirs, created, controllers, mountpoints)
        self.unit = unit
        self.slice = slice_
        # what setup() leaves for join()
        self._pending: tuple[dict[str, Any] | None, Callable[[str], None],
                             Sequence[dict[str, Any]]] | None = None

    @classmethod
    def for_scope(cls, cgroups_path: str | None, cid: str) -> SystemdCgroups:
        """The scope of a new container (cgroupsPath slice:prefix:name)."""
        if not running():
            raise CgroupError("--systemd-cgroup: systemd is not running here"
                              if manager_uid() is None else
                              "--systemd-cgroup: uid %s has no systemd of its own running "
                              "(no %s)" % (manager_uid(), socket_path()))
        unit, slice_ = unit_and_slice(cgroups_path, cid)
        dirs, controllers, mountpoints = [], {}, {}
        hs = hierarchies()
        for (name, path, v2), h in zip(scope_dirs(unit, slice_, hs), hs):
            dirs.append((name, path, v2))
            controllers[path] = list(h.controllers)
            mountpoints[path] = h.mountpoint
        cg = cls(dirs, unit, slice_, (), controllers, mountpoints)
        # (a user's: no device rules, as for rootless cgroupfs)
        cg.rootless = manager_uid() is not None
        return cg

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> SystemdCgroups:
        unit, slice_ = data["unit"]
        return cls([tuple(d) for d in data["dirs"]], unit, slice_, data.get("created", ()),
                   data.get("controllers"), data.get("mountpoints"))

    def to_state(self) -> CgroupsState:
        record = super().to_state()
        record["unit"] = [self.unit, self.slice]
        return record

    def setup(self, resources: dict[str, Any] | None, warn: Callable[[str], None],
              devices: Sequence[dict[str, Any]] = ()) -> None:
        """Nothing to make yet: join() starts the scope, then writes the
        resources."""
        self._pending = (resources, warn, devices)

    def join(self, pid: int) -> None:
        start_scope(self.unit, self.slice, pid, "pyrunc container %s" % self.unit)
        if self._pending and self._pending[0]:
            self.apply(self._pending[0], self._pending[1], self._pending[2])

    def owned(self) -> bool:
        return True   # (a scope started for the container)

    def destroy(self) -> list[str]:
        """Stop the scope (systemd removes its directories)."""
        stop_unit(self.unit, lambda: not self.pids())
        return super().destroy()

    def _with_dirs(self, dirs: list[CgroupDir]) -> Cgroups:
        return SystemdCgroups(dirs, self.unit, self.slice, (), self.controllers,
                              self.mountpoints)
