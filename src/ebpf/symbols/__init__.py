"""Address -> symbol: kernel addresses through /proc/kallsyms, user addresses
through /proc/PID/maps and the mapped ELF files (with separate debug files by
build id and debug link), perf map files for JIT code, C++/Rust demangling.

>>> from ebpf.symbols import Symbolizer
>>> sym = Symbolizer()
>>> sym.kernel_frame(sym.kallsyms.address_of("schedule")).name
'schedule'
"""

from __future__ import annotations

from .demangle import demangle
from .frame import UNKNOWN, Frame
from .kallsyms import KernelSymbol, KernelSymbols, kernel_symbols
from .resolver import Symbolizer

__all__ = ["UNKNOWN", "Frame", "KernelSymbol", "KernelSymbols", "Symbolizer", "demangle",
           "kernel_symbols"]
