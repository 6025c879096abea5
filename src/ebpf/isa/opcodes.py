"""Opcode fields and constants of the eBPF instruction set (RFC 9669, linux/bpf.h).

An opcode byte is ``class | (op or mode) | source/size``; the names below follow
the UAPI header (``BPF_ALU64``, ``BPF_ADD``, ``BPF_X``...).
"""

# Instruction classes (low 3 bits)
BPF_LD = 0x00
BPF_LDX = 0x01
BPF_ST = 0x02
BPF_STX = 0x03
BPF_ALU = 0x04
BPF_JMP = 0x05
BPF_JMP32 = 0x06
BPF_ALU64 = 0x07

# Source operand (bit 3) for ALU and JMP
BPF_K = 0x00
BPF_X = 0x08
# Byte-swap direction for BPF_END (shares the source bit)
BPF_TO_LE = 0x00
BPF_TO_BE = 0x08

# ALU operations (high 4 bits)
BPF_ADD = 0x00
BPF_SUB = 0x10
BPF_MUL = 0x20
BPF_DIV = 0x30
BPF_OR = 0x40
BPF_AND = 0x50
BPF_LSH = 0x60
BPF_RSH = 0x70
BPF_NEG = 0x80
BPF_MOD = 0x90
BPF_XOR = 0xA0
BPF_MOV = 0xB0
BPF_ARSH = 0xC0
BPF_END = 0xD0

# Jump operations (high 4 bits)
BPF_JA = 0x00
BPF_JEQ = 0x10
BPF_JGT = 0x20
BPF_JGE = 0x30
BPF_JSET = 0x40
BPF_JNE = 0x50
BPF_JSGT = 0x60
BPF_JSGE = 0x70
BPF_CALL = 0x80
BPF_EXIT = 0x90
BPF_JLT = 0xA0
BPF_JLE = 0xB0
BPF_JSLT = 0xC0
BPF_JSLE = 0xD0

# Load/store size (bits 3-4)
BPF_W = 0x00
BPF_H = 0x08
BPF_B = 0x10
BPF_DW = 0x18

# Load/store mode (bits 5-7)
BPF_IMM = 0x00
BPF_ABS = 0x20
BPF_IND = 0x40
BPF_MEM = 0x60
BPF_MEMSX = 0x80
BPF_ATOMIC = 0xC0

# Atomic operations (imm of BPF_STX | BPF_ATOMIC)
BPF_FETCH = 0x01
BPF_XCHG = 0xE0 | BPF_FETCH
BPF_CMPXCHG = 0xF0 | BPF_FETCH

# Pseudo source registers
BPF_PSEUDO_MAP_FD = 1
BPF_PSEUDO_MAP_VALUE = 2
BPF_PSEUDO_BTF_ID = 3
BPF_PSEUDO_FUNC = 4
BPF_PSEUDO_MAP_IDX = 5
BPF_PSEUDO_MAP_IDX_VALUE = 6
BPF_PSEUDO_CALL = 1
BPF_PSEUDO_KFUNC_CALL = 2

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
