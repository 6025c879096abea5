"""Reading BTF: the :class:`Spec`.

A Spec indexes a BTF blob without decoding it: one pass over the type section
records where each type starts (and its name offset); types are decoded on
demand and memoised, and references between them resolve lazily. That keeps
``load_kernel_btf()`` and a lookup of ``struct task_struct`` well under a second
although vmlinux BTF holds ~150k types.

>>> from ebpf.btf import Spec, Int, Pointer
>>> s = Spec()
>>> tid = s.add(Pointer(Int("int", 4, signed=True)))
>>> again = Spec.from_bytes(s.to_bytes())
>>> again[tid].type.name, len(again)
('int', 2)
"""

from __future__ import annotations

import logging
import struct
import sys
from array import array
from collections.abc import Iterator
from typing import Any

from .._internal.elf import section_contents
from .._internal.ints import s32
from ..errors import BTFError
from . import types as T

log = logging.getLogger(__name__)

MAGIC = 0xEB9F
HEADER = struct.Struct("<HBBIIIII")
HEADER_BE = struct.Struct(">HBBIIIII")

# Extra 32-bit words after the 3-word btf_type header: fixed part and per-vlen.
_FIXED = [0] * 32
_PER = [0] * 32
_FIXED[T.KIND_INT] = 1
_FIXED[T.KIND_ARRAY] = 3
_PER[T.KIND_STRUCT] = 3
_PER[T.KIND_UNION] = 3
_PER[T.KIND_ENUM] = 2
_PER[T.KIND_FUNC_PROTO] = 2
_FIXED[T.KIND_VAR] = 1
_PER[T.KIND_DATASEC] = 3
_FIXED[T.KIND_DECL_TAG] = 1
_PER[T.KIND_ENUM64] = 3
_KNOWN = {k for k in range(1, T.KIND_MAX + 1)}

_KIND_ALIASES = {
    "pointer": "ptr", "enum64": "enum", "function": "func", "proto": "func_proto",
    "func-proto": "func_proto", "section": "datasec", "typetag": "type_tag",
    "decltag": "decl_tag", "forward": "fwd",
}


def _kind_key(kind: str | type | None) -> str | None:
    if kind is None:
        return None
    if isinstance(kind, type):
        if not issubclass(kind, T.Type):
            raise BTFError(f"unknown BTF kind {kind.__name__} (not a BTF type class)")
        return kind.kind
    k = kind.lower()
    k = _KIND_ALIASES.get(k, k)
    if k not in T.KIND_NAMES.values():
        raise BTFError(f"unknown BTF kind {kind!r}")
    return k


class Spec:
    """A set of BTF types: decoded lazily from bytes, or built with :meth:`add`.

    ``spec[id]`` is the type with that id (0 is ``void``); iteration yields types
    1..N; ``len(spec)`` is N. A *split* spec (kernel module BTF) has a ``base``:
    its ids continue after the base's and it sees the base's types and strings.
    """

    def __init__(self, base: Spec | None = None) -> None:
        self.base = base
        self._base_count = len(base) + 1 if base is not None else 1  # first own id
        self._base_strlen = base._strings_len() if base is not None else 0
        self._little = True
        self._words: Any = array("I")  # type section as u32 words (host order)
        self._offsets = array("I")  # word index of each own type
        self._names = array("I")  # name_off of each own type
        self._strings = b"\0"
        self._str_cache: dict[int, str] = {}
        self._cache: list[Any] = []  # decoded own types (None = not yet)
        self._added: dict[int, int] = {}  # id(obj) -> type id, for types added by hand
        self._hdr_flags = 0
        self._lookups = 0
        self._marshal_strings: Any = None
        self._name_index: dict[str, list[int]] | None = None
        self._void = T.Void()
        self._void._spec = self
        self._void._id = 0
        self.raw: bytes | None = None
        #: the file the spec was read from (kernel and module BTF), else None
        self.path: str | None = None
        #: a spec this one was derived from and keeps alive (see btf.compat)
        self._origin: Spec | None = None

    # -- construction -------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes, base: Spec | None = None, *, check: bool = True,
                   scan: tuple[array, array] | None = None) -> Spec:
        """Parse a BTF blob (the contents of a .BTF section or /sys/kernel/btf/*).

        Reference loops C cannot express (a typedef of itself, an array of itself,
        ...) raise :class:`BTFError` here (:mod:`ebpf.btf.loops`); ``check=False``
        skips that pass for BTF the kernel has already checked (its own).
        ``scan``: the (type offsets, name offsets) :meth:`scan_tables` gave for these
        very bytes before, which spares the pass over the type section."""
        spec = cls(base)
        spec._load(bytes(data), scan)
        if check:
            from .loops import check_loops

            check_loops(spec)
        return spec

    def scan_tables(self) -> tuple[array, array]:
        """Where each own type starts in the type section (in 4-byte words) and its
        name offset: what :meth:`from_bytes` can take back as ``scan``."""
        return self._offsets, self._names

    @classmethod
    def from_file(cls, path: str, base: Spec | None = None) -> Spec:
        """Parse a raw BTF file, or the .BTF section of an ELF object."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise BTFError(f"cannot read BTF from {path}: {e.strerror}") from None
        if data[:4] == b"\x7fELF":
            try:
                btf = section_contents(data).get(".BTF")
            except (ValueError, struct.error, IndexError) as e:
                raise BTFError(f"{path}: truncated or malformed ELF section table ({e})") from None
            if btf is None:
                raise BTFError(f"{path}: ELF object has no .BTF section")
            data = btf
        try:
            return cls.from_bytes(data, base)
        except BTFError as e:
            raise BTFError(f"{path}: {e}") from None

    def _load(self, data: bytes, scan: tuple[array, array] | None = None) -> None:
        if len(data) < HEADER.size:
            raise BTFError(f"BTF too short for its header ({len(data)} bytes)")
        magic = int.from_bytes(data[:2], "little")
        if magic == MAGIC:
            little = True
            hdr = HEADER
        elif magic == 0x9FEB:
            little = False
            hdr = HEADER_BE
        else:
            raise BTFError(f"bad BTF magic {data[:2].hex()} (expected 9feb or eb9f)")
        _, version, flags, hdr_len, type_off, type_len, str_off, str_len = hdr.unpack_from(data)
        if version != 1:
            raise BTFError(f"unsupported BTF version {version}")
        if hdr_len < HEADER.size or hdr_len > len(data):
            raise BTFError(f"bad BTF header length {hdr_len}")
        ts, te = hdr_len + type_off, hdr_len + type_off + type_len
        ss, se = hdr_len + str_off, hdr_len + str_off + str_len
        if te > len(data) or se > len(data) or type_len % 4 or ts % 4 and type_len:
            raise BTFError(f"BTF type section {ts}..{te} / string section {ss}..{se} "
                           f"does not fit in {len(data)} bytes (or is misaligned)")
        self.raw = data
        self._little = little
        self._hdr_flags = flags
        self._strings = data[ss:se]
        if self.base is None and str_len and self._strings[:1] != b"\0":
            raise BTFError("BTF string section does not start with an empty string")
        host_little = sys.byteorder == "little"
        words: memoryview | array[int]
        if little == host_little:
            words = memoryview(data)[ts:te].cast("I")
        else:
            words = array("I", data[ts:te])
            words.byteswap()
        self._words = words
        if scan is None:
            self._scan()
            return
        offs, names = scan
        if len(offs) != len(names) or (len(offs) and max(offs) >= len(words)):
            raise BTFError("the given type tables do not fit this BTF")
        self._offsets, self._names = offs, names
        self._cache = [None] * len(offs)

    def _scan(self) -> None:
        """One pass over the type section: each type's start and name offset."""
        w = self._words
        n = len(w)
        fixed, per, known = _FIXED, _PER, _KNOWN
        offs: list[int] = []
        names: list[int] = []
        add_off, add_name = offs.append, names.append
        i = 0
        try:
            while i < n:
                info = w[i + 1]
                k = (info >> 24) & 0x1F
                if k not in known:
                    raise BTFError(f"type id {self._base_count + len(offs)}: unknown BTF kind {k}")
                add_off(i)
                add_name(w[i])
                i += 3 + fixed[k] + per[k] * (info & 0xFFFF)
        except IndexError:
            raise BTFError(f"type id {self._base_count + len(offs)}: truncated BTF type section") from None
        if i != n:
            raise BTFError(f"type id {self._base_count + len(offs) - 1}: runs past the end of "
                           f"the BTF type section")
        self._offsets = array("I", offs)
        self._names = array("I", names)
        self._cache = [None] * len(offs)

    # -- strings ------------------------------------------------------------
    def _strings_len(self) -> int:
        return self._base_strlen + len(self._strings)

    def string(self, off: int) -> str:
        """The string at offset ``off`` of the string table."""
        if off < self._base_strlen:
            return self.base.string(off)  # type: ignore[union-attr]
        s = self._str_cache.get(off)
        if s is not None:
            return s
        local = off - self._base_strlen
        if local >= len(self._strings):
            raise BTFError(f"string offset {off} outside the BTF string table "
                           f"({self._strings_len()} bytes)")
        end = self._strings.find(b"\0", local)
        if end < 0:
            end = len(self._strings)
        s = self._strings[local:end].decode("utf-8", "replace")
        self._str_cache[off] = s
        return s

    @property
    def strings(self) -> list[str]:
        """Every string of this spec's own string table, in order."""
        return [s.decode("utf-8", "replace") for s in self._strings.split(b"\0")[:-1]] \
            if self._strings.endswith(b"\0") else \
            [s.decode("utf-8", "replace") for s in self._strings.split(b"\0")]

    def _string_offsets(self, name: str) -> list[int]:
        """Every offset (base table included) where ``name`` is stored."""
        out: list[int] = []
        if self.base is not None:
            out.extend(self.base._string_offsets(name))
        needle = name.encode()
        tab = self._strings
        if not needle:
            return out
        pat = b"\0" + needle + b"\0"
        pos = tab.find(pat)
        while pos >= 0:
            out.append(self._base_strlen + pos + 1)
            pos = tab.find(pat, pos + 1)
        return out

    def flavored_names(self, name: str) -> list[str]:
        """Every stored name that is ``name`` with a CO-RE flavor suffix
        (``name___something``), base table included."""
        out: set[str] = set()
        if self.base is not None:
            out.update(self.base.flavored_names(name))
        tab = self._strings
        pat = b"\0" + name.encode() + b"___"
        pos = tab.find(pat)
        while pos >= 0:
            end = tab.find(b"\0", pos + 1)
            out.add(tab[pos + 1:end if end >= 0 else len(tab)].decode(errors="replace"))
            pos = tab.find(pat, pos + 1)
        return sorted(out)

    # -- type access --------------------------------------------------------
    def __len__(self) -> int:
        return self._base_count - 1 + len(self._cache)

    def __iter__(self) -> Iterator[T.Type]:
        for tid in range(1, len(self) + 1):
            yield self[tid]

    def own_ids(self) -> range:
        """Ids of the types this spec holds itself (not its base's)."""
        return range(self._base_count, self._base_count + len(self._cache))

    def __getitem__(self, tid: int) -> T.Type:
        if tid < self._base_count:
            if tid == 0:
                return self.base[0] if self.base is not None else self._void
            if self.base is None or tid < 0:
                raise BTFError(f"no BTF type with id {tid}")
            return self.base[tid]
        idx = tid - self._base_count
        try:
            t = self._cache[idx]
        except IndexError:
            raise BTFError(f"no BTF type with id {tid} (spec has {len(self)} types)") from None
        if t is None:
            t = self._decode(idx)
            self._cache[idx] = t
        return t

    def __contains__(self, t: object) -> bool:
        if not isinstance(t, T.Type):
            return False
        try:
            self.type_id(t)
        except BTFError:
            return False
        return True

    def type_id(self, t: T.Type) -> int:
        """The id of ``t`` in this spec (raises BTFError when it is not in it)."""
        tid = self._added.get(id(t))
        if tid is not None:
            return tid
        if isinstance(t, T.Void):
            return 0
        spec = getattr(t, "_spec", None)
        if spec is not None:
            s: Spec | None = self
            while s is not None:
                if s is spec and t._id is not None:
                    return t._id
                s = s.base
        raise BTFError(f"{t!r} is not a type of this BTF spec")

    def kind_of(self, tid: int) -> str:
        """Kind name of type ``tid`` without decoding it."""
        if tid == 0:
            return "void"
        if tid < self._base_count:
            return self.base.kind_of(tid)  # type: ignore[union-attr]
        idx = tid - self._base_count
        if idx >= len(self._offsets):
            return self[tid].kind
        k = (self._words[self._offsets[idx] + 1] >> 24) & 0x1F
        return "enum" if k == T.KIND_ENUM64 else T.KIND_NAMES[k]

    def name_of(self, tid: int) -> str:
        """Name of type ``tid`` without decoding it."""
        if tid == 0:
            return ""
        if tid < self._base_count:
            return self.base.name_of(tid)  # type: ignore[union-attr]
        idx = tid - self._base_count
        if idx < len(self._names):
            return self.string(self._names[idx])
        return getattr(self[tid], "name", "")

    # -- name lookup ----------------------------------------------------------
    def _build_name_index(self) -> dict[str, list[int]]:
        by_off: dict[int, list[int]] = {}
        first = self._base_count
        for i, off in enumerate(self._names):
            if off:
                lst = by_off.get(off)
                if lst is None:
                    by_off[off] = [first + i]
                else:
                    lst.append(first + i)
        index: dict[str, list[int]] = {}
        for off, ids in by_off.items():
            name = self.string(off)
            have = index.get(name)
            if have is None:
                index[name] = ids
            else:
                have.extend(ids)
                have.sort()
        return index

    def _ids_with_name(self, name: str) -> list[int]:
        out: list[int] = []
        if self.base is not None:
            out.extend(self.base._ids_with_name(name))
        # a few lookups scan the raw tables; many build a full index once
        self._lookups += 1
        if self._name_index is None and self._lookups > 32:
            self._name_index = self._build_name_index()
        if self._name_index is not None:
            out.extend(self._name_index.get(name, ()))
        elif len(self._names) and (offs := self._string_offsets(name)):
            hay = self._names.tobytes()
            for off in offs:
                needle = array("I", [off]).tobytes()
                pos = hay.find(needle)
                while pos >= 0:
                    if pos % 4 == 0:
                        out.append(self._base_count + pos // 4)
                    pos = hay.find(needle, pos + 1)
        # types added by hand
        n0 = self._base_count + len(self._names)
        for tid in range(n0, self._base_count + len(self._cache)):
            if getattr(self[tid], "name", None) == name:
                out.append(tid)
        out.sort()
        return out

    def types_by_name(self, name: str, kind: str | type | None = None) -> list[T.Type]:
        """Every type called ``name`` (of ``kind`` if given), in id order."""
        k = _kind_key(kind)
        out = []
        for tid in self._ids_with_name(name):
            if k is None or self.kind_of(tid) == k:
                out.append(self[tid])
        return out

    def type_by_name(self, name: str, kind: str | type | None = None) -> T.Type:
        """The one type called ``name``; ``kind`` narrows it ("struct", "enum",
        "typedef", "func", "int", ... or a type class). ``"struct task_struct"``
        is accepted for ``("task_struct", "struct")``.

        Raises BTFError when there is no such type, or more than one.
        """
        if kind is None and " " in name:
            first, rest = name.split(None, 1)
            if first in ("struct", "union", "enum", "typedef", "func"):
                kind, name = first, rest.strip()
        found = self.types_by_name(name, kind)
        what = f"{_kind_key(kind)} {name}" if kind else repr(name)
        if not found:
            raise BTFError(f"no BTF type {what}")
        if len(found) > 1:
            # identical duplicates (same kind and size) of a non-struct are harmless
            kinds = {f.kind for f in found}
            if kind is None and len(kinds) > 1:
                non_fwd = [f for f in found if not isinstance(f, T.Fwd)]
                if len(non_fwd) == 1:
                    return non_fwd[0]
            raise BTFError(f"BTF type {what} is ambiguous: {len(found)} types "
                           f"(ids {', '.join(str(self.type_id(f)) for f in found)})")
        return found[0]

    def find(self, name: str, kind: str | type | None = None) -> T.Type | None:
        """Like :meth:`type_by_name` but returns None when absent (still raises
        when ambiguous)."""
        try:
            return self.type_by_name(name, kind)
        except BTFError:
            if not self.types_by_name(name, kind):
                return None
            raise

    # -- decoding -------------------------------------------------------------
    def _decode(self, idx: int) -> T.Type:
        w = self._words
        i = self._offsets[idx]
        tid = self._base_count + idx
        name_off, info, size_type = w[i], w[i + 1], w[i + 2]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = info >> 31
        new = object.__new__
        t: T.Type
        try:
            name = self.string(name_off) if name_off else ""
            if kind == T.KIND_INT:
                t = new(T.Int)
                enc = w[i + 3]
                t.name, t.size = name, size_type
                e = (enc >> 24) & 0xF
                t.signed, t.is_char, t.is_bool = bool(e & 1), bool(e & 2), bool(e & 4)
                t.offset, t.bits = (enc >> 16) & 0xFF, enc & 0xFF
            elif kind == T.KIND_PTR:
                t = new(T.Pointer)
                t._type = size_type
            elif kind == T.KIND_ARRAY:
                t = new(T.Array)
                t._type, t._index_type, t.nelems = w[i + 3], w[i + 4], w[i + 5]
            elif kind in (T.KIND_STRUCT, T.KIND_UNION):
                t = new(T.Struct if kind == T.KIND_STRUCT else T.Union)
                t.name, t.size = name, size_type
                ms = []
                j = i + 3
                for _ in range(vlen):
                    m = new(T.Member)
                    m._spec = self
                    m.name = self.string(w[j]) if w[j] else ""
                    m._type = w[j + 1]
                    off = w[j + 2]
                    if kflag:
                        m.offset, m.bitfield_size = off & 0xFFFFFF, off >> 24
                    else:
                        m.offset, m.bitfield_size = off, 0
                    ms.append(m)
                    j += 3
                t.members = ms
            elif kind in (T.KIND_ENUM, T.KIND_ENUM64):
                t = new(T.Enum)
                t.name, t.size, t.signed = name, size_type, bool(kflag)
                vals = []
                j = i + 3
                string = self.string
                if kind == T.KIND_ENUM:
                    for _ in range(vlen):
                        v = w[j + 1]
                        if kflag:
                            v = s32(v)
                        vals.append(T.EnumValue(string(w[j]), v))
                        j += 2
                else:
                    for _ in range(vlen):
                        v = w[j + 1] | (w[j + 2] << 32)
                        if kflag and v >> 63:
                            v -= 1 << 64
                        vals.append(T.EnumValue(string(w[j]), v))
                        j += 3
                t.values = vals
            elif kind == T.KIND_FWD:
                t = new(T.Fwd)
                t.name, t.is_union = name, bool(kflag)
            elif kind == T.KIND_TYPEDEF:
                t = new(T.Typedef)
                t.name, t._type = name, size_type
            elif kind in (T.KIND_VOLATILE, T.KIND_CONST, T.KIND_RESTRICT):
                t = new({T.KIND_VOLATILE: T.Volatile, T.KIND_CONST: T.Const,
                         T.KIND_RESTRICT: T.Restrict}[kind])
                t._type = size_type
            elif kind == T.KIND_FUNC:
                t = new(T.Func)
                t.name, t._type = name, size_type
                t.linkage = T.Linkage(vlen) if vlen <= 2 else vlen
            elif kind == T.KIND_FUNC_PROTO:
                t = new(T.FuncProto)
                t._return_type = size_type
                ps = []
                j = i + 3
                for _ in range(vlen):
                    p = new(T.FuncParam)
                    p._spec = self
                    p.name = self.string(w[j]) if w[j] else ""
                    p._type = w[j + 1]
                    ps.append(p)
                    j += 2
                t.params = ps
            elif kind == T.KIND_VAR:
                t = new(T.Var)
                t.name, t._type = name, size_type
                lk = w[i + 3]
                t.linkage = T.Linkage(lk) if lk <= 2 else lk
            elif kind == T.KIND_DATASEC:
                t = new(T.Datasec)
                t.name, t.size = name, size_type
                vs = []
                j = i + 3
                for _ in range(vlen):
                    v = new(T.VarSecinfo)
                    v._spec = self
                    v._type, v.offset, v.size = w[j], w[j + 1], w[j + 2]
                    vs.append(v)
                    j += 3
                t.vars = vs
            elif kind == T.KIND_FLOAT:
                t = new(T.Float)
                t.name, t.size = name, size_type
            elif kind == T.KIND_DECL_TAG:
                t = new(T.DeclTag)
                t.name, t._type, t.component_idx = name, size_type, s32(w[i + 3])
            elif kind == T.KIND_TYPE_TAG:
                t = new(T.TypeTag)
                t.name, t._type = name, size_type
            else:  # pragma: no cover - _scan rejects unknown kinds
                raise BTFError(f"unknown kind {kind}")
        except BTFError as e:
            raise BTFError(f"type id {tid}: {e}") from None
        t._spec = self
        t._id = tid
        return t

    # -- building -------------------------------------------------------------
    def add(self, t: T.Type) -> int:
        """Add ``t`` (and every type it refers to that is not here yet); returns its id.

        >>> from ebpf.btf import Spec, Int
        >>> s = Spec(); s.add(Int("int", 4, signed=True))
        1
        """
        try:
            return self.type_id(t)
        except BTFError:
            pass
        if isinstance(t, T.Void):
            return 0
        tid = self._base_count + len(self._cache)
        self._cache.append(t)
        self._added[id(t)] = tid
        if getattr(t, "_spec", None) is None:
            t._spec = self
            t._id = tid
        for ref in _references(t):
            self.add(ref)
        return tid

    # -- marshalling ------------------------------------------------------------
    def _out_strings(self) -> Any:
        if self._marshal_strings is None:
            from .marshal import _Strings

            initial = self._strings if self.raw is not None else b"\0"
            self._marshal_strings = _Strings(self._base_strlen, initial)
        return self._marshal_strings

    def string_offset(self, s: str) -> int:
        """Offset of ``s`` in the string table :meth:`to_bytes` writes (added if
        missing). Strings of a parsed spec keep their original offsets, so call
        this before or after ``to_bytes()`` alike for those; for new strings,
        marshal after the last call."""
        if self.base is not None and s:
            found = self.base._string_offsets(s)
            if found:
                return found[0]
        return self._out_strings().add(s)

    def to_bytes(self, byteorder: str = "little") -> bytes:
        """Marshal this spec's own types to a BTF blob the kernel accepts
        (BPF_BTF_LOAD). Reflects any change made to the type objects."""
        from .marshal import marshal

        return marshal(self, byteorder)

    def __reduce__(self) -> tuple:
        # pickling / deepcopy: through the wire format (reflects changes made to types)
        return (_unmarshal, (self.to_bytes(), self.base))

    def __repr__(self) -> str:
        base = f", base of {len(self.base)} types" if self.base is not None else ""
        return f"<btf.Spec {len(self) - self._base_count + 1} types{base}>"


def _unmarshal(data: bytes, base: Spec | None) -> Spec:
    return Spec.from_bytes(data, base)


def _references(t: T.Type) -> list[T.Type]:
    """The types ``t`` refers to directly."""
    if isinstance(t, (T.Composite)):
        return [m.type for m in t.members]
    if isinstance(t, T.Array):
        return [t.type, t.index_type]
    if isinstance(t, T.FuncProto):
        return [t.return_type, *(p.type for p in t.params)]
    if isinstance(t, T.Datasec):
        return [v.type for v in t.vars]
    if isinstance(t, (T.Pointer, T.Typedef, T.Qualifier, T.TypeTag, T.DeclTag, T.Func, T.Var)):
        return [t.type]
    return []
