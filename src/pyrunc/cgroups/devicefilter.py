"""Device rules for cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program.

cgroup v2 has no devices.allow/deny; the kernel asks a BPF program attached
to the cgroup instead (with the device type, major, minor and the access).
This module turns the rules (the config's, in order, then the defaults)
into that program; the shim loads and attaches it.

Semantics: the last rule that matches decides (as writing the rules to v1
in order does for whole rules), a rule matches when the type, major and
minor fit and the access asked for is within the rule's; no match: denied.
"""
from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .resources import DeviceRule

    # an instruction before packing: (code, dst, src, off, imm)
    Insn = tuple[int, int, int, int, int]



def pack(code: int, dst: int, src: int, off: int, imm: int) -> bytes:
    """struct bpf_insn (8 bytes, the machine's byte order): code, the
    registers (dst in the low 4 bits on the little-endian machines pyrunc
    runs on), off (s16), imm (s32).  (int.to_bytes, not struct: on cgroup
    v2 every create packs a program, and struct would cost an import.)"""
    return bytes((code, dst | src << 4)) + off.to_bytes(2, sys.byteorder, signed=True) + \
        imm.to_bytes(4, sys.byteorder, signed=True)


# opcodes (linux/bpf_common.h, linux/bpf.h)
LDX_W = 0x61        # dst = *(u32 *)(src + off)
MOV32_REG = 0xbc    # dst = (u32)src
MOV64_IMM = 0xb7    # dst = imm
AND32_IMM = 0x54    # dst &= imm
RSH32_IMM = 0x74    # dst >>= imm
JNE_IMM = 0x55      # if dst != imm: pc += off
JNE_REG = 0x5d      # if dst != src: pc += off
EXIT = 0x95

DEV_BLOCK, DEV_CHAR = 1, 2                   # BPF_DEVCG_DEV_*
ACC = {"m": 1, "r": 2, "w": 4}               # BPF_DEVCG_ACC_*
R0, R1, R2, R3, R4, R5 = range(6)


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> Insn:
    return (code, dst, src, off, imm)


def program(rules: Sequence[DeviceRule]) -> bytes:
    """rules: [(allow, type "a"/"b"/"c", major or None, minor or None,
    access "rwm")] in order.  Returns the program as bytes."""
    code = [
        insn(LDX_W, R2, R1, 0),          # access_type
        insn(MOV32_REG, R3, R2),
        insn(AND32_IMM, R3, imm=0xffff),  # r3: device type
        insn(RSH32_IMM, R2, imm=16),      # r2: access asked for
        insn(LDX_W, R4, R1, 4),          # r4: major
        insn(LDX_W, R5, R1, 8),          # r5: minor
    ]
    for allow, kind, major, minor, access in reversed(rules):
        block = _block(allow, kind, major, minor, access)
        code += block
        if len(block) == 2:
            # it matches every access: what comes after is unreachable,
            # and the verifier refuses unreachable instructions
            break
    else:
        code += [insn(MOV64_IMM, R0, imm=0), insn(EXIT)]
    return b"".join(pack(*insn) for insn in code)


def _block(allow: bool, kind: str, major: int | None, minor: int | None,
           access: str) -> list[Insn]:
    """Instructions for one rule: checks that skip to the block's end, then
    return the verdict.  Jump offsets are filled in once the length is
    known."""
    checks = []
    if kind in ("b", "c"):
        checks.append([insn(JNE_IMM, R3, imm=DEV_BLOCK if kind == "b" else DEV_CHAR)])
    bits = sum(ACC[a] for a in set(access or "rwm"))
    if bits != 7:
        checks.append([insn(MOV32_REG, R1, R2), insn(AND32_IMM, R1, imm=bits),
                       insn(JNE_REG, R1, R2)])   # asked & rule != asked
    if major is not None and major >= 0:
        checks.append([insn(JNE_IMM, R4, imm=major)])
    if minor is not None and minor >= 0:
        checks.append([insn(JNE_IMM, R5, imm=minor)])
    body = [i for check in checks for i in check]
    body += [insn(MOV64_IMM, R0, imm=1 if allow else 0), insn(EXIT)]
    out = []
    for pos, (c, dst, src, _, imm) in enumerate(body):
        if c in (JNE_IMM, JNE_REG):
            out.append((c, dst, src, len(body) - pos - 1, imm))
        else:
            out.append((c, dst, src, 0, imm))
    return out


def attach(directory: str, rules: list[DeviceRule]) -> None:
    """Load the program of rules and attach it to the cgroup2 directory
    (replacing the device programs attached there before)."""
    if TYPE_CHECKING:   # (the compiled shim has no stubs)
        ffi: Any
        lib: Any
    else:
        from .._shim import ffi, lib
    from ..errors import strerror
    from .fs import CgroupError
    code = program(rules)
    r = lib.pyrunc_attach_device_filter(directory.encode(), ffi.from_buffer(code),
                                        len(code) // 8)
    if r < 0:
        raise CgroupError('linux.resources.devices: attach a device program to "%s": %s'
                          % (directory, strerror(-r)))
