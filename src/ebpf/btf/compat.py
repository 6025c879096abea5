"""Make object BTF loadable by kernels that lack newer BTF kinds.

Type ids never change: each unsupported type is replaced, in place, by a kind
the kernel knows with the same footprint (the way libbpf degrades BTF), so
map and program references to type ids stay valid.

=================  ==========================================  =============
missing feature    replacement                                 kernel added
=================  ==========================================  =============
``datasec``        VAR -> INT, DATASEC -> STRUCT of its vars   5.2
``func``           FUNC_PROTO -> ENUM (no values), FUNC -> TYPEDEF  5.0
``func_global``    global FUNC -> static FUNC                  5.6
``float``          FLOAT -> STRUCT (no members, same size)     5.13
``decl_tag``       DECL_TAG -> INT (1 byte)                    5.16
``type_tag``       TYPE_TAG -> CONST                           5.17
``enum64``         ENUM64 -> UNION (no members, same size)     6.0
=================  ==========================================  =============

>>> from ebpf.btf import Spec, Float, sanitize
>>> s = Spec(); tid = s.add(Float("double", 8))
>>> sanitize(s, float=False)[tid].kind
'struct'
"""

from __future__ import annotations

from . import types as T
from .parse import Spec

FEATURES = ("datasec", "func", "func_global", "float", "decl_tag", "type_tag", "enum64")


def _ident(name: str) -> str:
    """Kernels before DATASEC reject '.' in struct names."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def sanitize(spec: Spec, *, datasec: bool = True, func: bool = True, func_global: bool = True,
             float: bool = True, decl_tag: bool = True, type_tag: bool = True,
             enum64: bool = True) -> Spec:
    """A copy of ``spec`` where kinds the kernel lacks (the features passed as
    False) are replaced; ``spec`` itself is left as is. Marshal the result with
    ``to_bytes()``."""
    out = Spec(base=spec.base)
    out._origin = spec  # keeps replaced objects (and their ids) alive
    for tid in spec.own_ids():
        t = spec[tid]
        new: T.Type | None = None
        if not datasec and isinstance(t, T.Var):
            new = T.Int(_ident(t.name), 4, signed=True)
        elif not datasec and isinstance(t, T.Datasec):
            members = [T.Member(_ident(getattr(v.type, "name", "") or f"var{i}"), v.type,
                                v.offset * 8) for i, v in enumerate(t.vars)]
            new = T.Struct(_ident(t.name), t.size, members)
        elif not func and isinstance(t, T.FuncProto):
            new = T.Enum("", 4, False, [])
        elif not func and isinstance(t, T.Func):
            new = T.Typedef(t.name, t.type)
        elif not func_global and isinstance(t, T.Func) and t.linkage == T.Linkage.GLOBAL:
            new = T.Func(t.name, t.type, T.Linkage.STATIC)
        elif not float and isinstance(t, T.Float):
            new = T.Struct(t.name, t.size, [])
        elif not decl_tag and isinstance(t, T.DeclTag):
            new = T.Int(t.name, 1)
        elif not type_tag and isinstance(t, T.TypeTag):
            new = T.Const(t.type)
        elif not enum64 and isinstance(t, T.Enum) and t.is64:
            new = T.Union(t.name, t.size, [])
        _append(out, tid, t, new)
    return out


def _append(out: Spec, tid: int, old: T.Type, new: T.Type | None) -> None:
    """Put ``new`` (or ``old``) at id ``tid`` of ``out``; references to ``old``
    from other types resolve to the same id."""
    t = new if new is not None else old
    out._cache.append(t)
    out._added[id(t)] = tid
    if new is not None:
        out._added[id(old)] = tid
