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
