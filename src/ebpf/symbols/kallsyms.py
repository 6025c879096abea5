"""Kernel symbols from ``/proc/kallsyms``: address -> function (with its module),
name -> address. The one reader of that file in the code base.

>>> from ebpf.symbols.kallsyms import kernel_symbols
>>> ks = kernel_symbols()
>>> addr = ks.address_of("schedule")
>>> ks.lookup(addr + 1).address == addr
True
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

KALLSYMS = "/proc/kallsyms"
KERNEL_MODULE = "kernel"


@dataclass(frozen=True)
class KernelSymbol:
    address: int
    name: str
    module: str  # "kernel" for the kernel image, else the module name
    type: str  # nm-style letter: t/T text, d/D data, ...


def parse_kallsyms(text: str) -> Iterator[tuple[int, str, str, str]]:
    """(address, nm-style type letter, name, module) for each line of kallsyms
    text; the module is "" for the kernel image. Malformed lines are skipped."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        try:
            addr = int(parts[0], 16)
        except ValueError:
            continue
        module = parts[3][1:-1] if len(parts) > 3 and parts[3].startswith("[") else ""
        yield addr, parts[1], parts[2], module


def read_kallsyms(path: str = KALLSYMS) -> list[tuple[int, str, str, str]]:
    """:func:`parse_kallsyms` of the file at ``path`` (OSError when unreadable)."""
    with open(path) as f:
        return list(parse_kallsyms(f.read()))


class KernelSymbols:
    """A sorted table of the kernel's symbols.

    ``lookup(addr)`` finds the function containing ``addr`` (the last symbol at
    or below it); ``address_of(name)`` the first address of ``name``. When every
    address reads 0 (``kptr_restrict`` without privileges) the table is empty
    for lookups: ``usable`` is False.
    """

    def __init__(self, text: str | None = None, path: str = KALLSYMS):
        if text is None:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError as e:
                log.warning("cannot read %s: %s; kernel addresses stay unresolved", path, e)
                text = ""
        by_name: dict[str, int] = {}
        rows: list[tuple[int, str, str, str]] = []
        for addr, typ, name, module in parse_kallsyms(text):
            by_name.setdefault(name, addr)
            if typ in "tTwW" and addr:
                rows.append((addr, name, module or KERNEL_MODULE, typ))
        rows.sort(key=lambda r: r[0])
        self._names = by_name
        self._addrs = [r[0] for r in rows]
        self._rows = rows
        self.usable = bool(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def address_of(self, name: str) -> int | None:
        """The address of symbol ``name`` (any type), None when absent or hidden (0)."""
        return self._names.get(name) or None

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def lookup(self, address: int) -> KernelSymbol | None:
        """The text symbol containing ``address``, or None (below the first one)."""
        i = bisect.bisect_right(self._addrs, address) - 1
        if i < 0:
            return None
        a, name, module, typ = self._rows[i]
        return KernelSymbol(a, name, module, typ)


_lock = threading.Lock()
_cached: KernelSymbols | None = None


def kernel_symbols(reload: bool = False) -> KernelSymbols:
    """The running kernel's symbols, read once per process (``reload`` re-reads,
    e.g. after a module was loaded)."""
    global _cached
    with _lock:
        if _cached is None or reload:
            _cached = KernelSymbols()
        return _cached


def address_of(name: str) -> int | None:
    """The /proc/kallsyms address of ``name`` (None when absent)."""
    return kernel_symbols().address_of(name)


__all__ = ["KALLSYMS", "KernelSymbol", "KernelSymbols", "address_of", "kernel_symbols",
           "parse_kallsyms", "read_kallsyms"]
