"""The Linux verifier's instruction syntax, as its log and ``bpftool prog dump
xlated`` print it (``12: (07) r1 += -8``): translated to the LLVM syntax,
assembled, and checked against the opcode byte in parentheses."""

from __future__ import annotations

import re

from .. import opcodes as op
from ..instruction import Instruction, KsymReference
from .base import ParseError, parse_imm32
from .llvm import LLVMSyntax

__all__ = ["KernelSyntax"]


class KernelSyntax(LLVMSyntax):
    def kernel(self, opcode: int, text: str) -> None:
        """``(b7) r0 = 1`` as the verifier prints it: translated to LLVM syntax,
        assembled, and checked against the opcode byte in parentheses."""
        t = text.strip()
        narrow = opcode & 0x07 == op.BPF_STX and opcode & 0x18 != op.BPF_DW
        m = re.fullmatch(r"call pc([+-]\d+)", t)
        if m:
            self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=parse_imm32(m.group(1))))
        elif (m := re.fullmatch(r"call ([\w.$-]+)#(-?\d+)", t)):
            from ..disasm import _helper_name

            name, imm = m.group(1), parse_imm32(m.group(2))
            if name in ("unknown", _helper_name(imm)):
                self.emit(Instruction(op.CALL, imm=imm))
            else:
                ref = None if name == "kernel-function" else KsymReference(name, kfunc=True)
                self.emit(Instruction(op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, imm=imm, reference=ref))
        else:
            t = re.sub(r"\bgoto pc([+-]\d+)$", r"goto \1", t)
            t = re.sub(r"^(gotol|may_goto) pc([+-]\d+)$", r"\1 \2", t)
            if opcode == op.LD_IMM64:
                t += " ll"
            m = re.fullmatch(r"r(\d+) = atomic(64)?_(fetch_\w+|xchg|cmpxchg)\(\((u\d+) \*\)\((r\d+) ([+-]\d+)\), "
                             r"(?:r0, )?r(\d+)\)", t)
            if m:
                out, _w, what, size, base, off, reg = m.groups()
                w = "w" if narrow else "r"
                if what.startswith("fetch_"):
                    t = f"{w}{out} = atomic_{what}(({size} *)({base} {off}), {w}{reg})"
                elif what == "xchg":
                    t = f"{w}{out} = xchg{'32_32' if narrow else '_64'}({base} {off}, {w}{reg})"
                else:
                    t = f"{w}0 = cmpxchg{'32_32' if narrow else '_64'}({base} {off}, {w}0, {w}{reg})"
            elif narrow:
                t = re.sub(r"^r(\d+) = load_acquire", r"w\1 = load_acquire", t)
                t = re.sub(r"^(store_release\(.*), r(\d+)\)$", r"\1, w\2)", t)
            if not self.llvm(t):
                raise ParseError(f"cannot read kernel-syntax instruction {text!r}")
        got = self.insns[-1].opcode
        if got != opcode:
            raise ParseError(f"instruction text {text!r} is opcode {got:#04x}, not ({opcode:02x})")
