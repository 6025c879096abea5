"""Binary encoding of eBPF instructions (RFC 9669, little-endian).

:func:`decode` turns raw program bytes into :class:`~ebpf.isa.Instruction` objects
and refuses anything the RFC or the kernel consider malformed: an unknown opcode,
a register number above r10, a field that must be zero but is not, a truncated
``lddw``. :func:`encode` turns instructions back into bytes; ``decode`` then
``encode`` returns exactly the input.

>>> from ebpf.isa import decode, encode
>>> insns = decode(bytes.fromhex("b7000000010000009500000000000000"))
>>> [hex(i.opcode) for i in insns]
['0xb7', '0x95']
>>> encode(insns).hex()
'b7000000010000009500000000000000'

:func:`validate` applies the same structural rules to one instruction (the
assembler uses it); :func:`encode` itself only checks that each field fits, so
deliberately malformed programs (for verifier tests) can still be built.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ..errors import InstructionError
from ..uapi.consts import BPF_JCOND, BPF_LOAD_ACQ, BPF_STORE_REL
from . import opcodes as op
from .instruction import Instruction

__all__ = ["decode", "encode", "validate", "is_valid_opcode", "opcode_name"]

_SLOT = struct.Struct("<BBhi")
_SLOT_BE = struct.Struct(">BBhi")  # big-endian (bpfeb): registers byte is dst << 4 | src


def _byteorder(byteorder: str) -> bool:
    """True for big-endian."""
    if byteorder not in ("little", "big"):
        raise InstructionError(f"byteorder must be 'little' or 'big', not {byteorder!r}")
    return byteorder == "big"

# --- the rule table ---------------------------------------------------------
#
# For every valid opcode: (dst, src, off, imm) constraints. Each is None (any
# value of the field's width) or a frozenset of allowed values. A few opcodes
# have rules linking two fields; they get a check function instead (_SPECIAL).

_REG = frozenset(range(11))
_ZERO = frozenset({0})
_ANY = None

_ALU_OPS = (op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_DIV, op.BPF_OR, op.BPF_AND,
            op.BPF_LSH, op.BPF_RSH, op.BPF_MOD, op.BPF_XOR, op.BPF_ARSH)
_COND_JUMPS = (op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET, op.BPF_JNE, op.BPF_JSGT,
               op.BPF_JSGE, op.BPF_JLT, op.BPF_JLE, op.BPF_JSLT, op.BPF_JSLE)
# may_goto is BPF_JMP | BPF_JCOND (src = BPF_MAY_GOTO = 0); BPF_LOAD_ACQ / BPF_STORE_REL
# are imms of BPF_STX | BPF_ATOMIC (Linux 6.15)
ATOMIC_IMMS = frozenset({
    op.BPF_ADD, op.BPF_OR, op.BPF_AND, op.BPF_XOR,
    op.BPF_ADD | op.BPF_FETCH, op.BPF_OR | op.BPF_FETCH, op.BPF_AND | op.BPF_FETCH,
    op.BPF_XOR | op.BPF_FETCH, op.BPF_XCHG, op.BPF_CMPXCHG,
})

RULES: dict[int, tuple[frozenset | None, frozenset | None, frozenset | None, frozenset | None]] = {}


def _build_rules() -> None:
    R = RULES
    for cls in (op.BPF_ALU, op.BPF_ALU64):
        for o in _ALU_OPS:
            off = frozenset({0, 1}) if o in (op.BPF_DIV, op.BPF_MOD) else _ZERO
            R[cls | o | op.BPF_K] = (_REG, _ZERO, off, _ANY)
            R[cls | o | op.BPF_X] = (_REG, _REG, off, _ZERO)
        R[cls | op.BPF_NEG] = (_REG, _ZERO, _ZERO, _ZERO)
        R[cls | op.BPF_MOV | op.BPF_K] = (_REG, _ZERO, _ZERO, _ANY)
    R[op.BPF_ALU | op.BPF_MOV | op.BPF_X] = (_REG, _REG, frozenset({0, 8, 16}), _ZERO)
    # ALU64 MOV X: movsx (off 8/16/32) or addr_space_cast (off 1): see _SPECIAL
    R[op.BPF_ALU64 | op.BPF_MOV | op.BPF_X] = (_REG, _REG, frozenset({0, 1, 8, 16, 32}), _ANY)
    swaps = frozenset({16, 32, 64})
    R[op.BPF_ALU | op.BPF_END | op.BPF_TO_LE] = (_REG, _ZERO, _ZERO, swaps)
    R[op.BPF_ALU | op.BPF_END | op.BPF_TO_BE] = (_REG, _ZERO, _ZERO, swaps)
    R[op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE] = (_REG, _ZERO, _ZERO, swaps)  # bswap

    for cls in (op.BPF_JMP, op.BPF_JMP32):
        for o in _COND_JUMPS:
            R[cls | o | op.BPF_K] = (_REG, _ZERO, _ANY, _ANY)
            R[cls | o | op.BPF_X] = (_REG, _REG, _ANY, _ZERO)
    R[op.JA] = (_ZERO, _ZERO, _ANY, _ZERO)
    R[op.JA32] = (_ZERO, _ZERO, _ZERO, _ANY)
    R[op.CALL] = (_ZERO, frozenset({0, op.BPF_PSEUDO_CALL, op.BPF_PSEUDO_KFUNC_CALL}), _ANY, _ANY)
    R[op.CALLX] = (_REG, _ZERO, _ZERO, _ZERO)
    R[op.EXIT] = (_ZERO, _ZERO, _ZERO, _ZERO)
    R[op.BPF_JMP | BPF_JCOND] = (_ZERO, _ZERO, _ANY, _ZERO)

    R[op.LD_IMM64] = (_REG, frozenset(range(7)), _ZERO, _ANY)
    for size in (op.BPF_W, op.BPF_H, op.BPF_B):
        R[op.BPF_LD | op.BPF_ABS | size] = (_ZERO, _ZERO, _ZERO, _ANY)
        R[op.BPF_LD | op.BPF_IND | size] = (_ZERO, _REG, _ZERO, _ANY)
    for size in (op.BPF_W, op.BPF_H, op.BPF_B, op.BPF_DW):
        R[op.BPF_LDX | op.BPF_MEM | size] = (_REG, _REG, _ANY, _ZERO)
        R[op.BPF_ST | op.BPF_MEM | size] = (_REG, _ZERO, _ANY, _ANY)
        R[op.BPF_STX | op.BPF_MEM | size] = (_REG, _REG, _ANY, _ZERO)
    for size in (op.BPF_W, op.BPF_H, op.BPF_B):
        R[op.BPF_LDX | op.BPF_MEMSX | size] = (_REG, _REG, _ANY, _ZERO)
    ordered = frozenset({BPF_LOAD_ACQ, BPF_STORE_REL})
    R[op.BPF_STX | op.BPF_ATOMIC | op.BPF_W] = (_REG, _REG, _ANY, ATOMIC_IMMS | ordered)
    R[op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW] = (_REG, _REG, _ANY, ATOMIC_IMMS | ordered)
    R[op.BPF_STX | op.BPF_ATOMIC | op.BPF_B] = (_REG, _REG, _ANY, ordered)
    R[op.BPF_STX | op.BPF_ATOMIC | op.BPF_H] = (_REG, _REG, _ANY, ordered)


_build_rules()

_FIELD_NAMES = ("dst", "src", "off", "imm")


def _special_mov64x(dst: int, src: int, off: int, imm: int) -> str | None:
    if off == 1:  # addr_space_cast: imm = dst_as << 16 | src_as, one side must be 1
        if imm not in (1, 1 << 16):
            return f"off=1 (addr_space_cast) needs imm 0x1 or 0x10000, got {imm:#x}"
    elif imm != 0:
        return f"imm must be 0 for register mov (got {imm})"
    return None


def _special_call(dst: int, src: int, off: int, imm: int) -> str | None:
    # off selects the module BTF (fd_array index) of a kfunc; elsewhere it must be 0
    if off != 0 and src != op.BPF_PSEUDO_KFUNC_CALL:
        return f"off must be 0 for this call (got {off})"
    return None


_SPECIAL = {
    op.BPF_ALU64 | op.BPF_MOV | op.BPF_X: _special_mov64x,
    op.CALL: _special_call,
}


def is_valid_opcode(opcode: int) -> bool:
    """Whether ``opcode`` is an instruction RFC 9669 (or Linux) defines."""
    return opcode in RULES


def _check(opcode: int, dst: int, src: int, off: int, imm: int) -> str | None:
    """The reason an instruction is malformed, or None when it is valid.

    ``imm`` for lddw may be the full 64-bit value (only opcode/dst/src/off are
    checked for it)."""
    rule = RULES.get(opcode)
    if rule is None:
        return f"unknown opcode {opcode:#04x}"
    values = (dst, src, off, imm)
    for name, allowed, value in zip(_FIELD_NAMES, rule, values, strict=True):
        if allowed is not None and value not in allowed:
            if name in ("dst", "src") and allowed is _REG:
                return f"invalid {name} register r{value} for opcode {opcode:#04x}"
            if allowed is _ZERO:
                return f"{name} field must be 0 for opcode {opcode:#04x} (got {value})"
            choices = ", ".join(str(v) for v in sorted(allowed))
            return f"{name} must be one of {choices} for opcode {opcode:#04x} (got {value})"
    special = _SPECIAL.get(opcode)
    if special is not None:
        return special(dst, src, off, imm)
    return None


def validate(ins: Instruction, index: int | None = None) -> None:
    """Raise :class:`~ebpf.errors.InstructionError` unless ``ins`` is a
    well-formed instruction (known opcode, used registers r0-r10, unused fields
    zero, fields in range).

    >>> from ebpf.isa import Instruction
    >>> from ebpf.isa.codec import validate
    >>> validate(Instruction(0x95, dst=1))
    Traceback (most recent call last):
    ...
    ebpf.errors.InstructionError: dst field must be 0 for opcode 0x95 (got 1)
    """
    _check_ranges(ins, index)
    imm = ins.imm
    if ins.opcode != op.LD_IMM64 and imm >= 1 << 31:
        imm -= 1 << 32
    reason = _check(ins.opcode, ins.dst, ins.src, ins.off, imm)
    if reason is not None:
        raise InstructionError(reason, index=index)


def _check_ranges(ins: Instruction, index: int | None) -> None:
    for name in ("opcode", "dst", "src", "off", "imm"):
        value = getattr(ins, name)
        if not isinstance(value, int):
            raise InstructionError(f"{name} must be an int, not {type(value).__name__} ({value!r})",
                                   index=index)
    if not 0 <= ins.opcode <= 0xFF:
        raise InstructionError(f"opcode {ins.opcode} does not fit in 8 bits", index=index)
    if not 0 <= ins.dst <= 0xF:
        raise InstructionError(f"dst {ins.dst} does not fit in 4 bits", index=index)
    if not 0 <= ins.src <= 0xF:
        raise InstructionError(f"src {ins.src} does not fit in 4 bits", index=index)
    if not -0x8000 <= ins.off <= 0x7FFF:
        raise InstructionError(f"offset {ins.off} does not fit in 16 bits (signed)", index=index)
    if ins.opcode == op.LD_IMM64:
        if not -(1 << 63) <= ins.imm < 1 << 64:
            raise InstructionError(f"immediate {ins.imm} does not fit in 64 bits", index=index)
    elif not -(1 << 31) <= ins.imm < 1 << 32:
        raise InstructionError(f"immediate {ins.imm} does not fit in 32 bits", index=index)


def decode(raw: bytes | bytearray | memoryview, *, byteorder: str = "little") -> list[Instruction]:
    """Decode raw little-endian eBPF bytecode into instructions.

    ``lddw`` becomes one :class:`Instruction` whose ``imm`` is the unsigned
    64-bit constant; every other ``imm`` is signed 32-bit. ``byteorder="big"``
    reads big-endian (``bpfeb``) code.

    Raises :class:`~ebpf.errors.InstructionError` (``.index`` = slot number)
    when the length is not a multiple of 8, an ``lddw`` is cut short, an opcode
    is unknown, a register is out of range or a reserved field is not zero.

    >>> decode(b"\\x95" + bytes(7))
    [Instruction(exit)]
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise InstructionError(f"decode() takes bytes, not {type(raw).__name__}")
    n = len(raw) if not isinstance(raw, memoryview) else raw.nbytes
    if n % 8:
        raise InstructionError(f"program length {n} is not a multiple of 8 bytes", index=n // 8)
    if _byteorder(byteorder):
        # swap the register nibbles so that the loop below sees the little-endian layout
        slots = [(c, ((r & 0xF) << 4) | (r >> 4), o, i) for c, r, o, i in _SLOT_BE.iter_unpack(raw)]
    else:
        slots = list(_SLOT.iter_unpack(raw))
    out: list[Instruction] = []
    append = out.append
    rules = RULES
    nslots = len(slots)
    i = 0
    while i < nslots:
        code, regs, off, imm = slots[i]
        dst = regs & 0xF
        src = regs >> 4
        rule = rules.get(code)
        if rule is None:
            raise InstructionError(f"unknown opcode {code:#04x}", index=i)
        d, s, o, m = rule
        if ((d is not None and dst not in d) or (s is not None and src not in s)
                or (o is not None and off not in o) or (m is not None and imm not in m)
                or code in _SPECIAL):
            reason = _check(code, dst, src, off, imm)
            if reason is not None:
                raise InstructionError(reason, index=i)
        if code == op.LD_IMM64:
            if i + 1 >= nslots:
                raise InstructionError("lddw is truncated: its second slot is missing", index=i)
            code2, regs2, off2, imm2 = slots[i + 1]
            if code2 or regs2 or off2:
                raise InstructionError(
                    "second slot of lddw must have opcode, registers and offset 0 "
                    f"(got opcode={code2:#04x} regs={regs2:#04x} off={off2})", index=i + 1)
            append(Instruction(code, dst, src, off, (imm & 0xFFFFFFFF) | ((imm2 & 0xFFFFFFFF) << 32)))
            i += 2
            continue
        append(Instruction(code, dst, src, off, imm))
        i += 1
    return out


def encode(insns: Iterable[Instruction], *, byteorder: str = "little") -> bytes:
    """Encode instructions to raw little-endian bytecode (8 bytes a slot, 16 for lddw).

    Symbolic ``reference``/``core`` fields are ignored: patch the numbers in
    first. Fields that do not fit their width raise
    :class:`~ebpf.errors.InstructionError`; the semantic rules of
    :func:`validate` are not applied, so malformed-but-encodable programs
    (for verifier tests) can be built. ``byteorder="big"`` writes ``bpfeb`` code.

    >>> from ebpf.isa import Instruction
    >>> encode([Instruction(0x18, dst=1, imm=0x1122334455667788)]).hex()
    '18010000887766550000000044332211'
    """
    parts: list[bytes] = []
    big = _byteorder(byteorder)
    pack = _SLOT_BE.pack if big else _SLOT.pack
    slot = 0
    for ins in insns:
        try:
            opcode, dst, src, off, imm = ins.opcode, ins.dst, ins.src, ins.off, ins.imm
            if not (0 <= dst <= 0xF and 0 <= src <= 0xF):
                raise struct.error("regs")
            regs = (dst << 4) | src if big else (src << 4) | dst
            if opcode == op.LD_IMM64:
                if not -(1 << 63) <= imm < 1 << 64:
                    raise struct.error("imm")
                imm &= 0xFFFFFFFFFFFFFFFF
                lo = imm & 0xFFFFFFFF
                hi = imm >> 32
                parts.append(pack(opcode, regs, off, lo - (1 << 32) if lo >= 1 << 31 else lo))
                parts.append(pack(0, 0, 0, hi - (1 << 32) if hi >= 1 << 31 else hi))
                slot += 2
                continue
            if (1 << 31) <= imm < (1 << 32):
                imm -= 1 << 32
            parts.append(pack(opcode, regs, off, imm))
        except (struct.error, TypeError, AttributeError):
            if not isinstance(ins, Instruction):
                raise InstructionError(f"expected an Instruction, got {type(ins).__name__}",
                                       index=slot) from None
            _check_ranges(ins, slot)
            raise InstructionError(f"cannot encode {ins!r}", index=slot) from None
        slot += 1
    return b"".join(parts)


# --- names, for error messages and the CLI ------------------------------------

_CLASS_NAMES = {op.BPF_LD: "ld", op.BPF_LDX: "ldx", op.BPF_ST: "st", op.BPF_STX: "stx",
                op.BPF_ALU: "alu", op.BPF_JMP: "jmp", op.BPF_JMP32: "jmp32", op.BPF_ALU64: "alu64"}


def opcode_name(opcode: int) -> str:
    """A short description of an opcode byte, e.g. ``'alu64 0xb7'``."""
    return f"{_CLASS_NAMES[opcode & 7]} {opcode:#04x}"
