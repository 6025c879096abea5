"""struct_ops maps: each variable of a ``.struct_ops[.link]`` section is a
one-entry map whose value is a kernel struct of function pointers set to
programs of the object."""

from __future__ import annotations

from typing import Any

from ..errors import ELFError
from ..spec import (
    MapSpec,
)
from ..uapi import MapType
from ..uapi.consts import BPF_F_LINK
from .file import (
    SHF_EXECINSTR,
    SHT_PROGBITS,
    STT_FUNC,
    ELFFile,
    Section,
)
from .maps import MapPlacement, MapsResult, btf_model, btf_type_id, find_datasec, fix_datasec, sized


def is_struct_ops_section(sec: Section) -> bool:
    n = sec.name
    return (n in (".struct_ops", ".struct_ops.link") or n.startswith(".struct_ops.")) \
        and sec.type == SHT_PROGBITS and not sec.flags & SHF_EXECINSTR


def read_struct_ops(elf: ELFFile, sec: Section, spec: Any, result: MapsResult,
                    rels: list | None) -> None:
    """struct_ops maps: each variable of ``.struct_ops[.link]`` is a one-entry map
    whose value is the kernel struct (e.g. ``struct sched_ext_ops``) with its
    function pointers set to programs of this object. ``contents`` holds
    ``(member name, program name)`` pairs; ``data`` the initial struct bytes."""
    if spec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} (struct_ops) needs BTF")
    datasec = find_datasec(spec, sec.name)
    if datasec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} has no BTF DATASEC describing it")
    fix_datasec(elf, sec, datasec)
    B = btf_model()
    placed = []
    for vsi in datasec.vars:
        var = vsi.type
        if not isinstance(var, B.Var) or not var.name:
            raise ELFError(f"{elf.name}: {sec.name!r} DATASEC entry is not a named variable")
        st = B.resolve(var.type)
        if not isinstance(st, B.Struct):
            raise ELFError(f"{elf.name}: struct_ops map {var.name!r} is not a struct but {st!r}")
        size = sized(var.name, "struct_ops value", st)
        if vsi.offset + size > sec.size:
            raise ELFError(f"{elf.name}: struct_ops map {var.name!r} lies outside {sec.name!r}")
        if var.name in result.maps:
            raise ELFError(f"{elf.name}: map {var.name!r} defined twice")
        result.maps[var.name] = MapSpec(
            name=var.name, type=MapType.STRUCT_OPS, key_size=4, value_size=size, max_entries=1,
            flags=BPF_F_LINK if sec.name.endswith(".link") else 0, value_type=st,
            btf_value_type_id=btf_type_id(spec, st), btf=spec, section=sec.name,
            data=sec.data[vsi.offset:vsi.offset + size])
        placed.append((var.name, vsi.offset, size, st))
    result.placements[sec.index] = [MapPlacement(n, o, sz) for n, o, sz, _ in placed]
    for rel in rels or ():
        for name, off, size, st in placed:
            if off <= rel.offset < off + size:
                member = next((m for m in st.members if m.offset == 8 * (rel.offset - off)),
                              None)
                if member is None or rel.symbol.type != STT_FUNC:
                    raise ELFError(f"{elf.name}: struct_ops map {name!r}: relocation at offset "
                                   f"{rel.offset - off} is not a function pointer member")
                result.struct_ops_values.append((name, member.name, rel.symbol))
                break



__all__ = ["BPF_F_LINK", "is_struct_ops_section", "read_struct_ops"]
