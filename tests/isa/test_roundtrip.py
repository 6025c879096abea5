"""Property tests: any valid instruction survives encode/decode and
disassemble/assemble unchanged, in every text style."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf.isa import Instruction, assemble, decode, disassemble, encode
from ebpf.isa.codec import RULES
from ebpf.isa.disasm import format_instruction

_FIELD = {
    "dst": st.integers(0, 15),
    "src": st.integers(0, 15),
    "off": st.integers(-0x8000, 0x7FFF),
    "imm": st.integers(-(1 << 31), (1 << 31) - 1),
}


@st.composite
def instructions(draw) -> Instruction:
    code = draw(st.sampled_from(sorted(RULES)))
    rule = RULES[code]
    values = {}
    for name, allowed in zip(("dst", "src", "off", "imm"), rule, strict=True):
        values[name] = draw(st.sampled_from(sorted(allowed)) if allowed is not None else _FIELD[name])
    if code == 0xBF:
        values["imm"] = draw(st.sampled_from([1, 0x10000])) if values["off"] == 1 else 0
    if code == 0x85 and values["src"] != 2:
        values["off"] = 0
    if code == 0x18:
        values["imm"] = draw(st.integers(0, (1 << 64) - 1))
    return Instruction(code, **values)


@settings(max_examples=400, deadline=None)
@given(st.lists(instructions(), min_size=1, max_size=12))
def test_encode_decode(insns: list[Instruction]) -> None:
    raw = encode(insns)
    assert decode(raw) == insns
    assert encode(decode(raw)) == raw


@settings(max_examples=400, deadline=None)
@given(instructions(), st.booleans(), st.booleans())
def test_disassemble_assemble(ins: Instruction, hex_: bool, alu32: bool) -> None:
    text = format_instruction(ins, hex=hex_, alu32=alu32)
    assert assemble(text) == [ins], text


@settings(max_examples=100, deadline=None)
@given(st.lists(instructions(), min_size=1, max_size=20))
def test_program_text_round_trip(insns: list[Instruction]) -> None:
    raw = encode(insns)
    assert encode(assemble(disassemble(raw))) == raw
    assert encode(assemble(disassemble(raw, hex=False, alu32=True))) == raw


@settings(max_examples=300, deadline=None)
@given(st.lists(instructions(), min_size=1, max_size=10))
def test_kernel_style_round_trip(insns: list[Instruction]) -> None:
    """The verifier-log text carries every field, except that a lddw's pseudo
    source and a call's module-BTF offset are not printed by the kernel."""
    raw = encode(insns)
    back = assemble(disassemble(insns, style="kernel"))
    expected = []
    for ins in decode(raw):
        if ins.opcode == 0x18:
            ins.src = 0
        if ins.opcode == 0x85:
            ins.off = 0
        expected.append(ins)
    assert encode(back) == encode(expected)


_TOKENS = st.sampled_from([
    "r1", "w2", "%r3", "r11", "=", "+=", "s/=", "*(u32 *)", "(r10 - 8)", "(r1 +0)", "[%r1+2]",
    "0x10", "-5", "4294967296", "ll", "goto", "+3", "-0x1", "if", "==", "lock", "fetch", "add32",
    "mov32", "ldxdw", "call", "local", "exit", "(b7)", "pc+1", "#", ";", ",", "<x>", "skb[r1]",
    "atomic_fetch_add(", ")", "label:", "ja32", "be16", "bswap64", ".insn", "opcode=0x95",
])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_TOKENS, max_size=8).map(" ".join), max_size=6).map("\n".join))
def test_assembler_never_crashes(text: str) -> None:
    import ebpf

    try:
        assemble(text)
    except ebpf.InstructionError as e:
        assert e.line is not None or "takes text" in str(e)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_decoder_never_crashes(raw: bytes) -> None:
    import ebpf

    try:
        insns = decode(raw)
    except ebpf.InstructionError as e:
        assert e.index is not None
    else:
        assert encode(insns) == raw
        assert encode(assemble(disassemble(insns))) == raw
