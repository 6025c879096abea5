"""Checks shared by the ELF tests."""

from __future__ import annotations

import shutil

from ebpf.elf.file import STT_FUNC, ELFFile
from ebpf.isa import FunctionReference, decode, slot_offsets


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def original_functions(path) -> dict[str, list]:
    """name -> decoded instructions of every function symbol, straight from the file."""
    elf = ELFFile(open(path, "rb").read(), str(path))
    out = {}
    for sym in elf.symbols:
        if sym.type != STT_FUNC or not sym.size:
            continue
        sec = elf.sections[sym.shndx]
        out[sym.name] = decode(sec.data[sym.value:sym.value + sym.size])
    return out


def check_linked(path, prog) -> dict[int, str]:
    """Every BPF-to-BPF call and function address in ``prog`` lands on the start of
    the function it names, and each function's body is the one in the file.

    Returns {slot: function name} of the functions placed in the program.
    """
    originals = original_functions(path)
    insns = prog.instructions
    slots = slot_offsets(insns)
    index_at = {s: i for i, s in enumerate(slots)}
    starts = {0: prog.name}
    pending = []
    for i, ins in enumerate(insns):
        ref = ins.reference
        if isinstance(ref, FunctionReference):
            imm = _s32(ins.imm) if ins.is_lddw else ins.imm
            target = slots[i] + 1 + imm
            assert target in index_at, f"{prog.name}: call at {slots[i]} lands mid-instruction"
            assert starts.setdefault(target, ref.function) == ref.function
            pending.append(ref.function)
    # each function appears once: starts are unique per name
    assert len(set(starts.values())) == len(starts), starts
    for start, name in starts.items():
        body = originals[name]
        got = insns[index_at[start]:index_at[start] + len(body)]
        assert [(i.opcode, i.dst, i.off) for i in got] == \
            [(i.opcode, i.dst, i.off) for i in body], f"{prog.name}: body of {name} differs"
    # nothing but the program and the functions it reaches
    total = sum(len(originals[n]) for n in set(starts.values()))
    assert total == len(insns), f"{prog.name}: {len(insns)} instructions, functions give {total}"
    if prog.func_infos:
        assert {fi.insn_off: fi.name for fi in prog.func_infos} == starts
    return starts


def gcc_bpf() -> str | None:
    """The name of GCC's BPF compiler on PATH, if any."""
    for name in ("bpf-unknown-none-gcc", "bpf-gcc", "bpf-none-gcc"):
        if shutil.which(name):
            return name
    return None
