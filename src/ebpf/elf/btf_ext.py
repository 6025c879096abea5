"""``.BTF.ext`` records onto an object's code: line info and CO-RE relocations
on instructions, func info per function (made from BTF FUNC records when the
object has none, as bpf-gcc 12 writes)."""

from __future__ import annotations

import bisect
import logging
from typing import Any

from ..errors import ELFError
from .code import CodeSection, Func, ReaderState

log = logging.getLogger("ebpf.elf.reader")

__all__ = ["ExtReader"]


class ExtReader(ReaderState):
    """Reads .BTF.ext records onto code sections and functions."""

    def _attach_ext(self, cs: CodeSection) -> None:
        """Line info and CO-RE relocations from .BTF.ext onto the section's instructions."""
        ext = self.ext
        if ext is None:
            return
        name = cs.section.name
        lines = []
        for rec in ext_get(ext, "line_infos", name):
            off = rec_off(rec)
            if off % 8 or off // 8 not in cs.index_of:
                raise self.err(f".BTF.ext: line info for {name!r} at byte {off} is not on an "
                               "instruction")
            lines.append((off // 8, rec))
        lines.sort(key=lambda x: x[0])
        cs.lines = lines
        cs.line_slots = [slot for slot, _ in lines]
        for rec in ext_get(ext, "core_relos", name):
            off = rec_off(rec)
            if off % 8 or off // 8 not in cs.index_of:
                raise self.err(f".BTF.ext: CO-RE relocation for {name!r} at byte {off} is not "
                               "on an instruction")
            cs.insns[cs.index_of[off // 8]].core = rec

    def _lines_of(self, f: Func) -> list[tuple[int, Any]]:
        """(slot in the section, line record) for the line info inside ``f``."""
        cs = self._code[f.section.index]
        lo = bisect.bisect_left(cs.line_slots, f.start)
        hi = bisect.bisect_left(cs.line_slots, f.end)
        return cs.lines[lo:hi]

    def _func_infos(self, f: Func) -> list[tuple[int, int]]:
        """(slot relative to the function, BTF type id) for func_info records in ``f``."""
        cs = self._code[f.section.index]
        if cs.func_records is None:
            recs = []
            if self.ext is not None:
                for rec in ext_get(self.ext, "func_infos", f.section.name):
                    if isinstance(rec, tuple):
                        off, tid = rec[0], rec[1]
                    else:
                        off, tid = rec_off(rec), attr(rec, "type_id", 0)
                    recs.append((off // 8, tid))
            if not recs and self.btf is not None:
                recs = self._synthesized_func_infos(cs)
            recs.sort()
            cs.func_records = recs
            cs.func_slots = [r[0] for r in recs]
        keys = cs.func_slots
        lo = bisect.bisect_left(keys, f.start)
        hi = bisect.bisect_left(keys, f.end)
        return [(slot - f.start, tid) for slot, tid in cs.func_records[lo:hi]]

    def _synthesized_func_infos(self, cs: CodeSection) -> list[tuple[int, int]]:
        """func_info for a section whose .BTF.ext has none (bpf-gcc 12 writes none)
        from the BTF FUNC named like each function, when every function has one:
        the kernel needs it for callbacks and BPF-to-BPF calls once BTF is loaded."""
        from .. import btf as B

        recs = []
        for f in cs.funcs:
            # GCC clones keep the source name before a suffix (helper.constprop.0)
            name = f.name.split(".", 1)[0] if "." in f.name else f.name
            found = [t for t in self.btf.types_by_name(name) if isinstance(t, B.Func)]
            if len(found) != 1:
                return []
            recs.append((f.start, self.btf.type_id(found[0])))
        if recs:
            log.debug("%s: section %r: func_info made from BTF FUNC records", self.name,
                      cs.section.name)
        return recs


def attr(rec: Any, name: str, default: Any) -> Any:
    return getattr(rec, name, default)


def rec_off(rec: Any) -> int:
    """Byte offset of a .BTF.ext record within its section."""
    for name in ("insn_off", "insn_off_bytes", "offset"):
        v = getattr(rec, name, None)
        if isinstance(v, int):
            return v
    if isinstance(rec, tuple) and rec and isinstance(rec[0], int):
        return rec[0]
    raise ELFError(f".BTF.ext record without an instruction offset: {rec!r}")


def ext_get(ext: Any, what: str, section: str) -> list[Any]:
    table = getattr(ext, what, None) or {}
    return list(table.get(section, ()))
