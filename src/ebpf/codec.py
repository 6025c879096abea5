"""Turning Python values into map keys/values and back.

Encoding accepts ``int`` (little-endian, sized to the field), ``bytes`` of the
exact size, ctypes objects, :class:`Struct` objects that :func:`decode` made, and
``dict``/``list`` when a BTF type says how to lay them out. Decoding uses BTF
when there is a type: integers become ``int``, enums ``int``, structs
:class:`Struct` (named fields), ``char`` arrays ``bytes``, other arrays ``list``;
without a type, ``bytes``.
"""

from __future__ import annotations

import ctypes
import sys
from array import array
from typing import Any

from .errors import MapError, MapTypeError


class Struct:
    """A decoded C struct/union: fields as attributes and by ``[name]``.

    >>> s = Struct("event", {"pid": 1, "comm": b"sh"})
    >>> s.pid, s["comm"]
    (1, b'sh')
    """

    __slots__ = ("_name", "_fields")

    def __init__(self, name: str, fields: dict[str, Any]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, item: str) -> Any:
        try:
            return self._fields[item]
        except KeyError:
            raise AttributeError(f"struct {self._name} has no field {item!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key not in self._fields:
            raise AttributeError(f"struct {self._name} has no field {key!r}")
        self._fields[key] = value

    def __getitem__(self, item: str) -> Any:
        return self._fields[item]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Struct):
            return self._fields == other._fields
        if isinstance(other, dict):
            return self._fields == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._fields.items())))

    def asdict(self) -> dict[str, Any]:
        """Fields as a plain dict (nested structs too)."""
        return {k: v.asdict() if isinstance(v, Struct) else v for k, v in self._fields.items()}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"{self._name or 'struct'}({inner})"


def _btf():
    from . import btf

    return btf


def _strip(t: Any) -> Any:
    """Follow typedef/const/volatile/restrict/type_tag to the real type."""
    if t is None:
        return None
    return _btf().resolve(t)


def decode(data: bytes, btf_type: Any = None) -> Any:
    """Decode ``data`` through a BTF type (or return it as bytes)."""
    t = _strip(btf_type)
    if t is None:
        return bytes(data)
    b = _btf()
    if isinstance(t, b.Int):
        if t.bits and t.bits not in (8, 16, 32, 64, 128) and t.size * 8 != t.bits:
            v = int.from_bytes(data[: t.size], "little")
            v = (v >> t.offset) & ((1 << t.bits) - 1)
            return v
        return int.from_bytes(data[: t.size], "little", signed=t.signed)
    if isinstance(t, b.Enum):
        return int.from_bytes(data[: t.size], "little", signed=getattr(t, "signed", False))
    if isinstance(t, b.Pointer):
        return int.from_bytes(data[:8], "little")
    if isinstance(t, b.Float):
        import struct

        return struct.unpack("<d" if t.size == 8 else "<f", data[: t.size])[0]
    if isinstance(t, b.Array):
        elem = _strip(t.type)
        if isinstance(elem, b.Int) and elem.size == 1:
            return bytes(data[: t.nelems])
        size = b.sizeof(elem)
        return [decode(data[i * size:(i + 1) * size], elem) for i in range(t.nelems)]
    if isinstance(t, (b.Struct, b.Union)):
        fields: dict[str, Any] = {}
        for idx, m in enumerate(t.members):
            mt = _strip(m.type)
            start = m.offset // 8
            if getattr(m, "bitfield_size", 0):
                size = b.sizeof(mt)
                raw = int.from_bytes(data[start:start + max(size, 8)][:8].ljust(8, b"\0"), "little")
                val = (raw >> (m.offset % 8)) & ((1 << m.bitfield_size) - 1)
                fields[m.name or f"_{idx}"] = val
                continue
            size = b.sizeof(mt)
            value = decode(data[start:start + size], mt)
            if m.name:
                fields[m.name] = value
            elif isinstance(value, Struct):  # anonymous struct/union: flatten
                fields.update(value._fields)
            else:
                fields[f"_{idx}"] = value
        return Struct(t.name or "", fields)
    return bytes(data)


def _int_shape(btf_type: Any, size: int, plain_ints: bool) -> tuple[int, bool] | None:
    """(byte width, signed) of a type that decodes as one little-endian integer at
    the start of ``size`` bytes (see :func:`int_decoder`), or None."""
    t = _strip(btf_type)
    if t is None:
        return (size, False) if plain_ints and size in (1, 2, 4, 8) else None
    b = _btf()
    if isinstance(t, b.Int):
        if t.bits and t.bits not in (8, 16, 32, 64, 128) and t.size * 8 != t.bits:
            return None
        return t.size, bool(t.signed)
    if isinstance(t, b.Enum):
        return t.size, bool(getattr(t, "signed", False))
    if isinstance(t, b.Pointer):
        return 8, False
    return None


def int_decoder(btf_type: Any, size: int, plain_ints: bool = True) -> Any:
    """A ``bytes -> int`` function equal to :func:`decode` for types that decode as
    one little-endian integer (BTF ints of full width, enums, pointers; with no type
    and ``plain_ints``, sizes 1/2/4/8, as maps read them), or None. Made once per
    map, it spares a per-call type walk."""
    shape = _int_shape(btf_type, size, plain_ints)
    if shape is None:
        return None
    n, signed = shape
    if n == size:
        return lambda raw: int.from_bytes(raw, "little", signed=signed)
    return lambda raw: int.from_bytes(raw[:n], "little", signed=signed)


#: ``array`` typecodes by (item size, signed)
_TYPECODES = {(array(c).itemsize, c.islower()): c for c in "BHIQbhiq"}


def int_typecode(btf_type: Any, size: int, plain_ints: bool = True) -> str | None:
    """The ``array`` typecode that reads packed ``size``-byte items of ``btf_type``
    exactly as :func:`int_decoder` does (the type fills the item, the host is little
    endian), or None: what bulk decoders use to turn a buffer into ints in one call."""
    shape = _int_shape(btf_type, size, plain_ints)
    if shape is None or shape[0] != size or sys.byteorder != "little":
        return None
    return _TYPECODES.get(shape)


def int_signed(btf_type: Any) -> bool:
    """Whether :func:`encode` writes a non-negative int to ``btf_type`` as signed."""
    t = _strip(btf_type)
    return t is not None and isinstance(t, _btf().Int) and bool(t.signed)


def encode(value: Any, size: int, btf_type: Any = None, what: str = "value") -> bytes:
    """Encode a Python value to exactly ``size`` bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != size:
            raise MapError(f"{what} is {len(raw)} bytes, the map needs {size}")
        return raw
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        t = _strip(btf_type)
        signed = value < 0
        if t is not None and isinstance(t, _btf().Int):
            signed = t.signed or value < 0
        try:
            return value.to_bytes(size, "little", signed=signed)
        except OverflowError:
            raise MapError(f"{what} {value} does not fit in {size} bytes") from None
    if isinstance(value, (ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._SimpleCData)):
        raw = bytes(value)
        if len(raw) != size:
            raise MapError(f"{what} is a {len(raw)}-byte {type(value).__name__}, the map needs {size}")
        return raw
    if isinstance(value, Struct):
        value = value._fields
    t = _strip(btf_type)
    b = _btf() if t is not None else None
    if b is not None and isinstance(value, (dict, list, tuple, str)) and \
            isinstance(t, (b.Struct, b.Union, b.Array)):
        buf = bytearray(size)
        _encode_into(buf, 0, value, t, what)
        return bytes(buf)
    raise MapTypeError(f"{what} {value!r} ({type(value).__name__}) does not fit: "
                       f"expected {_expected(btf_type, size)}")


def _expected(btf_type: Any, size: int) -> str:
    """What a key/value must be, for error messages: ``__u16 (2 bytes): an int or 2 bytes``."""
    if btf_type is None:
        return f"{size} bytes: an int, bytes of that size or a ctypes object"
    b = _btf()
    t = _strip(btf_type)
    name = b.type_name(btf_type)
    if isinstance(t, (b.Int, b.Enum)):
        return f"{name} ({size} bytes): an int or {size} bytes"
    if isinstance(t, (b.Struct, b.Union)):
        return f"{name} ({size} bytes): a dict of its fields, a Struct, bytes or a ctypes object"
    if isinstance(t, b.Array):
        return f"{name} ({size} bytes): a list, bytes or a str"
    return f"{name} ({size} bytes): an int, bytes or a ctypes object"


def _encode_into(buf: bytearray, start: int, value: Any, t: Any, what: str) -> None:
    b = _btf()
    t = _strip(t)
    size = b.sizeof(t)
    if isinstance(value, Struct):
        value = value._fields
    if isinstance(t, (b.Struct, b.Union)) and isinstance(value, dict):
        members = {m.name: m for m in t.members if m.name}
        for k, v in value.items():
            if k not in members:
                raise MapError(f"{what}: struct {t.name} has no field {k!r}")
            m = members[k]
            if getattr(m, "bitfield_size", 0):
                raw = int.from_bytes(buf[start + m.offset // 8:start + m.offset // 8 + 8].ljust(8, b"\0"), "little")
                shift = m.offset % 8
                mask = ((1 << m.bitfield_size) - 1) << shift
                raw = (raw & ~mask) | ((int(v) << shift) & mask)
                nbytes = (shift + m.bitfield_size + 7) // 8
                buf[start + m.offset // 8:start + m.offset // 8 + nbytes] = raw.to_bytes(8, "little")[:nbytes]
                continue
            _encode_into(buf, start + m.offset // 8, v, m.type, f"{what}.{k}")
        return
    if isinstance(t, b.Array):
        elem = _strip(t.type)
        esize = b.sizeof(elem)
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, (bytes, bytearray)):
            buf[start:start + min(len(value), size)] = value[:size]
            return
        for i, v in enumerate(value):
            if i >= t.nelems:
                raise MapError(f"{what}: {len(value)} elements for an array of {t.nelems}")
            _encode_into(buf, start + i * esize, v, elem, f"{what}[{i}]")
        return
    buf[start:start + size] = encode(value, size, t, what)


def per_cpu_stride(value_size: int) -> int:
    """Per-CPU values are laid out rounded up to 8 bytes each."""
    return (value_size + 7) & ~7
