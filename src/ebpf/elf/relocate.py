"""Relocations of an object's code sections, kept symbolic: map and global-data
references, BPF-to-BPF calls and function addresses, externs (``.kconfig``,
``__ksym`` variables, kfuncs), with the GNU as (bpf-gcc) addend convention."""

from __future__ import annotations

from .._internal.ints import s32
from ..errors import InstructionError
from ..isa import opcodes as op
from ..isa.instruction import Instruction, KconfigReference, KsymReference, MapReference
from . import maps as M
from .code import CodeSection, ReaderState
from .externs import Extern
from .file import SHN_LORESERVE, ELFFile, Relocation, Section, Symbol

__all__ = ["Relocator", "gas_addends"]


class Relocator(ReaderState):
    """Decodes code sections and applies their relocations."""

    def _code_section(self, sec: Section, rels: list[Relocation], result: M.MapsResult,
                      externs: dict[str, Extern]) -> CodeSection:
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
        cs = CodeSection(sec, insns, slots, {s: i for i, s in enumerate(slots)})
        for rel in rels:
            self._relocate(cs, rel, result, externs)
        return cs

    def _relocate(self, cs: CodeSection, rel: Relocation, result: M.MapsResult,
                  externs: dict[str, Extern]) -> None:
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
        imm = s32(ins.imm & 0xFFFFFFFF)
        if self._gas_addends and not sym.is_section:
            return imm - sym.value
        return imm


#: runtime-library functions compilers call for what BPF has no instruction for
_LIBCALLS = frozenset({"__divdi3", "__moddi3", "__udivdi3", "__umoddi3", "__divti3", "__muldi3",
                       "__ashldi3", "__ashrdi3", "__lshrdi3", "memset", "memcpy", "memmove",
                       "memcmp", "abort"})


def gas_addends(elf: ELFFile, rels: dict[int, list[Relocation]]) -> bool:
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
            imm = s32(int.from_bytes(data[rel.offset + 4:rel.offset + 8], "little"))
            if imm < sym.value:
                return False
            seen = True
    return seen
