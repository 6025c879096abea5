"""Disassembly in LLVM's BPF syntax, exactly as ``llvm-objdump -d`` (LLVM 19) prints it.

>>> from ebpf.isa import Instruction, disassemble
>>> from ebpf.isa.disasm import format_instruction
>>> format_instruction(Instruction(0x61, dst=1, src=10, off=-4))
'r1 = *(u32 *)(r10 - 0x4)'
>>> format_instruction(Instruction(0x61, dst=1, src=10, off=-4), hex=False, alu32=True)
'w1 = *(u32 *)(r10 - 4)'
>>> print(disassemble(bytes.fromhex("b4000000020000009500000000000000")))
w0 = 0x2
exit

Options (both mirror llvm-objdump switches):

``hex`` (default True)
    immediates and offsets in hexadecimal, as llvm-objdump >= 15 prints by
    default; ``hex=False`` gives decimal, like ``--no-print-imm-hex`` (and
    LLVM 14's default).
``alu32`` (default False)
    llvm-objdump without ``--mattr=+alu32`` (the default, whatever -mcpu the
    object was built with) names the 32-bit register operand of 8/16/32-bit
    loads, stores and ``lock +=`` as ``rN``; with it (``alu32=True``) as ``wN``.
    32-bit atomic forms that only exist with alu32 (``atomic_fetch_*``,
    ``xchg32_32``, ``cmpxchg32_32``, ``lock |=``...; llvm-objdump prints
    ``<unknown>`` for them by default) always use ``wN``.

``style="kernel"`` prints what the Linux verifier log and ``bpftool prog dump
xlated`` print instead (``(7b) *(u64 *)(r10 -8) = r1``, ``call bpf_map_lookup_elem#1``,
``goto pc+3``); checked against the running kernel's verifier log in the tests.

Where LLVM's own text loses information (``ld_pseudo`` prints only the low 32
bits of the constant, ``skb[rN]`` drops the immediate of ``LD_IND``), this
module prints the full value so that :func:`ebpf.isa.assemble` gets back the
same instruction; the text is LLVM's whenever LLVM's is exact.

Jump targets are printed as LLVM does (``goto +0x3``), without the ``<label>``
annotation objdump appends. LLVM prints ``call IMM`` for helper, BPF-to-BPF and
kfunc calls alike; here the last two carry an objdump-style annotation
(``call 0x2 <helper2>``, ``call -0x1 <kfunc:bpf_obj_new_impl>``) so that the text
assembles back to the same instruction; strip a trailing ``<...>`` to compare
with llvm-objdump.

Differences of LLVM 14's llvm-objdump (``/usr/bin/llvm-objdump`` on Debian 12),
checked instruction by instruction; this module follows LLVM 19:

- numbers are decimal by default (``hex=False`` reproduces it);
- it cannot decode (prints ``<unknown>``) the v4 instructions (``gotol``,
  ``may_goto``, sign-extending loads, ``bswap``), ``ST`` with an immediate
  (``*(u32 *)(r1 + 0) = 5``), ``BPF_JSET`` (``if r1 & r2 goto``), ``BPF_MOD``
  (``%=``) and, without ``--mattr=+alu32``, any 32-bit atomic but ``lock +=``;
- ``sdiv``/``smod`` print as ``/=``/``%=`` and ``movsx``/``addr_space_cast``
  as a plain ``rD = rS`` (it ignores ``off``);
- ``callx`` takes its register from ``imm`` (LLVM 19: ``dst``; so ``callx r0``
  where 19 prints ``callx r2``).

LLVM 19 itself misreads two things that this module prints correctly: without
``+alu32`` a 32-bit ``atomic_fetch_add`` shows as ``lock *(u32 *)(...) += rN``
(the other 32-bit atomics but ``lock +=`` as ``<unknown>``), and
load-acquire/store-release (LLVM 20 syntax here) show as ``lock ... +=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._internal.ints import s32
from . import opcodes as op
from .codec import RULES
from .instruction import Instruction

__all__ = ["disassemble", "format_instruction"]

_ALU_SYM = {
    op.BPF_ADD: "+", op.BPF_SUB: "-", op.BPF_MUL: "*", op.BPF_DIV: "/", op.BPF_OR: "|",
    op.BPF_AND: "&", op.BPF_LSH: "<<", op.BPF_RSH: ">>", op.BPF_MOD: "%", op.BPF_XOR: "^",
    op.BPF_ARSH: "s>>",
}
_JMP_SYM = {
    op.BPF_JEQ: "==", op.BPF_JGT: ">", op.BPF_JGE: ">=", op.BPF_JSET: "&", op.BPF_JNE: "!=",
    op.BPF_JSGT: "s>", op.BPF_JSGE: "s>=", op.BPF_JLT: "<", op.BPF_JLE: "<=",
    op.BPF_JSLT: "s<", op.BPF_JSLE: "s<=",
}
_SIZE = {op.BPF_B: "8", op.BPF_H: "16", op.BPF_W: "32", op.BPF_DW: "64"}
_ATOMIC_SYM = {op.BPF_ADD: "+=", op.BPF_OR: "|=", op.BPF_AND: "&=", op.BPF_XOR: "^="}
_ATOMIC_NAME = {op.BPF_ADD: "add", op.BPF_OR: "or", op.BPF_AND: "and", op.BPF_XOR: "xor"}
_LOAD_ACQ = 0x100
_STORE_REL = 0x110


def _alu_sym(table: dict[int, str], o: int, off: int) -> str | None:
    """The operator of ALU op ``o`` in ``table``, ``s``-prefixed for signed
    division and modulo (offset 1); None for an op the table lacks."""
    sym = table.get(o)
    if sym is not None and off == 1 and o in (op.BPF_DIV, op.BPF_MOD):
        sym = "s" + sym
    return sym


def _num(v: int, hex: bool) -> str:
    if not hex:
        return str(v)
    return f"-{-v:#x}" if v < 0 else f"{v:#x}"


def _rel(v: int, hex: bool) -> str:
    """A jump offset: always signed (``+0x3``, ``-0x1``, ``+0x0``)."""
    if v < 0:
        return f"-{-v:#x}" if hex else str(v)
    return f"+{v:#x}" if hex else f"+{v}"


def _mem(base: int, off: int, hex: bool) -> str:
    if off < 0:
        return f"r{base} - {_num(-off, hex)}"
    return f"r{base} + {_num(off, hex)}"


def format_instruction(ins: Instruction, *, hex: bool = True, alu32: bool = False,
                       style: str = "llvm") -> str:
    """One instruction in llvm-objdump's text (without the ``<label>`` annotation).

    ``style="kernel"`` gives the Linux verifier log / ``bpftool prog dump xlated``
    text instead, e.g. ``(7b) *(u64 *)(r10 -8) = r1`` (``hex``/``alu32`` do not
    apply to it).

    >>> from ebpf.isa import Instruction
    >>> format_instruction(Instruction(0xdb, dst=1, src=2, imm=0x01))
    'r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)'
    >>> format_instruction(Instruction(0x06, imm=5))
    'gotol +0x5'
    """
    if ins.opcode not in RULES:
        return _unknown(ins)  # hand-built instruction with an opcode that does not exist
    if style != "llvm":
        if style == "kernel":
            return f"({ins.opcode & 0xFF:02x}) {_format_kernel(ins)}"
        raise ValueError(f"unknown disassembly style {style!r} (expected 'llvm' or 'kernel')")
    code = ins.opcode
    cls = code & 0x07
    dst = ins.dst
    src = ins.src
    off = ins.off
    imm = ins.imm

    if cls in (op.BPF_ALU, op.BPF_ALU64):
        r = "w" if cls == op.BPF_ALU else "r"
        o = code & 0xF0
        x = code & op.BPF_X
        imm = s32(imm)
        if o == op.BPF_MOV:
            if not x:
                return f"{r}{dst} = {_num(imm, hex)}"
            if off == 0:
                return f"{r}{dst} = {r}{src}"
            if off == 1 and cls == op.BPF_ALU64:
                return (f"r{dst} = addr_space_cast(r{src}, {_num((imm >> 16) & 0xFFFF, hex)}, "
                        f"{_num(imm & 0xFFFF, hex)})")
            return f"{r}{dst} = (s{off}){r}{src}"
        if o == op.BPF_NEG:
            return f"{r}{dst} = -{r}{dst}"
        if o == op.BPF_END:
            if cls == op.BPF_ALU64:
                return f"r{dst} = bswap{imm} r{dst}"
            return f"r{dst} = {'be' if x else 'le'}{imm} r{dst}"
        sym = _alu_sym(_ALU_SYM, o, off)
        if sym is None:
            return _unknown(ins)
        rhs = f"{r}{src}" if x else _num(imm, hex)
        return f"{r}{dst} {sym}= {rhs}"

    if cls in (op.BPF_JMP, op.BPF_JMP32):
        o = code & 0xF0
        if code == op.JA:
            return f"goto {_rel(off, hex)}"
        if code == op.JA32:
            return f"gotol {_rel(s32(imm), hex)}"
        if code == op.CALL:
            text = f"call {_num(s32(imm), hex)}"
            if src == op.BPF_PSEUDO_CALL or src == op.BPF_PSEUDO_KFUNC_CALL or off:
                text += f" <{_call_annotation(ins, hex)}>"
            return text
        if code == op.CALLX:
            return f"callx r{dst}"
        if code == op.EXIT:
            return "exit"
        if code == op.BPF_JMP | 0xE0:
            return f"may_goto {_rel(off, hex)}"
        sym = _JMP_SYM.get(o)
        if sym is None:
            return _unknown(ins)
        r = "w" if cls == op.BPF_JMP32 else "r"
        rhs = f"{r}{src}" if code & op.BPF_X else _num(s32(imm), hex)
        return f"if {r}{dst} {sym} {rhs} goto {_rel(off, hex)}"

    size = code & 0x18
    mode = code & 0xE0
    bits = _SIZE[size]
    if cls == op.BPF_LD:
        if code == op.LD_IMM64:
            value = imm & 0xFFFFFFFFFFFFFFFF
            if src == 0:
                if value >= 1 << 63:
                    value -= 1 << 64
                return f"r{dst} = {_num(value, hex)} ll"
            return f"ld_pseudo\tr{dst}, {_num(src, hex)}, {_num(value, hex)}"
        if mode == op.BPF_ABS:
            return f"r0 = *(u{bits} *)skb[{_num(s32(imm), hex)}]"
        if mode == op.BPF_IND:
            imm = s32(imm)
            if imm == 0:
                return f"r0 = *(u{bits} *)skb[r{src}]"
            return f"r0 = *(u{bits} *)skb[{_mem(src, imm, hex)}]"
        return _unknown(ins)

    narrow = size != op.BPF_DW
    if cls == op.BPF_LDX:
        if mode == op.BPF_MEMSX:
            return f"r{dst} = *(s{bits} *)({_mem(src, off, hex)})"
        r = "w" if alu32 and narrow else "r"
        return f"{r}{dst} = *(u{bits} *)({_mem(src, off, hex)})"
    if cls == op.BPF_ST:
        return f"*(u{bits} *)({_mem(dst, off, hex)}) = {_num(s32(imm), hex)}"
    # BPF_STX
    if mode == op.BPF_MEM:
        r = "w" if alu32 and narrow else "r"
        return f"*(u{bits} *)({_mem(dst, off, hex)}) = {r}{src}"
    if mode != op.BPF_ATOMIC:
        return _unknown(ins)
    addr = _mem(dst, off, hex)
    w = "w" if narrow else "r"
    if imm == _LOAD_ACQ:
        # load-acquire reads from src + off into dst (the other atomics address dst)
        return f"{w}{dst} = load_acquire((u{bits} *)({_mem(src, off, hex)}))"
    if imm == _STORE_REL:
        return f"store_release((u{bits} *)({addr}), {w}{src})"
    a = imm & ~op.BPF_FETCH
    if imm == op.BPF_XCHG:
        return f"{w}{src} = xchg32_32({addr}, {w}{src})" if narrow else f"r{src} = xchg_64({addr}, r{src})"
    if imm == op.BPF_CMPXCHG:
        if narrow:
            return f"w0 = cmpxchg32_32({addr}, w0, w{src})"
        return f"r0 = cmpxchg_64({addr}, r0, r{src})"
    if a in _ATOMIC_SYM:
        if imm & op.BPF_FETCH:
            return f"{w}{src} = atomic_fetch_{_ATOMIC_NAME[a]}((u{bits} *)({addr}), {w}{src})"
        if narrow and a == op.BPF_ADD and not alu32:
            w = "r"
        return f"lock *(u{bits} *)({addr}) {_ATOMIC_SYM[a]} {w}{src}"
    return _unknown(ins)


_KERNEL_ALU = {**{k: v + "=" for k, v in _ALU_SYM.items()}, op.BPF_MOV: "="}


def _helper_name(helper_id: int) -> str:
    from ..uapi import HelperId

    try:
        return "bpf_" + HelperId(helper_id).name
    except ValueError:
        return "unknown"


def _format_kernel(ins: Instruction) -> str:
    """The Linux kernel's disassembly (kernel/bpf/disasm.c conventions), without
    the ``(opcode)`` prefix."""
    code = ins.opcode
    cls = code & 0x07
    dst, src, off = ins.dst, ins.src, ins.off
    imm = s32(ins.imm) if code != op.LD_IMM64 else ins.imm & 0xFFFFFFFFFFFFFFFF

    if cls in (op.BPF_ALU, op.BPF_ALU64):
        r = "w" if cls == op.BPF_ALU else "r"
        o = code & 0xF0
        x = code & op.BPF_X
        if o == op.BPF_END:
            kind = "bswap" if cls == op.BPF_ALU64 else ("be" if x else "le")
            return f"r{dst} = {kind}{imm} r{dst}"
        if o == op.BPF_NEG:
            return f"{r}{dst} = -{r}{dst}"
        if o == op.BPF_MOV and x and off == 1 and cls == op.BPF_ALU64:
            return f"r{dst} = addr_space_cast(r{src}, {(imm >> 16) & 0xFFFF}, {imm & 0xFFFF})"
        if o == op.BPF_MOV and x and off:
            return f"{r}{dst} = (s{off}){r}{src}"
        sym = _alu_sym(_KERNEL_ALU, o, off)
        if sym is None:
            return _unknown(ins)
        return f"{r}{dst} {sym} {f'{r}{src}' if x else imm}"

    if cls in (op.BPF_JMP, op.BPF_JMP32):
        o = code & 0xF0
        if code == op.JA:
            return f"goto pc{off:+d}"
        if code == op.JA32:
            return f"gotol pc{imm:+d}"
        if code == op.BPF_JMP | 0xE0:
            return f"may_goto pc{off:+d}"
        if code == op.EXIT:
            return "exit"
        if code == op.CALLX:
            return f"callx r{dst}"
        if code == op.CALL:
            if src == op.BPF_PSEUDO_CALL:
                return f"call pc{imm:+d}"
            if src == op.BPF_PSEUDO_KFUNC_CALL:
                name = getattr(ins.reference, "name", None) or "kernel-function"
                return f"call {name}#{imm}"
            return f"call {_helper_name(imm)}#{imm}"
        sym = _JMP_SYM.get(o)
        if sym is None:
            return _unknown(ins)
        r = "w" if cls == op.BPF_JMP32 else "r"
        rhs = f"{r}{src}" if code & op.BPF_X else f"{imm & 0xFFFFFFFF:#x}"
        return f"if {r}{dst} {sym} {rhs} goto pc{off:+d}"

    size = code & 0x18
    mode = code & 0xE0
    bits = _SIZE[size]
    if cls == op.BPF_LD:
        if code == op.LD_IMM64:
            return f"r{dst} = {imm:#x}"
        if mode == op.BPF_ABS:
            return f"r0 = *(u{bits} *)skb[{imm}]"
        if mode == op.BPF_IND:
            return f"r0 = *(u{bits} *)skb[r{src} + {imm}]"
        return _unknown(ins)
    if cls == op.BPF_LDX:
        sign = "s" if mode == op.BPF_MEMSX else "u"
        return f"r{dst} = *({sign}{bits} *)(r{src} {off:+d})"
    if cls == op.BPF_ST:
        return f"*(u{bits} *)(r{dst} {off:+d}) = {imm}"
    if mode == op.BPF_MEM:
        return f"*(u{bits} *)(r{dst} {off:+d}) = r{src}"
    if mode != op.BPF_ATOMIC:
        return _unknown(ins)
    mem = f"(u{bits} *)(r{dst} {off:+d})"
    width = "64" if size == op.BPF_DW else ""
    if imm == _LOAD_ACQ:
        return f"r{dst} = load_acquire((u{bits} *)(r{src} {off:+d}))"
    if imm == _STORE_REL:
        return f"store_release({mem}, r{src})"
    if imm == op.BPF_XCHG:
        return f"r{src} = atomic{width}_xchg({mem}, r{src})"
    if imm == op.BPF_CMPXCHG:
        return f"r0 = atomic{width}_cmpxchg({mem}, r0, r{src})"
    a = imm & ~op.BPF_FETCH
    if a in _ATOMIC_SYM:
        if imm & op.BPF_FETCH:
            return f"r{src} = atomic{width}_fetch_{_ATOMIC_NAME[a]}({mem}, r{src})"
        return f"lock *{mem} {_ATOMIC_SYM[a]} r{src}"
    return _unknown(ins)


def _call_annotation(ins: Instruction, hex: bool) -> str:
    """What kind of call this is, for calls LLVM's text cannot tell apart.

    llvm-objdump prints ``call IMM`` for helper calls, BPF-to-BPF calls and
    kfunc calls alike; to keep the text exact *and* reversible, non-helper calls
    get an objdump-style annotation: ``<name>`` / ``<pc+0x2>`` for a local call,
    ``<kfunc>`` / ``<kfunc:name>`` for a kfunc (``:off=N`` when it names a
    module BTF slot)."""
    ref = ins.reference
    name = getattr(ref, "function", None) or getattr(ref, "name", None)
    if ins.src == op.BPF_PSEUDO_KFUNC_CALL:
        text = "kfunc" + (f":{name}" if name else "")
    elif ins.src == op.BPF_PSEUDO_CALL:
        text = name if name else f"pc{_rel(s32(ins.imm), hex)}"
    else:
        text = f"src={ins.src}"
    if ins.off:
        text += f":off={_num(ins.off, hex)}"
    return text


def _unknown(ins: Instruction) -> str:
    """Text for an opcode the ISA does not define (only hand-built instructions
    have one); :func:`ebpf.isa.assemble` reads it back unvalidated."""
    return (f".insn opcode={ins.opcode:#04x} dst={ins.dst} src={ins.src} "
            f"off={ins.off} imm={ins.imm}")


def disassemble(insns: Iterable[Instruction] | bytes | bytearray | memoryview, *,
                hex: bool = True, alu32: bool = False, style: str = "llvm",
                byteorder: str = "little") -> str:
    """Disassemble a program: one line per instruction (``lddw`` is one line),
    joined with newlines, no trailing newline.

    Accepts instructions or raw bytes (decoded with :func:`ebpf.isa.decode`,
    in ``byteorder``).
    ``style="kernel"`` prints the verifier-log form, numbered by slot
    (``0: (b7) r0 = 1``).

    >>> print(disassemble(bytes.fromhex("b7000000010000009500000000000000"), hex=False))
    r0 = 1
    exit
    """
    if isinstance(insns, (bytes, bytearray, memoryview)):
        from .codec import decode

        insns = decode(insns, byteorder=byteorder)
    if style == "kernel":
        # numbered by slot, as the verifier log and bpftool print it
        lines = []
        slot = 0
        for ins in insns:
            lines.append(f"{slot}: {format_instruction(ins, style=style)}")
            slot += ins.size
        return "\n".join(lines)
    return "\n".join(format_instruction(i, hex=hex, alu32=alu32, style=style) for i in insns)


def disassemble_lines(insns: Sequence[Instruction], *, hex: bool = True,
                      alu32: bool = False) -> list[tuple[int, str]]:
    """``(slot, text)`` for each instruction: the slot numbers llvm-objdump prints."""
    out = []
    slot = 0
    for ins in insns:
        out.append((slot, format_instruction(ins, hex=hex, alu32=alu32)))
        slot += ins.size
    return out
