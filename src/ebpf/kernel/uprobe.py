"""Where a uprobe goes: binaries and libraries by name, ELF symbols to file
offsets, USDT notes.

The kernel's uprobe PMU wants a path and a *file offset*. A symbol's value is a
virtual address; the program headers say which file offset is mapped there.
Versioned dynamic symbols (``getpid@@GLIBC_2.2.5``, ``memcpy@GLIBC_2.2.5``) are
matched through ``.gnu.version``/``.gnu.version_d``.

>>> from ebpf.kernel import uprobe
>>> libc = uprobe.resolve_binary("c")
>>> uprobe.symbol_offset(libc, "getpid") == uprobe.symbol_offset(libc, "getpid@@GLIBC_2.2.5")
True
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass

from ..errors import AttachError

log = logging.getLogger("ebpf.kernel.uprobe")

LIB_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")

# ELF constants
ET_EXEC, ET_DYN = 2, 3
PT_LOAD = 1
PF_X = 1
SHT_SYMTAB, SHT_NOTE, SHT_DYNSYM = 2, 7, 11
SHT_GNU_VERDEF, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFF
STT_FUNC, STT_GNU_IFUNC = 2, 10
SHN_UNDEF = 0
VERSYM_HIDDEN = 0x8000


_MALFORMED = (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError)


def _guarded(method):
    """Turn what a malformed ELF file makes the parser trip on into AttachError."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _MALFORMED as e:
            raise AttachError(f"{self.path}: malformed ELF file ({type(e).__name__}: {e})") \
                from None
    return wrapper


@dataclass
class Segment:
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int


@dataclass
class Section:
    name: str
    type: int
    addr: int
    offset: int
    size: int
    link: int
    entsize: int


@dataclass
class Symbol:
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


class ELFFile:
    """A small read-only ELF reader: program headers, sections, symbols, notes."""

    def __init__(self, path: str):
        self.path = path
        try:
            with open(path, "rb") as f:
                self.data = f.read()
        except FileNotFoundError:
            raise AttachError(f"no such file: {path}") from None
        except OSError as e:
            raise AttachError(f"reading {path}", e.errno) from None
        d = self.data
        if len(d) < 52 or d[:4] != b"\x7fELF":
            raise AttachError(f"{path} is not an ELF file")
        self.is64 = d[4] == 2
        self.endian = "<" if d[5] == 1 else ">"
        e = self.endian
        try:
            if self.is64:
                (self.type, _m, _v, self.entry, phoff, shoff, _fl, _eh, phentsize, phnum,
                 shentsize, shnum, shstrndx) = struct.unpack_from(e + "HHIQQQIHHHHHH", d, 16)
            else:
                (self.type, _m, _v, self.entry, phoff, shoff, _fl, _eh, phentsize, phnum,
                 shentsize, shnum, shstrndx) = struct.unpack_from(e + "HHIIIIIHHHHHH", d, 16)
            self.segments = [self._phdr(phoff + i * phentsize) for i in range(phnum)]
            raw_sections = [self._shdr(shoff + i * shentsize) for i in range(shnum)]
        except (struct.error, OverflowError):
            raise AttachError(f"{path}: truncated or corrupt ELF headers") from None
        names = raw_sections[shstrndx] if 0 <= shstrndx < len(raw_sections) else None
        self.sections: list[Section] = []
        for (name_off, typ, addr, off, size, link, entsize) in raw_sections:
            try:
                name = self._str(names[3] + name_off) if names else ""
            except (ValueError, OverflowError):
                name = ""
            if link >= len(raw_sections):
                link = 0  # corrupt link: treat as none
            self.sections.append(Section(name, typ, addr, off, size, link, entsize))

    # ---- raw headers -------------------------------------------------------
    def _phdr(self, off: int) -> Segment:
        e = self.endian
        if self.is64:
            typ, flags, offset, vaddr, _pa, filesz, memsz, _al = struct.unpack_from(
                e + "IIQQQQQQ", self.data, off)
        else:
            typ, offset, vaddr, _pa, filesz, memsz, flags, _al = struct.unpack_from(
                e + "IIIIIIII", self.data, off)
        seg = Segment(vaddr, memsz, offset, filesz, flags)
        seg.type = typ  # type: ignore[attr-defined]
        return seg

    def _shdr(self, off: int) -> tuple[int, int, int, int, int, int, int]:
        e = self.endian
        if self.is64:
            name, typ, _fl, addr, offset, size, link, _info, _al, entsize = struct.unpack_from(
                e + "IIQQQQIIQQ", self.data, off)
        else:
            name, typ, _fl, addr, offset, size, link, _info, _al, entsize = struct.unpack_from(
                e + "IIIIIIIIII", self.data, off)
        return name, typ, addr, offset, size, link, entsize

    def _str(self, off: int) -> str:
        end = self.data.find(b"\0", off)
        if end < 0:
            end = len(self.data)
        return self.data[off:end].decode("utf-8", "replace")

    def section(self, name: str) -> Section | None:
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
    def symbols(self) -> list[Symbol]:
        """Every symbol of .symtab and .dynsym (dynamic ones carry their version)."""
        out: list[Symbol] = []
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
                sym = Symbol(self._str(strtab.offset + name), value, size, info & 0xF,
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
            if getattr(seg, "type", 0) != PT_LOAD:
                continue
            if seg.vaddr <= vaddr < seg.vaddr + max(seg.memsz, seg.filesz):
                if best is None or (seg.flags & PF_X and not best.flags & PF_X):
                    best = seg
        if best is None:
            raise AttachError(f"{self.path}: address {vaddr:#x} is in no loadable segment")
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
                    except AttachError:
                        sem_off = 0
                out.append(USDTProbe(provider.decode("utf-8", "replace"),
                                     pname.decode("utf-8", "replace"), pc,
                                     self.vaddr_to_offset(pc), sem, sem_off,
                                     args.decode("utf-8", "replace")))
            off = nxt
        return out


@functools.lru_cache(maxsize=32)
def _elf(path: str, mtime: float) -> ELFFile:  # mtime keys the cache on file changes
    return ELFFile(path)


def open_elf(path: str) -> ELFFile:
    """A cached :class:`ELFFile` for ``path``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise AttachError(f"no such file: {path}") from None
    return _elf(os.path.realpath(path), st.st_mtime)


_SYM_RE = re.compile(r"^(?P<name>[^@+]+)(?:(?P<at>@@?)(?P<ver>[^+]+))?(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?$")


def symbol_offset(path: str, symbol: str) -> int:
    """File offset (for a uprobe) of function ``symbol`` in ELF file ``path``.

    ``symbol`` may carry a version (``getpid@@GLIBC_2.2.5`` or ``getpid@GLIBC_2.2.5``)
    and an offset (``main+0x10``). Without a version, the default (``@@``) version
    wins when a library defines several.
    """
    m = _SYM_RE.match(symbol.strip())
    if not m:
        raise AttachError(f"bad symbol {symbol!r} (expected name, name@VERSION or name+0xOFF)")
    name, ver, extra = m.group("name"), m.group("ver") or "", m.group("off")
    add = int(extra, 0) if extra else 0
    elf = open_elf(path)
    candidates = [s for s in elf.symbols() if s.name == name and s.shndx != SHN_UNDEF
                  and s.value != 0]
    if ver:
        candidates = [s for s in candidates if s.version == ver]
    if not candidates:
        known = sorted({s.name for s in elf.symbols() if s.type in (STT_FUNC, STT_GNU_IFUNC)
                        and s.shndx != SHN_UNDEF and name in s.name})[:5]
        hint = f" (similar: {', '.join(known)})" if known else ""
        raise AttachError(f"no symbol {name}{'@' + ver if ver else ''} in {path}{hint}")
    funcs = [s for s in candidates if s.type in (STT_FUNC, STT_GNU_IFUNC)] or candidates
    funcs.sort(key=lambda s: (s.table != ".symtab", not s.default_version))
    sym = funcs[0]
    if sym.type == STT_GNU_IFUNC:
        log.warning("%s in %s is an IFUNC resolver: the probe fires when the resolver runs, "
                    "not the resolved implementation", name, path)
    values = {s.value for s in funcs if s.default_version == sym.default_version}
    if len(values) > 1 and not ver:
        log.debug("%s has several addresses in %s; using %#x", name, path, sym.value)
    return elf.vaddr_to_offset(sym.value) + add


def usdt_probes(path: str) -> list[USDTProbe]:
    """The USDT probes (``.note.stapsdt``) of ELF file ``path``."""
    return open_elf(path).usdt_probes()


def find_usdt(path: str, provider: str, name: str) -> list[USDTProbe]:
    """The USDT probes named ``provider:name`` in ``path`` (one per call site)."""
    found = [p for p in usdt_probes(path) if p.provider == provider and p.name == name]
    if not found:
        have = sorted({f"{p.provider}:{p.name}" for p in usdt_probes(path)})[:10]
        raise AttachError(f"no USDT probe {provider}:{name} in {path}"
                          + (f" (it has: {', '.join(have)})" if have else " (it has none)"))
    return found


@functools.cache
def _ldconfig() -> dict[str, str]:
    exe = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None)
    out: dict[str, str] = {}
    if exe is None:
        return out
    try:
        text = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return out
    for line in text.splitlines()[1:]:
        if "=>" not in line:
            continue
        left, path = line.split("=>", 1)
        soname = left.strip().split(" ", 1)[0]
        if "x86-64" in left or "AArch64" in left or "64bit" in left or soname not in out:
            out.setdefault(soname, path.strip())
    return out


def _lib_from_maps(pid: int, stem: str) -> str | None:
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith("/"):
                    base = os.path.basename(parts[5])
                    if base == stem or base.startswith(stem + ".") or base.startswith(stem + "-"):
                        return parts[5]
    except OSError:
        return None
    return None


def resolve_binary(name: str, pid: int | None = None) -> str:
    """A path for a uprobe target: a path as is; ``"c"``/``"libc"``/``"libc.so.6"``
    through the libraries ``pid`` maps, ldconfig -p, then the standard lib dirs; a
    program name through $PATH."""
    if not name:
        raise AttachError("uprobe needs binary= (a path, a library name such as 'c' or "
                          "'libc.so.6', or a program on $PATH)")
    if "/" in name:
        if not os.path.exists(name):
            raise AttachError(f"uprobe target {name} does not exist")
        return os.path.abspath(name)
    stem = name
    if not stem.startswith("lib") and (".so" not in stem):
        libstem = "lib" + stem
    else:
        libstem = stem
    libstem_noso = libstem.split(".so")[0]
    if pid is not None:
        hit = _lib_from_maps(pid, libstem_noso + ".so") or _lib_from_maps(pid, libstem_noso)
        if hit:
            return hit
    cache = _ldconfig()
    if libstem in cache:
        return cache[libstem]
    for soname, path in sorted(cache.items()):
        if soname.startswith(libstem_noso + ".so"):
            return path
    for d in LIB_DIRS:
        for cand in (libstem, libstem_noso + ".so", libstem_noso + ".so.6"):
            p = os.path.join(d, cand)
            if os.path.exists(p):
                return p
    exe = shutil.which(name)
    if exe:
        return exe
    raise AttachError(f"cannot find binary or library {name!r} (not in ldconfig -p, "
                      f"{', '.join(LIB_DIRS[:4])}..., or $PATH)")


def parse_target(target: str) -> tuple[str, str]:
    """Split a section's uprobe target ``/path/bin:symbol`` (or ``libc.so.6:getpid``)."""
    if ":" not in target:
        return target, ""
    binary, _, sym = target.rpartition(":")
    return binary, sym
