"""The BTF type model.

Every BTF kind is a small mutable class. References between types (a pointer's
target, a member's type, ...) are ordinary attributes holding other type
objects; types decoded from a :class:`ebpf.btf.Spec` resolve those references
lazily, the first time they are read, so looking at one struct of the kernel's
150k types decodes only what is touched.

Types compare by identity (two ``Int("int", 4)`` objects are different types,
as two BTF ids are).

>>> from ebpf.btf import Int, Pointer, Struct, Member, sizeof
>>> i = Int("int", 4, signed=True)
>>> s = Struct("pair", 16, [Member("a", i, 0), Member("p", Pointer(i), 64)])
>>> sizeof(s), [m.name for m in s.members]
(16, ['a', 'p'])
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from ..errors import BTFError

if TYPE_CHECKING:
    from .parse import Spec

# BTF_KIND_* numbers (linux/btf.h)
KIND_UNKN = 0
KIND_INT = 1
KIND_PTR = 2
KIND_ARRAY = 3
KIND_STRUCT = 4
KIND_UNION = 5
KIND_ENUM = 6
KIND_FWD = 7
KIND_TYPEDEF = 8
KIND_VOLATILE = 9
KIND_CONST = 10
KIND_RESTRICT = 11
KIND_FUNC = 12
KIND_FUNC_PROTO = 13
KIND_VAR = 14
KIND_DATASEC = 15
KIND_FLOAT = 16
KIND_DECL_TAG = 17
KIND_TYPE_TAG = 18
KIND_ENUM64 = 19
KIND_MAX = 19

KIND_NAMES = {
    0: "void", 1: "int", 2: "ptr", 3: "array", 4: "struct", 5: "union", 6: "enum",
    7: "fwd", 8: "typedef", 9: "volatile", 10: "const", 11: "restrict", 12: "func",
    13: "func_proto", 14: "var", 15: "datasec", 16: "float", 17: "decl_tag",
    18: "type_tag", 19: "enum64",
}


class Linkage(enum.IntEnum):
    """Linkage of a FUNC (static/global/extern) or VAR (static/global/extern)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class _Ref:
    """Descriptor for a type reference stored in slot ``_<name>``.

    A decoder stores an ``int`` type id there; it is turned into the type object
    (through the owner's ``_spec``) on first access."""

    __slots__ = ("slot",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        v = getattr(obj, self.slot)
        if type(v) is int:
            v = obj._spec[v]
            setattr(obj, self.slot, v)
        return v

    def __set__(self, obj: Any, value: Any) -> None:
        if not isinstance(value, Type):
            raise BTFError(f"{type(obj).__name__}.{self.slot[1:]} must be a BTF type, "
                           f"not {type(value).__name__}")
        setattr(obj, self.slot, value)


class Type:
    """Base of every BTF type. ``kind`` is a lowercase kind name ("struct", ...);
    ``name`` is "" for anonymous types."""

    __slots__ = ("_spec", "_id", "__weakref__")
    _spec: Spec | None  # the Spec it was decoded from or added to
    _id: int | None  # its id there
    kind: str = "?"
    kind_id: int = -1
    name: str = ""

    def __repr__(self) -> str:
        name = getattr(self, "name", "")
        ident = f" #{self._id}" if getattr(self, "_id", None) is not None else ""
        return f"<{type(self).__name__}{ident} {name!r}>" if name else f"<{type(self).__name__}{ident}>"

    @property
    def type_id(self) -> int | None:
        """The id of this type in the Spec it was decoded from (None if built by hand)."""
        return getattr(self, "_id", None)

    def _init(self) -> None:
        self._spec = None
        self._id = None


class Void(Type):
    """``void`` (type id 0)."""

    __slots__ = ()
    kind = "void"
    kind_id = KIND_UNKN

    def __init__(self) -> None:
        self._init()


class Int(Type):
    """An integer: ``bits`` value bits starting at bit ``offset`` within ``size`` bytes."""

    __slots__ = ("name", "size", "signed", "bits", "offset", "is_bool", "is_char")
    kind = "int"
    kind_id = KIND_INT

    def __init__(self, name: str, size: int, signed: bool = False, bits: int | None = None,
                 offset: int = 0, is_bool: bool = False, is_char: bool = False) -> None:
        self._init()
        self.name = name
        self.size = size
        self.signed = signed
        self.bits = size * 8 if bits is None else bits
        self.offset = offset
        self.is_bool = is_bool
        self.is_char = is_char


class Float(Type):
    """A floating point type."""

    __slots__ = ("name", "size")
    kind = "float"
    kind_id = KIND_FLOAT

    def __init__(self, name: str, size: int) -> None:
        self._init()
        self.name = name
        self.size = size


class Pointer(Type):
    """A pointer to ``type``."""

    __slots__ = ("_type",)
    _type: Type | int  # a type id until first read (see _Ref)
    kind = "ptr"
    kind_id = KIND_PTR
    type = _Ref()

    def __init__(self, type: Type) -> None:
        self._init()
        self.type = type


class Array(Type):
    """``nelems`` elements of ``type``; ``index_type`` is usually an int."""

    __slots__ = ("_type", "_index_type", "nelems")
    _type: Type | int  # a type id until first read (see _Ref)
    _index_type: Type | int
    kind = "array"
    kind_id = KIND_ARRAY
    type = _Ref()
    index_type = _Ref()

    def __init__(self, type: Type, index_type: Type | None = None, nelems: int = 0) -> None:
        self._init()
        self.type = type
        self.index_type = index_type if index_type is not None else Int("__ARRAY_SIZE_TYPE__", 4)
        self.nelems = nelems


class Member:
    """A struct/union member. ``offset`` is in BITS; ``bitfield_size`` is 0 for a
    non-bitfield member. ``name`` is "" for an anonymous struct/union member."""

    __slots__ = ("name", "_type", "offset", "bitfield_size", "_spec")
    _type: Type | int  # a type id until first read (see _Ref)
    _spec: Spec | None
    type = _Ref()

    def __init__(self, name: str, type: Type, offset: int = 0, bitfield_size: int = 0) -> None:
        self._spec = None
        self.name = name
        self.type = type
        self.offset = offset
        self.bitfield_size = bitfield_size

    def __repr__(self) -> str:
        bf = f":{self.bitfield_size}" if self.bitfield_size else ""
        return f"Member({self.name!r}{bf} @bit {self.offset}, {self.type!r})"


class Composite(Type):
    """Common part of :class:`Struct` and :class:`Union`."""

    __slots__ = ("name", "size", "members")

    def __init__(self, name: str, size: int, members: list[Member] | None = None) -> None:
        self._init()
        self.name = name
        self.size = size
        self.members = list(members or [])

    def member(self, name: str, _depth: int = 0) -> Member:
        """The member called ``name`` (searching anonymous members too)."""
        if _depth > 64:
            raise BTFError(f"{self.kind} {self.name or '(anon)'}: anonymous members nested "
                           f"too deep (a loop?)")
        for m in self.members:
            if m.name == name:
                return m
        for m in self.members:
            if not m.name:
                inner = resolve(m.type)
                if isinstance(inner, Composite):
                    try:
                        found = inner.member(name, _depth + 1)
                    except BTFError:
                        continue
                    return Member(found.name, found.type, m.offset + found.offset,
                                  found.bitfield_size)
        raise BTFError(f"{self.kind} {self.name or '(anon)'} has no member {name!r}")


class Struct(Composite):
    """A struct of ``size`` bytes."""

    __slots__ = ()
    kind = "struct"
    kind_id = KIND_STRUCT


class Union(Composite):
    """A union of ``size`` bytes."""

    __slots__ = ()
    kind = "union"
    kind_id = KIND_UNION


class EnumValue:
    """One enumerator."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"EnumValue({self.name!r}, {self.value})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnumValue) and (self.name, self.value) == (other.name, other.value)

    def __hash__(self) -> int:
        return hash((self.name, self.value))


class Enum(Type):
    """An enum (BTF ENUM, or ENUM64 when ``size`` is 8)."""

    __slots__ = ("name", "size", "signed", "values")
    kind = "enum"
    kind_id = KIND_ENUM

    def __init__(self, name: str, size: int = 4, signed: bool = False,
                 values: list[EnumValue] | None = None) -> None:
        self._init()
        self.name = name
        self.size = size
        self.signed = signed
        self.values = list(values or [])

    @property
    def is64(self) -> bool:
        """Marshalled as ENUM64."""
        return self.size > 4

    def value(self, name: str) -> int:
        for v in self.values:
            if v.name == name:
                return v.value
        raise BTFError(f"enum {self.name or '(anon)'} has no value {name!r}")


class Fwd(Type):
    """A forward declaration of a struct (or union when ``is_union``)."""

    __slots__ = ("name", "is_union")
    kind = "fwd"
    kind_id = KIND_FWD

    def __init__(self, name: str, is_union: bool = False) -> None:
        self._init()
        self.name = name
        self.is_union = is_union


class _Named(Type):
    """Common part of the types that give a name to another one: :class:`Typedef`,
    :class:`TypeTag`, :class:`DeclTag`, :class:`Func` and :class:`Var`."""

    __slots__ = ("name", "_type")
    _type: Type | int  # a type id until first read (see _Ref)
    type = _Ref()

    def __init__(self, name: str, type: Type) -> None:
        self._init()
        self.name = name
        self.type = type


class Typedef(_Named):
    __slots__ = ()
    kind = "typedef"
    kind_id = KIND_TYPEDEF


class Qualifier(Type):
    """Common part of :class:`Volatile`, :class:`Const`, :class:`Restrict`."""

    __slots__ = ("_type",)
    _type: Type | int  # a type id until first read (see _Ref)
    type = _Ref()

    def __init__(self, type: Type) -> None:
        self._init()
        self.type = type


class Volatile(Qualifier):
    __slots__ = ()
    kind = "volatile"
    kind_id = KIND_VOLATILE


class Const(Qualifier):
    __slots__ = ()
    kind = "const"
    kind_id = KIND_CONST


class Restrict(Qualifier):
    __slots__ = ()
    kind = "restrict"
    kind_id = KIND_RESTRICT


class TypeTag(_Named):
    """``__attribute__((btf_type_tag(name)))`` on ``type``."""

    __slots__ = ()
    kind = "type_tag"
    kind_id = KIND_TYPE_TAG


class DeclTag(_Named):
    """``btf_decl_tag(name)`` on ``type`` (a struct member or function parameter
    when ``component_idx`` >= 0, the declaration itself when -1)."""

    __slots__ = ("component_idx",)
    kind = "decl_tag"
    kind_id = KIND_DECL_TAG

    def __init__(self, name: str, type: Type, component_idx: int = -1) -> None:
        super().__init__(name, type)
        self.component_idx = component_idx


class FuncParam:
    """A function parameter (``name`` may be ""). A trailing parameter of type
    Void with no name means ``...``."""

    __slots__ = ("name", "_type", "_spec")
    _type: Type | int  # a type id until first read (see _Ref)
    _spec: Spec | None
    type = _Ref()

    def __init__(self, name: str, type: Type) -> None:
        self._spec = None
        self.name = name
        self.type = type

    def __repr__(self) -> str:
        return f"FuncParam({self.name!r}, {self.type!r})"


class FuncProto(Type):
    """A function signature."""

    __slots__ = ("_return_type", "params")
    _return_type: Type | int  # a type id until first read (see _Ref)
    kind = "func_proto"
    kind_id = KIND_FUNC_PROTO
    return_type = _Ref()

    def __init__(self, return_type: Type, params: list[FuncParam] | None = None) -> None:
        self._init()
        self.return_type = return_type
        self.params = list(params or [])

    @property
    def variadic(self) -> bool:
        return bool(self.params) and not self.params[-1].name and isinstance(self.params[-1].type, Void)


class _Linked(_Named):
    """Common part of :class:`Func` and :class:`Var`: a name with a linkage."""

    __slots__ = ("linkage",)

    def __init__(self, name: str, type: Type, linkage: int = Linkage.STATIC) -> None:
        super().__init__(name, type)
        self.linkage = Linkage(linkage)


class Func(_Linked):
    """A function: ``type`` is its FuncProto."""

    __slots__ = ()
    kind = "func"
    kind_id = KIND_FUNC


class Var(_Linked):
    """A global variable (its place is given by a Datasec)."""

    __slots__ = ()
    kind = "var"
    kind_id = KIND_VAR


class VarSecinfo:
    """A variable's place in a Datasec: ``offset``/``size`` in bytes. Mutable
    (the ELF reader fixes up what the compiler left at zero)."""

    __slots__ = ("_type", "offset", "size", "_spec")
    _type: Type | int  # a type id until first read (see _Ref)
    _spec: Spec | None
    type = _Ref()

    def __init__(self, type: Type, offset: int = 0, size: int = 0) -> None:
        self._spec = None
        self.type = type
        self.offset = offset
        self.size = size

    def __repr__(self) -> str:
        return f"VarSecinfo({self.type!r}, offset={self.offset}, size={self.size})"


class Datasec(Type):
    """An ELF data section (".data", ".rodata", ".bss", ".maps", ...)."""

    __slots__ = ("name", "size", "vars")
    kind = "datasec"
    kind_id = KIND_DATASEC

    def __init__(self, name: str, size: int = 0, vars: list[VarSecinfo] | None = None) -> None:
        self._init()
        self.name = name
        self.size = size
        self.vars = list(vars or [])


# --- helpers ----------------------------------------------------------------

_SKIP = (Typedef, Qualifier, TypeTag)

#: longest chain of references a walk follows before calling it a loop
MAX_CHAIN = 256


def follow(t: Type, kinds: tuple[type, ...], what: str = "following a type chain") -> Type:
    """Follow ``.type`` while ``t`` is one of ``kinds``; a chain longer than
    :data:`MAX_CHAIN` is a reference loop (:class:`BTFError` saying ``what`` was
    being done). Every walk along typedef/qualifier/array chains goes through
    here, so hand-built or malformed types cannot make one run forever."""
    for _ in range(MAX_CHAIN):
        if not isinstance(t, kinds):
            return t
        t = t.type  # type: ignore[attr-defined]
    raise BTFError(f"type reference loop while {what}")


def resolve(t: Type) -> Type:
    """Strip typedefs, const/volatile/restrict and type tags.

    >>> from ebpf.btf import Int, Typedef, Const, resolve
    >>> i = Int("int", 4, signed=True)
    >>> resolve(Const(Typedef("s32", i))) is i
    True
    """
    return follow(t, _SKIP, "resolving a typedef/qualifier chain")


def skip_qualifiers(t: Type) -> Type:
    """Strip const/volatile/restrict and type tags (keep typedefs)."""
    return follow(t, (Qualifier, TypeTag), "skipping qualifiers")


def sizeof(t: Type) -> int:
    """Size in bytes of a value of type ``t``.

    >>> from ebpf.btf import Int, Array, sizeof
    >>> sizeof(Array(Int("char", 1), nelems=16))
    16
    """
    depth = 0
    mult = 1
    while True:
        depth += 1
        if depth > 256:
            raise BTFError("type reference loop while computing a size")
        if isinstance(t, (Int, Float, Enum, Composite, Datasec)):
            return mult * t.size
        if isinstance(t, Pointer):
            return mult * 8
        if isinstance(t, Array):
            mult *= t.nelems
            t = t.type
            continue
        if isinstance(t, (Typedef, Qualifier, TypeTag, Var)):
            t = t.type
            continue
        raise BTFError(f"{t!r} has no size")


def alignof(t: Type, _busy: frozenset[int] = frozenset()) -> int:
    """Natural alignment in bytes of type ``t`` (1 for a packed struct)."""
    t = follow(t, (*_SKIP, Array, Var), "computing an alignment")
    if isinstance(t, (Int, Float, Enum)):
        return max(1, min(t.size, 8))
    if isinstance(t, Pointer):
        return 8
    if isinstance(t, Composite):
        if id(t) in _busy:
            raise BTFError(f"{type_name(t)} contains itself")
        busy = _busy | {id(t)}
        align = 1
        for m in t.members:
            a = alignof(m.type, busy)
            if not m.bitfield_size and m.offset % (8 * a):
                return 1  # a member at a misaligned offset: the struct is packed
            align = max(align, a)
        if t.size % align:
            return 1
        return align
    if isinstance(t, Datasec):
        return 1
    raise BTFError(f"{t!r} has no alignment")


def type_name(t: Type, _depth: int = 0) -> str:
    """A short human name: ``struct task_struct``, ``int``, ``u32 *``."""
    if _depth > MAX_CHAIN:
        return "..."  # a reference loop: a name is still wanted (error messages use it)
    if isinstance(t, (Struct, Union, Enum)):
        return f"{t.kind} {t.name}" if t.name else f"{t.kind} (anon)"
    if isinstance(t, Fwd):
        return f"{'union' if t.is_union else 'struct'} {t.name}"
    if isinstance(t, Void):
        return "void"
    if isinstance(t, Pointer):
        return type_name(t.type, _depth + 1) + " *"
    if isinstance(t, Array):
        return f"{type_name(t.type, _depth + 1)}[{t.nelems}]"
    if isinstance(t, Qualifier):
        return f"{t.kind} {type_name(t.type, _depth + 1)}"
    if getattr(t, "name", ""):
        return t.name
    return t.kind


def is_integral(t: Type) -> bool:
    t = resolve(t)
    return isinstance(t, (Int, Enum))
