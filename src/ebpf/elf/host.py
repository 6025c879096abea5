"""Host ELF files (executables, shared libraries, debug files): program headers,
sections, symbols, notes, build ids and debug links.

:mod:`ebpf.elf.file` reads eBPF relocatable objects strictly; this module reads the
binaries a uprobe goes into or a stack address points into (ELF32/64, either byte
order). Versioned dynamic symbols carry their version (``.gnu.version`` /
``.gnu.version_d``).

>>> from ebpf.elf.host import HostELF
>>> elf = HostELF("/bin/true")
>>> len(elf.build_id() or b"") in (0, 20)
True
"""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

from .._internal.elf import SectionHeader, read_header, section_headers
from ..errors import ELFError

# ELF constants
ET_EXEC, ET_DYN = 2, 3
PT_LOAD = 1
PF_X = 1
SHT_SYMTAB, SHT_NOTE, SHT_NOBITS, SHT_DYNSYM = 2, 7, 8, 11
PT_NOTE = 4
NT_GNU_BUILD_ID = 3
SHT_GNU_VERDEF, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFF
STT_FUNC, STT_GNU_IFUNC = 2, 10
SHN_UNDEF = 0
VERSYM_HIDDEN = 0x8000


_MALFORMED = (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError)


def _guarded(method):
    """Turn what a malformed ELF file makes the parser trip on into the reader's error."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _MALFORMED as e:
            raise self.error_type(f"{self.path}: malformed ELF file ({type(e).__name__}: {e})") \
                from None
    return wrapper


@dataclass
class Segment:
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int
    type: int = 0  # p_type (PT_LOAD, ...)


@dataclass
class HostSection(SectionHeader):
    name: str


@dataclass
class HostSymbol:
    name: str
    value: int
    size: int
    type: int
    bind: int
    shndx: int
    version: str = ""  # "" when unversioned
    default_version: bool = True  # "@@" (True) versus "@" (hidden, False)
    table: str = ".symtab"


@dataclass
class USDTProbe:
    """A USDT probe from ``.note.stapsdt``: where it is and how to read its args."""

    provider: str
    name: str
    address: int  # virtual address of the probe's nop, after .stapsdt.base adjustment
    offset: int  # file offset for the uprobe
    semaphore: int  # virtual address of the semaphore (0 = none)
    semaphore_offset: int  # file offset of the semaphore (ref_ctr_offset), 0 = none
    args: str  # e.g. "-4@%edi 8@%rsi"


class HostELF:
    """A small read-only ELF reader: program headers, sections, symbols, notes.

    Errors are :class:`ebpf.ELFError` (``error_type``; a subclass may pick another).
    """

    error_type: type[Exception] = ELFError

    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                self.data = f.read()
        except FileNotFoundError:
            raise self.error_type(f"no such file: {path}") from None
        except OSError as err:
            raise self.error_type(f"reading {path}: {err.strerror}") from None
        d = self.data
        if len(d) < 52 or d[:4] != b"\x7fELF":
            raise self.error_type(f"{path} is not an ELF file")
        try:
            hdr = read_header(d)
            self.is64, self.endian, self.type, self.entry = hdr.is64, hdr.endian, hdr.type, \
                hdr.entry
            self.segments = [self._phdr(hdr.phoff + i * hdr.phentsize) for i in range(hdr.phnum)]
            raw_sections = section_headers(d, hdr)
        except (struct.error, OverflowError):
            raise self.error_type(f"{path}: truncated or corrupt ELF headers") from None
        names = raw_sections[hdr.shstrndx] if 0 <= hdr.shstrndx < len(raw_sections) else None
        self.sections: list[HostSection] = []
        for sh in raw_sections:
            try:
                name = self._str(names.offset + sh.name_offset) if names else ""
            except (ValueError, OverflowError):
                name = ""
            if sh.link >= len(raw_sections):
                sh.link = 0  # corrupt link: none
            self.sections.append(HostSection(**vars(sh), name=name))

    # ---- raw headers -------------------------------------------------------
    def _phdr(self, off: int) -> Segment:
        e = self.endian
        if self.is64:
            typ, flags, offset, vaddr, _pa, filesz, memsz, _al = struct.unpack_from(
                e + "IIQQQQQQ", self.data, off)
        else:
            typ, offset, vaddr, _pa, filesz, memsz, flags, _al = struct.unpack_from(
                e + "IIIIIIII", self.data, off)
        return Segment(vaddr, memsz, offset, filesz, flags, typ)

    def _str(self, off: int) -> str:
        end = self.data.find(b"\0", off)
        if end < 0:
            end = len(self.data)
        return self.data[off:end].decode("utf-8", "replace")

    def section(self, name: str) -> HostSection | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    # ---- symbols ----------------------------------------------------------
    def _versions(self, dynsym_index: int) -> tuple[list[int], dict[int, str]]:
        versym: list[int] = []
        verdef: dict[int, str] = {}
        for s in self.sections:
            if s.type == SHT_GNU_VERSYM:
                n = s.size // 2
                versym = list(struct.unpack_from(f"{self.endian}{n}H", self.data, s.offset))
            elif s.type == SHT_GNU_VERDEF:
                strtab = self.sections[s.link]
                off = s.offset
                for _ in range(65536):  # bounded: a corrupt chain cannot loop forever
                    (_ver, _flags, ndx, _cnt, _hash, aux, nxt) = struct.unpack_from(
                        self.endian + "HHHHIII", self.data, off)
                    (vname, _anext) = struct.unpack_from(self.endian + "II", self.data, off + aux)
                    verdef[ndx] = self._str(strtab.offset + vname)
                    if not nxt:
                        break
                    off += nxt
        return versym, verdef

    @_guarded
    def symbols(self) -> list[HostSymbol]:
        """Every symbol of .symtab and .dynsym (dynamic ones carry their version)."""
        out: list[HostSymbol] = []
        e = self.endian
        for idx, s in enumerate(self.sections):
            if s.type not in (SHT_SYMTAB, SHT_DYNSYM) or not s.entsize:
                continue
            strtab = self.sections[s.link]
            versym, verdef = self._versions(idx) if s.type == SHT_DYNSYM else ([], {})
            for i in range(s.size // s.entsize):
                off = s.offset + i * s.entsize
                if self.is64:
                    name, info, _other, shndx, value, size = struct.unpack_from(
                        e + "IBBHQQ", self.data, off)
                else:
                    name, value, size, info, _other, shndx = struct.unpack_from(
                        e + "IIIBBH", self.data, off)
                sym = HostSymbol(self._str(strtab.offset + name), value, size, info & 0xF,
                             info >> 4, shndx, table=s.name)
                if versym and i < len(versym):
                    v = versym[i]
                    sym.version = verdef.get(v & 0x7FFF, "") if (v & 0x7FFF) > 1 else ""
                    sym.default_version = not (v & VERSYM_HIDDEN)
                out.append(sym)
        return out

    def vaddr_to_offset(self, vaddr: int) -> int:
        """File offset of virtual address ``vaddr`` (through a PT_LOAD segment)."""
        best = None
        for seg in self.segments:
            if seg.type != PT_LOAD:
                continue
            if seg.vaddr <= vaddr < seg.vaddr + max(seg.memsz, seg.filesz):
                if best is None or (seg.flags & PF_X and not best.flags & PF_X):
                    best = seg
        if best is None:
            raise self.error_type(f"{self.path}: address {vaddr:#x} is in no loadable segment")
        return vaddr - best.vaddr + best.offset

    # ---- USDT -------------------------------------------------------------
    @_guarded
    def usdt_probes(self) -> list[USDTProbe]:
        """Every probe of ``.note.stapsdt``."""
        note = self.section(".note.stapsdt")
        if note is None:
            return []
        base_sec = self.section(".stapsdt.base")
        out: list[USDTProbe] = []
        e = self.endian
        addr_fmt = e + ("QQQ" if self.is64 else "III")
        addr_size = 8 if self.is64 else 4
        off, end = note.offset, note.offset + note.size
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from(e + "III", self.data, off)
            name_start = off + 12
            desc_start = name_start + ((namesz + 3) & ~3)
            nxt = desc_start + ((descsz + 3) & ~3)
            owner = self.data[name_start:name_start + namesz].rstrip(b"\0")
            if owner == b"stapsdt" and ntype == 3 and descsz >= 3 * addr_size:
                pc, base, sem = struct.unpack_from(addr_fmt, self.data, desc_start)
                strings = self.data[desc_start + 3 * addr_size:desc_start + descsz].split(b"\0")
                provider, pname, args = (strings + [b"", b"", b""])[:3]
                if base_sec is not None and base:
                    pc += base_sec.addr - base
                sem_off = 0
                if sem:
                    try:
                        sem_off = self.vaddr_to_offset(sem)
                    except self.error_type:
                        sem_off = 0
                out.append(USDTProbe(provider.decode("utf-8", "replace"),
                                     pname.decode("utf-8", "replace"), pc,
                                     self.vaddr_to_offset(pc), sem, sem_off,
                                     args.decode("utf-8", "replace")))
            off = nxt
        return out

    # ---- identity: build id and debug link ----------------------------------
    @_guarded
    def build_id(self) -> bytes | None:
        """The GNU build id (``NT_GNU_BUILD_ID`` note), or None."""
        for s in self.sections:
            if s.type == SHT_NOTE:
                bid = self._note(s.offset, s.size, b"GNU", NT_GNU_BUILD_ID)
                if bid:
                    return bid
        for seg in self.segments:
            if seg.type == PT_NOTE:
                bid = self._note(seg.offset, seg.filesz, b"GNU", NT_GNU_BUILD_ID)
                if bid:
                    return bid
        return None

    def _note(self, off: int, size: int, owner: bytes, ntype: int) -> bytes | None:
        e = self.endian
        end = min(off + size, len(self.data))
        while off + 12 <= end:
            namesz, descsz, typ = struct.unpack_from(e + "III", self.data, off)
            name_start = off + 12
            desc_start = name_start + ((namesz + 3) & ~3)
            if self.data[name_start:name_start + namesz].rstrip(b"\0") == owner \
                    and typ == ntype and desc_start + descsz <= end:
                return self.data[desc_start:desc_start + descsz]
            off = desc_start + ((descsz + 3) & ~3)
        return None

    @_guarded
    def debuglink(self) -> tuple[str, int] | None:
        """``.gnu_debuglink``: (file name of the separate debug file, its CRC32)."""
        s = self.section(".gnu_debuglink")
        if s is None or s.type == SHT_NOBITS:
            return None
        raw = self.data[s.offset:s.offset + s.size]
        nul = raw.find(b"\0")
        if nul <= 0:
            return None
        crc_at = (nul + 4) & ~3
        if crc_at + 4 > len(raw):
            return None
        (crc,) = struct.unpack_from(self.endian + "I", raw, crc_at)
        return raw[:nul].decode("utf-8", "replace"), crc

    def has_symbols(self) -> bool:
        """Whether a ``.symtab`` with contents is present (not stripped)."""
        s = self.section(".symtab")
        return s is not None and s.size > 0 and s.type == SHT_SYMTAB

    def offset_to_vaddr(self, offset: int) -> int | None:
        """The virtual address a PT_LOAD segment maps file offset ``offset`` at."""
        for seg in self.segments:
            if seg.type == PT_LOAD and \
                    seg.offset <= offset < seg.offset + max(seg.filesz, 1):
                return offset - seg.offset + seg.vaddr
        return None

    def load_segments(self) -> list[Segment]:
        """The PT_LOAD segments, in file order."""
        return [s for s in self.segments if s.type == PT_LOAD]


def crc32_file(path: str) -> int:
    """The CRC32 ``.gnu_debuglink`` records for a debug file."""
    crc = 0
    with open(path, "rb") as f:
        for chunk in iter(functools.partial(f.read, 1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc & 0xFFFFFFFF


__all__ = ["HostELF", "HostSection", "HostSymbol", "Segment", "USDTProbe", "crc32_file"]
