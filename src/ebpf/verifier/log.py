"""The verifier log, in the kernel's shape: one line per processed instruction
(``12: (bf) r1 = r6``), source lines from BTF line info (``; x = y @ f.c:12``),
register state at level 2 and at branch points, the error last, then the
statistics lines (``processed N insns ...``, ``verification time N usec``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..isa.instruction import Instruction

#: lines kept (the kernel's log buffer is bounded too)
MAX_LINES = 200_000


class VerifierLog:
    def __init__(self, level: int = 1):
        self.level = level
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self._last_line: Any = None

    def __call__(self, text: str) -> None:
        if self.level:
            self.lines.append(text)

    def always(self, text: str) -> None:
        self.lines.append(text)

    def insn(self, slot: int, ins: Instruction, state_text: str | None) -> None:
        if not self.level:
            return
        li = ins.line
        if li is not None and li is not self._last_line:
            self._last_line = li
            src = getattr(li, "line_text", "") or ""
            where = f"{getattr(li, 'file_name', '')}:{getattr(li, 'line', '')}"
            self.lines.append(f"; {src.strip()} @ {where.rsplit('/', 1)[-1]}")
        from ..isa.disasm import format_instruction

        try:
            text = format_instruction(ins)
        except Exception:  # noqa: BLE001 - never fail on display
            text = f"opcode {ins.opcode:#04x}"
        line = f"{slot}: ({ins.opcode:02x}) {text}"
        if state_text:
            line += f" ; {state_text}"
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def format_regs(regs: list, only: set[int] | None = None) -> str:
    """``R1=ctx() R10=fp0`` for initialised registers (or those in ``only``)."""
    out = []
    for i, r in enumerate(regs):
        if only is not None and i not in only:
            continue
        if r.kind.name == "NOT_INIT":
            continue
        out.append(f"R{i}={r.describe()}")
    return " ".join(out)


def format_stack(frame: Any) -> str:
    out = []
    for i, slot in enumerate(frame.stack):
        if slot.bytes_ == "iiiiiiii":
            continue
        off = -(i + 1) * 8
        if slot.spill is not None:
            out.append(f"fp{off}={slot.spill.describe()}")
        else:
            out.append(f"fp{off}={slot.bytes_}")
    return " ".join(out)
