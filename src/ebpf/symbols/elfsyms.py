"""The function symbols of one host ELF file, looked up by address.

Symbols come from ``.symtab`` (the full table; absent from stripped files),
``.dynsym`` (exported functions, always there for shared objects) and, when a
separate debug file is found (:mod:`.debugfile`), its ``.symtab``.
"""

from __future__ import annotations

import logging

from ..elf.host import SHN_UNDEF, STT_FUNC, STT_GNU_IFUNC, HostELF
from ..errors import Error
from .debugfile import DEFAULT_DEBUG_DIRS, find_debug_file
from .table import SymbolTable

log = logging.getLogger(__name__)

STB_GLOBAL, STB_WEAK = 1, 2


class ElfSymbols(SymbolTable):
    """Sorted function symbols of a binary (and its debug file).

    ``lookup_offset(file_offset)`` turns an offset in the file (what a
    /proc/PID/maps entry and a build-id stack frame give) into (name, offset
    into the function); ``lookup_vaddr`` does it from a link-time address.
    """

    def __init__(self, path: str, *, display_path: str = "",
                 debug_dirs: tuple[str, ...] = DEFAULT_DEBUG_DIRS, root: str = "",
                 elf: HostELF | None = None):
        self.path = path
        self.display_path = display_path or path
        self.elf = elf if elf is not None else HostELF(path)
        self.build_id = self.elf.build_id()
        self.debug_file: str | None = None
        syms = []
        sources = [self.elf]
        if not self.elf.has_symbols():
            dbg = find_debug_file(self.elf, self.display_path, debug_dirs=debug_dirs, root=root)
            if dbg:
                try:
                    sources.insert(0, HostELF(dbg))
                    self.debug_file = dbg
                except Error as e:
                    log.info("%s: unusable debug file %s: %s", self.display_path, dbg, e)
        for prio, elf in enumerate(sources):
            for s in elf.symbols():
                if s.type in (STT_FUNC, STT_GNU_IFUNC) and s.shndx != SHN_UNDEF and s.value:
                    rank = (prio, s.table != ".symtab", s.bind not in (STB_GLOBAL, STB_WEAK))
                    # "clock_nanosleep@@GLIBC_2.17" in a debug file's .symtab: show the name
                    syms.append((s.value, rank, s.size, s.name.split("@", 1)[0] or s.name))
        syms.sort()
        # one symbol per address: the best ranked (sorted first)
        rows: list[tuple[int, int, str]] = []
        for value, _rank, size, name in syms:
            if not rows or rows[-1][0] != value:
                rows.append((value, size, name))
        super().__init__(rows, unsized=None)  # a sizeless symbol runs to the next
        self.debug_elf = sources[0] if self.debug_file else None

    def lookup_vaddr(self, vaddr: int) -> tuple[str, int] | None:
        """(symbol name, offset into it) for link-time address ``vaddr``."""
        return self.containing(vaddr)

    def vaddr_of_offset(self, file_offset: int) -> int | None:
        """The link-time address file offset ``file_offset`` is loaded at."""
        return self.elf.offset_to_vaddr(file_offset)

    def lookup_offset(self, file_offset: int) -> tuple[str, int] | None:
        vaddr = self.vaddr_of_offset(file_offset)
        return None if vaddr is None else self.lookup_vaddr(vaddr)


__all__ = ["ElfSymbols"]
