"""CO-RE field relocations: a local accessor path (``0:3:1``) walked through the
object's BTF, replayed by member names on a target type, and the value a
FIELD_* relocation asks for (byte offset, size, existence, signedness, shifts)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BTFError
from . import types as T
from .core_types import essential_name
from .ext import CoreKind
from .parse import Spec

__all__ = ["FieldSpec", "field_value", "local_field", "match_field", "parse_access"]


@dataclass
class Access:
    """One step of a resolved accessor path."""

    kind: str  # "member" or "index"
    name: str = ""
    index: int = 0


@dataclass
class FieldSpec:
    """Where an accessor path leads in one BTF."""

    spec: Spec
    root: T.Type
    root_id: int
    field: T.Type  # type of the field reached
    bit_offset: int
    bitfield_size: int
    path: list[Access]
    description: str = ""




def parse_access(s: str, where: str) -> list[int]:
    try:
        out = [int(x) for x in s.split(":")]
    except ValueError:
        raise BTFError(f"{where}: bad CO-RE access string {s!r}") from None
    if not out or any(x < 0 for x in out):
        raise BTFError(f"{where}: bad CO-RE access string {s!r}")
    return out


def local_field(spec: Spec, tid: int, access: list[int], where: str) -> FieldSpec:
    root = spec[tid]
    t = root
    try:
        bit = access[0] * T.sizeof(root) * 8 if access[0] else 0
    except BTFError:
        raise BTFError(f"{where}: CO-RE root type {T.type_name(root)} has no size") from None
    path: list[Access] = [Access("index", index=access[0])]
    bf = 0
    desc = [T.type_name(T.resolve(root))]
    for idx in access[1:]:
        r = T.resolve(t)
        if isinstance(r, T.Composite):
            if idx >= len(r.members):
                raise BTFError(f"{where}: access string member #{idx} beyond "
                               f"{T.type_name(r)} ({len(r.members)} members)")
            m = r.members[idx]
            bit += m.offset
            bf = m.bitfield_size
            if m.name:
                path.append(Access("member", m.name, idx))
                desc.append("." + m.name)
            t = m.type
        elif isinstance(r, T.Array):
            esz = T.sizeof(r.type)
            bit += idx * esz * 8
            bf = 0
            path.append(Access("index", index=idx))
            desc.append(f"[{idx}]")
            t = r.type
        else:
            raise BTFError(f"{where}: access string {':'.join(map(str, access))} steps into "
                           f"{T.type_name(r)}, which has no members")
    return FieldSpec(spec, root, tid, t, bit, bf, path, "".join(desc))


def _find_member(t: T.Composite, name: str, depth: int = 0) -> tuple[T.Member, int] | None:
    """Member called ``name`` (through anonymous members), with its bit offset."""
    if depth > 64:
        raise BTFError(f"{T.type_name(t)}: anonymous members nested too deep (a loop?)")
    for m in t.members:
        if m.name == name:
            return m, m.offset
    for m in t.members:
        if not m.name:
            inner = T.resolve(m.type)
            if isinstance(inner, T.Composite):
                found = _find_member(inner, name, depth + 1)
                if found is not None:
                    return found[0], m.offset + found[1]
    return None


def _fields_compatible(local: T.Type, target: T.Type, depth: int = 0) -> bool:
    if depth > 32:
        return False
    a, b = T.resolve(local), T.resolve(target)
    if isinstance(a, T.Composite) and isinstance(b, T.Composite):
        return True
    if isinstance(a, (T.Enum, T.Fwd)) and type(a) is type(b):
        # enum and enum64 alike; named ones must keep their (essential) name
        return not a.name or essential_name(a.name) == essential_name(b.name)
    if type(a) is not type(b):
        return False
    if isinstance(a, (T.Pointer, T.Float)):
        return True
    if isinstance(a, T.Int) and isinstance(b, T.Int):
        return a.offset == 0 and b.offset == 0
    if isinstance(a, T.Array) and isinstance(b, T.Array):
        return _fields_compatible(a.type, b.type, depth + 1)
    return False


def match_field(local: FieldSpec, spec: Spec, cand_id: int) -> tuple[FieldSpec | None, str]:
    """Replay ``local``'s path on target type ``cand_id``: (match, why not)."""
    root = spec[cand_id]
    t: T.Type = root
    first = local.path[0].index
    bit = first * T.sizeof(root) * 8 if first else 0
    bf = 0
    ltypes = _local_types_along(local)
    for step, ltype in zip(local.path[1:], ltypes, strict=True):
        r = T.resolve(t)
        if step.kind == "member":
            if not isinstance(r, T.Composite):
                return None, f"{T.type_name(r)} has no member {step.name!r}"
            found = _find_member(r, step.name)
            if found is None:
                return None, f"{T.type_name(r)} has no field {step.name!r}"
            m, off = found
            if not _fields_compatible(ltype, m.type):
                return None, (f"field {step.name!r} of {T.type_name(r)} is "
                              f"{T.type_name(m.type)}, incompatible with local "
                              f"{T.type_name(ltype)}")
            bit += off
            bf = m.bitfield_size
            t = m.type
        else:
            if not isinstance(r, T.Array):
                return None, f"{T.type_name(r)} is not an array"
            if step.index >= r.nelems and not (r.nelems == 0):
                return None, f"index {step.index} beyond {T.type_name(r)}"
            bit += step.index * T.sizeof(r.type) * 8
            bf = 0
            t = r.type
    return FieldSpec(spec, root, cand_id, t, bit, bf, local.path, local.description), ""


def _local_types_along(local: FieldSpec) -> list[T.Type]:
    """Local type reached after each step of ``local.path[1:]``."""
    out = []
    t = local.root
    names = iter(local.path[1:])
    step = next(names, None)
    while step is not None:
        r = T.resolve(t)
        if step.kind == "member":
            found = _find_member(r, step.name) if isinstance(r, T.Composite) else None
            if found is None:
                raise BTFError(f"local type {T.type_name(r)} lost member {step.name!r}")
            t = found[0].type
        elif isinstance(r, T.Array):
            t = r.type
        else:
            raise BTFError(f"local type {T.type_name(r)} is not an array (index {step.index})")
        out.append(t)
        step = next(names, None)
    return out


def access_size(f: FieldSpec) -> tuple[int, T.Type | None]:
    """(bytes a load/store of the field moves, its element type); 0 for bit-fields."""
    if f.bitfield_size:
        return 0, None
    t = T.follow(f.field, (T.Typedef, T.Qualifier, T.TypeTag, T.Array), "sizing a CO-RE field")
    try:
        return T.sizeof(t), t
    except BTFError:
        return 0, t


def field_value(f: FieldSpec, kind: CoreKind) -> int:
    """Value of a field relocation of ``kind`` for field spec ``f``."""
    if kind == CoreKind.FIELD_EXISTS:
        return 1
    mt = T.resolve(f.field)
    bit_off = f.bit_offset
    if f.bitfield_size:
        bit_sz = f.bitfield_size
        byte_sz = T.sizeof(mt)
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise BTFError(f"bit-field {f.description} does not fit a 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = T.sizeof(mt)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    if kind == CoreKind.FIELD_BYTE_OFFSET:
        return byte_off
    if kind == CoreKind.FIELD_BYTE_SIZE:
        return byte_sz
    if kind == CoreKind.FIELD_SIGNED:
        return int((isinstance(mt, T.Enum) and mt.signed) or (isinstance(mt, T.Int) and mt.signed))
    if kind == CoreKind.FIELD_LSHIFT_U64:
        return 64 - (bit_off + bit_sz - byte_off * 8)
    if kind == CoreKind.FIELD_RSHIFT_U64:
        return 64 - bit_sz
    raise BTFError(f"{kind.name} is not a field relocation")
