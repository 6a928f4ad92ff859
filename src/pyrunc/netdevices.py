"""linux.netDevices (runtime-spec 1.3, config-linux.md "Network Devices"):
interfaces of the host moved into the container's new network namespace,
renamed when the config gives a name (a name with `%d` is a template the
kernel fills), with their permanent global addresses, and set up.

check() is the field's check: bundle.py calls it on every create, so this
module imports nothing heavy.  NetDevices does the moving during create, at
the sync point SYNC_NETDEV (plan.py), when the child's network namespace
exists and before the prestart and createRuntime hooks run; pyroute2 is
imported there only.

Nothing is moved back at delete: the spec forbids it (when the namespace
goes, the kernel returns physical devices to the host's and destroys
virtual ones, a veth with its peer).  A create that fails does move back
what it moved, name, addresses and state, for the container never ran: the
runtime holds the namespace (an fd) from the first move to the end of
create, so the devices are still in it when the child is dead.
"""
from __future__ import annotations

import os
from errno import ENODEV

from . import jsonio
from .errors import ConfigError, SpawnError, strerror
from .linux import CLONE_NEWNET

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# <linux/if.h>, <linux/if_addr.h>, <linux/rtnetlink.h>
IFNAMSIZ = 16
IFF_UP = 0x1
IFA_F_PERMANENT = 0x80
# the flags an address is given (ip-address(8): nodad, home,
# mngtmpaddr, noprefixroute, autojoin), kept with it
IFA_F_GIVEN = 0x02 | 0x10 | 0x100 | 0x200 | 0x400
RT_SCOPE_UNIVERSE = 0
WHERE = "linux.netDevices"


def device_path(host_name: str, where: str = WHERE) -> str:
    """The JSON path of one entry, always in brackets: an interface name
    may hold dots (eth0.100, a VLAN)."""
    return "%s[%s]" % (where, jsonio.dumps(host_name))


def name_problem(name: str) -> str | None:
    """Why the kernel would refuse name for an interface (dev_valid_name in
    net/core/dev.c), or None."""
    if not name:
        return "empty"
    if len(name.encode()) >= IFNAMSIZ:
        return "longer than %d bytes" % (IFNAMSIZ - 1)
    if name in (".", ".."):
        return "%r is not a name" % name
    if any(c in "/:" or c.isspace() for c in name):
        return "%r holds '/', ':' or whitespace" % name
    return None


def check(value: Any, where: str = WHERE) -> None:
    """Raise ConfigError naming the JSON path of the first thing wrong in
    linux.netDevices (None: absent): an object of host interface name ->
    {"name": the name in the container}."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigError("%s: expected object" % where)
    # a name in the container (not a template) -> the entry that gives it
    given: dict[str, str] = {}
    for host_name, device in value.items():
        path = device_path(host_name, where)
        problem = name_problem(host_name)
        if problem is None and "%" in host_name:
            problem = "a template names no interface of the host"
        if problem is not None:
            raise ConfigError("%s: not a network interface name: %s" % (path, problem),
                              json_path=path)
        if not isinstance(device, dict):
            raise ConfigError("%s: expected object" % path, json_path=path)
        name = device.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise ConfigError("%s.name: expected string" % path, json_path=path + ".name")
            problem = name_problem(name)
            if problem is None and "%" in name and (name.count("%") > 1 or "%d" not in name):
                # (__dev_alloc_name: one %d, nothing else after a %)
                problem = "a template has one %d and no other %"
            if problem is not None:
                raise ConfigError("%s.name: not a network interface name: %s" % (path, problem),
                                  json_path=path + ".name")
        inside = host_name if name is None else name
        if "%" not in inside:
            if inside in given:
                raise ConfigError('%s: "%s" is also the name of %s in the container'
                                  % (path, inside, given[inside]), json_path=path)
            given[inside] = path


class _Address:
    """An address of a device as a request to add it again."""
    __slots__ = ("text", "request")

    def __init__(self, msg: Any) -> None:
        self.request: dict[str, Any] = {"family": msg["family"], "prefixlen": msg["prefixlen"]}
        for attr, key in (("IFA_ADDRESS", "address"), ("IFA_LOCAL", "local"),
                          ("IFA_BROADCAST", "broadcast")):
            value = msg.get_attr(attr)
            if value is not None:
                self.request[key] = value
        if _flags(msg) & IFA_F_GIVEN:
            self.request["IFA_FLAGS"] = _flags(msg) & IFA_F_GIVEN
        self.text = "%s/%d" % (self.request.get("local") or self.request.get("address"),
                               msg["prefixlen"])

    @staticmethod
    def kept(msg: Any) -> bool:
        """The spec's: permanent (not from DHCP, SLAAC...) and of global
        scope (RFC 3549 2.3.3.2); the others belong to where they were."""
        return bool(_flags(msg) & IFA_F_PERMANENT) and msg["scope"] == RT_SCOPE_UNIVERSE


def _flags(msg: Any) -> int:
    """An address's flags: all 32 bits in IFA_FLAGS, the first 8 in the
    header (kernels before 3.14)."""
    flags: int | None = msg.get_attr("IFA_FLAGS")
    return msg["flags"] if flags is None else flags


class _Move:
    """One device on its way: where it was, what it had."""
    __slots__ = ("host_name", "was_up", "addresses", "index")

    def __init__(self, host_name: str, was_up: bool, addresses: list[_Address]) -> None:
        self.host_name = host_name
        self.was_up = was_up
        self.addresses = addresses
        # its index in the container's namespace once it is there (the
        # kernel may give it another one there), else None
        self.index: int | None = None


class _Rtnl:
    """An rtnetlink socket (pyroute2's IPRoute) of the network namespace
    this thread is in when it is made; failures are OSError(errno)."""

    def __init__(self) -> None:
        if TYPE_CHECKING:
            IPRoute: Any   # (pyroute2 has no type information)
        else:
            from pyroute2 import IPRoute
        # (groups=0: no events of the host to queue)
        self.ipr = IPRoute(groups=0)

    def __call__(self, method: str, *args: Any, **kw: Any) -> list[Any]:
        if TYPE_CHECKING:
            NetlinkDumpInterrupted: Any
            NetlinkError: Any
        else:
            from pyroute2.netlink.exceptions import NetlinkDumpInterrupted, NetlinkError
        for _ in range(10):
            try:
                return list(getattr(self.ipr, method)(*args, **kw))
            except NetlinkDumpInterrupted:
                continue   # (the list changed during the dump: again)
            except NetlinkError as e:
                raise OSError(e.code, os.strerror(e.code)) from None
        raise OSError(0, "the kernel's list kept changing")

    def close(self) -> None:
        self.ipr.close()


def _setns(fd: int) -> None:
    """setns(2) of this thread into a network namespace."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _open_ns(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SpawnError("%s: open %s: %s" % (WHERE, path, strerror(e.errno)),
                         errno=e.errno) from None


class NetDevices:
    """The moves of one create: move_into(), then close() if the create
    succeeds or undo() if it fails."""

    def __init__(self, devices: dict[str, Any]) -> None:
        self.devices = devices
        self.moved: list[_Move] = []
        self._host_ns = -1
        self._container_ns = -1
        self._host: _Rtnl | None = None
        self._inside: _Rtnl | None = None

    def move_into(self, pid: int) -> None:
        """Move every device, in the config's order, into the network
        namespace of process pid (the container's, made by the child).
        SpawnError naming the device if one cannot be moved; undo() puts
        back what was."""
        self._host_ns = _open_ns("/proc/self/ns/net")
        self._container_ns = _open_ns("/proc/%d/ns/net" % pid)
        try:
            self._host = _Rtnl()
            # (a socket stays in the namespace it was made in: this thread
            # goes there for as long as it takes to make one)
            _setns(self._container_ns)
            try:
                self._inside = _Rtnl()
            finally:
                _setns(self._host_ns)
        except OSError as e:
            raise SpawnError("%s: rtnetlink in the container's network namespace: %s"
                             % (WHERE, strerror(e.errno)), errno=e.errno) from None
        for host_name, device in self.devices.items():
            self._move(host_name, device.get("name") or host_name)

    def _move(self, host_name: str, name: str) -> None:
        host, inside = self._host, self._inside
        assert host is not None and inside is not None   # (move_into made them)
        path = device_path(host_name)
        try:
            link = host("link", "get", ifname=host_name)[0]
        except OSError as e:
            if e.errno == ENODEV:
                raise SpawnError("%s: no such network interface on the host" % path,
                                 json_path=path, errno=e.errno) from None
            raise SpawnError("%s: %s" % (path, strerror(e.errno)), json_path=path,
                             errno=e.errno) from None
        step = "read its addresses"
        try:
            # (the kernel drops every address of a device that changes
            # namespace: they are read here and added again there)
            addresses = [_Address(m) for m in host("get_addr", index=link["index"])
                         if _Address.kept(m)]
            step = "look for %r in the container's network namespace" % name
            if "%" not in name and _exists(inside, name):
                raise SpawnError('%s: "%s" is already taken in the container\'s network '
                                 "namespace" % (path if name == host_name else path + ".name",
                                                name), json_path=path)
            before = _indexes(inside)
            move = _Move(host_name, bool(link["flags"] & IFF_UP), addresses)
            self.moved.append(move)
            step = "move it into the container's network namespace"
            try:
                # The rename rides with the move, as runc sends it: the new
                # name never has to be free on the host.  The kernel may
                # move the device and then refuse the name: where it went is
                # found by its index (undo() needs it).
                host("link", "set", index=link["index"], net_ns_fd=self._container_ns,
                     ifname=name)
            finally:
                arrived = _indexes(inside) - before
                move.index = arrived.pop() if len(arrived) == 1 else None
            if move.index is None:
                raise OSError(0, "it is not there")
            for address in addresses:
                step = "add address %s in the container" % address.text
                inside("addr", "add", index=move.index, **address.request)
            step = "set it up in the container"
            inside("link", "set", index=move.index, state="up")
        except OSError as e:
            raise SpawnError("%s: %s: %s" % (path, step, strerror(e.errno) if e.errno else
                                             e.strerror), json_path=path, errno=e.errno or None) \
                from None

    def undo(self, warn: Callable[[str], None]) -> None:
        """The create failed: the devices moved go back to the runtime's
        network namespace, last first, with their names, addresses and
        state; what cannot be put back is warned about."""
        try:
            for move in reversed(self.moved):
                if move.index is None:
                    continue   # (it never left)
                try:
                    self._move_back(move)
                except OSError as e:
                    warn("%s: could not move it back to the host: %s"
                         % (device_path(move.host_name), strerror(e.errno)))
        finally:
            self.close()

    def _move_back(self, move: _Move) -> None:
        host, inside = self._host, self._inside
        assert host is not None and inside is not None   # (there was a move)
        inside("link", "set", index=move.index, state="down")
        inside("link", "set", index=move.index, net_ns_fd=self._host_ns, ifname=move.host_name)
        index = host("link", "get", ifname=move.host_name)[0]["index"]
        for address in move.addresses:
            host("addr", "add", index=index, **address.request)
        if move.was_up:
            host("link", "set", index=index, state="up")

    def close(self) -> None:
        """Let go of the sockets and the namespaces (the container's then
        lives as long as its processes)."""
        for rtnl in (self._host, self._inside):
            if rtnl is not None:
                rtnl.close()
        self._host = self._inside = None
        for fd in (self._host_ns, self._container_ns):
            if fd >= 0:
                os.close(fd)
        self._host_ns = self._container_ns = -1


def _exists(rtnl: _Rtnl, name: str) -> bool:
    try:
        rtnl("link", "get", ifname=name)
    except OSError as e:
        if e.errno == ENODEV:
            return False
        raise
    return True


def _indexes(rtnl: _Rtnl) -> set[int]:
    return {link["index"] for link in rtnl("get_links")}
