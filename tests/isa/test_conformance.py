"""The conformance suite's programs assemble to the intended encodings; its
negative inputs are refused (assembler for asm, decoder for raw bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_data import MISSING, conformance_dir

import ebpf
from ebpf.isa import assemble, decode, disassemble, encode

SUITE = conformance_dir() or Path("shared-conformance-not-found")
TESTS = sorted((SUITE / "tests").glob("*.data"))
NEGATIVE = sorted((SUITE / "negative").glob("*.data"))

pytestmark = [pytest.mark.conformance, pytest.mark.skipif(not TESTS, reason=MISSING)]


def sections(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    cur = None
    for line in path.read_text().splitlines():
        if line.startswith("-- "):
            cur = line[3:].strip()
            out[cur] = ""
        elif cur is not None:
            out[cur] += line + "\n"
    return out


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.stem)
def test_program_assembles_and_round_trips(path: Path) -> None:
    s = sections(path)
    insns = assemble(s["asm"])
    assert insns, "empty program"
    raw = encode(insns)
    if "raw" in s:
        expected = b"".join(int(w, 16).to_bytes(8, "little") for w in s["raw"].split())
        assert raw == expected
    # the encoding decodes back to the same instructions...
    back = decode(raw)
    assert encode(back) == raw
    # ...and its disassembly (both number styles) assembles to the same bytes
    for hex_ in (True, False):
        assert encode(assemble(disassemble(back, hex=hex_))) == raw


def test_lddw_raw_words_exact() -> None:
    s = sections(SUITE / "tests" / "lddw.data")
    assert encode(assemble(s["asm"])).hex() == (
        "1800000088776655" "0000000044332211" "9500000000000000")


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_negative_is_refused(path: Path) -> None:
    s = sections(path)
    assert "asm" in s or "raw" in s
    if "asm" in s:
        with pytest.raises(ebpf.InstructionError) as info:
            assemble(s["asm"])
        assert info.value.line is not None
    if "raw" in s:
        raw = bytes(int(x, 16) for x in s["raw"].split())
        with pytest.raises(ebpf.InstructionError) as info:
            decode(raw)
        assert info.value.index == 0


def test_negative_messages_name_the_problem() -> None:
    cases = {
        "invalid_register": "Invalid register",
        "invalid_lock": "Invalid number of operands for lock",
        "invalid_lock2": "Invalid number of operands for lock",
        "invalid_label": "unknown label 'NOT_A_LABEL'",
        "invalid_mnemonic": "ldxq",
        "invalid_imm32_dec_range": "out of 32-bit range",
        "invalid_imm32_hex_range": "out of 32-bit range",
        "invalid_offset_range": "out of 16-bit range",
        "invalid_operand_count": "operands for lddw",
    }
    for name, text in cases.items():
        with pytest.raises(ebpf.InstructionError, match=text):
            assemble(sections(SUITE / "negative" / f"{name}.data")["asm"])


def test_conformance_syntax_details() -> None:
    insns = assemble("""
        mov32 %r1, 0xffffff80   # hex up to 0xffffffff wraps to a signed imm
        jne %r1, 0x80000000, exit
        ja32 done
        call local fn
        call 5
        call %r2
        ldxsh %r0, [%r10-2]
        lock fetch xor32 [%r10-4], %r3
        movsx1664 %r8, %r7
        swap32 %r0
        sdiv32 %r0, -3
    done:
        exit
    fn:
        exit
    """)
    text = disassemble(insns, hex=False).splitlines()
    assert text == [
        "w1 = -128",
        "if r1 != -2147483648 goto +9",
        "gotol +8",
        "call 8 <fn>",
        "call 5",
        "callx r2",
        "r0 = *(s16 *)(r10 - 2)",
        "w3 = atomic_fetch_xor((u32 *)(r10 - 4), w3)",
        "r8 = (s16)r7",
        "r0 = bswap32 r0",
        "w0 s/= -3",
        "exit",
        "exit",
    ]
    assert insns[3].reference == ebpf.isa.FunctionReference("fn")
