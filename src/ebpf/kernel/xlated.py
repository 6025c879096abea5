"""Annotations for translated (xlated) instructions, as bpftool shows them: helper
and kernel function names for calls, map ids and names for map loads, and the
source lines of the program's BTF line info.

>>> print(format_line_info("prog.bpf.c", 11, "if (x)"))
; if (x) @ prog.bpf.c:11
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import Error
from ..uapi.consts import BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE
from ..uapi.structs import LineInfo

log = logging.getLogger("ebpf.kernel")



@dataclass
class Annotations:
    """What the kernel tells about a program beyond its instructions."""

    maps: dict[int, str] = field(default_factory=dict)        # map id -> name
    lines: dict[int, str] = field(default_factory=dict)       # slot -> "; source @ file:line"
    call_base: int | None = None                              # __bpf_call_base


def format_line_info(file: str, line: int, source: str) -> str:
    return f"; {source.strip()} @ {file.rsplit('/', 1)[-1]}:{line}"


def read_annotations(fd: int) -> Annotations:
    """Map names, line info and the helper call base for the program behind ``fd``;
    what cannot be read (no BTF, kptr_restrict) is left out."""
    from .info import _prog_info_raw, map_info

    out = Annotations()
    first = _prog_info_raw(fd)
    n = first.nr_map_ids
    if n:
        ids = (ctypes.c_uint32 * n)()
        got = _prog_info_raw(fd, nr_map_ids=n, map_ids=ctypes.addressof(ids))
        for map_id in ids[:min(n, got.nr_map_ids)]:
            try:
                out.maps[map_id] = map_info(map_id).name
            except Error:
                out.maps[map_id] = ""
    nl = first.nr_line_info
    if nl and first.btf_id:
        recs = (LineInfo * nl)()
        got = _prog_info_raw(fd, nr_line_info=nl, line_info=ctypes.addressof(recs),
                             line_info_rec_size=ctypes.sizeof(LineInfo))
        try:
            from .btf import btf_spec_by_id

            spec = btf_spec_by_id(got.btf_id)
            for r in recs[:min(nl, got.nr_line_info)]:
                source = spec.string(r.line_off)
                if source:
                    out.lines[r.insn_off] = format_line_info(
                        spec.string(r.file_name_off), r.line_col >> 10, source)
        except Error as e:
            log.debug("program fd %d: no line info (%s)", fd, e)
    try:
        from ..symbols.kallsyms import address_of

        out.call_base = address_of("__bpf_call_base")
    except OSError:
        out.call_base = None
    return out


def call_target(ins: Any, ann: Annotations) -> str:
    """The kernel function a helper/kfunc call of the xlated code goes to: the
    verifier turned its imm into an offset from ``__bpf_call_base``."""
    if ins.src == BPF_PSEUDO_CALL or ann.call_base is None:
        return ""
    from ..symbols.kallsyms import kernel_symbols

    sym = kernel_symbols().lookup((ann.call_base + ins.imm) & 0xFFFF_FFFF_FFFF_FFFF)
    if sym is None or sym.address != (ann.call_base + ins.imm) & 0xFFFF_FFFF_FFFF_FFFF:
        return ""
    return sym.name


def annotate(slot: int, ins: Any, text: str, ann: Annotations) -> str:
    """``text`` (the formatted instruction) with what bpftool adds to it."""
    if ins.opcode == 0x85:  # call
        target = call_target(ins, ann)
        if target:
            return f"call {target}#{ins.imm}"
    if ins.opcode == 0x18 and ins.src in (BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE):
        map_id = ins.imm & 0xFFFF_FFFF
        name = ann.maps.get(map_id)
        if name is not None:
            where = f"map[id:{map_id}]" + (f" {name}" if name else "")
            if ins.src == BPF_PSEUDO_MAP_VALUE:
                where += f" + {ins.imm >> 32}"
            return f"r{ins.dst} = {where} ll"
    return text


__all__ = ["Annotations", "annotate", "call_target", "format_line_info", "read_annotations"]
