"""The ELF file header and section header table, either class (32/64-bit) and
either byte order: the one place they are unpacked. :mod:`ebpf.elf.file` checks
eBPF objects strictly on top of it, :mod:`ebpf.elf.host` adds program headers,
symbols and notes for host binaries, and :mod:`ebpf.btf` takes ``.BTF`` and
``.BTF.ext`` out of an object with :func:`section_contents` (it sits below the
``elf`` package, so every layer can read a section table).

Malformed input raises :class:`ValueError` or :class:`struct.error`; each caller
turns them into its own error, naming its file.

>>> import pathlib
>>> hdr = read_header(pathlib.Path("/bin/true").read_bytes())
>>> hdr.is64 and hdr.shnum > 0
True
>>> read_header(b"#!/bin/sh")
Traceback (most recent call last):
...
ValueError: not an ELF file
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["ELFHeader", "SectionHeader", "read_header", "read_section_header",
           "section_headers", "section_contents", "SHT_NOBITS", "SHT_NULL"]

SHT_NULL = 0
SHT_NOBITS = 8

_EHDR = {True: "HHIQQQIHHHHHH", False: "HHIIIIIHHHHHH"}
_SHDR = {True: "IIQQQQIIQQ", False: "IIIIIIIIII"}


class ELFHeader(NamedTuple):
    """What the ELF header says (``e_ident`` class and byte order, then the rest)."""

    is64: bool
    endian: str  # "<" or ">", for struct
    type: int
    machine: int
    entry: int
    phoff: int
    shoff: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


@dataclass
class SectionHeader:
    """One section header as stored (``name_offset``: where its name starts in
    the section name table); readers extend it with the name and contents."""

    name_offset: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


def read_header(data: bytes) -> ELFHeader:
    """The ELF header of ``data`` (ValueError when it is not ELF)."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    (typ, machine, _version, entry, phoff, shoff, _flags, ehsize, phentsize, phnum,
     shentsize, shnum, shstrndx) = struct.unpack_from(endian + _EHDR[is64], data, 16)
    return ELFHeader(is64, endian, typ, machine, entry, phoff, shoff, ehsize, phentsize, phnum,
                     shentsize, shnum, shstrndx)


def read_section_header(data: bytes, hdr: ELFHeader, offset: int) -> SectionHeader:
    """The section header stored at ``offset``."""
    return SectionHeader(*struct.unpack_from(hdr.endian + _SHDR[hdr.is64], data, offset))


def section_headers(data: bytes, hdr: ELFHeader, count: int | None = None) -> list[SectionHeader]:
    """The section header table (``count`` entries, default ``e_shnum``)."""
    n = hdr.shnum if count is None else count
    return [read_section_header(data, hdr, hdr.shoff + i * hdr.shentsize) for i in range(n)]


def section_contents(data: bytes) -> dict[str, bytes]:
    """Name -> contents of every section of an ELF file (SHT_NOBITS ones empty)."""
    hdr = read_header(data)
    headers = section_headers(data, hdr)
    names = headers[hdr.shstrndx]
    table = data[names.offset:names.offset + names.size]
    out = {}
    for sh in headers:
        end = table.find(b"\0", sh.name_offset)
        name = table[sh.name_offset:end].decode("utf-8", "replace")
        out[name] = b"" if sh.type in (SHT_NOBITS, SHT_NULL) else \
            data[sh.offset:sh.offset + sh.size]
    return out
