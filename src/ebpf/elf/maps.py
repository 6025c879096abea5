"""Maps an object defines: BTF-defined maps (``.maps``) and legacy ``maps``
section definitions (``struct bpf_map_def``), where each sits in its section (to
resolve relocations), and the BTF helpers the other map kinds share. Global data
is :mod:`.datasec`, struct_ops maps :mod:`.struct_ops`, the ``.kconfig`` area
and other externs :mod:`.externs`.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from ..errors import BTFError, ELFError
from ..spec import (
    MapSpec,
    PinType,
    VariableSpec,
)
from ..uapi import MapType
from .file import (
    SHT_PROGBITS,
    STT_FUNC,
    STT_SECTION,
    ELFFile,
    Section,
    Symbol,
)

log = logging.getLogger(__name__)

#: Names of the members a BTF-defined map may have (libbpf convention)
_INT_ATTRS = ("type", "max_entries", "map_flags", "numa_node", "key_size", "value_size",
              "map_extra", "pinning")
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
#: Map types the kernel refuses BTF key/value ids for (it answers ENOTSUPP/EINVAL):
#: their MapSpec keeps key_type/value_type for decoding but btf_*_type_id = 0.
_NO_BTF_IDS = frozenset(
    t for t in (getattr(MapType, n, None) for n in (
        "PERF_EVENT_ARRAY", "CGROUP_ARRAY", "STACK_TRACE", "ARRAY_OF_MAPS", "HASH_OF_MAPS",
        "DEVMAP", "DEVMAP_HASH", "CPUMAP", "XSKMAP", "SOCKMAP", "SOCKHASH", "QUEUE", "STACK",
        "ARENA", "PROG_ARRAY", "RINGBUF", "USER_RINGBUF", "REUSEPORT_SOCKARRAY"))
    if t is not None)

@dataclass
class MapPlacement:
    """Where a map definition lives in its section (to resolve relocations)."""

    name: str
    offset: int
    size: int


@dataclass
class MapsResult:
    maps: dict[str, MapSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    #: section index -> placements, for relocations against map sections
    placements: dict[int, list[MapPlacement]] = field(default_factory=dict)
    #: section index -> global data map name
    data_sections: dict[int, str] = field(default_factory=dict)
    #: initial values of prog arrays to resolve once programs are known:
    #: (map name, index, symbol)
    prog_values: list[tuple[str, int, Symbol]] = field(default_factory=list)
    #: struct_ops function pointers to resolve: (map name, member name, symbol)
    struct_ops_values: list[tuple[str, str, Symbol]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# helpers over the BTF model (ebpf.btf)


def btf_model():
    from .. import btf

    return btf


def symbols_in(elf: ELFFile, sec: Section) -> list[Symbol]:
    return [s for s in elf.symbols if s.shndx == sec.index and s.type != STT_SECTION
            and s.name]


def find_datasec(spec: Any, name: str) -> Any:
    if spec is None:
        return None
    B = btf_model()
    found = [t for t in spec.types_by_name(name) if isinstance(t, B.Datasec)]
    return found[0] if found else None


def _uint_member(mapname: str, member: Any) -> int:
    """``__uint(name, val)`` is ``int (*name)[val]``: the value is the array length."""
    B = btf_model()
    t = B.resolve(member.type)
    if isinstance(t, B.Enum):
        # __ulong(name, val): an anonymous enum whose only value is val
        if len(t.values) != 1:
            raise ELFError(f"map {mapname!r}: attribute {member.name!r} is an enum with "
                           f"{len(t.values)} values (__ulong() makes exactly one)")
        return t.values[0].value
    if not isinstance(t, B.Pointer):
        raise ELFError(f"map {mapname!r}: attribute {member.name!r} is not declared with "
                       f"__uint() (a pointer to an array), got {t!r}")
    arr = B.resolve(t.type)
    if not isinstance(arr, B.Array):
        raise ELFError(f"map {mapname!r}: attribute {member.name!r} does not point to an "
                       f"array, got {arr!r}")
    return arr.nelems


def _type_member(mapname: str, member: Any) -> Any:
    """``__type(name, T)`` is ``T *name``: the pointed-to type."""
    B = btf_model()
    t = B.resolve(member.type)
    if not isinstance(t, B.Pointer):
        raise ELFError(f"map {mapname!r}: {member.name!r} is not declared with __type() "
                       f"(a pointer), got {t!r}")
    return t.type


def sized(mapname: str, what: str, t: Any) -> int:
    B = btf_model()
    try:
        return B.sizeof(t)
    except BTFError as e:
        raise ELFError(f"map {mapname!r}: cannot size the {what} type: {e}") from None


def btf_type_id(spec: Any, t: Any) -> int:
    if spec is None or t is None:
        return 0
    try:
        return spec.type_id(t)
    except BTFError:
        return 0


def _map_type(mapname: str, value: int) -> MapType:
    try:
        return MapType(value)
    except ValueError:
        raise ELFError(f"map {mapname!r}: unknown map type {value}") from None


def _pinning(mapname: str, value: int) -> PinType | int:
    """The ``pinning`` attribute as written: a :class:`PinType` when libbpf knows it,
    else the raw number (cilium/ebpf and others use values of their own); loading
    refuses those unless ``ebpf.load(..., pinning={name: ...})`` overrides them."""
    try:
        return PinType(value)
    except ValueError:
        return value


def _typed_size(mapname: str, what: str, declared: int, typ: Any) -> int:
    """A map's key or value size: its type's size when it has a type (a declared
    ``key_size``/``value_size`` must agree), else the declared one."""
    if typ is None:
        return declared
    size = sized(mapname, what, typ)
    if declared and declared != size:
        raise ELFError(f"map {mapname!r}: {what}_size {declared} disagrees with the {what} "
                       f"type's size {size}")
    return size


def parse_btf_map_def(mapname: str, struct_t: Any, spec: Any) -> tuple[MapSpec, Any, int]:
    """A MapSpec from the BTF struct of a ``.maps`` variable.

    Returns (spec, the `values` member's pointee type or None, `values` byte offset).
    """
    B = btf_model()
    st = B.resolve(struct_t)
    if not isinstance(st, B.Struct):
        raise ELFError(f"map {mapname!r}: definition is not a struct but {st!r}")
    ints: dict[str, int] = {}
    key_type = value_type = None
    values_type = None
    values_off = -1
    for m in st.members:
        if m.name in _INT_ATTRS:
            ints[m.name] = _uint_member(mapname, m)
        elif m.name == "key":
            key_type = _type_member(mapname, m)
        elif m.name == "value":
            value_type = _type_member(mapname, m)
        elif m.name == "values":
            arr = B.resolve(m.type)
            if not isinstance(arr, B.Array):
                raise ELFError(f"map {mapname!r}: 'values' must be declared with __array()")
            ptr = B.resolve(arr.type)
            if not isinstance(ptr, B.Pointer):
                raise ELFError(f"map {mapname!r}: 'values' must be an array of pointers")
            values_type = B.resolve(ptr.type)
            if m.offset % 8:
                raise ELFError(f"map {mapname!r}: misaligned 'values' member")
            values_off = m.offset // 8
        else:
            log.warning("map %r: ignoring unknown attribute %r", mapname, m.name)
    if "type" not in ints:
        raise ELFError(f"map {mapname!r}: no map type (missing __uint(type, ...))")
    mtype = _map_type(mapname, ints["type"])
    key_size = _typed_size(mapname, "key", ints.get("key_size", 0), key_type)
    value_size = _typed_size(mapname, "value", ints.get("value_size", 0), value_type)
    inner = None
    if values_type is not None:
        if value_size and value_size != 4:
            raise ELFError(f"map {mapname!r}: a map with 'values' must have 4-byte values, "
                           f"not {value_size}")
        value_size = 4
        if mtype in _MAP_IN_MAP:
            if not isinstance(values_type, B.Struct):
                raise ELFError(f"map {mapname!r}: map-in-map 'values' must point to a "
                               f"map definition struct, not {values_type!r}")
            inner, _, _ = parse_btf_map_def(f"{mapname}.inner", values_type, spec)
        elif mtype == MapType.PROG_ARRAY:
            if not isinstance(values_type, B.FuncProto):
                raise ELFError(f"map {mapname!r}: program array 'values' must be function "
                               f"pointers, not {values_type!r}")
        else:
            raise ELFError(f"map {mapname!r}: 'values' is only for program arrays and "
                           f"map-in-maps, not {mtype.name}")
    elif mtype in _MAP_IN_MAP:
        raise ELFError(f"map {mapname!r}: map-in-map without an inner map definition "
                       "(__array(values, ...))")
    if mtype in (MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY):
        key_size = key_size or 4
        value_size = value_size or 4
    if mtype == MapType.PROG_ARRAY:
        value_size = value_size or 4
    ms = MapSpec(
        name=mapname, type=mtype, key_size=key_size, value_size=value_size,
        max_entries=ints.get("max_entries", 0), flags=ints.get("map_flags", 0),
        numa_node=ints.get("numa_node", 0), map_extra=ints.get("map_extra", 0),
        pinning=_pinning(mapname, ints.get("pinning", 0)), inner=inner,
        key_type=key_type, value_type=value_type,
        btf_key_type_id=0 if mtype in _NO_BTF_IDS else btf_type_id(spec, key_type),
        btf_value_type_id=0 if mtype in _NO_BTF_IDS else btf_type_id(spec, value_type),
        btf=spec, section=".maps",
    )
    return ms, values_type, values_off


def fix_datasec(elf: ELFFile, sec: Section, datasec: Any) -> None:
    """Fill in what clang may leave at zero: the DATASEC size and variable
    offsets/sizes, from the ELF symbols."""
    if datasec is None:
        return
    if datasec.size != sec.size:
        datasec.size = sec.size
    by_name = {s.name: s for s in symbols_in(elf, sec)}
    for vsi in datasec.vars:
        var = vsi.type
        sym = by_name.get(getattr(var, "name", ""))
        if sym is None:
            continue
        vsi.offset = sym.value
        if sym.size:
            vsi.size = sym.size


def read_btf_maps(elf: ELFFile, sec: Section, spec: Any, result: MapsResult,
                  rels: list | None) -> None:
    """BTF-defined maps of section ``sec`` (".maps")."""
    if spec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} defines maps but the object has "
                       "no BTF (compile with -g)")
    datasec = find_datasec(spec, sec.name)
    if datasec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} has no BTF DATASEC describing it")
    fix_datasec(elf, sec, datasec)
    placements: list[MapPlacement] = []
    values_at: list[tuple[str, int, int, Any]] = []  # name, start, end, values pointee
    B = btf_model()
    for vsi in datasec.vars:
        var = vsi.type
        if not isinstance(var, B.Var):
            raise ELFError(f"{elf.name}: {sec.name!r} DATASEC entry is not a variable: {var!r}")
        name = var.name
        if not name:
            raise ELFError(f"{elf.name}: anonymous variable in {sec.name!r}")
        if name in result.maps:
            raise ELFError(f"{elf.name}: map {name!r} defined twice")
        if vsi.offset + vsi.size > sec.size:
            raise ELFError(f"{elf.name}: map {name!r} ({vsi.size} bytes at {vsi.offset}) lies "
                           f"outside section {sec.name!r} ({sec.size} bytes)")
        ms, values_type, values_off = parse_btf_map_def(name, var.type, spec)
        ms.section = sec.name
        result.maps[name] = ms
        placements.append(MapPlacement(name, vsi.offset, vsi.size))
        if values_type is not None:
            values_at.append((name, vsi.offset + values_off, vsi.offset + vsi.size,
                              values_type))
    result.placements[sec.index] = placements
    # a map definition is all zeros but for relocated `values` slots
    if sec.type == SHT_PROGBITS and any(sec.data):
        relocated = {r.offset + k for r in rels or () for k in range(8)}
        for p in placements:
            for off in range(p.offset, min(p.offset + p.size, len(sec.data))):
                if sec.data[off] and off not in relocated:
                    raise ELFError(f"{elf.name}: map {p.name!r}: non-zero byte at offset "
                                   f"{off - p.offset} of its definition in {sec.name!r} "
                                   "(only `values` may be initialised)")
    # initial contents: relocations inside a `values` array
    for rel in rels or ():
        for name, start, end, _vt in values_at:
            if start <= rel.offset < end:
                if (rel.offset - start) % 8:
                    raise ELFError(f"{elf.name}: map {name!r}: misaligned relocation in "
                                   f"'values' at {rel.offset}")
                index = (rel.offset - start) // 8
                ms = result.maps[name]
                if index >= ms.max_entries:
                    raise ELFError(f"{elf.name}: map {name!r}: initial value at index {index} "
                                   f"beyond max_entries {ms.max_entries}")
                sym = rel.symbol
                if ms.type == MapType.PROG_ARRAY:
                    if sym.type != STT_FUNC:
                        raise ELFError(f"{elf.name}: map {name!r}: initial value {index} "
                                       f"refers to {sym.name!r}, which is not a function")
                    result.prog_values.append((name, index, sym))
                else:
                    target = _map_at(elf, result, sym, 0)
                    if target is None:
                        raise ELFError(f"{elf.name}: map {name!r}: initial value {index} "
                                       f"refers to {sym.name!r}, which is not a map")
                    ms.contents.append((index, target))
                break
        else:
            log.debug("%s: ignoring relocation at %#x in %s", elf.name, rel.offset, sec.name)
    for ms in result.maps.values():
        ms.contents.sort(key=lambda kv: kv[0])


def _map_at(elf: ELFFile, result: MapsResult, sym: Symbol, addend: int) -> str | None:
    """Name of the map a symbol (+ addend) designates in a map section."""
    placements = result.placements.get(sym.shndx)
    if placements is None:
        return None
    if sym.type != STT_SECTION:
        for p in placements:
            if p.name == sym.name:
                return p.name
    off = sym.value + addend
    for p in placements:
        if p.offset == off:
            return p.name
    return None


def map_for_reference(elf: ELFFile, result: MapsResult, sym: Symbol, addend: int) -> str | None:
    """Map name for an ``lddw`` relocation against a symbol in a map section."""
    return _map_at(elf, result, sym, addend)


# iproute2's struct bpf_elf_map: type, size_key, size_value, max_elem, flags, id,
# pinning, inner_id, inner_idx (9 x u32)
_LEGACY_FIELDS = ("type", "key_size", "value_size", "max_entries", "map_flags", "id",
                  "pinning", "inner_id", "inner_idx")


def read_legacy_maps(elf: ELFFile, sec: Section, spec: Any, result: MapsResult) -> None:
    """Maps of a legacy ``maps`` section: one ``struct bpf_map_def`` per symbol."""
    if sec.type != SHT_PROGBITS:
        raise ELFError(f"{elf.name}: legacy map section {sec.name!r} has no contents "
                       f"(section type {sec.type})")
    syms = sorted(symbols_in(elf, sec), key=lambda s: s.value)
    if not syms:
        if sec.size:
            raise ELFError(f"{elf.name}: section {sec.name!r} has map definitions but no "
                           "symbols naming them")
        return
    default_size = sec.size // len(syms)
    placements = []
    inner_idx: dict[str, int] = {}
    datasec = find_datasec(spec, sec.name)
    for i, sym in enumerate(syms):
        size = sym.size or default_size
        if i + 1 < len(syms) and not sym.size:
            size = syms[i + 1].value - sym.value
        if size < 16 or sym.value + size > sec.size:
            raise ELFError(f"{elf.name}: legacy map {sym.name!r}: definition of {size} bytes "
                           f"at {sym.value} does not fit section {sec.name!r} "
                           f"({sec.size} bytes, need at least 16)")
        if sym.name in result.maps:
            raise ELFError(f"{elf.name}: map {sym.name!r} defined twice")
        raw = sec.data[sym.value:sym.value + size]
        n = min(len(raw) // 4, len(_LEGACY_FIELDS))
        vals = dict(zip(_LEGACY_FIELDS, struct.unpack_from(f"<{n}I", raw), strict=False))
        pin = vals.get("pinning", 0)
        ms = MapSpec(
            name=sym.name, type=_map_type(sym.name, vals["type"]), key_size=vals["key_size"],
            value_size=vals["value_size"], max_entries=vals["max_entries"],
            flags=vals.get("map_flags", 0),
            # iproute2: PIN_OBJECT_NS = 1, PIN_GLOBAL_NS = 2 -> pinned by name
            pinning=PinType.BY_NAME if pin in (1, 2) else PinType.NONE,
            section=sec.name,
        )
        if size > 20 and any(raw[20:]) and size not in (28, 36):
            raise ELFError(f"{elf.name}: legacy map {sym.name!r}: {size - 20} non-zero bytes "
                           "of definition beyond struct bpf_map_def that no known layout "
                           "explains")
        if ms.type in (MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY):
            ms.key_size = ms.key_size or 4
            ms.value_size = ms.value_size or 4
        result.maps[sym.name] = ms
        placements.append(MapPlacement(sym.name, sym.value, size))
        if size >= 36:
            inner_idx[sym.name] = vals["inner_idx"]
    # iproute2 map-in-map: inner_idx names another map of the section by position
    names = [p.name for p in placements]
    for name, idx in inner_idx.items():
        ms = result.maps[name]
        if ms.type in _MAP_IN_MAP:
            if idx >= len(names):
                raise ELFError(f"{elf.name}: legacy map {name!r}: inner map index {idx} out of "
                               "range")
            ms.inner = result.maps[names[idx]].copy()
    result.placements[sec.index] = placements
    if datasec is not None:
        fix_datasec(elf, sec, datasec)




__all__ = ["MapPlacement", "MapsResult", "map_for_reference", "parse_btf_map_def", "read_btf_maps",
           "read_legacy_maps"]
