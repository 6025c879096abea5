"""Pull the ``.BTF`` and ``.BTF.ext`` sections out of an ELF object without a
full ELF reader (the ``ebpf.elf`` package does the real work for loading)."""

from __future__ import annotations

import struct

from ..errors import BTFError


def elf_sections(data: bytes, where: str = "<bytes>") -> dict[str, bytes]:
    """Name -> contents of every section of a 64-bit ELF file (SHT_NOBITS empty)."""
    if data[:4] != b"\x7fELF":
        raise BTFError(f"{where}: not an ELF file")
    if data[4] != 2:
        raise BTFError(f"{where}: only 64-bit ELF is supported")
    e = "<" if data[5] == 1 else ">"
    try:
        (shoff,) = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        hdrs = []
        for i in range(shnum):
            name, sh_type, _flags, _addr, off, size = struct.unpack_from(
                e + "IIQQQQ", data, shoff + i * shentsize)
            hdrs.append((name, sh_type, off, size))
        _, _, stroff, strsize = hdrs[shstrndx]
        strtab = data[stroff:stroff + strsize]
        out = {}
        for name, sh_type, off, size in hdrs:
            end = strtab.find(b"\0", name)
            sname = strtab[name:end].decode("utf-8", "replace")
            out[sname] = b"" if sh_type == 8 else data[off:off + size]
        return out
    except (struct.error, IndexError) as ex:
        raise BTFError(f"{where}: truncated or malformed ELF section table ({ex})") from None


def btf_sections(data: bytes, where: str = "<bytes>") -> tuple[bytes | None, bytes | None]:
    """(.BTF, .BTF.ext) contents of an ELF object; None for a missing section."""
    secs = elf_sections(data, where)
    return secs.get(".BTF"), secs.get(".BTF.ext")
