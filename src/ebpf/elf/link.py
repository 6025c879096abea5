"""Cutting code sections into functions and linking programs: each program gets
copies of the subprograms it reaches (breadth first), with calls, func info and
line info rebased onto the linked program."""

from __future__ import annotations

import logging
from typing import Any

from .._internal.ints import s32
from ..errors import BTFError
from ..isa import opcodes as op
from ..isa.instruction import FunctionReference, Instruction
from ..spec import FuncInfo, LineInfo, ObjectSpec, ProgramSpec
from ..spec.sections import classify
from ..uapi import ProgramType
from .btf_ext import ExtReader, attr
from .code import CodeSection, Func, InsnFields, LineFields, Templates
from .file import STB_LOCAL, STT_FUNC, Symbol

log = logging.getLogger("ebpf.elf.reader")

__all__ = ["Linker"]


class Linker(ExtReader):
    """Splits code sections into functions and links each program."""

    def _split(self, cs: CodeSection) -> None:
        """Cut a code section into functions by its STT_FUNC symbols."""
        sec = cs.section
        nslots = sec.size // 8
        is_text = sec.name == ".text"
        syms = [s for s in self.elf.symbols
                if s.shndx == sec.index and s.type == STT_FUNC]
        syms.sort(key=lambda s: (s.value, -s.size))
        seen: set[int] = set()
        uniq: list[Symbol] = []
        for s in syms:
            if s.value in seen:
                continue  # an alias of the function before
            seen.add(s.value)
            uniq.append(s)
        if not uniq:
            if is_text:
                log.debug("%s: .text without function symbols ignored", self.name)
                return
            # no symbols (hand-written or stripped objects): the whole section is one program
            uniq = [Symbol(0, _sanitize(sec.name), 0, sec.size, STT_FUNC, 1, 0, sec.index)]
        info = None if is_text else classify(sec.name)
        for i, s in enumerate(uniq):
            if s.value % 8:
                raise self.err(f"function {s.name!r} in {sec.name!r} at unaligned offset "
                               f"{s.value}")
            start = s.value // 8
            if s.size:
                if s.size % 8:
                    raise self.err(f"function {s.name!r} in {sec.name!r}: size {s.size} is not "
                                   "a multiple of 8")
                end = start + s.size // 8
            else:
                end = uniq[i + 1].value // 8 if i + 1 < len(uniq) else nslots
            if end > nslots or start >= nslots:
                raise self.err(f"function {s.name!r} ({s.size} bytes at {s.value}) lies "
                               f"outside section {sec.name!r} ({sec.size} bytes)")
            if i + 1 < len(uniq) and end > uniq[i + 1].value // 8:
                raise self.err(f"functions {s.name!r} and {uniq[i + 1].name!r} overlap in "
                               f"{sec.name!r}")
            if start not in cs.index_of or (end < nslots and end not in cs.index_of):
                raise self.err(f"function {s.name!r} in {sec.name!r} does not start/end on an "
                               "instruction boundary")
            is_program = not is_text and s.bind != STB_LOCAL
            f = Func(s.name, sec, start, end, is_program)
            first = cs.index_of[start]
            last = cs.index_of[end] if end < nslots else len(cs.insns)
            f.insns = cs.insns[first:last]
            f.slots = [cs.slots[j] - start for j in range(first, last)]
            for j in range(first, last):
                ins = cs.insns[j]
                tgt = cs.targets.get(j)
                if tgt is None and (ins.is_local_call or (ins.is_lddw
                                                          and ins.src == op.BPF_PSEUDO_FUNC)):
                    # a call within the section, no relocation: relative to itself
                    if ins.is_local_call:
                        slot = cs.slots[j] + 1 + ins.imm
                    else:
                        slot = cs.slots[j] + 1 + s32(ins.imm & 0xFFFFFFFF)
                    if not 0 <= slot < nslots:
                        raise self.err(f"{sec.name!r} instruction {cs.slots[j]}: call target "
                                       f"{slot} outside the section")
                    tgt = (sec.index, slot)
                if tgt is not None:
                    f.calls.append((j - first, tgt))
            cs.funcs.append(f)
        if info is not None and not info.known and any(f.is_program for f in cs.funcs):
            log.warning("%s: section %r is not a known program type; its programs are kept "
                        "with type UNSPEC", self.name, sec.name)

    def _templates(self, f: Func) -> Templates:
        """What every copy of ``f`` is made from, computed once: its line records
        (slot relative to ``f``, LineInfo fields), each instruction's fields and
        the index of the line record it falls under (-1 for none)."""
        if f.templates is not None:
            return f.templates
        recs: list[tuple[int, LineFields]] = []
        index_of = {slot: j for j, slot in enumerate(f.slots)}
        starts: dict[int, int] = {}
        for slot, rec in self._lines_of(f):
            j = index_of[slot - f.start]
            fields: LineFields = (attr(rec, "file_name", ""), attr(rec, "line_text", ""),
                      attr(rec, "line", 0), attr(rec, "column", 0))
            if j in starts:  # two records on one instruction: the later one wins
                recs[starts[j]] = (slot - f.start, fields)
                continue
            starts[j] = len(recs)
            recs.append((slot - f.start, fields))
        which = []
        k = -1
        for j in range(len(f.insns)):
            if j in starts:
                k = starts[j]
            which.append(k)
        templates: list[InsnFields] = [(i.opcode, i.dst, i.src, i.off, i.imm, i.reference, i.core)
                     for i in f.insns]
        f.templates = (recs, templates, which)
        return f.templates

    def _resolve_calls(self, cs: CodeSection, f: Func,
                       funcs: dict[tuple[int, int], Func]) -> None:
        for idx, key in f.calls:
            target = funcs.get(key)
            if target is None:
                sec = self.elf.sections[key[0]]
                raise self.err(f"{f.name!r} calls slot {key[1]} of {sec.name!r}, which is not "
                               "the start of a function")
            ins = f.insns[idx]
            ins.reference = FunctionReference(target.name)

    def _program(self, f: Func, funcs: dict[tuple[int, int], Func],
                 obj: ObjectSpec) -> ProgramSpec:
        # every function reached, in order of first reference (breadth first)
        order = [f]
        placed = {f.key: 0}
        pos = f.length
        i = 0
        while i < len(order):
            for _, key in order[i].calls:
                if key not in placed:
                    g = funcs[key]
                    placed[key] = pos
                    pos += g.length
                    order.append(g)
            i += 1
        insns: list[Instruction] = []
        func_infos: list[FuncInfo] = []
        line_infos: list[LineInfo] = []
        for g in order:
            base = placed[g.key]
            first = len(insns)
            recs, templates, which = self._templates(g)
            lis: list[Any] = [LineInfo(base + rel, *fields) for rel, fields in recs]
            line_infos.extend(lis)
            lis.append(None)  # index -1: before the function's first line record
            insns.extend([Instruction(*t, lis[k]) for t, k in zip(templates, which,
                                                                   strict=True)])
            for j, key in g.calls:
                c = insns[first + j]
                rel = placed[key] - (base + g.slots[j]) - 1
                c.imm = rel & 0xFFFFFFFF if c.is_lddw else rel
            for rel_slot, tid in self._func_infos(g):
                fname = ""
                if self.btf is not None:
                    try:
                        fname = getattr(self.btf[tid], "name", "")
                    except BTFError:
                        raise self.err(f".BTF.ext: func info of {g.name!r} names BTF type "
                                       f"{tid}, which does not exist") from None
                func_infos.append(FuncInfo(base + rel_slot, tid, fname or g.name))
        info = classify(f.section.name)
        ptype = info.program_type
        if not info.known:
            ptype = ProgramType.UNSPEC
        return ProgramSpec(
            name=f.name, type=ptype, instructions=insns, license=obj.license,
            section=f.section.name, attach_type=info.attach_type, attach_to=info.attach_to,
            kernel_version=obj.kernel_version, flags=info.flags, func_infos=func_infos,
            line_infos=line_infos, btf=self.btf, attach_kind=info.attach_kind,
            retprobe=info.retprobe, autoload=not f.section.name.startswith("?"),
        )

    def _program_for_symbol(self, sym: Symbol, funcs: dict[tuple[int, int], Func],
                            obj: ObjectSpec) -> str:
        if sym.value % 8:
            raise self.err(f"map initial value {sym.name!r} at unaligned offset")
        f = funcs.get((sym.shndx, sym.value // 8))
        if f is None or not f.is_program or f.name not in obj.programs:
            raise self.err(f"map initial value {sym.name!r} is not a program of this object")
        return f.name



def _sanitize(section: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in section)
    return out or "prog"
