"""Maps an object defines: BTF-defined maps (``.maps``), legacy ``maps`` section
definitions (``struct bpf_map_def``), global data (``.data``, ``.rodata*``,
``.bss``) and the ``.kconfig`` extern area, plus the global variables in them.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from ..errors import BTFError, ELFError
from ..spec import (
    BPF_F_MMAPABLE,
    BPF_F_RDONLY_PROG,
    MapSpec,
    PinType,
    VariableSpec,
)
from ..uapi import MapType
from .file import (
    SHF_EXECINSTR,
    SHT_NOBITS,
    SHT_PROGBITS,
    STB_WEAK,
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


def _btf():
    from .. import btf

    return btf


def _symbols_in(elf: ELFFile, sec: Section) -> list[Symbol]:
    return [s for s in elf.symbols if s.shndx == sec.index and s.type != STT_SECTION
            and s.name]


def _find_datasec(spec: Any, name: str) -> Any:
    if spec is None:
        return None
    B = _btf()
    found = [t for t in spec.types_by_name(name) if isinstance(t, B.Datasec)]
    return found[0] if found else None


def _uint_member(mapname: str, member: Any) -> int:
    """``__uint(name, val)`` is ``int (*name)[val]``: the value is the array length."""
    B = _btf()
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
    B = _btf()
    t = B.resolve(member.type)
    if not isinstance(t, B.Pointer):
        raise ELFError(f"map {mapname!r}: {member.name!r} is not declared with __type() "
                       f"(a pointer), got {t!r}")
    return t.type


def _sizeof(mapname: str, what: str, t: Any) -> int:
    B = _btf()
    try:
        return B.sizeof(t)
    except BTFError as e:
        raise ELFError(f"map {mapname!r}: cannot size the {what} type: {e}") from None


def _btf_id(spec: Any, t: Any) -> int:
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


def parse_btf_map_def(mapname: str, struct_t: Any, spec: Any) -> tuple[MapSpec, Any, int]:
    """A MapSpec from the BTF struct of a ``.maps`` variable.

    Returns (spec, the `values` member's pointee type or None, `values` byte offset).
    """
    B = _btf()
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
    key_size = ints.get("key_size", 0)
    value_size = ints.get("value_size", 0)
    if key_type is not None:
        ks = _sizeof(mapname, "key", key_type)
        if key_size and key_size != ks:
            raise ELFError(f"map {mapname!r}: key_size {key_size} disagrees with the key "
                           f"type's size {ks}")
        key_size = ks
    if value_type is not None:
        vs = _sizeof(mapname, "value", value_type)
        if value_size and value_size != vs:
            raise ELFError(f"map {mapname!r}: value_size {value_size} disagrees with the "
                           f"value type's size {vs}")
        value_size = vs
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
        btf_key_type_id=0 if mtype in _NO_BTF_IDS else _btf_id(spec, key_type),
        btf_value_type_id=0 if mtype in _NO_BTF_IDS else _btf_id(spec, value_type),
        btf=spec, section=".maps",
    )
    return ms, values_type, values_off


def _fix_datasec(elf: ELFFile, sec: Section, datasec: Any) -> None:
    """Fill in what clang may leave at zero: the DATASEC size and variable
    offsets/sizes, from the ELF symbols."""
    if datasec is None:
        return
    if datasec.size != sec.size:
        datasec.size = sec.size
    by_name = {s.name: s for s in _symbols_in(elf, sec)}
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
    datasec = _find_datasec(spec, sec.name)
    if datasec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} has no BTF DATASEC describing it")
    _fix_datasec(elf, sec, datasec)
    placements: list[MapPlacement] = []
    values_at: list[tuple[str, int, int, Any]] = []  # name, start, end, values pointee
    B = _btf()
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


#: map_flags of a struct_ops map in ".struct_ops.link" (BPF_F_LINK)
BPF_F_LINK = 1 << 13


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
    datasec = _find_datasec(spec, sec.name)
    if datasec is None:
        raise ELFError(f"{elf.name}: section {sec.name!r} has no BTF DATASEC describing it")
    _fix_datasec(elf, sec, datasec)
    B = _btf()
    placed = []
    for vsi in datasec.vars:
        var = vsi.type
        if not isinstance(var, B.Var) or not var.name:
            raise ELFError(f"{elf.name}: {sec.name!r} DATASEC entry is not a named variable")
        st = B.resolve(var.type)
        if not isinstance(st, B.Struct):
            raise ELFError(f"{elf.name}: struct_ops map {var.name!r} is not a struct but {st!r}")
        size = _sizeof(var.name, "struct_ops value", st)
        if vsi.offset + size > sec.size:
            raise ELFError(f"{elf.name}: struct_ops map {var.name!r} lies outside {sec.name!r}")
        if var.name in result.maps:
            raise ELFError(f"{elf.name}: map {var.name!r} defined twice")
        result.maps[var.name] = MapSpec(
            name=var.name, type=MapType.STRUCT_OPS, key_size=4, value_size=size, max_entries=1,
            flags=BPF_F_LINK if sec.name.endswith(".link") else 0, value_type=st,
            btf_value_type_id=_btf_id(spec, st), btf=spec, section=sec.name,
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
    syms = sorted(_symbols_in(elf, sec), key=lambda s: s.value)
    if not syms:
        if sec.size:
            raise ELFError(f"{elf.name}: section {sec.name!r} has map definitions but no "
                           "symbols naming them")
        return
    default_size = sec.size // len(syms)
    placements = []
    inner_idx: dict[str, int] = {}
    datasec = _find_datasec(spec, sec.name)
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
        _fix_datasec(elf, sec, datasec)


def _qualifiers(t: Any) -> set[str]:
    B = _btf()
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
        datasec = _find_datasec(spec, name)
        _fix_datasec(elf, sec, datasec)
        flags = BPF_F_MMAPABLE | (BPF_F_RDONLY_PROG if readonly else 0)
        data = bytes(sec.size) if sec.type == SHT_NOBITS else sec.data
        if name in result.maps:
            raise ELFError(f"{elf.name}: a map named {name!r} exists already")
        result.maps[name] = MapSpec(
            name=name, type=MapType.ARRAY, key_size=4, value_size=sec.size, max_entries=1,
            flags=flags, value_type=datasec, btf_value_type_id=_btf_id(spec, datasec),
            btf=spec if datasec is not None else None, section=name, data=data,
            freeze=readonly,
        )
        result.data_sections[sec.index] = name
        _variables(elf, sec, name, datasec, readonly, result)


def _variables(elf: ELFFile, sec: Section, mapname: str, datasec: Any, readonly: bool,
               result: MapsResult) -> None:
    B = _btf() if datasec is not None else None
    if datasec is not None:
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
    for sym in _symbols_in(elf, sec):
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
    datasec = _find_datasec(spec, sec.name)
    _fix_datasec(elf, sec, datasec)
    _variables(elf, sec, arena.name, datasec, False, result)


@dataclass
class Extern:
    """An undefined symbol the object uses: a .kconfig value or a kernel symbol."""

    name: str
    kind: str  # "kconfig", "ksym" (variable) or "kfunc"
    weak: bool
    type: Any = None


def classify_externs(elf: ELFFile, spec: Any) -> dict[str, Extern]:
    """Every extern (undefined, named symbol), classified through the BTF DATASECs
    ``.kconfig`` and ``.ksyms`` (by name when the object has no BTF)."""
    B = _btf() if spec is not None else None
    where: dict[str, tuple[str, Any]] = {}
    if spec is not None:
        for secname, kind in ((".kconfig", "kconfig"), (".ksyms", "ksym")):
            ds = _find_datasec(spec, secname)
            if ds is None:
                continue
            for vsi in ds.vars:
                t = vsi.type
                if isinstance(t, B.Func):
                    where[t.name] = ("kfunc", t)
                elif isinstance(t, B.Var):
                    where[t.name] = (kind, t)
        # extern functions may also appear only as FUNC with extern linkage
    out: dict[str, Extern] = {}
    for sym in elf.symbols:
        if sym.shndx != 0 or not sym.name or sym.index == 0:
            continue
        kind, t = where.get(sym.name, ("", None))
        if not kind:
            if spec is not None:
                funcs = [f for f in spec.types_by_name(sym.name) if isinstance(f, B.Func)]
                if funcs:
                    kind, t = "kfunc", funcs[0]
            if not kind:
                if sym.name.startswith(("CONFIG_", "LINUX_")):
                    kind = "kconfig"
                elif sym.type == STT_FUNC:
                    kind = "kfunc"
                else:
                    kind = "ksym"
        out[sym.name] = Extern(sym.name, kind, sym.bind == STB_WEAK, t)
    return out


def build_kconfig_map(elf: ELFFile, spec: Any, externs: dict[str, Extern],
                      result: MapsResult) -> None:
    """The ``.kconfig`` map: every kconfig extern laid out by alignment, as a
    read-only, frozen one-element array (the backend fills in the values)."""
    kconf = [e for e in externs.values() if e.kind == "kconfig"]
    if not kconf:
        return
    if spec is None:
        raise ELFError(f"{elf.name}: .kconfig externs ({', '.join(e.name for e in kconf)}) "
                       "need BTF (compile with -g)")
    B = _btf()
    laid = []
    for e in kconf:
        if e.type is None:
            raise ELFError(f"{elf.name}: kconfig extern {e.name!r} has no BTF description")
        size = B.sizeof(e.type.type)
        align = B.alignof(e.type.type)
        laid.append((-align, e.name, size, align, e))
    laid.sort(key=lambda x: (x[0], x[1]))
    off = 0
    layout = []
    for _, name, size, align, e in laid:
        off = (off + align - 1) // align * align
        layout.append((name, off, size, e))
        off += size
    total = max(8, (off + 7) // 8 * 8)
    if total > MAX_DATA_SIZE:
        raise ELFError(f"{elf.name}: .kconfig externs need {total} bytes")
    datasec = _find_datasec(spec, ".kconfig")
    if datasec is not None:
        datasec.size = total
        pos = {name: (o, s) for name, o, s, _ in layout}
        for vsi in datasec.vars:
            p = pos.get(getattr(vsi.type, "name", ""))
            if p is not None:
                vsi.offset, vsi.size = p
    result.maps[".kconfig"] = MapSpec(
        name=".kconfig", type=MapType.ARRAY, key_size=4, value_size=total, max_entries=1,
        flags=BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, value_type=datasec,
        btf_value_type_id=_btf_id(spec, datasec), btf=spec if datasec is not None else None,
        section=".kconfig", data=bytes(total), freeze=True)
    for name, o, s, e in layout:
        result.variables.setdefault(name, VariableSpec(
            name=name, map=".kconfig", offset=o, size=s, type=e.type.type, readonly=True))


__all__ = ["Extern", "MapsResult", "read_arena_globals", "build_kconfig_map", "classify_externs", "is_data_section",
           "map_for_reference", "read_btf_maps", "read_data_maps", "read_legacy_maps"]
