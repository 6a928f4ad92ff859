"""`pyrunc features`: the runtime-spec features document (features.md),
listing only what this runtime really does."""
from __future__ import annotations

import os

from . import linux as L
from .seccomp import ACTIONS, FLAGS, OPERATORS, libseccomp_version
from .state import OCI_VERSION
from .tables import (HOOK_KINDS, IDMAP_OPTIONS, MOUNT_FLAGS, NAMESPACE_FLAGS,
                     PROPAGATION_FLAGS, RECURSIVE_MOUNT_ATTRS)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SECCOMP_ARCHES = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
                  "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                  "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
                  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
                  "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
                  "SCMP_ARCH_S390X"]


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        parts = os.uname().release.split(".")
        return (int(parts[0]), int(parts[1].split("-")[0])) >= (major, minor)
    except (ValueError, IndexError):
        return False


def document(version: str) -> dict[str, Any]:
    if TYPE_CHECKING:
        lib: Any   # (the compiled cffi shim has no stubs)
    else:
        from ._shim import lib
    from .procattrs import MPOL_FLAGS, MPOL_MODES
    from .seccomp import arch_name
    arches = [a for a in SECCOMP_ARCHES
              if lib.seccomp_arch_resolve_name(arch_name(a).encode()) != 0]
    supported = [f for f in FLAGS if f != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
                 or _kernel_at_least(5, 19)]
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": list(HOOK_KINDS),
        "mountOptions": sorted(set(MOUNT_FLAGS) | set(PROPAGATION_FLAGS) |
                               set(RECURSIVE_MOUNT_ATTRS) | set(IDMAP_OPTIONS)),
        "linux": {
            "namespaces": sorted(NAMESPACE_FLAGS),
            "capabilities": list(L.CAPABILITIES),
            "cgroup": {"v1": True, "v2": True, "systemd": True, "systemdUser": False,
                       "rdma": True},
            "seccomp": {"enabled": True, "actions": sorted(ACTIONS),
                        "operators": sorted(OPERATORS), "archs": arches,
                        "knownFlags": sorted(FLAGS), "supportedFlags": sorted(supported)},
            "apparmor": {"enabled": True},
            "selinux": {"enabled": True},
            "memoryPolicy": {"modes": list(MPOL_MODES), "flags": list(MPOL_FLAGS)},
            "intelRdt": {"enabled": True, "schemata": True, "monitoring": True},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {"io.github.pyrunc.version": version,
                        "io.github.pyrunc.libseccomp.version": libseccomp_version() or ""},
    }
