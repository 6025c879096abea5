"""Source lines and inlined frames from DWARF, through pyelftools (an optional
dependency: ``pip install ebpf[dwarf]``).

For an address, :func:`expand` returns the frames DWARF sees there, innermost
first: each ``DW_TAG_inlined_subroutine`` the address is inside (marked
``inlined``, with the line the code came from), then the real function with
the line of the outermost call site.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .elfsyms import ElfSymbols
from .frame import Frame

log = logging.getLogger(__name__)


@dataclass
class _Unit:
    cu: Any
    rows: list[tuple[int, str, int]]  # (address, file, line), sorted
    addrs: list[int] = field(default_factory=list)


class DwarfLines:
    """The DWARF of one file, indexed by address (built on first use)."""

    def __init__(self, path: str):
        from elftools.elf.elffile import ELFFile

        self._fh = open(path, "rb")  # noqa: SIM115 - kept open for pyelftools' lazy reads
        elf = ELFFile(self._fh)
        self.dwarf = elf.get_dwarf_info() if elf.has_dwarf_info() else None
        self._units: list[tuple[int, int, _Unit]] = []
        self._starts: list[int] = []
        if self.dwarf is not None:
            self._index()

    def close(self) -> None:
        self._fh.close()

    def _index(self) -> None:
        assert self.dwarf is not None
        spans = []
        for cu in self.dwarf.iter_CUs():
            lp = self.dwarf.line_program_for_CU(cu)
            if lp is None:
                continue
            names = self._file_names(lp, cu)
            rows: list[tuple[int, str, int]] = []
            for entry in lp.get_entries():
                st = entry.state
                if st is None:
                    continue
                rows.append((st.address, names.get(st.file, "?"), st.line if not st.end_sequence
                             else 0))
            if not rows:
                continue
            rows.sort(key=lambda r: r[0])
            unit = _Unit(cu, rows, [r[0] for r in rows])
            spans.append((rows[0][0], rows[-1][0], unit))
        spans.sort(key=lambda s: s[0])
        self._units = spans
        self._starts = [s[0] for s in spans]

    @staticmethod
    def _file_names(lp: Any, cu: Any) -> dict[int, str]:
        out = {}
        entries = lp["file_entry"]
        base = 0 if cu["version"] >= 5 else 1
        for i, fe in enumerate(entries):
            name = fe.name.decode("utf-8", "replace") if isinstance(fe.name, bytes) else fe.name
            out[i + base] = os.path.basename(name)
        return out

    def _unit(self, addr: int) -> _Unit | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        while i >= 0:
            lo, hi, unit = self._units[i]
            if lo <= addr < hi:
                return unit
            i -= 1
            if i >= 0 and self._units[i][1] < addr:
                break
        return None

    def line(self, addr: int) -> tuple[str, int] | None:
        unit = self._unit(addr)
        if unit is None:
            return None
        j = bisect.bisect_right(unit.addrs, addr) - 1
        if j < 0 or not unit.rows[j][2]:
            return None
        return unit.rows[j][1], unit.rows[j][2]

    def inlined_chain(self, addr: int) -> list[tuple[str, str, int]]:
        """(inlined function, call file, call line) from the outermost inline
        site inwards, for ``addr``."""
        unit = self._unit(addr)
        if unit is None or self.dwarf is None:  # (units come from the DWARF)
            return []
        names = self._file_names(self.dwarf.line_program_for_CU(unit.cu), unit.cu)
        chain: list[tuple[str, str, int]] = []
        top = unit.cu.get_top_DIE()
        node = self._containing(top, addr, ("DW_TAG_subprogram",))
        while node is not None:
            child = self._containing(node, addr, ("DW_TAG_inlined_subroutine",))
            if child is None:
                break
            name = self._name(child)
            cf = child.attributes.get("DW_AT_call_file")
            cl = child.attributes.get("DW_AT_call_line")
            chain.append((name, names.get(cf.value, "?") if cf else "?", cl.value if cl else 0))
            node = child
        return chain

    def _containing(self, die: Any, addr: int, tags: tuple[str, ...]) -> Any:
        for child in die.iter_children():
            if child.tag in tags and self._covers(child, addr):
                return child
            if child.tag in ("DW_TAG_lexical_block", "DW_TAG_namespace",
                             "DW_TAG_class_type", "DW_TAG_structure_type") or \
                    (child.tag not in tags and child.tag == "DW_TAG_subprogram"):
                if child.tag == "DW_TAG_lexical_block" and not self._covers(child, addr):
                    continue
                hit = self._containing(child, addr, tags)
                if hit is not None:
                    return hit
        return None

    def _covers(self, die: Any, addr: int) -> bool:
        at = die.attributes
        if "DW_AT_low_pc" in at and "DW_AT_high_pc" in at:
            lo = at["DW_AT_low_pc"].value
            hi = at["DW_AT_high_pc"].value
            if at["DW_AT_high_pc"].form not in ("DW_FORM_addr",):
                hi += lo
            return lo <= addr < hi
        if "DW_AT_ranges" in at and self.dwarf is not None:
            rl = self.dwarf.range_lists()
            if rl is None:
                return False
            try:
                ranges = rl.get_range_list_at_offset(at["DW_AT_ranges"].value, cu=die.cu)
            except Exception:  # noqa: BLE001 - malformed DWARF: no match
                return False
            from elftools.dwarf.ranges import BaseAddressEntry, RangeEntry

            base = die.cu.get_top_DIE().attributes.get("DW_AT_low_pc")
            b = base.value if base else 0
            for r in ranges:
                if isinstance(r, BaseAddressEntry):
                    b = r.base_address
                elif isinstance(r, RangeEntry):
                    lo, hi = r.begin_offset, r.end_offset
                    if not getattr(r, "is_absolute", False):
                        lo, hi = lo + b, hi + b
                    if lo <= addr < hi:
                        return True
        return False

    def _name(self, die: Any) -> str:
        for _ in range(8):
            at = die.attributes
            for key in ("DW_AT_linkage_name", "DW_AT_name"):
                if key in at:
                    v = at[key].value
                    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            origin = at.get("DW_AT_abstract_origin") or at.get("DW_AT_specification")
            if origin is None:
                break
            die = die.get_DIE_from_attribute(
                "DW_AT_abstract_origin" if "DW_AT_abstract_origin" in at else "DW_AT_specification")
        return "[inlined]"


_cache: dict[str, DwarfLines | None] = {}


def lines_for(syms: ElfSymbols) -> DwarfLines | None:
    """The DWARF of ``syms``' file (its debug file when it has one), cached;
    None without pyelftools or without DWARF."""
    path = syms.debug_file or syms.path
    if path in _cache:
        return _cache[path]
    try:
        import elftools  # noqa: F401
    except ImportError:
        log.warning("DWARF line information needs pyelftools (pip install ebpf[dwarf])")
        _cache[path] = None
        return None
    try:
        dl: DwarfLines | None = DwarfLines(path)
        if dl is not None and dl.dwarf is None:
            dl.close()
            dl = None
    except Exception as e:  # noqa: BLE001 - pyelftools raises many types on bad DWARF
        log.info("%s: unreadable DWARF: %s", path, e)
        dl = None
    _cache[path] = dl
    return dl


def expand(syms: ElfSymbols, vaddr: int, frame: Frame,
           demangle: Callable[[str], str]) -> list[Frame]:
    """``frame`` (the symbol at link-time address ``vaddr``) with file:line, preceded
    by the frames inlined at that address."""
    dl = lines_for(syms)
    if dl is None:
        return [frame]
    line = dl.line(vaddr)
    chain = dl.inlined_chain(vaddr)
    if not chain:
        if line is None:
            return [frame]
        return [replace(frame, file=line[0], line=line[1])]
    out: list[Frame] = []
    # innermost inlined function: the line table's line
    inner_file, inner_line = line if line else ("", 0)
    for depth in range(len(chain) - 1, -1, -1):
        name, call_file, call_line = chain[depth]
        out.append(replace(frame, name=demangle(name), file=inner_file, line=inner_line,
                           inlined=True, offset=0))
        inner_file, inner_line = call_file, call_line
    out.append(replace(frame, file=inner_file, line=inner_line))
    return out


__all__ = ["DwarfLines", "expand", "lines_for"]
