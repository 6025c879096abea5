"""A program prepared for execution: a slot-indexed instruction table, checked once.

:func:`prepare` validates every instruction the way a strict decoder and the
kernel's first verifier pass do (known opcodes, unused fields zero, registers in
range, no writes to r10, jumps landing on instruction boundaries, known helpers)
and records where each BPF function starts. Both executors (the reference
interpreter and the translator) run a :class:`Code`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from .._internal.ints import s32
from ..errors import InstructionError, LoadError
from ..isa import opcodes as op
from ..isa.instruction import Instruction

ALU_OPS = {op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_DIV, op.BPF_OR, op.BPF_AND, op.BPF_LSH,
           op.BPF_RSH, op.BPF_NEG, op.BPF_MOD, op.BPF_XOR, op.BPF_MOV, op.BPF_ARSH, op.BPF_END}
COND_JUMPS = {op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET, op.BPF_JNE, op.BPF_JSGT,
              op.BPF_JSGE, op.BPF_JLT, op.BPF_JLE, op.BPF_JSLT, op.BPF_JSLE}
ATOMIC_OPS = {op.BPF_ADD, op.BPF_OR, op.BPF_AND, op.BPF_XOR,
              op.BPF_ADD | op.BPF_FETCH, op.BPF_OR | op.BPF_FETCH, op.BPF_AND | op.BPF_FETCH,
              op.BPF_XOR | op.BPF_FETCH, op.BPF_XCHG, op.BPF_CMPXCHG}

#: simulated address of the code: ``lddw rX, func`` (BPF_PSEUDO_FUNC) gives
#: CODE_BASE + 8 * slot, which bpf_loop & co. take as a callback
CODE_BASE = 0xFFFF_FFFF_C000_0000
#: ``off`` of an ALU64 MOV X that is an ``addr_space_cast``: the loader sets its imm to
#: ``CAST_RESOLVED | hi``, hi the upper 32 bits of the program's arena's addresses
#: (below 2**31), and every executor computes ``dst = (hi << 32 | (u32)src) if
#: (u32)src else 0`` (both cast directions)
ADDR_SPACE_CAST = 1
CAST_RESOLVED = 0x8000_0000


@dataclass
class Code:
    """A validated program: ``slots[i]`` is the instruction starting at slot i
    (None for the second half of an lddw)."""

    name: str
    slots: list[Instruction | None]
    #: slot of every BPF function start (the entry and every local-call target)
    functions: list[int] = field(default_factory=list)
    #: helper ids the program calls directly
    helpers: set[int] = field(default_factory=set)
    #: calls through a register (callx) present
    has_callx: bool = False

    def __len__(self) -> int:
        return len(self.slots)

    def instruction(self, pc: int) -> Instruction:
        """The instruction starting at slot ``pc``; :func:`prepare` lets no jump,
        call or function reference land on the second half of an lddw."""
        ins = self.slots[pc]
        if ins is None:
            raise LoadError(f"program {self.name}: slot {pc} is the second half of an lddw")
        return ins

    def executable_slots(self) -> list[Instruction]:
        """``slots`` for an executor's loop: :func:`prepare` checked every target,
        so the None halves of lddw are never reached (an executor steps over them)."""
        return cast("list[Instruction]", self.slots)


# ---- control flow (what the compiling executors split into blocks) ---------------
def successors(slots: list[Instruction | None], pc: int) -> list[int]:
    """The slots control may reach right after the instruction at ``pc`` (a call
    returns to the next one; exit reaches none)."""
    ins = slots[pc]
    assert ins is not None
    opc = ins.opcode
    if opc & 7 in (op.BPF_JMP, op.BPF_JMP32):
        jop = opc & 0xF0
        if jop == op.BPF_EXIT:
            return []
        if jop == op.BPF_CALL:
            return [pc + 1]
        if jop == op.BPF_JA:
            return [ins.jump_target(pc)]
        return [pc + 1, ins.jump_target(pc)]
    return [pc + ins.size]


def reachable(slots: list[Instruction | None], entry: int) -> set[int]:
    """The slots of the instructions reachable from ``entry`` (the body of the
    function starting there)."""
    seen: set[int] = set()
    todo = [entry]
    n = len(slots)
    while todo:
        pc = todo.pop()
        if pc in seen or not 0 <= pc < n or slots[pc] is None:
            continue
        seen.add(pc)
        todo.extend(successors(slots, pc))
    return seen


def jump_targets(slots: list[Instruction | None], body: Iterable[int]) -> set[int]:
    """Where the jumps among the instructions at ``body`` go (calls and exits aside)."""
    out = set()
    for pc in body:
        ins = slots[pc]
        assert ins is not None
        if ins.opcode & 7 in (op.BPF_JMP, op.BPF_JMP32) and ins.opcode & 0xF0 not in (
                op.BPF_CALL, op.BPF_EXIT):
            out.add(ins.jump_target(pc))
    return out


def _fail(msg: str, slot: int) -> InstructionError:
    return InstructionError(msg, index=slot)


def check_instruction(ins: Instruction, slot: int) -> None:
    """Refuse encodings a strict decoder refuses (unknown opcode, unused field
    not zero, bad register)."""
    code = ins.opcode
    cls = code & 7
    dst, src, off, imm = ins.dst, ins.src, ins.off, ins.imm
    if not (0 <= dst <= 10 and 0 <= src <= 10):
        raise _fail(f"bad register (dst r{dst}, src r{src})", slot)

    def zero(**fields: int) -> None:
        for name, value in fields.items():
            if value:
                raise _fail(f"opcode {code:#04x}: unused field {name} must be 0 (is {value})", slot)

    if cls in (op.BPF_ALU, op.BPF_ALU64):
        aop = code & 0xF0
        srcbit = code & 0x08
        if aop not in ALU_OPS:
            raise _fail(f"unknown ALU opcode {code:#04x}", slot)
        if dst == 10:
            raise _fail("r10 (frame pointer) is read-only", slot)
        if aop == op.BPF_NEG:
            if srcbit:
                raise _fail(f"unknown opcode {code:#04x}", slot)
            zero(src=src, off=off, imm=imm)
        elif aop == op.BPF_END:
            if cls == op.BPF_ALU64 and srcbit:
                raise _fail(f"unknown opcode {code:#04x}", slot)
            zero(src=src, off=off)
            if imm not in (16, 32, 64):
                raise _fail(f"byte swap width must be 16, 32 or 64 (is {imm})", slot)
        else:
            allowed_off: tuple[int, ...]
            if aop in (op.BPF_DIV, op.BPF_MOD):
                allowed_off = (0, 1)
            elif aop == op.BPF_MOV and srcbit:
                allowed_off = (0, 8, 16, 32) if cls == op.BPF_ALU64 else (0, 8, 16)
                if cls == op.BPF_ALU64 and off == ADDR_SPACE_CAST and imm & CAST_RESOLVED:
                    return  # a cast the loader resolved against the program's arena
            else:
                allowed_off = (0,)
            if off not in allowed_off:
                raise _fail(f"opcode {code:#04x}: unused field off must be 0 (is {off})", slot)
            if srcbit:
                zero(imm=imm)
            else:
                zero(src=src)
        return
    if cls in (op.BPF_JMP, op.BPF_JMP32):
        jop = code & 0xF0
        srcbit = code & 0x08
        if jop == op.BPF_JA:
            if srcbit:
                raise _fail(f"unknown opcode {code:#04x}", slot)
            if cls == op.BPF_JMP:
                zero(dst=dst, src=src, imm=imm)
            else:
                zero(dst=dst, src=src, off=off)
        elif jop == op.BPF_CALL:
            if cls != op.BPF_JMP:
                raise _fail(f"unknown opcode {code:#04x}", slot)
            if srcbit:  # callx: register in dst
                zero(src=src, off=off, imm=imm)
            else:
                zero(dst=dst, off=off)
                if src not in (0, op.BPF_PSEUDO_CALL, op.BPF_PSEUDO_KFUNC_CALL):
                    raise _fail(f"call with unknown src {src}", slot)
        elif jop == op.BPF_EXIT:
            if cls != op.BPF_JMP or srcbit:
                raise _fail(f"unknown opcode {code:#04x}", slot)
            zero(dst=dst, src=src, off=off, imm=imm)
        elif jop in COND_JUMPS:
            if srcbit:
                zero(imm=imm)
            else:
                zero(src=src)
        else:
            raise _fail(f"unknown jump opcode {code:#04x}", slot)
        return
    if cls == op.BPF_LDX:
        mode = code & 0xE0
        if mode not in (op.BPF_MEM, op.BPF_MEMSX) or (mode == op.BPF_MEMSX and
                                                        (code & 0x18) == op.BPF_DW):
            raise _fail(f"unknown load opcode {code:#04x}", slot)
        if dst == 10:
            raise _fail("r10 (frame pointer) is read-only", slot)
        zero(imm=imm)
        return
    if cls == op.BPF_ST:
        if code & 0xE0 != op.BPF_MEM:
            raise _fail(f"unknown store opcode {code:#04x}", slot)
        zero(src=src)
        return
    if cls == op.BPF_STX:
        mode = code & 0xE0
        if mode == op.BPF_MEM:
            zero(imm=imm)
        elif mode == op.BPF_ATOMIC:
            if code & 0x18 not in (op.BPF_W, op.BPF_DW):
                raise _fail(f"atomic operations are 32 or 64 bits (opcode {code:#04x})", slot)
            if imm not in ATOMIC_OPS:
                raise _fail(f"unknown atomic operation {imm:#x}", slot)
        else:
            raise _fail(f"unknown store opcode {code:#04x}", slot)
        return
    if cls == op.BPF_LD:
        if code == op.LD_IMM64:
            if dst == 10:
                raise _fail("r10 (frame pointer) is read-only", slot)
            zero(off=off)
            if src > op.BPF_PSEUDO_MAP_IDX_VALUE:
                raise _fail(f"lddw with unknown src {src}", slot)
            return
        mode = code & 0xE0
        if mode in (op.BPF_ABS, op.BPF_IND) and code & 0x18 != op.BPF_DW:
            zero(dst=dst, off=off)
            if mode == op.BPF_ABS:
                zero(src=src)
            return
        raise _fail(f"unknown opcode {code:#04x}", slot)


def decode_raw(raw: bytes) -> list[Instruction]:
    """Decode 8-byte slots strictly (the second slot of an lddw must be zero but
    for its imm). Used when :func:`ebpf.isa.decode` is not at hand."""
    if len(raw) % 8:
        raise InstructionError(f"program length {len(raw)} is not a multiple of 8")
    out: list[Instruction] = []
    i = 0
    n = len(raw) // 8
    while i < n:
        b = raw[i * 8:i * 8 + 8]
        code, regs = b[0], b[1]
        off = int.from_bytes(b[2:4], "little", signed=True)
        imm = int.from_bytes(b[4:8], "little", signed=True)
        ins = Instruction(code, regs & 0xF, regs >> 4, off, imm)
        if code == op.LD_IMM64:
            if i + 1 >= n:
                raise InstructionError("lddw without its second slot", index=i)
            nb = raw[i * 8 + 8:i * 8 + 16]
            if nb[0] or nb[1] or nb[2] or nb[3]:
                raise InstructionError("second slot of lddw must have only imm set", index=i + 1)
            hi = int.from_bytes(nb[4:8], "little")
            ins.imm = (imm & 0xFFFF_FFFF) | (hi << 32)
            i += 2
        else:
            i += 1
        out.append(ins)
    return out


def prepare(insns: Iterable[Instruction], name: str = "prog",
            helper_known: Callable[[int], bool] | None = None) -> Code:
    """Validate ``insns`` and build the slot table.

    ``helper_known(id)`` says whether a helper id is supported; an unknown one is
    a load-time :class:`ebpf.LoadError` naming it.
    """
    insns = list(insns)
    slots: list[Instruction | None] = []
    for given in insns:
        slots.append(given)
        if given.opcode == op.LD_IMM64:
            slots.append(None)
    if not slots:
        raise LoadError(f"program {name}: no instructions")
    code = Code(name, slots)
    functions = {0}
    # an encoding's validity depends on its fields only: a program of a million
    # instructions repeats few, so each is checked once (load time per instruction
    # bounded by a set lookup)
    valid: set[tuple[int, int, int, int, int]] = set()
    for pc, ins in enumerate(slots):
        if ins is None:
            continue
        fields = (ins.opcode, ins.dst, ins.src, ins.off, ins.imm)
        if fields not in valid:
            check_instruction(ins, pc)
            if len(valid) < 65536:
                valid.add(fields)
        cls = ins.opcode & 7
        if cls in (op.BPF_JMP, op.BPF_JMP32):
            jop = ins.opcode & 0xF0
            if jop == op.BPF_CALL:
                if ins.opcode == op.CALLX:
                    code.has_callx = True
                elif ins.src == op.BPF_PSEUDO_CALL:
                    target = pc + 1 + ins.imm
                    _check_target(slots, target, pc, "call")
                    functions.add(target)
                elif ins.src == op.BPF_PSEUDO_KFUNC_CALL:
                    ref = getattr(ins.reference, "name", None)
                    raise LoadError(f"program {name}: instruction {pc}: kfunc call"
                                    f"{' to ' + ref if ref else ''} is not supported by the vm")
                else:
                    code.helpers.add(ins.imm)
                    if helper_known is not None and not helper_known(ins.imm):
                        raise LoadError(f"program {name}: instruction {pc}: "
                                        f"{_helper_name(ins.imm)} is not supported by the vm")
            elif jop != op.BPF_EXIT:
                target = ins.jump_target(pc)
                _check_target(slots, target, pc, "jump")
        elif ins.opcode == op.LD_IMM64 and ins.src == op.BPF_PSEUDO_FUNC:
            target = pc + 1 + pseudo_func_offset(ins.imm)
            _check_target(slots, target, pc, "function reference")
            functions.add(target)
    last = slots[-1]
    if last is None or last.opcode not in (op.EXIT, op.JA, op.JA32):
        raise LoadError(f"program {name}: the last instruction is not an exit or a jump "
                        "(execution could run off the end)")
    code.functions = sorted(functions)
    return code


def pseudo_func_offset(imm: int) -> int:
    """The slot offset an ``lddw rX, func`` (src=BPF_PSEUDO_FUNC) carries: the
    low 32 bits of its immediate, signed."""
    return s32(imm)


def _check_target(slots: list, target: int, pc: int, what: str) -> None:
    if not 0 <= target < len(slots):
        raise LoadError(f"instruction {pc}: {what} out of range (to slot {target}, program has "
                        f"{len(slots)} slots)")
    if slots[target] is None:
        raise LoadError(f"instruction {pc}: {what} into the middle of an lddw (slot {target})")


def _helper_name(hid: int) -> str:
    from ..uapi import HelperId

    try:
        return f"helper bpf_{HelperId(hid).name} (#{hid})"
    except ValueError:
        return f"unknown helper #{hid}"
