"""Symbols as sorted address ranges, looked up by address: what an ELF file's
function symbols (:mod:`.elfsyms`) and a JIT's perf map (:mod:`.perfmap`) share.

>>> t = SymbolTable([(0x1000, 0x10, "f"), (0x2000, 0, "g")], unsized=None)
>>> t.containing(0x1004), t.containing(0x1010), t.containing(0x2345)
(('f', 4), None, ('g', 837))
"""

from __future__ import annotations

import bisect


class SymbolTable:
    """``(start, size, name)`` rows sorted by start. A symbol of size 0 covers
    ``unsized`` bytes (None: everything up to the next symbol)."""

    def __init__(self, rows: list[tuple[int, int, str]], unsized: int | None) -> None:
        self._rows = rows
        self._starts = [r[0] for r in rows]
        self._unsized = unsized

    def __len__(self) -> int:
        return len(self._rows)

    def containing(self, address: int) -> tuple[str, int] | None:
        """(name, offset into it) of the symbol ``address`` falls in, or None."""
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        start, size, name = self._rows[i]
        size = size or self._unsized or 0
        if size and address >= start + size:
            return None
        return name, address - start
