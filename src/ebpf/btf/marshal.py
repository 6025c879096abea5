"""Writing BTF: a :class:`~ebpf.btf.Spec` back to the wire format."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..errors import BTFError
from . import types as T

if TYPE_CHECKING:
    from .parse import Spec


class _Strings:
    """The string table being written. Starts as a copy of the parsed table so
    offsets of existing strings (line info, ...) stay valid; new names are
    appended."""

    def __init__(self, base_len: int, initial: bytes = b"\0") -> None:
        self.base_len = base_len
        if not initial.startswith(b"\0"):
            initial = b"\0" + initial
        if not initial.endswith(b"\0"):
            initial += b"\0"
        self.buf = bytearray(initial)
        self.index: dict[str, int] = {"": 0}
        pos = 1
        for raw in initial[1:-1].split(b"\0"):
            self.index.setdefault(raw.decode("utf-8", "replace"), pos)
            pos += len(raw) + 1

    def add(self, s: str) -> int:
        if not s:
            return 0
        off = self.index.get(s)
        if off is None:
            raw = s.encode()
            if b"\0" in raw:
                raise BTFError(f"BTF name {s!r} contains a NUL byte")
            off = len(self.buf)
            self.buf += raw + b"\0"
            self.index[s] = off
        return off + self.base_len if off else 0


def marshal(spec: Spec, byteorder: str = "little") -> bytes:
    """Encode ``spec``'s own types (ids after its base's) as BTF."""
    e = "<" if byteorder == "little" else ">"
    strings = spec._out_strings()
    tid = spec.type_id
    out: list[bytes] = []
    one = struct.Struct(e + "I").pack
    three = struct.Struct(e + "III").pack

    def ref(t: T.Type, where: str) -> int:
        try:
            return tid(t)
        except BTFError:
            raise BTFError(f"{where} refers to {t!r}, which is not in this spec "
                           f"(Spec.add() it first)") from None

    for type_id in spec.own_ids():
        t = spec[type_id]
        where = f"type id {type_id} ({t.kind} {getattr(t, 'name', '')!r})"
        name = strings.add(getattr(t, "name", "") or "")
        k = t.kind_id
        if isinstance(t, T.Int):
            enc = (int(t.signed) | int(t.is_char) << 1 | int(t.is_bool) << 2) << 24
            enc |= (t.offset & 0xFF) << 16 | (t.bits & 0xFF)
            out.append(three(name, k << 24, t.size) + one(enc))
        elif isinstance(t, T.Float):
            out.append(three(name, k << 24, t.size))
        elif isinstance(t, T.Pointer):
            out.append(three(0, k << 24, ref(t.type, where)))
        elif isinstance(t, T.Array):
            out.append(three(0, k << 24, 0)
                       + three(ref(t.type, where), ref(t.index_type, where), t.nelems))
        elif isinstance(t, T.Composite):
            if len(t.members) > 0xFFFF:
                raise BTFError(f"{where}: too many members")
            kflag = any(m.bitfield_size for m in t.members)
            parts = [three(name, k << 24 | int(kflag) << 31 | len(t.members), t.size)]
            for m in t.members:
                if kflag:
                    if m.bitfield_size > 255 or m.offset >= 1 << 24:
                        raise BTFError(f"{where}: member {m.name!r} bitfield does not fit BTF")
                    off = m.bitfield_size << 24 | m.offset
                else:
                    off = m.offset
                parts.append(three(strings.add(m.name), ref(m.type, where), off))
            out.append(b"".join(parts))
        elif isinstance(t, T.Enum):
            sign_bit = int(t.signed)
            if t.is64:
                parts = [three(name, T.KIND_ENUM64 << 24 | sign_bit << 31 | len(t.values), t.size)]
                for v in t.values:
                    u = v.value & 0xFFFFFFFFFFFFFFFF
                    parts.append(three(strings.add(v.name), u & 0xFFFFFFFF, u >> 32))
            else:
                parts = [three(name, T.KIND_ENUM << 24 | sign_bit << 31 | len(t.values), t.size)]
                for v in t.values:
                    if not -(1 << 31) <= v.value < 1 << 32:
                        raise BTFError(f"{where}: value {v.name}={v.value} needs a 64-bit enum")
                    parts.append(struct.pack(e + "II", strings.add(v.name), v.value & 0xFFFFFFFF))
            out.append(b"".join(parts))
        elif isinstance(t, T.Fwd):
            out.append(three(name, k << 24 | int(t.is_union) << 31, 0))
        elif isinstance(t, (T.Typedef, T.TypeTag)):
            out.append(three(name, k << 24, ref(t.type, where)))
        elif isinstance(t, T.Qualifier):
            out.append(three(0, k << 24, ref(t.type, where)))
        elif isinstance(t, T.Func):
            out.append(three(name, k << 24 | int(t.linkage), ref(t.type, where)))
        elif isinstance(t, T.FuncProto):
            parts = [three(0, k << 24 | len(t.params), ref(t.return_type, where))]
            for p in t.params:
                parts.append(struct.pack(e + "II", strings.add(p.name), ref(p.type, where)))
            out.append(b"".join(parts))
        elif isinstance(t, T.Var):
            out.append(three(name, k << 24, ref(t.type, where)) + one(int(t.linkage)))
        elif isinstance(t, T.Datasec):
            parts = [three(name, k << 24 | len(t.vars), t.size)]
            for sec_var in t.vars:
                parts.append(three(ref(sec_var.type, where), sec_var.offset, sec_var.size))
            out.append(b"".join(parts))
        elif isinstance(t, T.DeclTag):
            out.append(three(name, k << 24, ref(t.type, where))
                       + struct.pack(e + "i", t.component_idx))
        elif isinstance(t, T.Void):
            raise BTFError(f"{where}: void cannot be a numbered type")
        else:
            raise BTFError(f"{where}: cannot marshal {type(t).__name__}")
    types = b"".join(out)
    strs = bytes(strings.buf)
    hdr = struct.pack(e + "HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs
