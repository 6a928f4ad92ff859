"""linux.seccomp -> a BPF program, compiled with libseccomp in the parent.

The child only loads the exported program with seccomp(2) (PYRUNC_OP_SECCOMP),
so no libseccomp code runs after clone.  Unknown syscall names are skipped
with a warning, as runc does; unknown actions, operators and architectures
were refused by bundle.py with the JSON path.
"""
from __future__ import annotations

import marshal
import os

from . import jsonio
from .errors import ConfigError
from .state import write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7ff00000,
    "SCMP_ACT_LOG": 0x7ffc0000, "SCMP_ACT_ALLOW": 0x7fff0000,
    "SCMP_ACT_NOTIFY": 0x7fc00000,
}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32}
EPERM = 1


def action_value(name: str, errno_ret: int | None, default_errno: int | None) -> int:
    """The SCMP_ACT_* number; ERRNO and TRACE carry a 16-bit value."""
    base = ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        ret = errno_ret if errno_ret is not None else (
            default_errno if default_errno is not None else EPERM)
        return base | (ret & 0xffff)
    if name == "SCMP_ACT_TRACE":
        return base | ((errno_ret if errno_ret is not None else EPERM) & 0xffff)
    return base


def arch_name(token: str) -> str:
    """SCMP_ARCH_X86_64 -> x86_64, the name libseccomp resolves."""
    return token[len("SCMP_ARCH_"):].lower()


def compile_filter(section: dict[str, Any], warn: Callable[[str], None],
                   cache_dir: str | None = None) -> tuple[bytes, int, int]:
    """Return (program bytes, instruction count, seccomp(2) flags).

    A profile of a few hundred syscalls takes ~10 ms to compile here; the
    result is kept in cache_dir under a hash of the section, the libseccomp
    version and the machine, so the next container with it skips that."""
    path = None
    if cache_dir:
        path = os.path.join(cache_dir, _cache_key(section) + ".bpf")
        try:
            with open(path, "rb") as f:
                program, flags, warnings = marshal.loads(f.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        else:
            for w in warnings:
                warn(w)
            return program, len(program) // 8, flags
    warnings = []

    def note(text: str) -> None:
        warnings.append(text)
        warn(text)
    program, flags = _compile(section, note)
    if path:
        assert cache_dir is not None   # (for mypy: path is set only with it)
        try:
            os.makedirs(cache_dir, 0o700, exist_ok=True)
            write_atomic(path, marshal.dumps((program, flags, warnings)), durable=True)
        except OSError:
            pass  # a cache only
    return program, len(program) // 8, flags


def _cache_key(section: dict[str, Any]) -> str:
    if TYPE_CHECKING:
        from hashlib import sha256   # (typeshed has no stub of _sha256)
    else:
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256
    text = "%s\0%s\0%s" % (libseccomp_version(), os.uname().machine,
                           jsonio.dumps(section, sort_keys=True))
    return sha256(text.encode()).hexdigest()


def _compile(section: dict[str, Any], warn: Callable[[str], None]) -> tuple[bytes, int]:
    if TYPE_CHECKING:
        ffi: Any   # (the compiled cffi shim has no stubs)
        lib: Any
    else:
        from ._shim import ffi, lib

    default_errno = section.get("defaultErrnoRet")
    default = action_value(section["defaultAction"], default_errno, None)
    ctx = lib.seccomp_init(default)
    if ctx == ffi.NULL:
        raise ConfigError("linux.seccomp.defaultAction: libseccomp refused %s"
                          % section["defaultAction"])
    try:
        for i, token in enumerate(section.get("architectures") or ()):
            arch = lib.seccomp_arch_resolve_name(arch_name(token).encode())
            if arch == 0:
                raise ConfigError("linux.seccomp.architectures[%d]: unknown architecture %r"
                                  % (i, token))
            r = lib.seccomp_arch_add(ctx, arch)
            if r < 0 and r != -17:  # EEXIST: the native one is always there
                raise ConfigError("linux.seccomp.architectures[%d]: %s" % (i, os.strerror(-r)))
        for i, rule in enumerate(section.get("syscalls") or ()):
            action = action_value(rule["action"], rule.get("errnoRet"), default_errno)
            if action == default:
                continue  # libseccomp refuses rules that repeat the default
            args = rule.get("args") or ()
            cmp = ffi.new("struct scmp_arg_cmp[]", max(len(args), 1))
            for j, a in enumerate(args):
                cmp[j].arg = a["index"]
                cmp[j].op = OPERATORS[a["op"]]
                cmp[j].datum_a = a["value"]
                cmp[j].datum_b = a.get("valueTwo", 0)
            # libseccomp takes one comparison per argument in a rule: with
            # more, each condition is a rule of its own (runc's reading)
            indexes = [a["index"] for a in args]
            split = len(set(indexes)) != len(indexes)
            conditions = [(1, cmp + j) for j in range(len(args))] if split else [(len(args), cmp)]
            for name in rule["names"]:
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == -1:  # __NR_SCMP_ERROR
                    warn("linux.seccomp.syscalls[%d]: unknown syscall %r skipped" % (i, name))
                    continue
                for count, array in conditions:
                    r = lib.seccomp_rule_add_array(ctx, action, nr, count, array)
                    if r < 0:
                        raise ConfigError("linux.seccomp.syscalls[%d]: rule for %s: %s"
                                          % (i, name, os.strerror(-r).lower()))
        fd = os.memfd_create("pyrunc-seccomp", os.MFD_CLOEXEC)
        try:
            r = lib.seccomp_export_bpf(ctx, fd)
            if r < 0:
                raise ConfigError("linux.seccomp: export BPF: %s" % os.strerror(-r).lower())
            size = os.lseek(fd, 0, os.SEEK_END)
            program = os.pread(fd, size, 0)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
    flags = 0
    for name in section.get("flags") or ():
        flags |= FLAGS[name]
    return program, flags


def libseccomp_version() -> str | None:
    try:
        if TYPE_CHECKING:
            lib: Any   # (the compiled cffi shim has no stubs)
        else:
            from ._shim import lib
        v = lib.seccomp_version()
        return "%d.%d.%d" % (v.major, v.minor, v.micro)
    except Exception:  # noqa: BLE001 - version text only
        return None
