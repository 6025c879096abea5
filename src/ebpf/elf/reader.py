"""ELF object → :class:`ebpf.ObjectSpec`: programs (linked with their
subprograms), maps, global variables, BTF, relocations kept symbolic.

>>> import ebpf
>>> spec = ebpf.ObjectSpec.from_file("prog.bpf.o")   # doctest: +SKIP
>>> spec.programs["handle_tp"].attach_to             # doctest: +SKIP
'syscalls/sys_enter_write'
"""

from __future__ import annotations

import bisect
import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BTFError, ELFError, Error, InstructionError
from ..isa import opcodes as op
from ..isa.instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
)
from ..spec import FuncInfo, LineInfo, ObjectSpec, ProgramSpec
from ..spec.sections import classify
from ..uapi import MapType, ProgramType
from . import maps as M
from .file import (
    SHN_LORESERVE,
    STB_LOCAL,
    STT_FUNC,
    STV_HIDDEN,
    STV_INTERNAL,
    ELFFile,
    Relocation,
    Section,
    Symbol,
)

log = logging.getLogger(__name__)

#: Refuse files larger than this (a vmlinux-sized Cilium object is ~10 MB).
MAX_OBJECT_SIZE = 1 << 30


@dataclass
class _Func:
    """A function: a range of slots in a code section."""

    name: str
    section: Section
    start: int  # first slot in the section
    end: int  # one past the last slot
    is_program: bool
    insns: list[Instruction] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)  # slot of each insn, relative to start
    #: (index in insns, key of the function it calls / takes the address of)
    calls: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    #: what copies are made from, computed on first use (see _Reader._templates)
    templates: tuple | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.section.index, self.start)

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class _CodeSection:
    section: Section
    insns: list[Instruction]
    slots: list[int]  # slot of each instruction
    index_of: dict[int, int]  # slot -> instruction index
    #: insn index -> (section index, target slot) for calls / func addresses
    targets: dict[int, tuple[int, int]] = field(default_factory=dict)
    funcs: list[_Func] = field(default_factory=list)
    #: (slot, .BTF.ext line record), sorted by slot
    lines: list[tuple[int, Any]] = field(default_factory=list)
    line_slots: list[int] = field(default_factory=list)
    #: (slot, BTF type id) of .BTF.ext func info, sorted (built on first use)
    func_records: list[tuple[int, int]] | None = None
    func_slots: list[int] = field(default_factory=list)


def read_file(path: str | os.PathLike[str]) -> ObjectSpec:
    """Read an eBPF ELF object from ``path``.

    Raises :class:`ebpf.ELFError` for anything that is not a usable eBPF object.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_OBJECT_SIZE:
            raise ELFError(f"{p}: {size} bytes is too big for an eBPF object")
        data = p.read_bytes()
    except OSError as e:
        raise ELFError(f"cannot read {p}: {e.strerror or e}") from None
    spec = read_bytes(data, name=str(p))
    spec.path = str(p)
    return spec


def read_bytes(data: bytes, name: str = "<bytes>") -> ObjectSpec:
    """Read an eBPF ELF object held in memory (``name`` is used in messages)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ELFError(f"{name}: expected bytes, got {type(data).__name__}")
    if len(data) > MAX_OBJECT_SIZE:
        raise ELFError(f"{name}: {len(data)} bytes is too big for an eBPF object")
    try:
        return _Reader(bytes(data), name).read()
    except ELFError:
        raise
    except Error as e:
        raise ELFError(f"{name}: {e}") from e
    except RecursionError:
        raise ELFError(f"{name}: malformed object (type or reference chain too deep)") from None
    except Exception as e:  # noqa: BLE001 - the parser's boundary: no raw tracebacks
        # a malformed object reached a place we did not validate explicitly
        log.debug("unexpected error reading %s", name, exc_info=True)
        raise ELFError(f"{name}: malformed object ({type(e).__name__}: {e})") from None


class _Reader:
    def __init__(self, data: bytes, name: str):
        self.name = name
        self.elf = ELFFile(data, name)
        self.btf: Any = None
        self.ext: Any = None
        self._code: dict[int, _CodeSection] = {}
        # GNU as (bpf-gcc) writes symbol value + addend into an lddw it relocates
        # against a named symbol; LLVM writes the addend alone (see _gas_addends)
        self._gas_addends = False

    def err(self, msg: str) -> ELFError:
        return ELFError(f"{self.name}: {msg}")

    # ------------------------------------------------------------------
    def read(self) -> ObjectSpec:
        elf = self.elf
        obj = ObjectSpec(path=self.name)
        obj.license = self._license()
        obj.kernel_version = self._version()
        self._read_btf()
        self._hidden_functions_static()
        obj.btf = self.btf

        # relocation sections by target section index
        rels: dict[int, list[Relocation]] = {}
        for rel_sec, target in elf.relocation_sections():
            rels.setdefault(target.index, []).extend(elf.relocations(rel_sec))

        self._gas_addends = _gas_addends(elf, rels)
        if self._gas_addends:
            log.debug("%s: lddw relocations carry symbol value + addend (GNU as)", self.name)

        # maps
        result = M.MapsResult()
        for sec in elf.sections:
            if sec.name == ".maps" or (sec.name.startswith(".maps.") and not sec.is_code):
                M.read_btf_maps(elf, sec, self.btf, result, rels.get(sec.index))
        for sec in elf.sections:
            if (sec.name == "maps" or sec.name.startswith("maps/")) and not sec.is_code:
                M.read_legacy_maps(elf, sec, self.btf, result)
        for sec in elf.sections:
            if M.is_struct_ops_section(sec):
                M.read_struct_ops(elf, sec, self.btf, result, rels.get(sec.index))
        M.read_data_maps(elf, self.btf, result)
        M.read_arena_globals(elf, self.btf, result)
        externs = M.classify_externs(elf, self.btf)
        M.build_kconfig_map(elf, self.btf, externs, result)
        obj.maps = result.maps
        obj.variables = result.variables
        obj.kconfig = sorted(e.name for e in externs.values() if e.kind == "kconfig")
        obj.ksyms = sorted(e.name for e in externs.values() if e.kind != "kconfig")

        # code
        code = [self._code_section(sec, rels.get(sec.index, []), result, externs)
                for sec in elf.sections if sec.is_code and sec.size]
        self._code = {cs.section.index: cs for cs in code}
        funcs: dict[tuple[int, int], _Func] = {}
        for cs in code:
            self._split(cs)
            for f in cs.funcs:
                funcs[f.key] = f
        for cs in code:
            self._attach_ext(cs)
        for cs in code:
            for f in cs.funcs:
                self._resolve_calls(cs, f, funcs)
        for cs in code:
            for f in cs.funcs:
                if not f.is_program:
                    continue
                if f.name in obj.programs:
                    raise self.err(f"program {f.name!r} defined twice")
                obj.programs[f.name] = self._program(f, funcs, obj)

        # program arrays initialised in the object
        for mapname, index, sym in result.prog_values:
            prog = self._program_for_symbol(sym, funcs, obj)
            obj.maps[mapname].contents.append((index, prog))
        for mapname, member, sym in result.struct_ops_values:
            prog = self._program_for_symbol(sym, funcs, obj)
            obj.maps[mapname].contents.append((member, prog))
        for ms in obj.maps.values():
            if ms.type != MapType.STRUCT_OPS:
                ms.contents.sort(key=lambda kv: kv[0])
        return obj

    # ------------------------------------------------------------------
    def _license(self) -> str:
        sec = self.elf.section_by_name("license")
        if sec is None:
            return ""
        raw = sec.data.split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace")

    def _version(self) -> int:
        sec = self.elf.section_by_name("version")
        if sec is None:
            return 0
        if len(sec.data) != 4:
            raise self.err(f"section 'version' has {len(sec.data)} bytes (expected 4)")
        return struct.unpack("<I", sec.data)[0]

    def _read_btf(self) -> None:
        sec = self.elf.section_by_name(".BTF")
        if sec is None or not sec.data:
            return
        from .. import btf as B

        try:
            self.btf = B.Spec.from_bytes(sec.data)
        except BTFError as e:
            raise self.err(f".BTF: {e}") from None
        ext = self.elf.section_by_name(".BTF.ext")
        if ext is not None and ext.data:
            try:
                from ..btf.ext import parse_btf_ext
            except ImportError:  # pragma: no cover - BTF.ext support not installed
                log.warning("%s: .BTF.ext ignored (ebpf.btf.ext unavailable)", self.name)
                return
            try:
                self.ext = parse_btf_ext(ext.data, self.btf)
            except BTFError as e:
                raise self.err(f".BTF.ext: {e}") from None

    # ------------------------------------------------------------------
    def _code_section(self, sec: Section, rels: list[Relocation], result: M.MapsResult,
                      externs: dict[str, M.Extern]) -> _CodeSection:
        from ..isa import decode

        if sec.size % 8:
            raise self.err(f"section {sec.name!r}: size {sec.size} is not a multiple of 8")
        try:
            insns = decode(sec.data)
        except InstructionError as e:
            raise self.err(f"section {sec.name!r}: {e}") from None
        slots = []
        pos = 0
        for ins in insns:
            slots.append(pos)
            pos += ins.size
        cs = _CodeSection(sec, insns, slots, {s: i for i, s in enumerate(slots)})
        for rel in rels:
            self._relocate(cs, rel, result, externs)
        return cs

    def _relocate(self, cs: _CodeSection, rel: Relocation, result: M.MapsResult,
                  externs: dict[str, M.Extern]) -> None:
        sec = cs.section
        sym = rel.symbol
        where = f"section {sec.name!r} offset {rel.offset:#x}"
        if rel.type == 0:
            return
        if rel.offset % 8 or rel.offset // 8 not in cs.index_of:
            raise self.err(f"{where}: relocation does not point at an instruction")
        idx = cs.index_of[rel.offset // 8]
        ins = cs.insns[idx]
        what = f"{where} (instruction {rel.offset // 8}), relocation against {sym.name!r}"

        # externs: .kconfig, .ksyms, kfuncs
        if sym.is_undefined:
            ext = externs.get(sym.name)
            if ext is None:
                raise self.err(f"{what}: undefined symbol")
            if ins.is_call:
                if ext.kind != "kfunc":
                    hint = "not a kfunc declared __ksym; link objects first"
                    if sym.name in _LIBCALLS:
                        hint = ("the compiler emitted a library call, which BPF cannot make: "
                                "build with clang, or avoid what needs it (signed 64-bit "
                                "division, large memset/memcpy)")
                    raise self.err(f"{what}: call to undefined function {sym.name!r} ({hint})")
                ins.src = op.BPF_PSEUDO_KFUNC_CALL
                ins.reference = KsymReference(sym.name, weak=ext.weak, kfunc=True)
                return
            if not ins.is_lddw:
                raise self.err(f"{what}: extern used by an instruction that is not lddw/call")
            if ext.kind == "kconfig":
                ins.reference = KconfigReference(sym.name)
            else:
                ins.reference = KsymReference(sym.name, weak=ext.weak,
                                              kfunc=ext.kind == "kfunc")
            return
        if sym.shndx >= SHN_LORESERVE:
            raise self.err(f"{what}: symbol has no section (shndx {sym.shndx:#x})")
        target = self.elf.section(sym.shndx, what)

        # code: BPF-to-BPF calls and function addresses
        if target.is_code:
            if sym.value % 8:
                raise self.err(f"{what}: function symbol at unaligned offset {sym.value}")
            if ins.is_call:
                if ins.src != op.BPF_PSEUDO_CALL:
                    raise self.err(f"{what}: relocation on a helper call")
                slot = sym.value // 8 + ins.imm + 1
                if (not sym.is_section and not 0 <= slot < target.size // 8
                        and ins.imm + 1 == sym.value):
                    # GCC 12 leaves the symbol's byte offset - 1 in imm for calls to
                    # global functions; the symbol alone says where the call goes
                    slot = sym.value // 8
            elif ins.is_lddw:
                addend = self._addend(ins, sym)
                if addend % 8:
                    raise self.err(f"{what}: function address at unaligned offset")
                slot = (sym.value + addend) // 8
                ins.src = op.BPF_PSEUDO_FUNC
            else:
                raise self.err(f"{what}: code reference from an instruction that is not "
                               "lddw/call")
            if not 0 <= slot < target.size // 8:
                raise self.err(f"{what}: target slot {slot} outside section {target.name!r}")
            cs.targets[idx] = (target.index, slot)
            return

        if not ins.is_lddw:
            raise self.err(f"{what}: data reference from an instruction that is not lddw")
        addend = self._addend(ins, sym)
        # maps
        if sym.shndx in result.placements:
            mapname = M.map_for_reference(self.elf, result, sym, addend)
            if mapname is None:
                raise self.err(f"{what}: no map at offset {sym.value + addend} of "
                               f"{target.name!r}")
            ins.reference = MapReference(mapname)
            return
        # global data
        dmap = result.data_sections.get(sym.shndx)
        if dmap is not None:
            off = sym.value + addend
            if not 0 <= off <= target.size:
                raise self.err(f"{what}: offset {off} outside {target.name!r} "
                               f"({target.size} bytes)")
            ins.reference = MapReference(dmap, offset=off, value=True)
            return
        raise self.err(f"{what}: section {target.name!r} is neither code, maps nor global "
                       "data")

    def _addend(self, ins: Instruction, sym: Symbol) -> int:
        """The relocation addend an ``lddw`` carries in its immediate."""
        imm = _s32(ins.imm & 0xFFFFFFFF)
        if self._gas_addends and not sym.is_section:
            return imm - sym.value
        return imm

    def _hidden_functions_static(self) -> None:
        """Global functions with hidden (or internal) visibility, as
        ``__weak __hidden`` in libbpf's usdt.bpf.h, cannot be called from outside
        the object: as libbpf does, give their BTF FUNC static linkage, so the
        verifier checks them as static subprograms (with their callers' argument
        types) instead of as global functions (verified alone)."""
        if self.btf is None:
            return
        from .. import btf as B

        hidden = {s.name for s in self.elf.symbols
                  if s.type == STT_FUNC and s.bind != STB_LOCAL
                  and s.visibility in (STV_HIDDEN, STV_INTERNAL)}
        if not hidden:
            return
        for t in self.btf:
            if isinstance(t, B.Func) and t.name in hidden and t.linkage == B.Linkage.GLOBAL:
                t.linkage = B.Linkage.STATIC
                log.debug("%s: hidden function %s: BTF linkage made static", self.name, t.name)

    # ------------------------------------------------------------------
    def _split(self, cs: _CodeSection) -> None:
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
            f = _Func(s.name, sec, start, end, is_program)
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
                        slot = cs.slots[j] + 1 + _s32(ins.imm & 0xFFFFFFFF)
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

    def _attach_ext(self, cs: _CodeSection) -> None:
        """Line info and CO-RE relocations from .BTF.ext onto the section's instructions."""
        ext = self.ext
        if ext is None:
            return
        name = cs.section.name
        lines = []
        for rec in _ext_get(ext, "line_infos", name):
            off = _rec_off(rec)
            if off % 8 or off // 8 not in cs.index_of:
                raise self.err(f".BTF.ext: line info for {name!r} at byte {off} is not on an "
                               "instruction")
            lines.append((off // 8, rec))
        lines.sort(key=lambda x: x[0])
        cs.lines = lines
        cs.line_slots = [slot for slot, _ in lines]
        for rec in _ext_get(ext, "core_relos", name):
            off = _rec_off(rec)
            if off % 8 or off // 8 not in cs.index_of:
                raise self.err(f".BTF.ext: CO-RE relocation for {name!r} at byte {off} is not "
                               "on an instruction")
            cs.insns[cs.index_of[off // 8]].core = rec

    def _templates(self, f: _Func) -> tuple[list[tuple[int, tuple]], list[tuple], list[int]]:
        """What every copy of ``f`` is made from, computed once: its line records
        (slot relative to ``f``, LineInfo fields), each instruction's fields and
        the index of the line record it falls under (-1 for none)."""
        if f.templates is not None:
            return f.templates
        recs: list[tuple[int, tuple]] = []
        index_of = {slot: j for j, slot in enumerate(f.slots)}
        starts: dict[int, int] = {}
        for slot, rec in self._lines_of(f):
            j = index_of[slot - f.start]
            fields = (_attr(rec, "file_name", ""), _attr(rec, "line_text", ""),
                      _attr(rec, "line", 0), _attr(rec, "column", 0))
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
        templates = [(i.opcode, i.dst, i.src, i.off, i.imm, i.reference, i.core)
                     for i in f.insns]
        f.templates = (recs, templates, which)
        return f.templates

    def _lines_of(self, f: _Func) -> list[tuple[int, Any]]:
        """(slot in the section, line record) for the line info inside ``f``."""
        cs = self._code[f.section.index]
        lo = bisect.bisect_left(cs.line_slots, f.start)
        hi = bisect.bisect_left(cs.line_slots, f.end)
        return cs.lines[lo:hi]

    def _func_infos(self, f: _Func) -> list[tuple[int, int]]:
        """(slot relative to the function, BTF type id) for func_info records in ``f``."""
        cs = self._code[f.section.index]
        if cs.func_records is None:
            recs = []
            if self.ext is not None:
                for rec in _ext_get(self.ext, "func_infos", f.section.name):
                    if isinstance(rec, tuple):
                        off, tid = rec[0], rec[1]
                    else:
                        off, tid = _rec_off(rec), _attr(rec, "type_id", 0)
                    recs.append((off // 8, tid))
            if not recs and self.btf is not None:
                recs = self._synthesized_func_infos(cs)
            recs.sort()
            cs.func_records = recs
            cs.func_slots = [r[0] for r in recs]
        keys = cs.func_slots
        lo = bisect.bisect_left(keys, f.start)
        hi = bisect.bisect_left(keys, f.end)
        return [(slot - f.start, tid) for slot, tid in cs.func_records[lo:hi]]

    def _synthesized_func_infos(self, cs: _CodeSection) -> list[tuple[int, int]]:
        """func_info for a section whose .BTF.ext has none (bpf-gcc 12 writes none)
        from the BTF FUNC named like each function, when every function has one:
        the kernel needs it for callbacks and BPF-to-BPF calls once BTF is loaded."""
        from .. import btf as B

        recs = []
        for f in cs.funcs:
            # GCC clones keep the source name before a suffix (helper.constprop.0)
            name = f.name.split(".", 1)[0] if "." in f.name else f.name
            found = [t for t in self.btf.types_by_name(name) if isinstance(t, B.Func)]
            if len(found) != 1:
                return []
            recs.append((f.start, self.btf.type_id(found[0])))
        if recs:
            log.debug("%s: section %r: func_info made from BTF FUNC records", self.name,
                      cs.section.name)
        return recs

    def _resolve_calls(self, cs: _CodeSection, f: _Func,
                       funcs: dict[tuple[int, int], _Func]) -> None:
        for idx, key in f.calls:
            target = funcs.get(key)
            if target is None:
                sec = self.elf.sections[key[0]]
                raise self.err(f"{f.name!r} calls slot {key[1]} of {sec.name!r}, which is not "
                               "the start of a function")
            ins = f.insns[idx]
            ins.reference = FunctionReference(target.name)

    def _program(self, f: _Func, funcs: dict[tuple[int, int], _Func],
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

    def _program_for_symbol(self, sym: Symbol, funcs: dict[tuple[int, int], _Func],
                            obj: ObjectSpec) -> str:
        if sym.value % 8:
            raise self.err(f"map initial value {sym.name!r} at unaligned offset")
        f = funcs.get((sym.shndx, sym.value // 8))
        if f is None or not f.is_program or f.name not in obj.programs:
            raise self.err(f"map initial value {sym.name!r} is not a program of this object")
        return f.name


#: runtime-library functions compilers call for what BPF has no instruction for
_LIBCALLS = frozenset({"__divdi3", "__moddi3", "__udivdi3", "__umoddi3", "__divti3", "__muldi3",
                       "__ashldi3", "__ashrdi3", "__lshrdi3", "memset", "memcpy", "memmove",
                       "memcmp", "abort"})


def _gas_addends(elf: ELFFile, rels: dict[int, list[Relocation]]) -> bool:
    """Whether this object's lddw immediates hold symbol value + addend.

    R_BPF_64_64 is a REL relocation: the addend lives in the instruction. LLVM
    writes just the addend; GNU as (the bpf-gcc tool chain) writes the symbol's
    value plus the addend when the symbol is a named one (section symbols get
    the addend alone from both). An object not made by clang whose every lddw
    against a named symbol at a non-zero offset holds at least that offset is
    taken to be GNU as output; with no such relocation the two readings agree.
    """
    comment = elf.section_by_name(".comment")
    if comment is not None and b"clang" in bytes(comment.data or b""):
        return False
    seen = False
    for index, entries in rels.items():
        sec = elf.sections[index] if 0 <= index < len(elf.sections) else None
        if sec is None or not sec.is_code:
            continue
        data = sec.data
        for rel in entries:
            sym = rel.symbol
            if (rel.type == 0 or sym.is_section or sym.is_undefined or sym.shndx >= SHN_LORESERVE
                    or sym.value == 0 or rel.offset % 8 or rel.offset + 8 > len(data)
                    or data[rel.offset] != 0x18):
                continue
            imm = _s32(int.from_bytes(data[rel.offset + 4:rel.offset + 8], "little"))
            if imm < sym.value:
                return False
            seen = True
    return seen


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _sanitize(section: str) -> str:
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in section)
    return out or "prog"


def _attr(rec: Any, name: str, default: Any) -> Any:
    return getattr(rec, name, default)


def _rec_off(rec: Any) -> int:
    """Byte offset of a .BTF.ext record within its section."""
    for name in ("insn_off", "insn_off_bytes", "offset"):
        v = getattr(rec, name, None)
        if isinstance(v, int):
            return v
    if isinstance(rec, tuple) and rec and isinstance(rec[0], int):
        return rec[0]
    raise ELFError(f".BTF.ext record without an instruction offset: {rec!r}")


def _ext_get(ext: Any, what: str, section: str) -> list[Any]:
    table = getattr(ext, what, None) or {}
    return list(table.get(section, ()))


__all__ = ["MAX_OBJECT_SIZE", "read_bytes", "read_file"]
