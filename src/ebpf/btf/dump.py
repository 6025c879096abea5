"""Text and JSON listings of BTF types, in the style of ``bpftool btf dump``.

>>> from ebpf.btf import Spec, Int
>>> s = Spec(); _ = s.add(Int("int", 4, signed=True))
>>> print("\\n".join(dump_raw(s)))
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import types as T
from .parse import Spec

_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def _ref(spec: Spec, obj: Any, attr: str) -> int:
    """Type id held by ``obj.<attr>`` without decoding the referenced type."""
    raw = getattr(obj, "_" + attr)
    if type(raw) is int:
        return raw
    return spec.type_id(raw)


def _name(t: Any) -> str:
    return f"'{t.name}'" if getattr(t, "name", "") else "'(anon)'"


def _int_encoding(t: T.Int) -> str:
    if t.is_bool:
        return "BOOL"
    if t.is_char:
        return "CHAR"
    return "SIGNED" if t.signed else "(none)"


def format_type(spec: Spec, tid: int) -> list[str]:
    """bpftool-like lines for type ``tid`` (first line ``[id] KIND 'name' ...``)."""
    t = spec[tid]
    kind = t.kind.upper()
    head = f"[{tid}] "
    if isinstance(t, T.Int):
        return [f"{head}INT {_name(t)} size={t.size} bits_offset={t.offset} nr_bits={t.bits} "
                f"encoding={_int_encoding(t)}"]
    if isinstance(t, T.Float):
        return [f"{head}FLOAT {_name(t)} size={t.size}"]
    if isinstance(t, T.Pointer):
        return [f"{head}PTR '(anon)' type_id={_ref(spec, t, 'type')}"]
    if isinstance(t, T.Array):
        return [f"{head}ARRAY '(anon)' type_id={_ref(spec, t, 'type')} "
                f"index_type_id={_ref(spec, t, 'index_type')} nr_elems={t.nelems}"]
    if isinstance(t, T.Composite):
        lines = [f"{head}{kind} {_name(t)} size={t.size} vlen={len(t.members)}"]
        for m in t.members:
            extra = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
            lines.append(f"\t{_name(m)} type_id={_ref(spec, m, 'type')} bits_offset={m.offset}{extra}")
        return lines
    if isinstance(t, T.Enum):
        k = "ENUM64" if t.is64 else "ENUM"
        lines = [f"{head}{k} {_name(t)} encoding={'SIGNED' if t.signed else 'UNSIGNED'} "
                 f"size={t.size} vlen={len(t.values)}"]
        suffix = ("LL" if t.signed else "ULL") if t.is64 else ""
        lines += [f"\t'{v.name}' val={v.value}{suffix}" for v in t.values]
        return lines
    if isinstance(t, T.Fwd):
        return [f"{head}FWD {_name(t)} fwd_kind={'union' if t.is_union else 'struct'}"]
    if isinstance(t, (T.Typedef, T.TypeTag)):
        return [f"{head}{kind} {_name(t)} type_id={_ref(spec, t, 'type')}"]
    if isinstance(t, T.Qualifier):
        return [f"{head}{kind} '(anon)' type_id={_ref(spec, t, 'type')}"]
    if isinstance(t, T.Func):
        return [f"{head}FUNC {_name(t)} type_id={_ref(spec, t, 'type')} "
                f"linkage={_LINKAGE.get(int(t.linkage), t.linkage)}"]
    if isinstance(t, T.FuncProto):
        lines = [f"{head}FUNC_PROTO '(anon)' ret_type_id={_ref(spec, t, 'return_type')} "
                 f"vlen={len(t.params)}"]
        lines += [f"\t{_name(p)} type_id={_ref(spec, p, 'type')}" for p in t.params]
        return lines
    if isinstance(t, T.Var):
        linkage = {0: "static", 1: "global", 2: "extern"}.get(int(t.linkage), t.linkage)
        return [f"{head}VAR {_name(t)} type_id={_ref(spec, t, 'type')}, linkage={linkage}"]
    if isinstance(t, T.Datasec):
        lines = [f"{head}DATASEC {_name(t)} size={t.size} vlen={len(t.vars)}"]
        for v in t.vars:
            vid = _ref(spec, v, "type")
            lines.append(f"\ttype_id={vid} offset={v.offset} size={v.size} "
                         f"({spec.kind_of(vid).upper()} '{spec.name_of(vid)}')")
        return lines
    if isinstance(t, T.DeclTag):
        return [f"{head}DECL_TAG {_name(t)} type_id={_ref(spec, t, 'type')} "
                f"component_idx={t.component_idx}"]
    return [f"{head}{kind} {_name(t)}"]


def dump_raw(spec: Spec, ids: Iterable[int] | None = None) -> Iterator[str]:
    """Lines describing every type of ``spec`` (or just ``ids``)."""
    for tid in ids if ids is not None else spec.own_ids():
        yield from format_type(spec, tid)


def type_to_json(spec: Spec, tid: int) -> dict[str, Any]:
    """A JSON-ready dict for type ``tid`` (bpftool -j shape)."""
    t = spec[tid]
    d: dict[str, Any] = {"id": tid, "kind": ("ENUM64" if isinstance(t, T.Enum) and t.is64
                                            else t.kind.upper()),
                         "name": getattr(t, "name", "") or "(anon)"}
    if isinstance(t, T.Int):
        d.update(size=t.size, bits_offset=t.offset, nr_bits=t.bits, encoding=_int_encoding(t))
    elif isinstance(t, T.Float):
        d.update(size=t.size)
    elif isinstance(t, (T.Pointer, T.Typedef, T.Qualifier, T.TypeTag)):
        d.update(type_id=_ref(spec, t, "type"))
    elif isinstance(t, T.Array):
        d.update(type_id=_ref(spec, t, "type"), index_type_id=_ref(spec, t, "index_type"),
                 nr_elems=t.nelems)
    elif isinstance(t, T.Composite):
        d.update(size=t.size, vlen=len(t.members), members=[
            {"name": m.name or "(anon)", "type_id": _ref(spec, m, "type"),
             "bits_offset": m.offset, **({"bitfield_size": m.bitfield_size}
                                         if m.bitfield_size else {})}
            for m in t.members])
    elif isinstance(t, T.Enum):
        d.update(size=t.size, encoding="SIGNED" if t.signed else "UNSIGNED", vlen=len(t.values),
                 values=[{"name": v.name, "val": v.value} for v in t.values])
    elif isinstance(t, T.Fwd):
        d.update(fwd_kind="union" if t.is_union else "struct")
    elif isinstance(t, T.Func):
        d.update(type_id=_ref(spec, t, "type"), linkage=_LINKAGE.get(int(t.linkage), t.linkage))
    elif isinstance(t, T.FuncProto):
        d.update(ret_type_id=_ref(spec, t, "return_type"), vlen=len(t.params), params=[
            {"name": p.name or "(anon)", "type_id": _ref(spec, p, "type")} for p in t.params])
    elif isinstance(t, T.Var):
        d.update(type_id=_ref(spec, t, "type"), linkage=_LINKAGE.get(int(t.linkage), t.linkage))
    elif isinstance(t, T.Datasec):
        d.update(size=t.size, vlen=len(t.vars), vars=[
            {"type_id": _ref(spec, v, "type"), "offset": v.offset, "size": v.size}
            for v in t.vars])
    elif isinstance(t, T.DeclTag):
        d.update(type_id=_ref(spec, t, "type"), component_idx=t.component_idx)
    return d
