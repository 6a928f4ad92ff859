"""The cgroup v2 device program, run by a small interpreter of the BPF
instructions it uses: the verdicts must be those of the rules."""
import struct

import pytest

from pyrunc.cgroups import devicefilter as df
from pyrunc.cgroups.resources import DEFAULT_DEVICE_RULES


BPF_INSN = struct.Struct("=BBhi")   # code, dst|src<<4, off, imm


def run(code, kind, major, minor, access):
    """Execute the program for one device access; returns 0 or 1."""
    # (decoded here with struct, as the kernel's struct bpf_insn lays it out)
    insns = [BPF_INSN.unpack_from(code, i) for i in range(0, len(code), 8)]
    acc = sum(df.ACC[a] for a in access)
    ctx = {0: (acc << 16) | (df.DEV_BLOCK if kind == "b" else df.DEV_CHAR), 4: major, 8: minor}
    r = [0] * 11
    pc = 0
    for _ in range(10000):
        c, regs, off, imm = insns[pc]
        dst, src = regs & 0xf, regs >> 4
        pc += 1
        if c == df.LDX_W:
            assert src == 1
            r[dst] = ctx[off]
        elif c == df.MOV32_REG:
            r[dst] = r[src] & 0xffffffff
        elif c == df.MOV64_IMM:
            r[dst] = imm
        elif c == df.AND32_IMM:
            r[dst] = (r[dst] & imm) & 0xffffffff
        elif c == df.RSH32_IMM:
            r[dst] = (r[dst] & 0xffffffff) >> imm
        elif c == df.JNE_IMM:
            if r[dst] != imm:
                pc += off
        elif c == df.JNE_REG:
            if r[dst] != r[src]:
                pc += off
        elif c == df.EXIT:
            return r[0]
        else:
            raise AssertionError("unexpected opcode %#x" % c)
    raise AssertionError("no exit")


DOCKERISH = [(False, "a", None, None, "rwm")] + [(True,) + rule for rule in DEFAULT_DEVICE_RULES]


@pytest.mark.parametrize("kind, major, minor, access, verdict", [
    ("c", 1, 3, "rw", 1),       # /dev/null
    ("c", 1, 11, "r", 0),       # /dev/kmsg: not allowed
    ("b", 8, 0, "r", 0),        # a disk
    ("b", 8, 0, "m", 1),        # mknod of anything is allowed...
    ("b", 8, 0, "mr", 0),       # ...but not more
    ("c", 136, 7, "rw", 1),     # any /dev/pts/N
    ("c", 5, 1, "rw", 0),       # console: not in the defaults
])
def test_default_rules(kind, major, minor, access, verdict):
    assert run(df.program(DOCKERISH), kind, major, minor, access) == verdict


def test_the_last_matching_rule_decides():
    rules = [(True, "a", None, None, "rwm"), (False, "c", 1, 3, "rwm")]
    code = df.program(rules)
    assert run(code, "c", 1, 3, "r") == 0
    assert run(code, "c", 1, 5, "r") == 1
    rules.append((True, "c", 1, None, "r"))
    code = df.program(rules)
    assert run(code, "c", 1, 3, "r") == 1
    assert run(code, "c", 1, 3, "w") == 0


def test_no_rule_is_deny():
    assert run(df.program([]), "c", 1, 3, "r") == 0


def test_nothing_follows_a_rule_that_matches_everything():
    """The kernel's verifier refuses unreachable instructions."""
    code = df.program([(True, "c", 1, 3, "rwm"), (False, "a", None, None, "rwm")])
    assert len(code) // 8 == 6 + 2
    assert run(code, "c", 1, 3, "r") == 0
