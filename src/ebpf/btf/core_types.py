"""CO-RE type relations: essential names (``task_struct___old`` is
``task_struct``), libbpf's compatibility of types for TYPE_* relocations, the
TYPE_MATCHES relation, and the target candidates for a local type."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import BTFError
from . import types as T
from .parse import Spec

__all__ = ["candidates", "describe", "essential_name", "types_compatible", "types_match"]


def essential_name(name: str) -> str:
    """``name`` without a trailing ``___flavour``."""
    i = name.rfind("___")
    while i > 0:
        if name[i - 1] != "_" and i + 3 < len(name) and name[i + 3] != "_":
            return name[:i]
        i = name.rfind("___", 0, i)
    return name




def types_compatible(a: T.Type, b: T.Type, depth: int = 0) -> bool:
    """libbpf's notion of compatible types for TYPE_* relocations."""
    if depth > 32:
        return False
    a, b = T.resolve(a), T.resolve(b)
    if isinstance(a, T.Enum) and isinstance(b, T.Enum):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (T.Composite, T.Fwd, T.Float, T.Void)):
        return True  # by kind only (a struct's name was matched when choosing candidates)
    if isinstance(a, T.Int) and isinstance(b, T.Int):
        return a.offset == 0 and b.offset == 0
    if isinstance(a, T.Pointer) and isinstance(b, T.Pointer):
        return types_compatible(a.type, b.type, depth + 1)
    if isinstance(a, T.Array) and isinstance(b, T.Array):
        return types_compatible(a.type, b.type, depth + 1)
    if isinstance(a, T.FuncProto) and isinstance(b, T.FuncProto):
        if len(a.params) != len(b.params):
            return False
        return types_compatible(a.return_type, b.return_type, depth + 1) and all(
            types_compatible(p.type, q.type, depth + 1) for p, q in zip(a.params, b.params, strict=True))
    return False


def describe(t: T.Type) -> str:
    """``struct foo___v1``, ``typedef u32``, ... for messages."""
    name = getattr(t, "name", "")
    if not name:
        return T.type_name(T.resolve(t))
    kind = tag_kind(t) if isinstance(t, (T.Composite, T.Fwd, T.Enum)) else t.kind
    return f"{kind} {name}"


def tag_kind(t: T.Type) -> str:
    if isinstance(t, T.Fwd):
        return "union" if t.is_union else "struct"
    return t.kind


def skip_typedefs(t: T.Type) -> T.Type:
    for _ in range(256):
        t = T.skip_qualifiers(t)
        if not isinstance(t, T.Typedef):
            return t
        t = t.type
    raise BTFError("type reference loop in a typedef chain")


def types_match(a: T.Type, b: T.Type, behind_ptr: bool = False, depth: int = 0) -> bool:
    """The TYPE_MATCHES relation (``bpf_core_type_matches``): names (when the local
    type has one) and kinds equal after typedefs; ints of the same size and
    signedness; enums whose local enumerators all exist in the target, same size;
    structs/unions whose named local members all exist in the target with matching
    types (only name and kind behind a pointer); pointers, arrays and function
    prototypes matched recursively."""
    if depth > 32:
        return False
    a, b = skip_typedefs(a), skip_typedefs(b)
    lname = getattr(a, "name", "") or ""
    if lname and essential_name(lname) != essential_name(getattr(b, "name", "") or ""):
        return False
    if isinstance(a, (T.Composite, T.Fwd)) or isinstance(b, (T.Composite, T.Fwd)):
        if not isinstance(a, (T.Composite, T.Fwd)) or not isinstance(b, (T.Composite, T.Fwd)):
            return False
        if tag_kind(a) != tag_kind(b):
            return False
        if isinstance(a, T.Fwd) or isinstance(b, T.Fwd):
            # a forward declaration stands in for the struct only behind a pointer
            return behind_ptr or (isinstance(a, T.Fwd) and isinstance(b, T.Fwd))
        if behind_ptr:
            return True
        if len(a.members) > len(b.members):
            return False
        for m in a.members:
            found = next((x for x in b.members if x.name and x.name == m.name), None)
            if found is None or not types_match(m.type, found.type, False, depth + 1):
                return False
        return True
    if isinstance(a, T.Enum) and isinstance(b, T.Enum):
        if a.size != b.size:
            return False
        names = {essential_name(v.name) for v in b.values if v.name}
        return all(essential_name(v.name) in names for v in a.values)
    if type(a) is not type(b):
        return False
    if isinstance(a, T.Int) and isinstance(b, T.Int):
        return a.size == b.size and a.signed == b.signed
    if isinstance(a, T.Float) and isinstance(b, T.Float):
        return a.size == b.size
    if isinstance(a, T.Void):
        return True
    if isinstance(a, T.Pointer) and isinstance(b, T.Pointer):
        return types_match(a.type, b.type, True, depth + 1)
    if isinstance(a, T.Array) and isinstance(b, T.Array):
        return a.nelems == b.nelems and types_match(a.type, b.type, behind_ptr, depth + 1)
    if isinstance(a, T.FuncProto) and isinstance(b, T.FuncProto):
        if len(a.params) != len(b.params):
            return False
        return types_match(a.return_type, b.return_type, behind_ptr, depth + 1) and all(
            types_match(p.type, q.type, behind_ptr, depth + 1)
            for p, q in zip(a.params, b.params, strict=True))
    return False


# --- candidates ------------------------------------------------------------------

def candidates(local_t: T.Type, targets: Sequence[Spec]) -> list[tuple[Spec, int]]:
    """Target (spec, type id) pairs with the local type's essential name and kind."""
    name = essential_name(getattr(local_t, "name", "") or "")
    if not name:
        return []
    want = tag_kind(local_t) if isinstance(local_t, T.Fwd) else local_t.kind
    out = []
    seen: set[tuple[int, int]] = set()
    for spec in targets:
        # as libbpf: a target type matches by its essential name too
        # (the kernel's own flavors, such as nf_conn___init)
        found = list(spec.types_by_name(name))
        flavored = getattr(spec, "flavored_names", None)
        for other in flavored(name) if flavored is not None else ():
            found.extend(spec.types_by_name(other))
        for t in found:
            kind = t.kind
            if isinstance(t, T.Fwd):
                continue  # a forward declaration says nothing about layout
            if kind != want and not (want in ("struct", "union") and isinstance(t, T.Composite)
                                     and isinstance(local_t, T.Fwd)):
                continue
            tid = spec.type_id(t)
            key = (id(t._spec), tid)
            if key not in seen:
                seen.add(key)
                out.append((spec, tid))
    return out
