"""What every assembler syntax shares: numbers, registers and offsets parsed
with their range checks, and the assembler's state (instructions emitted, labels,
jump fixups)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..._internal.ints import s32
from ..instruction import Instruction

__all__ = ["AsmState", "ParseError"]


@dataclass
class Fixup:
    index: int  # instruction index
    label: str
    line: int
    field: str  # "off", "imm", or "symbol" (an lddw of a name)


class ParseError(Exception):
    """Internal: a parse error on the current line (turned into InstructionError)."""


# --- numbers and registers -------------------------------------------------

NUM_RE = re.compile(r"^([+-]?)\s*(0[xX][0-9a-fA-F]+|\d+)$")


def parse_int(text: str, what: str = "number") -> tuple[int, bool]:
    """(value, was_hex)."""
    m = NUM_RE.match(text.strip())
    if not m:
        raise ParseError(f"invalid {what} {text.strip()!r}")
    sign, digits = m.groups()
    is_hex = digits[:2].lower() == "0x"
    if len(digits) > 40:  # far beyond 64 bits (and int() refuses huge decimal strings)
        raise ParseError(f"{what} {text.strip()[:24]}... is out of range")
    value = int(digits, 16 if is_hex else 10)
    return (-value if sign == "-" else value), is_hex


def parse_imm32(text: str, *, conformance: bool = False) -> int:
    """A 32-bit immediate: signed decimal, or hex up to 0xffffffff (stored as signed)."""
    value, is_hex = parse_int(text, "immediate")
    if conformance and not is_hex:
        ok = -(1 << 31) <= value < (1 << 31)
    else:
        ok = -(1 << 31) <= value < (1 << 32)
    if not ok:
        raise ParseError(f"immediate {text.strip()} is out of 32-bit range")
    return s32(value)


def parse_imm64(text: str) -> int:
    value, _ = parse_int(text, "64-bit immediate")
    if not -(1 << 63) <= value < (1 << 64):
        raise ParseError(f"immediate {text.strip()} is out of 64-bit range")
    return value & 0xFFFFFFFFFFFFFFFF


def check_off16(value: int, text: str) -> int:
    if not -0x8000 <= value <= 0x7FFF:
        raise ParseError(f"offset {text.strip()} is out of 16-bit range")
    return value


REG_RE = re.compile(r"^%?([rw])(\d+)$")


def parse_reg(text: str, width: str | None = None) -> tuple[int, str]:
    """Parse ``rN``/``wN``/``%rN``; returns (number, 'r' or 'w')."""
    m = REG_RE.match(text.strip())
    if not m:
        raise ParseError(f"Invalid register {text.strip()!r}")
    kind, num = m.group(1), int(m.group(2))
    if num > 10:
        raise ParseError(f"Invalid register {text.strip()!r}")
    if width is not None and kind != width:
        raise ParseError(f"expected a {'64' if width == 'r' else '32'}-bit register, got {text.strip()!r}")
    return num, kind



class AsmState:
    def __init__(self) -> None:
        self.insns: list[Instruction] = []
        self.lines: list[int] = []
        self.slot = 0
        self.labels: dict[str, int] = {}  # label -> slot
        self.fixups: list[Fixup] = []
        self.line = 0
        self.unchecked = False

    # helpers
    def emit(self, ins: Instruction) -> Instruction:
        self.insns.append(ins)
        self.lines.append(self.line)
        self.slot += ins.size
        return ins

    def target(self, ins: Instruction, text: str, field: str) -> None:
        text = text.strip()
        if text[:1] in "+-":
            value, _ = parse_int(text, "jump offset")
            if field == "off":
                value = check_off16(value, text)
            elif not -(1 << 31) <= value < (1 << 31):
                raise ParseError(f"jump offset {text} is out of 32-bit range")
            setattr(ins, field, value)
            return
        if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", text):
            raise ParseError(f"jump target {text!r} must be a label or a signed offset (+N/-N)")
        if not re.fullmatch(r"[A-Za-z_.$][\w.$]*", text):
            raise ParseError(f"invalid jump target {text!r}")
        self.fixups.append(Fixup(len(self.insns) - 1, text, self.line, field))
