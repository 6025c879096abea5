"""Opcode fields and constants of the eBPF instruction set (RFC 9669, linux/bpf.h).

An opcode byte is ``class | (op or mode) | source/size``; the names below follow
the UAPI header (``BPF_ALU64``, ``BPF_ADD``, ``BPF_X``...), whose values come from
:mod:`ebpf.uapi.consts` (generated from the header).
"""

# Classes, operations, sizes, modes, atomic and pseudo-source values: generated from
# linux/bpf_common.h and linux/bpf.h (ebpf.uapi.consts)
from ..uapi.consts import (  # noqa: F401 - the instruction set's names, re-exported
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_ALU64,
    BPF_AND,
    BPF_ARSH,
    BPF_ATOMIC,
    BPF_B,
    BPF_CALL,
    BPF_CMPXCHG,
    BPF_DIV,
    BPF_DW,
    BPF_END,
    BPF_EXIT,
    BPF_FETCH,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JLE,
    BPF_JLT,
    BPF_JMP,
    BPF_JMP32,
    BPF_JNE,
    BPF_JSET,
    BPF_JSGE,
    BPF_JSGT,
    BPF_JSLE,
    BPF_JSLT,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LSH,
    BPF_MEM,
    BPF_MEMSX,
    BPF_MOD,
    BPF_MOV,
    BPF_MUL,
    BPF_NEG,
    BPF_OR,
    BPF_PSEUDO_BTF_ID,
    BPF_PSEUDO_CALL,
    BPF_PSEUDO_FUNC,
    BPF_PSEUDO_KFUNC_CALL,
    BPF_PSEUDO_MAP_FD,
    BPF_PSEUDO_MAP_IDX,
    BPF_PSEUDO_MAP_IDX_VALUE,
    BPF_PSEUDO_MAP_VALUE,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TO_BE,
    BPF_TO_LE,
    BPF_W,
    BPF_X,
    BPF_XCHG,
    BPF_XOR,
)

# Registers
R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
FP = R10  # frame pointer (read-only)
MAX_BPF_STACK = 512

# Frequently used whole opcodes
LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW  # 0x18
CALL = BPF_JMP | BPF_CALL  # 0x85
CALLX = BPF_JMP | BPF_CALL | BPF_X  # 0x8d
EXIT = BPF_JMP | BPF_EXIT  # 0x95
JA = BPF_JMP | BPF_JA  # 0x05
JA32 = BPF_JMP32 | BPF_JA  # 0x06 (gotol)


def cls(opcode: int) -> int:
    """The instruction class of an opcode byte."""
    return opcode & 0x07


def alu_op(opcode: int) -> int:
    return opcode & 0xF0


def source(opcode: int) -> int:
    return opcode & 0x08


def mem_size(opcode: int) -> int:
    return opcode & 0x18


def mem_mode(opcode: int) -> int:
    return opcode & 0xE0


SIZE_BYTES = {BPF_B: 1, BPF_H: 2, BPF_W: 4, BPF_DW: 8}
