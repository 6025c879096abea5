"""The reference interpreter: an executable specification of the eBPF ISA (RFC 9669).

Registers are Python ints kept in ``[0, 2**64)``. 32-bit ALU operations work on
the low halves and zero-extend their result; shifts take their amount modulo the
width; ``x / 0 = 0`` and ``x % 0 = x``; signed division truncates toward zero.
Every load and store goes through :class:`ebpf.vm.memory.Memory`, which checks
the address against the regions the program may touch.

The translator (:mod:`ebpf.vm.compiler`) is the fast path; this module is what it
is checked against.

>>> from ebpf.isa import Instruction, opcodes as op
>>> from ebpf.vm.interpreter import run_instructions
>>> run_instructions([Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=7),
...                   Instruction(op.EXIT)])
7
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence

from .._internal.ints import s32, s64
from ..errors import RuntimeFault
from ..isa import opcodes as op
from ..isa.instruction import Instruction
from .code import ADDR_SPACE_CAST, CODE_BASE, Code, prepare
from .memory import M64, Memory
from .run import MAX_FRAMES, Run, StopProgram, TailCall, wrap_helper

M32 = 0xFFFF_FFFF

#: one lock for every atomic read-modify-write (programs on several threads)
ATOMIC_LOCK = threading.Lock()

SIZES = {op.BPF_B: 1, op.BPF_H: 2, op.BPF_W: 4, op.BPF_DW: 8}


def sext(x: int, bits: int) -> int:
    """Sign-extend the low ``bits`` of x to 64 bits (result unsigned)."""
    m = (1 << bits) - 1
    x &= m
    if x >> (bits - 1):
        x -= 1 << bits
    return x & M64


def bswap(x: int, bits: int) -> int:
    return int.from_bytes((x & ((1 << bits) - 1)).to_bytes(bits // 8, "little"), "big")


def sdiv(a: int, b: int, bits: int) -> int:
    """Signed division of the low ``bits`` of ``a`` by those of ``b``, truncating
    toward zero; ``x / 0 = 0``. The result unsigned, ``bits`` wide."""
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    a, b = ((a & mask) ^ sign) - sign, ((b & mask) ^ sign) - sign
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & mask


def smod(a: int, b: int, bits: int) -> int:
    """Signed remainder of the low ``bits`` of ``a`` by those of ``b`` (the sign
    of the dividend); ``x % 0 = x``. The result unsigned, ``bits`` wide."""
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    a, b = ((a & mask) ^ sign) - sign, ((b & mask) ^ sign) - sign
    if b == 0:
        return a & mask
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & mask


def alu(aop: int, a: int, b: int, is64: bool, off: int = 0) -> int:
    """One ALU operation. ``a``/``b`` are unsigned operands already sized (64 or
    32 bits); ``off`` selects signed div/mod (1) or the movsx width. Returns the
    unsigned result (32-bit results zero-extended)."""
    bits = 64 if is64 else 32
    mask = M64 if is64 else M32
    signed = s64 if is64 else s32
    if aop == op.BPF_ADD:
        return (a + b) & mask
    if aop == op.BPF_SUB:
        return (a - b) & mask
    if aop == op.BPF_MUL:
        return (a * b) & mask
    if aop == op.BPF_DIV:
        if off == 1:
            return sdiv(a, b, bits)
        return a // b if b else 0
    if aop == op.BPF_MOD:
        if off == 1:
            return smod(a, b, bits)
        return a % b if b else a
    if aop == op.BPF_OR:
        return a | b
    if aop == op.BPF_AND:
        return a & b
    if aop == op.BPF_XOR:
        return a ^ b
    if aop == op.BPF_LSH:
        return (a << (b & (bits - 1))) & mask
    if aop == op.BPF_RSH:
        return a >> (b & (bits - 1))
    if aop == op.BPF_ARSH:
        return (signed(a) >> (b & (bits - 1))) & mask
    if aop == op.BPF_NEG:
        return -a & mask
    if aop == op.BPF_MOV:
        if off:  # movsx: sign-extend the low `off` bits of the source
            return sext(b, off) & mask
        return b
    raise RuntimeFault(f"unknown ALU operation {aop:#x}")


#: conditional jumps comparing the operands as they are (unsigned)
_UNSIGNED_JUMPS: dict[int, Callable[[int, int], bool]] = {
    op.BPF_JEQ: operator.eq, op.BPF_JNE: operator.ne, op.BPF_JGT: operator.gt,
    op.BPF_JGE: operator.ge, op.BPF_JLT: operator.lt, op.BPF_JLE: operator.le,
    op.BPF_JSET: lambda a, b: bool(a & b)}
#: conditional jumps comparing the operands read as signed numbers
_SIGNED_JUMPS: dict[int, Callable[[int, int], bool]] = {
    op.BPF_JSGT: operator.gt, op.BPF_JSGE: operator.ge, op.BPF_JSLT: operator.lt,
    op.BPF_JSLE: operator.le}


def condition(jop: int, a: int, b: int, is64: bool) -> bool:
    """Whether a conditional jump is taken (operands unsigned, sized)."""
    compare = _UNSIGNED_JUMPS.get(jop)
    if compare is not None:
        return compare(a, b)
    compare = _SIGNED_JUMPS.get(jop)
    if compare is None:
        raise RuntimeFault(f"unknown jump operation {jop:#x}")
    signed = s64 if is64 else s32
    return compare(signed(a), signed(b))


def atomic(mem: Memory, addr: int, size: int, aop: int, src_val: int, r0: int,
           pc: int) -> tuple[int | None, int | None]:
    """One atomic read-modify-write. Returns (new src value or None, new r0 or None)."""
    mask = M64 if size == 8 else M32
    with ATOMIC_LOCK:
        old = mem.load(addr, size, pc)
        base_op = aop & ~op.BPF_FETCH
        if aop == op.BPF_XCHG:
            mem.store(addr, size, src_val & mask, pc)
            return old, None
        if aop == op.BPF_CMPXCHG:
            if old == r0 & mask:
                mem.store(addr, size, src_val & mask, pc)
            return None, old
        if base_op == op.BPF_ADD:
            new = (old + src_val) & mask
        elif base_op == op.BPF_OR:
            new = old | (src_val & mask)
        elif base_op == op.BPF_AND:
            new = old & src_val
        elif base_op == op.BPF_XOR:
            new = old ^ (src_val & mask)
        else:
            raise RuntimeFault(f"unknown atomic operation {aop:#x}", pc)
        mem.store(addr, size, new, pc)
        return (old if aop & op.BPF_FETCH else None), None


class Interpreter:
    """Executes a :class:`Code` one instruction at a time."""

    name = "interpreter"

    def __init__(self, helpers: dict[int, Callable[..., int]], probe_loads: bool = False):
        self.helpers = helpers
        self._wrapped: dict[int, tuple[Callable[..., int], Callable[..., int]]] = {}
        #: loads that fault give 0, as the kernel's PROBE_MEM loads through BTF
        #: pointers do in tracing and LSM programs
        self.probe_loads = probe_loads

    def call(self, run: Run, code: Code, slot: int, args: Sequence[int], depth: int) -> int:
        """Run the function at ``slot`` with r1.. = args; tail calls replace it."""
        saved_prog, saved_depth = run.program, run.depth
        try:
            while True:
                try:
                    return self.execute(run, code, slot, args, depth)
                except TailCall as t:
                    run.program = t.program
                    if t.program.executor is not self:
                        return t.program.executor.call(run, t.program.code, 0, (t.ctx,), depth)
                    code, slot, args = t.program.code, 0, (t.ctx,)
        finally:
            run.program, run.depth = saved_prog, saved_depth

    def execute(self, run: Run, code: Code, pc: int, args: Sequence[int], depth: int) -> int:
        """Execute one BPF function until its ``exit``; returns r0."""
        run.depth = depth
        r = [0] * 11
        for i, a in enumerate(args):
            r[1 + i] = a & M64
        r[10] = run.frame_pointer(depth)
        slots = code.executable_slots()
        mem = run.mem
        n = len(slots)
        budget = run.budget  # kept in a local; written back around calls and at exit
        while True:
            if not 0 <= pc < n:
                raise RuntimeFault("execution ran off the end of the program", pc)
            ins = slots[pc]
            budget -= 1
            if budget < 0:
                raise RuntimeFault("instruction budget exhausted (runaway loop?)", pc)
            opc = ins.opcode
            cls = opc & 7
            dst = ins.dst
            if cls == op.BPF_ALU64 or cls == op.BPF_ALU:
                is64 = cls == op.BPF_ALU64
                aop = opc & 0xF0
                if aop == op.BPF_END:
                    width = ins.imm
                    if is64 or opc & op.BPF_TO_BE:
                        r[dst] = bswap(r[dst], width)
                    else:
                        r[dst] = r[dst] & ((1 << width) - 1)
                else:
                    if opc & op.BPF_X:
                        b = r[ins.src]
                    else:
                        b = ins.imm & M64
                    a = r[dst]
                    if not is64:
                        a &= M32
                        b &= M32
                    elif aop == op.BPF_MOV and ins.off == ADDR_SPACE_CAST and opc & op.BPF_X:
                        # addr_space_cast: the arena address of the low 32 bits (0 stays 0)
                        b &= M32
                        r[dst] = (ins.imm & 0x7FFF_FFFF) << 32 | b if b else 0
                        pc += 1
                        continue
                    r[dst] = alu(aop, a, b, is64, ins.off)
                pc += 1
            elif cls == op.BPF_JMP or cls == op.BPF_JMP32:
                jop = opc & 0xF0
                if jop == op.BPF_JA:
                    pc = pc + 1 + (ins.off if cls == op.BPF_JMP else ins.imm)
                elif jop == op.BPF_CALL:
                    run.budget = budget
                    if opc & op.BPF_X:  # callx: target in the dst register
                        target = r[dst]
                        r[0] = self._call_target(run, code, target, r, depth, pc)
                    elif ins.src == op.BPF_PSEUDO_CALL:
                        run.call_pcs[depth] = pc
                        r[0] = self.call(run, code, pc + 1 + ins.imm, r[1:6], depth + 1)
                        run.depth = depth
                    else:
                        r[0] = self._helper(run, ins.imm, r, pc)
                    budget = run.budget
                    pc += 1
                elif jop == op.BPF_EXIT:
                    run.budget = budget
                    return r[0]
                else:
                    is64 = cls == op.BPF_JMP
                    a = r[dst]
                    b = r[ins.src] if opc & op.BPF_X else ins.imm & M64
                    if not is64:
                        a &= M32
                        b &= M32
                    pc = pc + 1 + ins.off if condition(jop, a, b, is64) else pc + 1
            elif cls == op.BPF_LDX:
                size = SIZES[opc & 0x18]
                addr = (r[ins.src] + ins.off) & M64
                if self.probe_loads and mem.find(addr, size) is None:
                    v = 0
                else:
                    v = mem.load(addr, size, pc)
                if opc & 0xE0 == op.BPF_MEMSX:
                    v = sext(v, size * 8)
                r[dst] = v
                pc += 1
            elif cls == op.BPF_STX:
                size = SIZES[opc & 0x18]
                addr = (r[dst] + ins.off) & M64
                if opc & 0xE0 == op.BPF_ATOMIC:
                    new_src, new_r0 = atomic(mem, addr, size, ins.imm, r[ins.src], r[0], pc)
                    if new_src is not None:
                        r[ins.src] = new_src
                    if new_r0 is not None:
                        r[0] = new_r0
                else:
                    mem.store(addr, size, r[ins.src], pc)
                pc += 1
            elif cls == op.BPF_ST:
                size = SIZES[opc & 0x18]
                mem.store((r[dst] + ins.off) & M64, size, ins.imm & M64, pc)
                pc += 1
            elif opc == op.LD_IMM64:
                r[dst] = ins.imm & M64
                pc += 2
            else:  # LD_ABS / LD_IND: legacy packet loads relative to skb->data
                size = SIZES[opc & 0x18]
                offset = ins.imm
                if opc & 0xE0 == op.BPF_IND:
                    offset = s32((r[ins.src] + ins.imm) & M32)
                run.budget = budget
                r[0] = load_packet_abs(run, offset, size, pc)
                pc += 1

    def _helper(self, run: Run, hid: int, r: list[int], pc: int) -> int:
        fn = self.helpers.get(hid)
        if fn is None:
            raise RuntimeFault(f"call to unknown helper #{hid}", pc)
        entry = self._wrapped.get(hid)
        if entry is None or entry[0] is not fn:
            entry = self._wrapped[hid] = (fn, wrap_helper(fn, hid))
        return entry[1](run, pc, r[1], r[2], r[3], r[4], r[5])

    def _call_target(self, run: Run, code: Code, target: int, r: list[int], depth: int,
                     pc: int) -> int:
        if target >= CODE_BASE and (target - CODE_BASE) % 8 == 0:
            slot = (target - CODE_BASE) // 8
            if slot in code.functions:
                run.call_pcs[depth] = pc
                rv = self.call(run, code, slot, r[1:6], depth + 1)
                run.depth = depth
                return rv
            raise RuntimeFault(f"callx to {target:#x}, which is not a function", pc)
        return self._helper(run, target, r, pc)


def load_packet_abs(run: Run, offset: int, size: int, pc: int) -> int:
    """LD_ABS/LD_IND: big-endian load from the packet at ``offset`` from skb->data;
    out of bounds ends the program with r0 = 0, as in the kernel."""
    pkt = run.packet
    if pkt is None:
        raise RuntimeFault("LD_ABS/LD_IND needs a packet (socket filter or tc program)", pc)
    data = pkt.read_abs(offset, size)
    if data is None:
        raise StopProgram(0)
    return int.from_bytes(data, "big")


def run_instructions(insns: list[Instruction], memory: bytes | None = None, *,
                     helpers: dict[int, Callable[..., int]] | None = None,
                     budget: int = 1_000_000) -> int:
    """Run a bare instruction list (conformance style): r1 points at a writable
    copy of ``memory``, r2 holds its length. Returns r0."""
    from .memory import CTX_BASE, Region

    code = prepare(insns, "prog")
    interp = Interpreter(helpers or {})
    mem = Memory()
    run = Run(mem, budget=budget)
    r1 = 0
    size = 0
    if memory:
        region = mem.add_local(Region(CTX_BASE, bytearray(memory), "memory"))
        r1, size = region.base, len(memory)
    run.program = _Bare(code, interp)
    try:
        return interp.call(run, code, 0, (r1, size), 0)
    except StopProgram as s:
        return s.r0


class _Bare:
    """Minimal program stand-in for runs outside a loaded VMProgram."""

    def __init__(self, code: Code, executor: Interpreter):
        self.code = code
        self.executor = executor
        self.name = code.name


__all__ = ["Interpreter", "MAX_FRAMES", "alu", "atomic", "condition", "run_instructions"]
