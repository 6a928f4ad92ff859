"""The rules of a config that no field can check on its own: what its
namespaces allow (mappings, sysctls, the hostname, time offsets) and what
its mounts need.  bundle.py checks each field (types, ranges, strings);
make_plan runs this before it plans, so that the planner meets only
configs that make sense.  Every error is a ConfigError naming the JSON path.
"""
from __future__ import annotations

from .bundle import is_bind, is_idmapped
from .errors import ConfigError
from .tables import IPC_SYSCTLS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def check_semantics(config: dict[str, Any]) -> None:
    """Raise ConfigError for the first rule config breaks."""
    linux = config.get("linux") or {}
    new_ns: set[str] = set()
    joined: set[str] = set()
    for ns in linux.get("namespaces") or ():
        (joined if ns.get("path") else new_ns).add(ns["type"])
    if "user" in new_ns and "mount" not in new_ns and "mount" not in joined:
        raise ConfigError("linux.namespaces: a new user namespace needs a new mount namespace "
                          "(it cannot mount in the host's)")
    _check_sysctl(linux, new_ns, joined)
    if "user" in new_ns:
        if not linux.get("uidMappings") or not linux.get("gidMappings"):
            raise ConfigError("linux.uidMappings: a new user namespace needs uidMappings and "
                              "gidMappings")
    elif (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in joined:
        raise ConfigError("linux.uidMappings: mappings given without a new user namespace")
    if linux.get("netDevices") and "network" not in new_ns:
        # (a joined namespace is somebody else's, the host's is the host's)
        raise ConfigError("linux.netDevices: moving network devices needs a new network "
                          "namespace")
    if "time" in joined and linux.get("timeOffsets"):
        raise ConfigError("linux.timeOffsets: cannot set offsets when joining an existing time "
                          "namespace")
    if (config.get("hostname") or config.get("domainname")) and \
            "uts" not in new_ns and "uts" not in joined:
        raise ConfigError("hostname: setting the hostname needs a new or joined uts namespace")
    for i, m in enumerate(config.get("mounts") or ()):
        if is_bind(m) and not m.get("source"):
            raise ConfigError("mounts[%d].source: a bind mount needs a source" % i)
        if is_idmapped(m):
            _check_idmapped(m, "mounts[%d]" % i, new_ns, joined)


def _check_idmapped(m: dict[str, Any], path: str, new_ns: set[str], joined: set[str]) -> None:
    """An idmapped mount: a bind (runc's rule), with both mappings or with
    neither, and then the container's user namespace's (runtime-spec)."""
    if not is_bind(m):
        raise ConfigError("%s.options: idmap and ridmap are for bind mounts only" % path)
    if ("uidMappings" in m) != ("gidMappings" in m):
        missing = "gidMappings" if "uidMappings" in m else "uidMappings"
        raise ConfigError("%s.%s: required with %s" % (
            path, missing, "uidMappings" if missing == "gidMappings" else "gidMappings"))
    if "uidMappings" in m:
        if not m["uidMappings"] or not m["gidMappings"]:
            raise ConfigError("%s.uidMappings: an idmapped mount's mappings must not be empty"
                              % path)
    elif "user" not in new_ns and "user" not in joined:
        raise ConfigError("%s.options: idmap without uidMappings and gidMappings takes the "
                          "container's user namespace, and it has none" % path)


def _check_sysctl(linux: dict[str, Any], new_ns: set[str], joined: set[str]) -> None:
    """Only a key a namespace of the container owns (runc's list)."""
    def has(kind: str) -> bool:
        return kind in new_ns or kind in joined

    for key in sorted(linux.get("sysctl") or ()):
        parts = key.split("/") if "/" in key else key.split(".")
        if any(p in ("", ".", "..") for p in parts):
            # (net/ipv4/../../kernel/core_pattern is the host's)
            raise ConfigError("linux.sysctl: %r is not a sysctl name" % key)
        name = sysctl_name(key)
        if name == "kernel.hostname":
            # (runc's words: the hostname field says it)
            raise ConfigError('linux.sysctl: sysctl "kernel.hostname" is not allowed as it '
                              'conflicts with the OCI "hostname" field')
        if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
            kind = "ipc"
        elif name.startswith("net."):
            kind = "network"
        elif name == "kernel.domainname":
            kind = "uts"
        elif name.startswith("user."):
            # the user.max_* counts are a user namespace's (runc 1.4)
            kind = "user"
        else:
            raise ConfigError("linux.sysctl: %s is not in a namespace of the container: it would "
                              "change the host" % key)
        if not has(kind):
            raise ConfigError("linux.sysctl: %s needs a new or joined %s namespace: it would "
                              "change the host's" % (key, kind))


def sysctl_name(key: str) -> str:
    """The dotted name of a sysctl key, which may also be written with
    slashes (net/ipv4/ip_forward), as runc takes it."""
    return key.replace("/", ".") if "/" in key else key


# sections and fields of the runtime-spec for other platforms than Linux
OTHER_PLATFORMS = ("windows", "solaris", "vm", "zos")
OTHER_PLATFORM_PROCESS_FIELDS = ("commandLine",)


def other_platform_fields(config: dict[str, Any]) -> list[str]:
    """The JSON paths of what config has for other platforms: pyrunc, a
    Linux runtime, leaves them (a warning each, not silence)."""
    found = [k for k in OTHER_PLATFORMS if k in config]
    process = config.get("process") or {}
    found += ["process." + k for k in OTHER_PLATFORM_PROCESS_FIELDS if k in process]
    if "username" in (process.get("user") or {}):
        found.append("process.user.username")
    return found
