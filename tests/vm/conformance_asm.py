"""A small assembler for the conformance suite's syntax, used by the VM's
conformance runner when ``ebpf.isa.assemble`` is not available, so the runtime's
tests do not depend on the assembler being finished. Also the reader of the
suite's ``.data`` files."""

from __future__ import annotations

import re
from pathlib import Path

from ebpf.isa import Instruction
from ebpf.isa import opcodes as op

ALU = {"add": op.BPF_ADD, "sub": op.BPF_SUB, "mul": op.BPF_MUL, "div": op.BPF_DIV,
       "or": op.BPF_OR, "and": op.BPF_AND, "lsh": op.BPF_LSH, "rsh": op.BPF_RSH,
       "neg": op.BPF_NEG, "mod": op.BPF_MOD, "xor": op.BPF_XOR, "mov": op.BPF_MOV,
       "arsh": op.BPF_ARSH, "sdiv": op.BPF_DIV, "smod": op.BPF_MOD}
JMP = {"jeq": op.BPF_JEQ, "jgt": op.BPF_JGT, "jge": op.BPF_JGE, "jset": op.BPF_JSET,
       "jne": op.BPF_JNE, "jsgt": op.BPF_JSGT, "jsge": op.BPF_JSGE, "jlt": op.BPF_JLT,
       "jle": op.BPF_JLE, "jslt": op.BPF_JSLT, "jsle": op.BPF_JSLE}
SIZE = {"b": op.BPF_B, "h": op.BPF_H, "w": op.BPF_W, "dw": op.BPF_DW}
ATOM = {"add": op.BPF_ADD, "or": op.BPF_OR, "and": op.BPF_AND, "xor": op.BPF_XOR,
        "xchg": op.BPF_XCHG, "cmpxchg": op.BPF_CMPXCHG}
MEM_RE = re.compile(r"^\[%r(\d+)\s*(?:([+-])\s*(\w+))?\]$")


class AsmError(Exception):
    pass


def _reg(tok: str) -> int:
    m = re.fullmatch(r"%r(\d+)", tok)
    if not m or int(m.group(1)) > 10:
        raise AsmError(f"bad register {tok!r}")
    return int(m.group(1))


def _imm(tok: str) -> int:
    return int(tok, 0)


def _mem(tok: str) -> tuple[int, int]:
    m = MEM_RE.match(tok.replace(" ", ""))
    if not m:
        raise AsmError(f"bad memory operand {tok!r}")
    off = int(m.group(3), 0) if m.group(3) else 0
    return int(m.group(1)), -off if m.group(2) == "-" else off


def assemble(text: str) -> list[Instruction]:
    lines = []
    labels: dict[str, int] = {}
    slot = 0
    for raw in text.splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        m = re.match(r"^(\w+):\s*(.*)$", line)
        if m:
            labels[m.group(1)] = slot
            line = m.group(2).strip()
            if not line:
                continue
        mnem, _, rest = line.partition(" ")
        ops = [o.strip() for o in rest.split(",")] if rest.strip() else []
        lines.append((slot, mnem, ops))
        slot += 2 if mnem == "lddw" else 1
    if "exit" not in labels:
        for s, mnem, _ in lines:
            if mnem == "exit":
                labels["exit"] = s
                break

    def target(tok: str, here: int) -> int:
        if tok in labels:
            return labels[tok] - here - 1
        if re.fullmatch(r"[+-]\d+", tok):
            return int(tok)
        raise AsmError(f"unknown label {tok!r}")

    out = []
    for here, mnem, ops in lines:
        out.append(_one(mnem, ops, here, target))
    return out


def _one(mnem: str, ops: list[str], here: int, target) -> Instruction:
    if mnem == "exit":
        return Instruction(op.EXIT)
    if mnem == "lddw":
        return Instruction(op.LD_IMM64, dst=_reg(ops[0]), imm=_imm(ops[1]) & ((1 << 64) - 1))
    if mnem == "call":
        if ops[0] == "local":
            raise AsmError("call local needs a label")
        if ops[0].startswith("local "):
            return Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=target(ops[0][6:].strip(), here))
        if ops[0].startswith("%r"):
            return Instruction(op.CALLX, dst=_reg(ops[0]))
        return Instruction(op.CALL, imm=_imm(ops[0]))
    if mnem in ("ja", "ja32"):
        if mnem == "ja":
            return Instruction(op.JA, off=target(ops[0], here))
        return Instruction(op.JA32, imm=target(ops[0], here))
    if mnem == "lock":
        parts = ops[0].split(None, 2)
        fetch = parts[0] == "fetch"
        if fetch:
            parts = parts[1:]
        name = parts[0]
        size = op.BPF_DW
        if name.endswith("32"):
            name, size = name[:-2], op.BPF_W
        aop = ATOM[name] | (op.BPF_FETCH if fetch else 0)
        dst, off = _mem(parts[1])
        return Instruction(op.BPF_STX | op.BPF_ATOMIC | size, dst=dst, src=_reg(ops[1]), off=off,
                           imm=aop)
    m = re.fullmatch(r"(be|le|bswap|swap)(16|32|64)", mnem)
    if m:
        kind, width = m.group(1), int(m.group(2))
        if kind in ("bswap", "swap"):
            code = op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE
        else:
            code = op.BPF_ALU | op.BPF_END | (op.BPF_TO_BE if kind == "be" else op.BPF_TO_LE)
        return Instruction(code, dst=_reg(ops[0]), imm=width)
    m = re.fullmatch(r"movsx(8|16|32)(32|64)", mnem)
    if m:
        cls = op.BPF_ALU64 if m.group(2) == "64" else op.BPF_ALU
        return Instruction(cls | op.BPF_MOV | op.BPF_X, dst=_reg(ops[0]), src=_reg(ops[1]),
                           off=int(m.group(1)))
    m = re.fullmatch(r"ldx(s?)(b|h|w|dw)", mnem)
    if m:
        mode = op.BPF_MEMSX if m.group(1) else op.BPF_MEM
        src, off = _mem(ops[1])
        return Instruction(op.BPF_LDX | mode | SIZE[m.group(2)], dst=_reg(ops[0]), src=src, off=off)
    m = re.fullmatch(r"(st|stx)(b|h|w|dw)", mnem)
    if m:
        dst, off = _mem(ops[0])
        if m.group(1) == "st":
            return Instruction(op.BPF_ST | op.BPF_MEM | SIZE[m.group(2)], dst=dst, off=off,
                               imm=_imm(ops[1]))
        return Instruction(op.BPF_STX | op.BPF_MEM | SIZE[m.group(2)], dst=dst, src=_reg(ops[1]),
                           off=off)
    m = re.fullmatch(r"([a-z]+?)(32)?", mnem)
    if m and m.group(1) in JMP:
        cls = op.BPF_JMP32 if m.group(2) else op.BPF_JMP
        jop = JMP[m.group(1)]
        off = target(ops[2], here)
        if ops[1].startswith("%"):
            return Instruction(cls | jop | op.BPF_X, dst=_reg(ops[0]), src=_reg(ops[1]), off=off)
        return Instruction(cls | jop, dst=_reg(ops[0]), off=off, imm=_imm(ops[1]))
    if m and m.group(1) in ALU:
        cls = op.BPF_ALU if m.group(2) else op.BPF_ALU64
        aop = ALU[m.group(1)]
        off = 1 if m.group(1) in ("sdiv", "smod") else 0
        if aop == op.BPF_NEG:
            return Instruction(cls | aop, dst=_reg(ops[0]))
        if ops[1].startswith("%"):
            return Instruction(cls | aop | op.BPF_X, dst=_reg(ops[0]), src=_reg(ops[1]), off=off)
        return Instruction(cls | aop, dst=_reg(ops[0]), off=off, imm=_imm(ops[1]))
    raise AsmError(f"unknown mnemonic {mnem!r}")


def parse_data(path: Path) -> dict[str, str]:
    """Sections of a conformance .data file: asm, mem, result, error, raw."""
    sections: dict[str, list[str]] = {}
    cur = None
    for line in path.read_text().splitlines():
        if line.startswith("-- "):
            cur = line[3:].strip()
            sections[cur] = []
        elif cur is not None:
            sections[cur].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def encode(insns: list[Instruction]) -> bytes:
    out = bytearray()
    for ins in insns:
        imm = ins.imm
        lo = imm & 0xFFFF_FFFF
        out += bytes([ins.opcode, (ins.src << 4) | ins.dst]) + (ins.off & 0xFFFF).to_bytes(2, "little")
        out += lo.to_bytes(4, "little")
        if ins.opcode == op.LD_IMM64:
            out += bytes(4) + ((imm >> 32) & 0xFFFF_FFFF).to_bytes(4, "little")
    return bytes(out)
