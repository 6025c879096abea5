"""style="kernel" disassembly matches what the Linux verifier prints for the
same instructions (its log at log_level=2)."""

from __future__ import annotations

import re

import pytest

import ebpf
from ebpf.isa import assemble, disassemble
from ebpf.isa.disasm import format_instruction

BODY = """
    r1 = 5
    *(u64 *)(r10 - 8) = r1
    *(u32 *)(r10 - 16) = -7
    *(u16 *)(r10 - 18) = 3
    *(u8 *)(r10 - 19) = 1
    r2 = *(u32 *)(r10 - 8)
    r3 = *(s16 *)(r10 - 8)
    r4 = *(s8 *)(r10 - 8)
    r5 = *(s32 *)(r10 - 8)
    r5 = *(u16 *)(r10 - 18)
    w2 += -3
    w2 -= w3
    w2 *= 7
    w2 /= 3
    w2 %= 5
    w2 |= 8
    w2 &= 0xff
    w2 <<= 2
    w2 >>= 1
    w2 s>>= 1
    w2 ^= w3
    r2 s/= 3
    r2 s%= -3
    r2 s/= r3
    w2 = (s8)w3
    w2 = (s16)w3
    r2 = (s32)r3
    r2 = (s8)r3
    r2 = bswap16 r2
    r2 = bswap32 r2
    r2 = bswap64 r2
    r2 = be16 r2
    r2 = le32 r2
    r2 = le64 r2
    r2 = -r2
    w2 = -w2
    r1 = r10
    r1 += -8
    lock *(u64 *)(r1 + 0) += r2
    lock *(u64 *)(r1 + 0) |= r2
    lock *(u64 *)(r1 + 0) &= r2
    lock *(u64 *)(r1 + 0) ^= r2
    r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
    r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)
    w2 = 1
    lock *(u32 *)(r10 - 16) += w2
    lock *(u32 *)(r10 - 16) ^= w2
    w2 = atomic_fetch_xor((u32 *)(r10 - 16), w2)
    w2 = atomic_fetch_or((u32 *)(r10 - 16), w2)
    r0 = 0x123456789 ll
    r0 = cmpxchg_64(r1 + 0, r0, r2)
    w0 = cmpxchg32_32(r10 - 16, w0, w2)
    r2 = xchg_64(r1 + 0, r2)
    w2 = xchg32_32(r10 - 16, w2)
    r3 = load_acquire((u64 *)(r1 + 0))
    w3 = load_acquire((u8 *)(r10 - 19))
    store_release((u64 *)(r1 + 0), r2)
    store_release((u16 *)(r10 - 18), w2)
    if r2 s> 0x5 goto +1
    if w2 != w3 goto +0
    if w2 == -1 goto +0
    if r2 & r3 goto +0
    if r2 s<= -2 goto +0
    gotol +0
    goto +0
    call 7
"""

WITH_SUBPROG = BODY + """
    call fn
    r0 = 0
    exit
fn:
    r0 = 1
    exit
"""

WITH_LD_ABS = """
    r6 = r1
    r0 = *(u8 *)skb[0x17]
    w7 = 2
    r0 = *(u16 *)skb[r7]
    r0 = *(u32 *)skb[-0x200000]
""" + BODY + """
    r0 = 0
    exit
"""

_LOG_LINE = re.compile(r"^(\d+): (\([0-9a-f]{2}\) .*?)(?:\s+;.*)?$")


def _verifier_lines(text: str) -> dict[int, str]:
    from ebpf.kernel.programs import load_program

    spec = ebpf.ProgramSpec(name="isa_syntax", type=ebpf.ProgramType.SOCKET_FILTER,
                            license="GPL", instructions=assemble(text))
    prog = load_program(spec, log_level=2, log_size=1 << 22)
    try:
        log = prog.verifier_log
    finally:
        prog.close()
    out: dict[int, str] = {}
    for line in log.splitlines():
        m = _LOG_LINE.match(line)
        if m:
            out.setdefault(int(m.group(1)), m.group(2).rstrip())
    return out


@pytest.mark.kernel
@pytest.mark.parametrize("text", [WITH_SUBPROG, WITH_LD_ABS], ids=["subprog", "ld_abs"])
def test_kernel_style_matches_verifier_log(text: str) -> None:
    expected = _verifier_lines(text)
    ours = dict(line.split(": ", 1) for line in disassemble(assemble(text), style="kernel").splitlines())
    ours = {int(k): v for k, v in ours.items()}
    assert len(expected) > 60
    for slot, line in expected.items():
        assert ours[slot] == line, slot


def test_kernel_style_without_a_kernel() -> None:
    ins = assemble("r1 = *(u64 *)(r10 - 8)\ncall 1\ncall -0x1 <fn>\nif r1 == -1 goto -2")
    assert [format_instruction(i, style="kernel") for i in ins] == [
        "(79) r1 = *(u64 *)(r10 -8)",
        "(85) call bpf_map_lookup_elem#1",
        "(85) call pc-1",
        "(15) if r1 == 0xffffffff goto pc-2",
    ]
    with pytest.raises(ValueError):
        format_instruction(ins[0], style="gnu")


@pytest.mark.kernel
def test_verifier_log_lines_assemble_back() -> None:
    from ebpf.isa import encode

    insns = assemble(WITH_LD_ABS)
    lines = _verifier_lines(WITH_LD_ABS)
    pasted = "\n".join(f"{slot}: {lines[slot]}   ; R0=scalar()" for slot in sorted(lines))
    assert encode(assemble(pasted)) == encode(insns)


def test_kernel_syntax_is_checked_against_the_opcode() -> None:
    with pytest.raises(ebpf.InstructionError, match=r"not \(b7\)"):
        assemble("(b7) w0 = 1")
    assert assemble("3: (85) call bpf_obj_new_impl#12345") == [
        ebpf.isa.Instruction(0x85, src=2, imm=12345,
                             reference=ebpf.isa.KsymReference("bpf_obj_new_impl", kfunc=True))]
