"""Global data: ``.data``, ``.rodata*`` and ``.bss`` sections as one-element
array maps with the variables in them, and ``__arena`` globals (``.addr_space.1``)
placed in the object's ARENA map."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import BTFError, ELFError
from ..spec import (
    BPF_F_MMAPABLE,
    BPF_F_RDONLY_PROG,
    MapSpec,
    VariableSpec,
)
from ..uapi import MapType
from .file import (
    SHF_EXECINSTR,
    SHT_NOBITS,
    SHT_PROGBITS,
    ELFFile,
    Section,
)
from .maps import MapsResult, btf_model, btf_type_id, find_datasec, fix_datasec, symbols_in

log = logging.getLogger(__name__)

#: Largest global-data section we accept (the kernel refuses array values of more
#: than a few MiB anyway).
MAX_DATA_SIZE = 64 << 20



def is_data_section(sec: Section) -> bool:
    """Sections that become global-data maps: .data, .data.*, .rodata, .rodata.*,
    .bss, .bss.* (non-executable PROGBITS/NOBITS)."""
    if sec.type not in (SHT_PROGBITS, SHT_NOBITS) or sec.flags & SHF_EXECINSTR:
        return False
    n = sec.name
    return any(n == p or n.startswith(p + ".") for p in (".data", ".rodata", ".bss"))


def is_readonly_section(name: str) -> bool:
    return name == ".rodata" or name.startswith(".rodata.") or name == ".kconfig"



def _qualifiers(t: Any) -> set[str]:
    B = btf_model()
    out = set()
    for _ in range(64):
        if isinstance(t, B.Const):
            out.add("const")
        elif isinstance(t, B.Volatile):
            out.add("volatile")
        elif not isinstance(t, (B.Typedef, B.Restrict, B.TypeTag, B.Array)):
            break
        t = t.type
    return out


def read_data_maps(elf: ELFFile, spec: Any, result: MapsResult) -> None:
    """Global-data maps and their variables."""
    for sec in elf.sections:
        if not is_data_section(sec):
            continue
        if sec.size == 0:
            continue
        name = sec.name
        if sec.size > MAX_DATA_SIZE:
            raise ELFError(f"{elf.name}: global data section {name!r} is {sec.size} bytes "
                           f"(more than {MAX_DATA_SIZE})")
        readonly = is_readonly_section(name)
        datasec = find_datasec(spec, name)
        fix_datasec(elf, sec, datasec)
        flags = BPF_F_MMAPABLE | (BPF_F_RDONLY_PROG if readonly else 0)
        data = bytes(sec.size) if sec.type == SHT_NOBITS else sec.data
        if name in result.maps:
            raise ELFError(f"{elf.name}: a map named {name!r} exists already")
        result.maps[name] = MapSpec(
            name=name, type=MapType.ARRAY, key_size=4, value_size=sec.size, max_entries=1,
            flags=flags, value_type=datasec, btf_value_type_id=btf_type_id(spec, datasec),
            btf=spec if datasec is not None else None, section=name, data=data,
            freeze=readonly,
        )
        result.data_sections[sec.index] = name
        _variables(elf, sec, name, datasec, readonly, result)


def _variables(elf: ELFFile, sec: Section, mapname: str, datasec: Any, readonly: bool,
               result: MapsResult) -> None:
    if datasec is not None:
        B = btf_model()
        for vsi in datasec.vars:
            var = vsi.type
            if not isinstance(var, B.Var) or not var.name:
                continue
            if var.name in result.variables:
                log.debug("%s: variable %r appears twice; keeping the first", elf.name,
                          var.name)
                continue
            size = vsi.size
            if not size:
                try:
                    size = B.sizeof(var.type)
                except BTFError:
                    size = 0
            if vsi.offset + size > sec.size:
                raise ELFError(f"{elf.name}: variable {var.name!r} ({size} bytes at "
                               f"{vsi.offset}) lies outside {sec.name!r} ({sec.size} bytes)")
            quals = _qualifiers(var.type)
            result.variables[var.name] = VariableSpec(
                name=var.name, map=mapname, offset=vsi.offset, size=size, type=var.type,
                readonly=readonly, constant=readonly and {"const", "volatile"} <= quals)
        return
    # no BTF: ELF object symbols
    for sym in symbols_in(elf, sec):
        if sym.name.startswith(".L") or sym.name in result.variables:
            continue
        if sym.value + sym.size > sec.size:
            raise ELFError(f"{elf.name}: variable {sym.name!r} lies outside {sec.name!r}")
        result.variables[sym.name] = VariableSpec(
            name=sym.name, map=mapname, offset=sym.value, size=sym.size, readonly=readonly,
            constant=readonly)


def read_arena_globals(elf: ELFFile, spec: Any, result: MapsResult) -> None:
    """Globals in ``.addr_space.1`` (``__arena``) live in the object's ARENA map:
    references become offsets into that map's value area, the section's bytes its
    initial contents (``MapSpec.data``)."""
    secs = [s for s in elf.sections if s.name.startswith(".addr_space.") and s.size
            and s.type in (SHT_PROGBITS, SHT_NOBITS)]
    if not secs:
        return
    arena_type = getattr(MapType, "ARENA", None)
    arenas = [m for m in result.maps.values() if arena_type is not None and m.type == arena_type]
    if len(arenas) != 1:
        raise ELFError(f"{elf.name}: section {secs[0].name!r} holds arena globals but the object "
                       f"defines {len(arenas)} arena maps (needs exactly one)")
    if len(secs) > 1:
        raise ELFError(f"{elf.name}: more than one arena data section "
                       f"({', '.join(s.name for s in secs)})")
    sec, arena = secs[0], arenas[0]
    if sec.size > MAX_DATA_SIZE:
        raise ELFError(f"{elf.name}: arena data section {sec.name!r} is {sec.size} bytes")
    arena.data = bytes(sec.size) if sec.type == SHT_NOBITS else sec.data
    result.data_sections[sec.index] = arena.name
    datasec = find_datasec(spec, sec.name)
    fix_datasec(elf, sec, datasec)
    _variables(elf, sec, arena.name, datasec, False, result)



__all__ = ["MAX_DATA_SIZE", "is_data_section", "is_readonly_section", "read_arena_globals",
           "read_data_maps"]
