"""Random small programs the kernel verifier accepts: straight-line ALU code
(32/64-bit, every operation including sdiv/smod/movsx/bswap), forward
conditional jumps, stack spills and fills, and atomics, over values loaded from
an XDP packet after a bounds check; every register ends up stored into the
packet, so comparing the output packets compares all 64-bit results."""

from __future__ import annotations

from hypothesis import strategies as st

from ebpf.isa import Instruction
from ebpf.isa import opcodes as op

REGS = [0, 5, 6, 7, 8, 9]
ALU_OPS = [op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_DIV, op.BPF_OR, op.BPF_AND, op.BPF_LSH,
           op.BPF_RSH, op.BPF_NEG, op.BPF_MOD, op.BPF_XOR, op.BPF_MOV, op.BPF_ARSH, op.BPF_END]
JMP_OPS = [op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET, op.BPF_JNE, op.BPF_JSGT, op.BPF_JSGE,
           op.BPF_JLT, op.BPF_JLE, op.BPF_JSLT, op.BPF_JSLE]
SIZES = [op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW]
imm32 = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, 1, -1, 2**31 - 1,
                                                                     -(2**31), 63, 64, 32]))
regs = st.sampled_from(REGS)


@st.composite
def alu(draw) -> Instruction:
    cls = draw(st.sampled_from([op.BPF_ALU, op.BPF_ALU64]))
    aop = draw(st.sampled_from(ALU_OPS))
    dst = draw(regs)
    if aop == op.BPF_NEG:
        return Instruction(cls | aop, dst=dst)
    if aop == op.BPF_END:
        if cls == op.BPF_ALU64:
            return Instruction(cls | aop, dst=dst, imm=draw(st.sampled_from([16, 32, 64])))
        src = draw(st.sampled_from([op.BPF_TO_LE, op.BPF_TO_BE]))
        return Instruction(cls | aop | src, dst=dst, imm=draw(st.sampled_from([16, 32, 64])))
    use_reg = draw(st.booleans())
    off = 0
    if aop in (op.BPF_DIV, op.BPF_MOD):
        off = draw(st.sampled_from([0, 1]))
    if use_reg:
        if aop == op.BPF_MOV:
            off = draw(st.sampled_from([0, 8, 16, 32] if cls == op.BPF_ALU64 else [0, 8, 16]))
        return Instruction(cls | aop | op.BPF_X, dst=dst, src=draw(regs), off=off)
    imm = draw(imm32)
    width = 64 if cls == op.BPF_ALU64 else 32
    if aop in (op.BPF_LSH, op.BPF_RSH, op.BPF_ARSH):
        imm = draw(st.integers(0, width - 1))
    if aop in (op.BPF_DIV, op.BPF_MOD) and imm == 0:
        imm = 7
    return Instruction(cls | aop, dst=dst, off=off, imm=imm)


@st.composite
def stack_op(draw) -> list[Instruction]:
    slot = -8 * draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["st", "ld", "ldsx", "atomic", "imm"]))
    reg = draw(regs)
    if kind == "st":
        size = draw(st.sampled_from(SIZES))
        return [Instruction(op.BPF_STX | op.BPF_MEM | size, dst=10, src=reg, off=slot)]
    if kind == "imm":
        size = draw(st.sampled_from(SIZES))
        return [Instruction(op.BPF_ST | op.BPF_MEM | size, dst=10, off=slot, imm=draw(imm32))]
    if kind == "ld":
        size = draw(st.sampled_from(SIZES))
        return [Instruction(op.BPF_LDX | op.BPF_MEM | size, dst=reg, src=10, off=slot)]
    if kind == "ldsx":
        size = draw(st.sampled_from([op.BPF_B, op.BPF_H, op.BPF_W]))
        return [Instruction(op.BPF_LDX | op.BPF_MEMSX | size, dst=reg, src=10, off=slot)]
    size = draw(st.sampled_from([op.BPF_W, op.BPF_DW]))
    aop = draw(st.sampled_from([op.BPF_ADD, op.BPF_OR, op.BPF_AND, op.BPF_XOR,
                                op.BPF_ADD | op.BPF_FETCH, op.BPF_OR | op.BPF_FETCH,
                                op.BPF_AND | op.BPF_FETCH, op.BPF_XOR | op.BPF_FETCH,
                                op.BPF_XCHG, op.BPF_CMPXCHG]))
    src = draw(st.sampled_from([5, 6, 7, 8, 9]))  # cmpxchg uses r0 implicitly
    return [Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=10, src=src, off=slot, imm=aop)]


@st.composite
def body(draw, max_items: int = 25) -> list[Instruction]:
    items: list[list[Instruction]] = draw(st.lists(
        st.one_of(alu().map(lambda i: [i]), alu().map(lambda i: [i]), stack_op(),
                  st.builds(lambda d, v: [Instruction(op.LD_IMM64, dst=d, imm=v)], regs,
                            st.integers(0, 2**64 - 1)),
                  st.just(None)),
        min_size=1, max_size=max_items))
    out: list[Instruction] = []
    for i, item in enumerate(items):
        if item is not None:
            out.extend(item)
            continue
        # a forward conditional jump over some of the following items
        rest = items[i + 1:]
        skip_items = draw(st.integers(0, len(rest)))
        # a later jump item becomes one instruction of one slot
        skip = sum(1 if x is None else sum(ins.size for ins in x) for x in rest[:skip_items])
        cls = draw(st.sampled_from([op.BPF_JMP, op.BPF_JMP32]))
        jop = draw(st.sampled_from(JMP_OPS))
        if draw(st.booleans()):
            out.append(Instruction(cls | jop | op.BPF_X, dst=draw(regs), src=draw(regs), off=skip))
        else:
            out.append(Instruction(cls | jop, dst=draw(regs), imm=draw(imm32), off=skip))
    return out


def xdp_program(core: list[Instruction], r0: int = 0, r5: int = 0) -> list[Instruction]:
    """Wrap ``core`` in the packet prologue/epilogue (the packet needs 64 bytes)."""
    pro = [
        Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst=2, src=1, off=0),
        Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst=3, src=1, off=4),
        Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=4, src=2),
        Instruction(op.BPF_ALU64 | op.BPF_ADD, dst=4, imm=64),
    ]
    loads = [
        Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=6, src=2, off=0),
        Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=7, src=2, off=8),
        Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst=8, src=2, off=16),
        Instruction(op.BPF_LDX | op.BPF_MEMSX | op.BPF_H, dst=9, src=2, off=20),
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=0, imm=r0),
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=5, imm=r5),
    ]
    loads += [Instruction(op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst=10, src=REGS[i % 6],
                          off=-8 * (i + 1)) for i in range(8)]
    epi = [Instruction(op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst=2, src=r, off=8 * i)
           for i, r in enumerate(REGS)]
    epi += [Instruction(op.BPF_ALU64 | op.BPF_AND, dst=0, imm=3), Instruction(op.EXIT)]
    fail = [Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=0, imm=1), Instruction(op.EXIT)]
    main = loads + core + epi
    jump = Instruction(op.BPF_JMP | op.BPF_JGT | op.BPF_X, dst=4, src=3,
                       off=sum(i.size for i in main))
    return pro + [jump] + main + fail


@st.composite
def programs(draw, max_items: int = 25) -> list[Instruction]:
    return xdp_program(draw(body(max_items)), draw(imm32), draw(imm32))
