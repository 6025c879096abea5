"""The assembler's driver: text split into statements (comments, ``;``, labels,
pasted ``llvm-objdump`` and verifier-log lines), each handed to the syntax that
reads it, then jump labels resolved to slot offsets."""

from __future__ import annotations

import re

from ...errors import InstructionError
from .. import opcodes as op
from ..codec import validate
from ..instruction import FunctionReference, Instruction
from .base import ParseError
from .conformance import ConformanceSyntax
from .kernel import KernelSyntax

__all__ = ["assemble"]


class Assembler(KernelSyntax, ConformanceSyntax):
    """One assembly run: every syntax over one state."""


_KERNEL_PREFIX_RE = re.compile(r"^\s*(?:\d+:\s*)?\([0-9a-f]{2}\)")
_KERNEL_LINE_RE = re.compile(r"^\(([0-9a-f]{2})\)\s*(.*)$")
_COMMENT_RE = re.compile(r"\s*(?:#|//).*$")
_LABEL_RE = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*:(?!=)\s*")
_OBJDUMP_PREFIX_RE = re.compile(r"^\d+:\s+")
_OBJDUMP_BYTES_RE = re.compile(r"^(?:(?:[0-9a-f]{2} ){7}[0-9a-f]{2}(?:\s+|$))+")
# objdump's non-instruction lines: symbol headers, section titles, relocations
_OBJDUMP_NOISE_RE = re.compile(
    r"^(?:[0-9a-f]+ <[^<>]+>:|Disassembly of section .*:|.*:\s+file format .*|[0-9a-f]+:\s+(?:R_BPF_\w+|CO-RE <).*)$")
_ANNOTATION_RE = re.compile(r"\s+<[^<>\s]*>$")


def assemble(text: str) -> list[Instruction]:
    """Assemble LLVM-syntax or conformance-syntax text into instructions.

    Every instruction is checked with :func:`ebpf.isa.codec.validate`; jump
    labels are resolved to slot offsets. ``call local LABEL`` (or ``call LABEL``)
    makes a BPF-to-BPF call carrying a :class:`~ebpf.isa.FunctionReference`.

    >>> from ebpf.isa import assemble, disassemble
    >>> print(disassemble(assemble('''
    ...     mov %r0, 0
    ... loop:
    ...     add %r0, 1
    ...     jne %r0, 10, loop
    ...     exit
    ... ''')))
    r0 = 0x0
    r0 += 0x1
    if r0 != 0xa goto -0x2
    exit
    """
    if not isinstance(text, str):
        raise InstructionError(f"assemble() takes text (str), not {type(text).__name__}")
    a = Assembler()
    for lineno, raw in enumerate(text.splitlines(), 1):
        a.line = lineno
        if _KERNEL_PREFIX_RE.match(raw):
            # verifier syntax: ';' starts the register-state comment, '#' is in 'call name#id'
            _statement(a, re.sub(r"\s*;.*$", "", raw).strip(), lineno)
            continue
        # LLVM: '#' and '//' start comments, ';' separates statements
        for part in _COMMENT_RE.sub("", raw).split(";"):
            _statement(a, part.strip(), lineno)
    _resolve(a)
    return a.insns


def _statement(a: Assembler, s: str, lineno: int) -> None:
    """Assemble one statement (a label and/or an instruction) into ``a``."""
    if not s or _OBJDUMP_NOISE_RE.match(s):
        return
    if _OBJDUMP_PREFIX_RE.match(s):
        # a pasted objdump line: "12:  b7 01 00 00 05 00 00 00  r1 = 0x5"
        s = _OBJDUMP_BYTES_RE.sub("", _OBJDUMP_PREFIX_RE.sub("", s))
        if not s:
            return  # the second slot of an lddw, raw bytes only
    while True:
        m = _LABEL_RE.match(s)
        if not m:
            break
        name = m.group(1)
        if name in a.labels:
            raise InstructionError(f"label {name!r} defined twice", line=lineno)
        a.labels[name] = a.slot
        s = s[m.end():]
    if not s:
        return
    if not s.startswith("call"):
        s = _ANNOTATION_RE.sub("", s)
    s = re.sub(r"\s+", " ", s)
    try:
        if s == "<unknown>":
            raise ParseError("llvm-objdump could not decode this instruction (<unknown>); "
                         "disassemble the bytes with ebpf.isa.disassemble instead")
        a.unchecked = False
        km = _KERNEL_LINE_RE.match(s)
        if km:
            a.kernel(int(km.group(1), 16), km.group(2))
        elif not (a.llvm(s) or a.conformance(s)):
            word = s.split(None, 1)[0]
            raise ParseError(f"unknown instruction or mnemonic {word!r}: {s!r}")
        if a.unchecked:
            from ..codec import encode

            encode([a.insns[-1]])
        else:
            validate(a.insns[-1])
    except ParseError as e:
        raise InstructionError(str(e), line=lineno) from None
    except InstructionError as e:
        raise InstructionError(e.reason, line=lineno) from None


def _resolve(a: Assembler) -> None:
    slots = []
    pos = 0
    for ins in a.insns:
        slots.append(pos)
        pos += ins.size
    first_exit = next((slots[i] for i, ins in enumerate(a.insns) if ins.opcode == op.EXIT), None)
    for f in a.fixups:
        target = a.labels.get(f.label)
        if f.field == "symbol":
            if target is not None:
                ins = a.insns[f.index]
                ins.src = op.BPF_PSEUDO_FUNC
                ins.imm = (target - (slots[f.index] + 1)) & 0xFFFFFFFF
                ins.reference = FunctionReference(f.label)
            continue
        if target is None and f.label == "exit":
            target = first_exit  # conformance convention: an undefined 'exit' label is the first exit
        if target is None:
            raise InstructionError(f"unknown label {f.label!r}", line=f.line)
        ins = a.insns[f.index]
        rel = target - (slots[f.index] + 1)
        if f.field == "off":
            if not -0x8000 <= rel <= 0x7FFF:
                raise InstructionError(f"jump to {f.label!r} is too far for a 16-bit offset ({rel})",
                                       line=f.line)
            ins.off = rel
        else:
            ins.imm = rel
