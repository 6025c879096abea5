"""Build raw BTF blobs type by type (including ones no compiler writes: reference
loops, bad ids) for the robustness tests and the fuzz corpus."""

from __future__ import annotations

import struct

from ebpf.btf import types as T


class Blob:
    """Types appended in id order (first id 1); ``bytes()`` is the BTF blob."""

    def __init__(self) -> None:
        self.types: list[bytes] = []
        self.strings = bytearray(b"\0")

    def _name(self, name: str) -> int:
        if not name:
            return 0
        off = len(self.strings)
        self.strings += name.encode() + b"\0"
        return off

    def _add(self, name: str, kind: int, vlen: int, size_type: int, extra: bytes = b"",
             kflag: int = 0) -> int:
        self.types.append(struct.pack("<III", self._name(name),
                                      kflag << 31 | kind << 24 | vlen, size_type) + extra)
        return len(self.types)

    def int(self, name: str = "int", size: int = 4, bits: int = 32, signed: bool = True) -> int:
        return self._add(name, T.KIND_INT, 0, size, struct.pack("<I", int(signed) << 24 | bits))

    def ref(self, kind: int, target: int, name: str = "") -> int:
        """ptr, typedef, const, volatile, restrict, type_tag, func (name), var (name)."""
        extra = struct.pack("<I", 1) if kind == T.KIND_VAR else b""
        return self._add(name, kind, 1 if kind == T.KIND_FUNC else 0, target, extra)

    def array(self, elem: int, index: int, nelems: int) -> int:
        return self._add("", T.KIND_ARRAY, 0, 0, struct.pack("<III", elem, index, nelems))

    def struct(self, name: str, size: int, members: list[tuple[str, int, int]],
               union: bool = False) -> int:
        extra = b"".join(struct.pack("<III", self._name(n), t, off) for n, t, off in members)
        return self._add(name, T.KIND_UNION if union else T.KIND_STRUCT, len(members), size, extra)

    def proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra = b"".join(struct.pack("<II", self._name(n), t) for n, t in params)
        return self._add("", T.KIND_FUNC_PROTO, len(params), ret, extra)

    def datasec(self, name: str, size: int, vars: list[tuple[int, int, int]]) -> int:
        extra = b"".join(struct.pack("<III", t, off, sz) for t, off, sz in vars)
        return self._add(name, T.KIND_DATASEC, len(vars), size, extra)

    def next_id(self) -> int:
        return len(self.types) + 1

    def __bytes__(self) -> bytes:
        body = b"".join(self.types)
        strings = bytes(self.strings)
        return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), len(body),
                           len(strings)) + body + strings


def loops() -> dict[str, bytes]:
    """Blobs whose types refer to themselves without a pointer in between (which
    the kernel refuses, but a file may hold), plus legitimate pointer loops."""
    out: dict[str, bytes] = {}

    b = Blob()  # the 3 KB blob of the report: an array whose element is itself
    i = b.int()
    a = b.next_id()
    b.array(a, i, 4)
    b.struct("holder", 16, [("arr", a, 0), ("n", i, 0)])
    for k in range(60):  # padding types, as a real blob has
        b.struct(f"filler{k}", 4, [("x", i, 0)])
    out["array_self"] = bytes(b)

    b = Blob()
    i = b.int()
    t = b.next_id()
    b.ref(T.KIND_TYPEDEF, t, "loop_t")
    b.struct("s", 4, [("v", t, 0)])
    out["typedef_self"] = bytes(b)

    b = Blob()
    i = b.int()
    c = b.next_id()
    b.ref(T.KIND_CONST, c + 1)
    b.ref(T.KIND_VOLATILE, c)
    b.ref(T.KIND_TYPEDEF, c, "cv_t")
    out["qualifier_cycle"] = bytes(b)

    b = Blob()
    i = b.int()
    s = b.next_id()
    b.struct("self_by_value", 8, [("me", s, 0), ("n", i, 32)])
    b.struct("outer", 8, [("inner", s, 0)])
    out["struct_contains_itself"] = bytes(b)

    b = Blob()
    i = b.int()
    s = b.next_id()
    b.struct("a", 4, [("b", s + 1, 0)])
    b.struct("b", 4, [("a", s, 0)])
    out["struct_mutual"] = bytes(b)

    b = Blob()
    i = b.int()
    p = b.next_id()
    b.ref(T.KIND_PTR, p)
    b.ref(T.KIND_TYPEDEF, p, "pp_t")
    out["pointer_self"] = bytes(b)

    b = Blob()
    i = b.int()
    f = b.next_id()
    b.proto(f, [("x", f)])
    b.ref(T.KIND_FUNC, f, "fn")
    b.ref(T.KIND_PTR, f)
    out["proto_self"] = bytes(b)

    b = Blob()
    i = b.int()
    v = b.next_id()
    b.ref(T.KIND_VAR, v, "var_self")
    b.datasec(".data", 4, [(v, 0, 4)])
    out["var_self"] = bytes(b)

    b = Blob()
    i = b.int()
    a = b.next_id()
    b.array(a + 1, i, 2)
    b.ref(T.KIND_TYPEDEF, a, "arr_t")
    b.ref(T.KIND_TYPE_TAG, a, "tag")
    b.ref(T.KIND_PTR, a + 2)
    out["array_typedef_cycle"] = bytes(b)

    b = Blob()  # legitimate: a list node pointing at itself
    i = b.int()
    s = b.next_id()
    b.struct("node", 16, [("next", s + 1, 0), ("v", i, 64)])
    b.ref(T.KIND_PTR, s)
    out["linked_list"] = bytes(b)
    return out
