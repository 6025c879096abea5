"""Reference loops in BTF: types that refer to themselves where C cannot.

C allows a type to reach itself only through a pointer to a struct or union
(``struct node { struct node *next; }``). Anything else is malformed BTF, which
the kernel refuses ("Loop detected"), but a file may still hold it:

* a pointer/qualifier/typedef chain that comes back to where it started
  (``typedef t t``, ``const`` → ``volatile`` → ``const``, a pointer to itself);
* a type that contains itself by value (an array of itself, a struct member of
  its own struct type, through typedefs and qualifiers), or a function prototype
  that returns or takes itself.

:func:`check_loops` finds both over a parsed :class:`~ebpf.btf.Spec`'s own types
in one pass each, straight from the type section (no decoding), and raises
:class:`ebpf.BTFError` naming the loop, so that every later walk (rendering C,
sizes, CO-RE) can rely on chains ending. Kernel BTF is checked by the kernel
and skips this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BTFError
from . import types as T

if TYPE_CHECKING:
    from .parse import Spec

# kinds whose size_type field is a reference that a chain follows
_MODIFIERS = frozenset({T.KIND_TYPEDEF, T.KIND_VOLATILE, T.KIND_CONST, T.KIND_RESTRICT,
                        T.KIND_TYPE_TAG})
_CHAIN = _MODIFIERS | {T.KIND_PTR}  # a pointer chain must end too (ptr to ptr to ... itself)
_BY_VALUE_REF = _MODIFIERS | {T.KIND_VAR, T.KIND_FUNC}


def _edges(spec: Spec, idx: int, by_value: bool) -> list[int]:
    """Type ids (own ids only) type ``idx`` leads to in the chain (``by_value``
    False) or containment (``by_value`` True) graph."""
    w = spec._words
    i = spec._offsets[idx]
    info = w[i + 1]
    k = (info >> 24) & 0x1F
    if not by_value:
        return [w[i + 2]] if k in _CHAIN else []
    if k in _BY_VALUE_REF:
        return [w[i + 2]]
    if k == T.KIND_ARRAY:
        return [w[i + 3]]
    if k in (T.KIND_STRUCT, T.KIND_UNION):
        return [w[i + 4 + 3 * j] for j in range(info & 0xFFFF)]
    if k == T.KIND_FUNC_PROTO:  # C has no function type inside a function type
        return [w[i + 2]] + [w[i + 4 + 2 * j] for j in range(info & 0xFFFF)]
    return []


def _describe(spec: Spec, tid: int) -> str:
    name = spec.name_of(tid)
    return f"{tid} ({spec.kind_of(tid)}{' ' + name if name else ''})"


def _find(spec: Spec, by_value: bool) -> list[int] | None:
    """A loop (list of type ids, first repeated last) in one graph, or None."""
    first = spec._base_count
    n = len(spec._offsets)
    state = bytearray(n)  # 0 new, 1 on the current path, 2 done
    for start in range(n):
        if state[start]:
            continue
        path = [start]
        todo = [iter(_edges(spec, start, by_value))]
        state[start] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
                continue
            j = nxt - first
            if j < 0 or j >= n or state[j] == 2:
                continue  # a base type, void, a bad id (reported when used), or checked
            if state[j] == 1:
                loop = path[path.index(j):] + [j]
                return [x + first for x in loop]
            state[j] = 1
            path.append(j)
            todo.append(iter(_edges(spec, j, by_value)))
    return None


def check_loops(spec: Spec) -> None:
    """Raise :class:`BTFError` when ``spec``'s own types hold a reference loop that
    does not go through a pointer to a struct or union."""
    for by_value, what in ((False, "a pointer/typedef/qualifier chain that loops"),
                           (True, "a type that contains itself by value")):
        loop = _find(spec, by_value)
        if loop:
            ids = " -> ".join(_describe(spec, t) for t in loop)
            raise BTFError(f"type id {loop[0]}: reference loop, {what}: {ids}")
