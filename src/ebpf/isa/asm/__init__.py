"""Assembler: text to :class:`~ebpf.isa.Instruction` objects.

Two syntaxes are accepted, line by line, and may be mixed:

LLVM (what :func:`ebpf.isa.disassemble` and ``llvm-objdump`` print; hex or decimal
numbers, ``rN``/``wN`` registers)::

    r1 = *(u32 *)(r10 - 0x4)
    if r1 == 0x0 goto +0x2        # or: goto LBB0_2 / a label defined below
    lock *(u64 *)(r1 + 0x0) += r2
    r1 = 0x1234 ll
    call 0x1

The conformance-suite syntax (ubpf style; see the suite's README)::

    mov32 %r0, 1
    ldxw %r1, [%r10-4]
    jne %r1, 0x2211, fail
    lock fetch add [%r10-8], %r1
    call local func1

The Linux verifier's syntax, as its log and ``bpftool prog dump xlated`` print
instructions, is read too when the opcode byte is there: ``12: (07) r1 += -8``
(the text after ``;`` is a comment; state lines of a log are not instructions).

``.insn opcode=0x.. dst=N src=N off=N imm=N`` writes any encodable instruction
without validation (for deliberately malformed test programs; :func:`ebpf.isa.disassemble`
prints undefined opcodes that way).

Labels are ``name:`` (alone on a line or before an instruction). Jump targets
are labels or relative slot offsets (``+3``, ``-0x1``). Comments start with
``#`` or ``//``; ``;`` separates statements on one line, as in LLVM
(``"r0 = 1; exit"``, the way inline-asm strings are written). Lines pasted
from ``llvm-objdump -d`` work as they are: the leading ``N:`` slot number, the raw bytes and a trailing ``<label>``
annotation on jumps are ignored.

Errors raise :class:`~ebpf.errors.InstructionError` with ``line`` set.

>>> from ebpf.isa import assemble, encode
>>> encode(assemble("mov %r0, 1\\nexit")).hex()
'b7000000010000009500000000000000'
>>> assemble("w0 = 2\\nexit") == assemble("mov32 %r0, 2\\nexit")
True
"""

from .assembler import assemble

__all__ = ["assemble"]
