"""Kernel-object pointers stored in map values (kptrs), as the kernel finds them in
a map's value type: a pointer member whose pointee carries the ``kptr`` type tag
(``struct task_struct __kptr *task``, a referenced kptr exchanged with
``bpf_kptr_xchg``), ``kptr_untrusted`` (a plain pointer, stored and loaded) or
``percpu_kptr``; in nested structs and arrays too, at their byte offsets.

>>> from ebpf.btf import Int, Member, Pointer, Struct, TypeTag
>>> task = Struct("task_struct", 8, [])
>>> v = Struct("val", 16, [Member("n", Int("long", 8, True), 0),
...                        Member("t", Pointer(TypeTag("kptr", task)), 64)])
>>> kptr_fields(v)
(KptrField(offset=8, tag='kptr', struct='task_struct'),)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import types as T

#: type tags that make a pointer member a kptr
KPTR_TAGS = ("kptr", "kptr_untrusted", "percpu_kptr")


@dataclass(frozen=True)
class KptrField:
    offset: int     # bytes into the value
    tag: str        # one of KPTR_TAGS ("kptr": referenced)
    struct: str     # the pointee's struct name

    @property
    def referenced(self) -> bool:
        return self.tag != "kptr_untrusted"


def _tag_of(p: T.Pointer) -> tuple[str, str] | None:
    t: Any = p.type
    tag = None
    for _ in range(16):
        if isinstance(t, T.TypeTag):
            if t.name in KPTR_TAGS:
                tag = t.name
        elif not isinstance(t, (T.Qualifier, T.Typedef)):
            break
        t = t.type
    if tag is None:
        return None
    return tag, getattr(t, "name", "") or ""


def _walk(t: Any, base: int, out: list[KptrField], depth: int) -> None:
    if depth > 8:
        return
    t = T.skip_qualifiers(t) if not isinstance(t, T.Pointer) else t
    while isinstance(t, T.Typedef):
        t = T.skip_qualifiers(t.type)
    if isinstance(t, T.Pointer):
        found = _tag_of(t)
        if found is not None:
            out.append(KptrField(base, *found))
        return
    if isinstance(t, T.Array):
        elem = T.resolve(t.type) if not isinstance(t.type, T.Pointer) else t.type
        size = getattr(elem, "size", 8 if isinstance(elem, T.Pointer) else 0)
        if size and isinstance(elem, (T.Pointer, T.Composite)):
            for i in range(min(t.nelems, 1024)):
                _walk(t.type, base + i * size, out, depth + 1)
        return
    if isinstance(t, T.Composite):
        for m in t.members:
            if m.bitfield_size:
                continue
            _walk(m.type, base + m.offset // 8, out, depth + 1)


_CACHE: dict[int, tuple[Any, tuple[KptrField, ...]]] = {}


def kptr_fields(value_type: Any) -> tuple[KptrField, ...]:
    """The kptr fields of a map value type (None: no BTF, no kptrs), by offset."""
    if value_type is None:
        return ()
    hit = _CACHE.get(id(value_type))
    if hit is not None and hit[0] is value_type:
        return hit[1]
    out: list[KptrField] = []
    try:
        _walk(value_type, 0, out, 0)
    except Exception:  # noqa: BLE001 - a malformed type: no kptrs recognised
        out = []
    found = tuple(sorted(out, key=lambda f: f.offset))
    _CACHE[id(value_type)] = (value_type, found)
    return found


__all__ = ["KPTR_TAGS", "KptrField", "kptr_fields"]
