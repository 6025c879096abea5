"""decode/encode: exact round trip, lddw as one instruction, strict validation."""

from __future__ import annotations

import struct

import pytest

import ebpf
from ebpf.isa import Instruction, decode, encode
from ebpf.isa import opcodes as op
from ebpf.isa.codec import RULES, is_valid_opcode, validate


def slot(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def test_simple_program() -> None:
    raw = slot(0xB7, 0, imm=1) + slot(0x95)
    insns = decode(raw)
    assert insns == [Instruction(0xB7, dst=0, imm=1), Instruction(0x95)]
    assert encode(insns) == raw


def test_lddw_is_one_instruction_with_unsigned_64bit_imm() -> None:
    raw = slot(0x18, 1, imm=-1) + slot(0, imm=-2) + slot(0x95)
    insns = decode(raw)
    assert len(insns) == 2
    assert insns[0].imm == 0xFFFFFFFEFFFFFFFF
    assert insns[0].size == 2
    assert encode(insns) == raw
    # negative 64-bit values are accepted by encode and wrap
    assert encode([Instruction(0x18, dst=1, imm=-1)]) == slot(0x18, 1, imm=-1) + slot(0, imm=-1)


@pytest.mark.parametrize("src", range(7))
def test_lddw_every_pseudo_source(src: int) -> None:
    raw = slot(0x18, 2, src, imm=7) + slot(0, imm=3)
    (ins,) = decode(raw)
    assert (ins.src, ins.imm) == (src, (3 << 32) | 7)
    assert encode([ins]) == raw


def test_imm_is_signed_32bit() -> None:
    (ins,) = decode(slot(0xB7, 1, imm=-5))
    assert ins.imm == -5
    # encode accepts the unsigned spelling too
    assert encode([Instruction(0xB7, dst=1, imm=0xFFFFFFFB)]) == slot(0xB7, 1, imm=-5)


@pytest.mark.parametrize("raw, what", [
    (b"\x95" + bytes(6), "multiple of 8"),
    (slot(0x18, 1), "truncated"),
    (slot(0xFF), "unknown opcode 0xff"),
    (slot(0x0D), "unknown opcode"),            # JMP|JA|X does not exist
    (slot(0x8C, 1), "unknown opcode"),         # NEG with X source
    (slot(0xDF, 1, imm=16), "unknown opcode"),  # ALU64|END|TO_BE
    (slot(0x38), "unknown opcode"),            # LD_ABS with DW size
    (slot(0x99, 1, 2), "unknown opcode"),      # MEMSX DW
    (slot(0xB7, 11, imm=1), "invalid dst register r11"),
    (slot(0x0F, 1, 12), "invalid src register r12"),
    (slot(0xD4, 1, imm=8), "16, 32, 64"),
    (slot(0x3F, 1, 2, off=2), "off must be one of 0, 1"),
    (slot(0xBC, 1, 2, off=32), "0, 8, 16"),     # movsx 32->32 does not exist
    (slot(0xBF, 1, 2, off=1), "addr_space_cast"),
    (slot(0x85, 0, 3, imm=1), "src must be one of"),
    (slot(0x85, 0, 0, off=1, imm=1), "off must be 0"),
    (slot(0x06, 0, 0, off=1, imm=1), "off field must be 0"),
    (slot(0x8D, 1, 0, imm=1), "imm field must be 0"),
    (slot(0xC3, 1, 2, imm=0x02), "imm must be one of"),     # no such atomic op
    (slot(0xD3, 1, 2, imm=0x01), "imm must be one of"),     # 8-bit fetch_add
    (slot(0x18, 1, 7), "src must be one of"),
    (slot(0x20, 1, imm=4), "dst field must be 0"),           # LD_ABS
    (slot(0x40, 0, 1, off=2), "off field must be 0"),        # LD_IND
    (slot(0x61, 1, 2, imm=1), "imm field must be 0"),
    (slot(0x62, 1, 2, imm=1), "src field must be 0"),
    (slot(0xE5, 1, off=1), "dst field must be 0"),           # may_goto
])
def test_decode_refuses(raw: bytes, what: str) -> None:
    with pytest.raises(ebpf.InstructionError, match=what) as info:
        decode(raw)
    assert info.value.index is not None


def test_error_names_the_slot() -> None:
    raw = slot(0xB7) + slot(0x18, 1) + slot(0) + slot(0x95, 1)
    with pytest.raises(ebpf.InstructionError) as info:
        decode(raw)
    assert info.value.index == 3
    assert "instruction 3" in str(info.value)


def test_lddw_second_slot_must_be_clean() -> None:
    with pytest.raises(ebpf.InstructionError, match="second slot") as info:
        decode(slot(0x18, 1) + slot(0, 1))
    assert info.value.index == 1


@pytest.mark.parametrize("ins", [
    Instruction(0x100),
    Instruction(0xB7, dst=16),
    Instruction(0xB7, off=0x8000),
    Instruction(0xB7, imm=1 << 32),
    Instruction(0xB7, imm=-(1 << 31) - 1),
    Instruction(0x18, imm=1 << 64),
])
def test_encode_refuses_fields_that_do_not_fit(ins: Instruction) -> None:
    with pytest.raises(ebpf.InstructionError):
        encode([ins])


def test_encode_does_not_apply_semantic_rules() -> None:
    # verifier tests need malformed-but-encodable programs
    assert encode([Instruction(0x95, dst=1)]) == slot(0x95, 1)
    with pytest.raises(ebpf.InstructionError):
        validate(Instruction(0x95, dst=1))


def test_v4_and_newer_instructions_decode() -> None:
    raw = b"".join([
        slot(0x3F, 1, 2, off=1),             # sdiv
        slot(0x97, 1, off=1, imm=-7),        # smod imm
        slot(0xBF, 1, 2, off=8),             # movsx
        slot(0xBC, 1, 2, off=16),            # movsx32
        slot(0x91, 1, 2, off=-1),            # ldxsb
        slot(0xD7, 1, imm=64),               # bswap64
        slot(0x06, imm=-1),                  # gotol
        slot(0x85, 0, 2, off=1, imm=1234),   # kfunc in module BTF 1
        slot(0x8D, 3),                       # callx r3
        slot(0xE5, off=2),                   # may_goto
        slot(0xBF, 1, 2, off=1, imm=0x10000),  # addr_space_cast
        slot(0xD3, 1, 2, imm=0x100),         # load_acquire u8
        slot(0xDB, 1, 2, imm=0x110),         # store_release u64
        slot(0x95),
    ])
    assert encode(decode(raw)) == raw


def test_rule_table_covers_rfc_opcodes() -> None:
    # 0x18 plus ABS/IND, every ALU/JMP op, every load/store form
    assert is_valid_opcode(op.LD_IMM64) and is_valid_opcode(op.CALLX) and is_valid_opcode(op.JA32)
    assert not is_valid_opcode(0x00)
    alu = [c for c in RULES if c & 7 in (op.BPF_ALU, op.BPF_ALU64)]
    assert len(alu) == 2 * (11 * 2 + 1 + 2) + 3  # 11 binary ops x K/X, neg, mov K/X; 3 END
    jmp = [c for c in RULES if c & 7 in (op.BPF_JMP, op.BPF_JMP32)]
    assert len(jmp) == 2 * 22 + 1 + 1 + 1 + 1 + 1 + 1  # conds, ja, gotol, call, callx, exit, may_goto


def test_decode_100k() -> None:
    # correctness at scale only: speed is measured by `make bench` (benchmarks/isa_codec.py),
    # a time limit here fails whenever the machine is busy
    prog = (slot(0xB7, 0, imm=1) + slot(0x7B, 10, 1, off=-8) + slot(0x18, 1, imm=5) + slot(0)
            + slot(0x15, 1, off=2) + slot(0x85, imm=1)) * 20_000
    insns = decode(prog)
    assert len(insns) == 100_000
    assert encode(insns) == prog


@pytest.mark.parametrize("call, arg, what", [
    (decode, "95000000", "takes bytes"),
    (decode, None, "takes bytes"),
    (encode, [1], "expected an Instruction"),
    (encode, [Instruction(0xB7, dst="x")], "dst must be an int"),
    (encode, [Instruction(0xB7, imm=1.5)], "imm must be an int"),
])
def test_wrong_types_are_instruction_errors(call, arg, what: str) -> None:
    with pytest.raises(ebpf.InstructionError, match=what):
        call(arg)


def test_undefined_opcode_has_reversible_text() -> None:
    from ebpf.isa import assemble, disassemble

    odd = Instruction(0xA1, dst=1, src=2, off=3, imm=4)  # LDX with mode 0xa0: not an instruction
    text = disassemble([odd])
    assert text == ".insn opcode=0xa1 dst=1 src=2 off=3 imm=4"
    assert assemble(text) == [odd]  # .insn is the unvalidated escape
    assert encode([odd]).hex() == "a121030004000000"
    with pytest.raises(ebpf.InstructionError, match="does not fit"):
        assemble(".insn opcode=0x100 dst=0 src=0 off=0 imm=0")


def test_lddw_register_out_of_range_is_refused() -> None:
    with pytest.raises(ebpf.InstructionError, match="dst 16"):
        encode([Instruction(0x18, dst=16)])


def test_big_endian() -> None:
    insns = [Instruction(0xB7, dst=1, imm=-2), Instruction(0x0F, dst=1, src=2),
             Instruction(0x18, dst=3, src=2, imm=0x1122334455667788), Instruction(0x95)]
    raw = encode(insns, byteorder="big")
    assert raw[:8].hex() == "b710" "0000" "fffffffe"
    assert raw[9] == 0x12  # dst in the high nibble
    assert decode(raw, byteorder="big") == insns
    assert encode(decode(raw, byteorder="big"), byteorder="big") == raw
    with pytest.raises(ebpf.InstructionError, match="byteorder"):
        decode(raw, byteorder="middle")


@pytest.mark.parametrize("text, what", [
    ("lock *(u64 *)(r1 + 0) -= r2", r"'lock \.\.\. -=' is not an eBPF atomic operation"),
    ("lock *(u32 *)(r1 - 8) -= w2", r"lock takes \+=, \|=, &=, \^="),
])
def test_unknown_lock_operation_is_an_instruction_error(text: str, what: str) -> None:
    from ebpf.isa import assemble

    with pytest.raises(ebpf.InstructionError, match=what) as info:
        assemble(text)
    assert info.value.line == 1
