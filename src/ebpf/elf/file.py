"""A strict reader for the ELF64 relocatable files BPF compilers produce.

Everything is checked against the file's size before it is used: section
headers, section contents, string tables, symbols and relocations. Anything
out of place raises :class:`ebpf.ELFError` naming what and where; no other
exception escapes and no loop runs longer than the file is big.

>>> from ebpf.elf.file import ELFFile
>>> ELFFile(b"not an ELF file", "junk.o")
Traceback (most recent call last):
...
ebpf.errors.ELFError: junk.o: not an ELF file (bad magic)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .._internal.elf import SectionHeader, read_header, read_section_header, section_headers
from ..errors import ELFError

EM_BPF = 247
ET_REL = 1
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2

SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_RELA = 4
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNSYM = 11
SHT_SYMTAB_SHNDX = 18

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2
#: symbol visibility (st_other & 3): hidden and internal ones stay inside the object
STV_INTERNAL = 1
STV_HIDDEN = 2

STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3
STT_FILE = 4

# BPF relocation types
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

_EHDR_SIZE = 64  # sizeof(Elf64_Ehdr)
_SHDR_SIZE = 64  # sizeof(Elf64_Shdr)
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")

#: Upper bound on the sections we accept (real objects have a few hundred at most).
MAX_SECTIONS = 1 << 16


@dataclass
class Section(SectionHeader):
    """One section header, with its number, name and contents (empty for SHT_NOBITS)."""

    index: int
    name: str
    data: bytes

    @property
    def is_code(self) -> bool:
        return self.type == SHT_PROGBITS and bool(self.flags & SHF_EXECINSTR)


@dataclass
class Symbol:
    index: int
    name: str
    value: int
    size: int
    type: int
    bind: int
    visibility: int
    shndx: int

    @property
    def is_section(self) -> bool:
        return self.type == STT_SECTION

    @property
    def is_undefined(self) -> bool:
        return self.shndx == SHN_UNDEF


@dataclass
class Relocation:
    offset: int  # byte offset within the target section
    symbol: Symbol
    type: int


class ELFFile:
    """An ELF64 eBPF relocatable object held in memory.

    ``sections`` is indexed by section number; ``symbols`` by symbol number.
    """

    def __init__(self, data: bytes, name: str = "<bytes>"):
        self.name = name
        self.data = bytes(data)
        self._parse_header()
        self.sections = self._parse_sections()
        self.symbols: list[Symbol] = self._parse_symbols()

    # -- errors -----------------------------------------------------------
    def error(self, message: str) -> ELFError:
        return ELFError(f"{self.name}: {message}")

    # -- header -----------------------------------------------------------
    def _parse_header(self) -> None:
        data = self.data
        if len(data) < 4 or data[:4] != b"\x7fELF":
            raise self.error("not an ELF file (bad magic)")
        if len(data) < _EHDR_SIZE:
            raise self.error(f"truncated ELF header ({len(data)} bytes, need {_EHDR_SIZE})")
        ident = data[:16]
        if ident[4] != ELFCLASS64:
            raise self.error(f"not a 64-bit ELF file (EI_CLASS={ident[4]}); eBPF objects are ELF64")
        if ident[5] == ELFDATA2MSB:
            raise self.error("big-endian eBPF objects (bpfeb) are not supported; "
                             "compile with -target bpfel (or bpf on a little-endian host)")
        if ident[5] != ELFDATA2LSB:
            raise self.error(f"bad ELF data encoding EI_DATA={ident[5]}")
        hdr = self._hdr = read_header(data)
        e_type, e_machine, e_shoff, e_shentsize = hdr.type, hdr.machine, hdr.shoff, hdr.shentsize
        if e_machine != EM_BPF:
            raise self.error(f"not an eBPF object: e_machine={e_machine} (eBPF is {EM_BPF})")
        if e_type != ET_REL:
            raise self.error(f"not a relocatable object: e_type={e_type} (expected ET_REL=1)")
        if e_shoff == 0:
            raise self.error("no section header table")
        if e_shentsize != _SHDR_SIZE:
            raise self.error(f"bad section header size {e_shentsize} (expected {_SHDR_SIZE})")
        if e_shoff > len(data) or e_shoff + _SHDR_SIZE > len(data):
            raise self.error(f"section header table at {e_shoff:#x} lies outside the file "
                             f"({len(data)} bytes)")
        shnum = hdr.shnum
        shstrndx = hdr.shstrndx
        if shnum == 0 or shstrndx == SHN_XINDEX:
            # extended numbering: real values live in section header 0
            first = read_section_header(data, hdr, e_shoff)
            if shnum == 0:
                shnum = first.size
            if shstrndx == SHN_XINDEX:
                shstrndx = first.link
        if shnum == 0 or shnum > MAX_SECTIONS:
            raise self.error(f"bad section count {shnum}")
        end = e_shoff + shnum * _SHDR_SIZE
        if end > len(data):
            raise self.error(f"section header table ({shnum} entries at {e_shoff:#x}) "
                             f"runs past the end of the file ({len(data)} bytes)")
        if shstrndx == 0 or shstrndx >= shnum:
            raise self.error(f"bad section name table index {shstrndx} ({shnum} sections)")
        self._shoff = e_shoff
        self._shnum = shnum
        self._shstrndx = shstrndx

    # -- sections ---------------------------------------------------------
    def _parse_sections(self) -> list[Section]:
        data = self.data
        raw = section_headers(data, self._hdr, self._shnum)
        for i, sh in enumerate(raw):
            if i and sh.type not in (SHT_NOBITS, SHT_NULL):
                if sh.offset > len(data) or sh.size > len(data) - sh.offset:
                    raise self.error(f"section {i}: contents ({sh.size} bytes at {sh.offset:#x}) "
                                     f"lie outside the file ({len(data)} bytes)")
        shstr = raw[self._shstrndx]
        if shstr.type != SHT_STRTAB:
            raise self.error(f"section {self._shstrndx} (section names) is not a string table")
        names = data[shstr.offset:shstr.offset + shstr.size]
        sections = []
        for i, sh in enumerate(raw):
            name = self._string(names, sh.name_offset, f"section {i} name") if i else ""
            contents = b"" if sh.type in (SHT_NOBITS, SHT_NULL) else \
                data[sh.offset:sh.offset + sh.size]
            sections.append(Section(**vars(sh), index=i, name=name, data=contents))
        return sections

    def _string(self, table: bytes, offset: int, what: str) -> str:
        if offset >= len(table) and not (offset == 0 and not table):
            raise self.error(f"{what}: string offset {offset} outside its table "
                             f"({len(table)} bytes)")
        end = table.find(b"\0", offset)
        if end < 0:
            raise self.error(f"{what}: unterminated string at offset {offset}")
        try:
            return table[offset:end].decode("utf-8")
        except UnicodeDecodeError:
            return table[offset:end].decode("latin-1")

    def section_by_name(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section(self, index: int, what: str = "") -> Section:
        if not 0 <= index < len(self.sections):
            raise self.error(f"{what or 'reference'}: section index {index} out of range "
                             f"({len(self.sections)} sections)")
        return self.sections[index]

    # -- symbols ----------------------------------------------------------
    def _parse_symbols(self) -> list[Symbol]:
        symtabs = [s for s in self.sections if s.type == SHT_SYMTAB]
        if not symtabs:
            return []
        if len(symtabs) > 1:
            raise self.error(f"{len(symtabs)} symbol tables (expected one)")
        symtab = symtabs[0]
        if symtab.entsize != _SYM.size:
            raise self.error(f"symbol table {symtab.name!r}: entry size {symtab.entsize} "
                             f"(expected {_SYM.size})")
        if symtab.size % _SYM.size:
            raise self.error(f"symbol table {symtab.name!r}: size {symtab.size} is not a "
                             f"multiple of {_SYM.size}")
        strtab = self.section(symtab.link, f"symbol table {symtab.name!r} string table")
        if strtab.type != SHT_STRTAB:
            raise self.error(f"symbol table {symtab.name!r}: linked section {strtab.index} "
                             "is not a string table")
        xindex: bytes | None = None
        for s in self.sections:
            if s.type == SHT_SYMTAB_SHNDX and s.link == symtab.index:
                xindex = s.data
        strings = strtab.data
        symbols = []
        nsec = len(self.sections)
        for i, (st_name, st_info, st_other, st_shndx, st_value, st_size) in enumerate(
                _SYM.iter_unpack(symtab.data)):
            name = self._string(strings, st_name, f"symbol {i} name") if st_name else ""
            shndx = st_shndx
            if shndx == SHN_XINDEX:
                if xindex is None or len(xindex) < 4 * (i + 1):
                    raise self.error(f"symbol {i} ({name!r}): extended section index missing")
                shndx = struct.unpack_from("<I", xindex, 4 * i)[0]
            elif shndx >= SHN_LORESERVE:
                pass  # SHN_ABS, SHN_COMMON...: no section
            elif shndx >= nsec:
                raise self.error(f"symbol {i} ({name!r}): section index {shndx} out of range "
                                 f"({nsec} sections)")
            if SHN_LORESERVE > shndx >= nsec:
                raise self.error(f"symbol {i} ({name!r}): section index {shndx} out of range")
            typ = st_info & 0xF
            if typ == STT_SECTION and not name and 0 < shndx < nsec:
                name = self.sections[shndx].name
            symbols.append(Symbol(i, name, st_value, st_size, typ, st_info >> 4,
                                  st_other & 0x3, shndx))
        return symbols

    # -- relocations ------------------------------------------------------
    def relocation_sections(self) -> list[tuple[Section, Section]]:
        """(relocation section, section it applies to) pairs, SHT_REL only."""
        out = []
        for s in self.sections:
            if s.type == SHT_RELA:
                raise self.error(f"section {s.name!r}: RELA relocations are not used by eBPF "
                                 "objects and are not supported")
            if s.type != SHT_REL:
                continue
            target = self.section(s.info, f"relocation section {s.name!r} target")
            out.append((s, target))
        return out

    def relocations(self, rel: Section) -> list[Relocation]:
        """The entries of an SHT_REL section, validated."""
        if rel.entsize not in (0, _REL.size):
            raise self.error(f"relocation section {rel.name!r}: entry size {rel.entsize} "
                             f"(expected {_REL.size})")
        if rel.size % _REL.size:
            raise self.error(f"relocation section {rel.name!r}: size {rel.size} is not a "
                             f"multiple of {_REL.size}")
        out = []
        nsym = len(self.symbols)
        for j, (r_offset, r_info) in enumerate(_REL.iter_unpack(rel.data)):
            sym_index = r_info >> 32
            r_type = r_info & 0xFFFFFFFF
            if sym_index >= nsym:
                raise self.error(f"relocation section {rel.name!r} entry {j}: symbol index "
                                 f"{sym_index} out of range ({nsym} symbols)")
            out.append(Relocation(r_offset, self.symbols[sym_index], r_type))
        return out


__all__ = ["ELFFile", "Relocation", "Section", "Symbol"]
