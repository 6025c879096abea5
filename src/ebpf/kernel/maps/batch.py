"""Batch operations on a kernel map: many entries per system call
(BPF_MAP_LOOKUP[_AND_DELETE]_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH),
falling back to one call per key where the kernel cannot batch the map type."""

from __future__ import annotations

import ctypes
import errno as _errno
import sys
from array import array
from typing import TYPE_CHECKING, Any

from ...mapbatch import MapBatch
from ...maps import BPF_ANY, FD_VALUE_TYPES, Map
from ...uapi import structs
from .. import commands
from .errors import ENOTSUPP, buffer, map_error

if TYPE_CHECKING:
    from .map import KernelMap

__all__ = ["delete_batch", "lookup_batch_packed", "update_batch"]


def batch_unsupported(e: OSError) -> bool:
    """Whether the kernel refused a batch command for the map type (not the data)."""
    return e.errno in (_errno.EINVAL, _errno.ENOTSUP, _errno.EOPNOTSUPP, ENOTSUPP)


def lookup_batch_packed(m: KernelMap, *, delete: bool = False, chunk: int = 0) -> MapBatch:
    """Every entry of ``m`` read by the kernel straight into one :class:`MapBatch`'s
    buffers, ``chunk`` entries per system call (default: room for the whole map,
    up to :data:`_BATCH_BYTES`; the buffers grow when the map holds more)."""
    m._check_keyed("batch lookup")
    ks, vs = m.key_size, m._value_buf_size()
    # zeroed memory the kernel writes into: calloc'd, so untouched room costs little
    cap = chunk or max(1, min(m.max_entries or 1, max(256, _BATCH_BYTES // (ks + vs))))
    keys, vals = buffer(ks * cap), buffer(vs * cap)
    tok_size = max(ks, 8)
    tok = buffer(2 * tok_size)  # in_batch, then out_batch
    tok_in = ctypes.addressof(tok)
    attr = structs.MapBatchAttr(map_fd=m.fd, out_batch=tok_in + tok_size)
    run = commands.map_lookup_and_delete_batch if delete else commands.map_lookup_batch
    got = 0
    while True:
        want = min(cap - got, chunk) if chunk else cap - got
        if want == 0:  # full and not at the end: more room, the records kept
            cap *= 2
            keys, vals = _grow(keys, vals, ks, vs, got, cap)
            continue
        attr.keys = ctypes.addressof(keys) + ks * got
        attr.values = ctypes.addressof(vals) + vs * got
        attr.count = want
        done = False
        try:
            run(attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                done = True
            elif not got and not attr.in_batch and batch_unsupported(e):
                return Map.lookup_batch_packed(m, delete=delete)
            elif e.errno == _errno.ENOSPC and cap < (1 << 24):
                # a hash bucket holds more than the room left: more room
                cap = max(cap * 4, 256)
                keys, vals = _grow(keys, vals, ks, vs, got, cap)
                if chunk:
                    chunk = cap
                continue
            else:
                raise map_error(e, f"batch lookup in map {m.name}") from None
        got += attr.count
        if done:
            if got * 4 < cap and cap > 256:  # mostly empty: keep only what was read
                keys, vals = _grow(keys, vals, ks, vs, got, got)
            return m._packed(keys, vals, got)
        ctypes.memmove(tok_in, tok_in + tok_size, tok_size)
        attr.in_batch = tok_in


def _grow(keys: Any, vals: Any, ks: int, vs: int, got: int, cap: int) -> tuple[Any, Any]:
    """Key and value buffers for ``cap`` records holding the ``got`` read so far
    (``cap`` may be ``got``: buffers of just those)."""
    nk, nv = buffer(ks * cap), buffer(vs * cap)
    ctypes.memmove(nk, keys, ks * got)
    ctypes.memmove(nv, vals, vs * got)
    return nk, nv


#: how many bytes of keys and values one batch lookup makes room for at first
_BATCH_BYTES = 4 << 20

# array typecodes by item size, for plain ints in host byte order
_ARRAY_CODES = {array(c).itemsize: c for c in "BHIQ"}


def _plain_ints(values: list[Any], size: int) -> array | None:
    """``values`` as one packed array of ``size``-byte unsigned ints when they all are
    plain non-negative ints that fit (the common case, packed in C); else ``None``."""
    code = _ARRAY_CODES.get(size)
    if code is None or sys.byteorder != "little":
        return None
    try:
        packed = array(code, values)
    except (OverflowError, TypeError):
        return None  # the codec names what does not fit
    # array() takes bools and other int-likes; the codec decides about those
    return packed if all(type(v) is int for v in values) else None


class _Packed:
    """Records packed back to back, and the address the kernel reads them from."""

    __slots__ = ("keep", "address")

    def __init__(self, data: array | bytes) -> None:
        if isinstance(data, array):
            self.keep: Any = data
            self.address = data.buffer_info()[0] if len(data) else 0
        else:
            self.keep = ctypes.create_string_buffer(data, max(len(data), 1))
            self.address = ctypes.addressof(self.keep)


def _keys(m: KernelMap, keys: list[Any]) -> _Packed:
    packed = _plain_ints(keys, m.key_size) if m.spec.key_type is None else None
    return _Packed(packed if packed is not None else b"".join([m.encode_key(k) for k in keys]))


def _values(m: KernelMap, values: list[Any]) -> _Packed:
    packed = None
    if m.spec.value_type is None and not m.per_cpu and m.type not in FD_VALUE_TYPES:
        packed = _plain_ints(values, m.value_size)
    return _Packed(packed if packed is not None
                   else b"".join([m.encode_value(v) for v in values]))


def update_batch(m: KernelMap, items: Any, flags: int = BPF_ANY) -> int:
    """Write ``items`` (a mapping or (key, value) pairs) into ``m`` in one system
    call; returns how many were written."""
    if hasattr(items, "items"):
        keys, values = list(items.keys()), list(items.values())
    else:
        pairs = list(items)
        keys, values = [k for k, _ in pairs], [v for _, v in pairs]
    if not keys:
        return 0
    kb, vb = _keys(m, keys), _values(m, values)
    attr = structs.MapBatchAttr(keys=kb.address, values=vb.address, count=len(keys), map_fd=m.fd,
                             elem_flags=flags)
    try:
        commands.map_update_batch(attr, raw=True)
    except OSError as e:
        if batch_unsupported(e) and attr.count == 0:
            return Map.update_batch(m, zip(keys, values, strict=True), flags)
        raise map_error(e, f"batch update of map {m.name} "
                           f"({attr.count} of {len(keys)} written)") from None
    return int(attr.count)


def delete_batch(m: KernelMap, keys: Any) -> int:
    """Delete ``keys`` from ``m`` in one system call; returns the count deleted. A
    missing key raises ``KeyError`` after the ones before it."""
    ks = list(keys)
    if not ks:
        return 0
    kb = _keys(m, ks)
    attr = structs.MapBatchAttr(keys=kb.address, count=len(ks), map_fd=m.fd)
    try:
        commands.map_delete_batch(attr, raw=True)
    except OSError as e:
        if e.errno == _errno.ENOENT:
            raise KeyError(ks[attr.count] if attr.count < len(ks) else None) from None
        if batch_unsupported(e) and attr.count == 0:
            return Map.delete_batch(m, ks)
        raise map_error(e, f"batch delete in map {m.name}") from None
    return int(attr.count)
