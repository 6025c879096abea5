"""Reading eBPF ELF objects into :class:`ebpf.ObjectSpec`.

>>> from ebpf import elf
>>> spec = elf.read_file("prog.bpf.o")          # doctest: +SKIP
>>> [(p.name, p.type.name) for p in spec.programs.values()]  # doctest: +SKIP
[('xdp_count', 'XDP')]

Sections become programs (one per global function, linked with every
subprogram it calls), maps (``.maps``, legacy ``maps``, global data) and
variables; relocations stay symbolic on the instructions
(:class:`ebpf.isa.MapReference` ...) for a backend to resolve.
"""

from __future__ import annotations

from ..spec.sections import SectionInfo, classify, needs_target
from .reader import read_bytes, read_file

__all__ = ["SectionInfo", "classify", "needs_target", "read_bytes", "read_file"]
