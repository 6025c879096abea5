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


_ENC = {0: "(none)", 1: "SIGNED", 2: "CHAR", 3: "CHAR", 4: "BOOL", 5: "BOOL", 6: "BOOL", 7: "BOOL"}
_QUAL = {9: "VOLATILE", 10: "CONST", 11: "RESTRICT"}


def _raw_lines(spec: Spec) -> Iterator[str]:
    """Every own type of a parsed ``spec`` as bpftool lines, read straight from the
    type words (no type objects): the fast path of :func:`dump_raw`."""
    w = spec._words
    string = spec.string
    kind_of, name_of = spec.kind_of, spec.name_of
    first = spec._base_count
    for idx, i in enumerate(spec._offsets):
        tid = first + idx
        name_off, info, st = w[i], w[i + 1], w[i + 2]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = info >> 31
        name = f"'{string(name_off)}'" if name_off else "'(anon)'"
        if kind == 1:
            enc = w[i + 3]
            yield (f"[{tid}] INT {name} size={st} bits_offset={(enc >> 16) & 0xFF} "
                   f"nr_bits={enc & 0xFF} encoding={_ENC[(enc >> 24) & 7]}")
        elif kind == 2:
            yield f"[{tid}] PTR '(anon)' type_id={st}"
        elif kind == 3:
            yield (f"[{tid}] ARRAY '(anon)' type_id={w[i + 3]} index_type_id={w[i + 4]} "
                   f"nr_elems={w[i + 5]}")
        elif kind == 4 or kind == 5:
            yield f"[{tid}] {'STRUCT' if kind == 4 else 'UNION'} {name} size={st} vlen={vlen}"
            j = i + 3
            for _ in range(vlen):
                mo = w[j]
                mname = f"'{string(mo)}'" if mo else "'(anon)'"
                off = w[j + 2]
                if kflag and off >> 24:
                    yield (f"\t{mname} type_id={w[j + 1]} bits_offset={off & 0xFFFFFF} "
                           f"bitfield_size={off >> 24}")
                else:
                    bits = off & 0xFFFFFF if kflag else off
                    yield f"\t{mname} type_id={w[j + 1]} bits_offset={bits}"
                j += 3
        elif kind == 6:
            yield (f"[{tid}] ENUM {name} encoding={'SIGNED' if kflag else 'UNSIGNED'} "
                   f"size={st} vlen={vlen}")
            j = i + 3
            for _ in range(vlen):
                v = w[j + 1]
                if kflag and v & 0x80000000:
                    v -= 1 << 32
                yield f"\t'{string(w[j])}' val={v}"
                j += 2
        elif kind == 19:
            yield (f"[{tid}] ENUM64 {name} encoding={'SIGNED' if kflag else 'UNSIGNED'} "
                   f"size={st} vlen={vlen}")
            suffix = "LL" if kflag else "ULL"
            j = i + 3
            for _ in range(vlen):
                v = w[j + 1] | (w[j + 2] << 32)
                if kflag and v >> 63:
                    v -= 1 << 64
                yield f"\t'{string(w[j])}' val={v}{suffix}"
                j += 3
        elif kind == 7:
            yield f"[{tid}] FWD {name} fwd_kind={'union' if kflag else 'struct'}"
        elif kind == 8:
            yield f"[{tid}] TYPEDEF {name} type_id={st}"
        elif kind == 18:
            yield f"[{tid}] TYPE_TAG {name} type_id={st}"
        elif kind in _QUAL:
            yield f"[{tid}] {_QUAL[kind]} '(anon)' type_id={st}"
        elif kind == 12:
            yield f"[{tid}] FUNC {name} type_id={st} linkage={_LINKAGE.get(vlen, vlen)}"
        elif kind == 13:
            yield f"[{tid}] FUNC_PROTO '(anon)' ret_type_id={st} vlen={vlen}"
            j = i + 3
            for _ in range(vlen):
                po = w[j]
                pname = f"'{string(po)}'" if po else "'(anon)'"
                yield f"\t{pname} type_id={w[j + 1]}"
                j += 2
        elif kind == 14:
            lk = w[i + 3]
            yield f"[{tid}] VAR {name} type_id={st}, linkage={_LINKAGE.get(lk, lk)}"
        elif kind == 15:
            yield f"[{tid}] DATASEC {name} size={st} vlen={vlen}"
            j = i + 3
            for _ in range(vlen):
                vid = w[j]
                yield (f"\ttype_id={vid} offset={w[j + 1]} size={w[j + 2]} "
                       f"({kind_of(vid).upper()} '{name_of(vid)}')")
                j += 3
        elif kind == 16:
            yield f"[{tid}] FLOAT {name} size={st}"
        elif kind == 17:
            c = w[i + 3]
            if c & 0x80000000:
                c -= 1 << 32
            yield f"[{tid}] DECL_TAG {name} type_id={st} component_idx={c}"
        else:  # pragma: no cover - _scan refuses unknown kinds
            yield from format_type(spec, tid)


def dump_raw(spec: Spec, ids: Iterable[int] | None = None) -> Iterator[str]:
    """Lines describing every type of ``spec`` (or just ``ids``)."""
    if ids is not None:
        for tid in ids:
            yield from format_type(spec, tid)
        return
    parsed = len(spec._offsets)
    if parsed:
        yield from _raw_lines(spec)
    for tid in spec.own_ids()[parsed:]:  # types added by hand after parsing
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
