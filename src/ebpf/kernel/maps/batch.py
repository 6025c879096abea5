"""Batch operations on a kernel map: many entries per system call
(BPF_MAP_LOOKUP[_AND_DELETE]_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH),
falling back to one call per key where the kernel cannot batch the map type."""

from __future__ import annotations

import ctypes
import errno as _errno
import sys
from array import array
from typing import TYPE_CHECKING, Any

from ...maps import BPF_ANY, FD_VALUE_TYPES
from ...uapi import structs
from .. import commands
from .errors import ENOTSUPP, buffer, map_error

if TYPE_CHECKING:
    from .map import KernelMap

__all__ = ["delete_batch", "lookup_batch_bytes", "update_batch"]


def batch_unsupported(e: OSError) -> bool:
    """Whether the kernel refused a batch command for the map type (not the data)."""
    return e.errno in (_errno.EINVAL, _errno.ENOTSUP, _errno.EOPNOTSUPP, ENOTSUPP)


def lookup_batch_bytes(m: KernelMap, *, delete: bool = False,
                       chunk: int = 0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of ``m`` as raw bytes, ``chunk`` entries per system call."""
    vsize = m._value_buf_size()
    # whole map in one call where its records fit in a few MiB of buffers
    n = chunk or max(1, min(m.max_entries or 1, max(256, _BATCH_BYTES // (m.key_size + vsize))))
    keys = buffer(m.key_size * n)
    vals = buffer(vsize * n)
    tok_size = max(m.key_size, 8)
    tok_in = buffer(tok_size)
    tok_out = buffer(tok_size)
    out: list[tuple[bytes, bytes]] = []
    first = True
    run = commands.map_lookup_and_delete_batch if delete else commands.map_lookup_batch
    while True:
        attr = structs.MapBatchAttr(
            in_batch=0 if first else ctypes.addressof(tok_in),
            out_batch=ctypes.addressof(tok_out), keys=ctypes.addressof(keys),
            values=ctypes.addressof(vals), count=n, map_fd=m.fd)
        done = False
        try:
            run(attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                done = True
            elif first and batch_unsupported(e):
                return _lookup_loop(m, delete)
            elif e.errno == _errno.ENOSPC and n < (1 << 20):
                n *= 4  # a hash bucket did not fit: bigger chunks
                keys, vals = buffer(m.key_size * n), buffer(vsize * n)
                continue
            else:
                raise map_error(e, f"batch lookup in map {m.name}") from None
        cnt, ks = attr.count, m.key_size
        kr, vr = keys.raw[:cnt * ks], vals.raw[:cnt * vsize]
        out.extend(zip([kr[i:i + ks] for i in range(0, cnt * ks, ks)],
                       [vr[j:j + vsize] for j in range(0, cnt * vsize, vsize)], strict=True))
        if done:
            return out
        ctypes.memmove(tok_in, tok_out, tok_size)
        first = False


def _lookup_loop(m: KernelMap, delete: bool) -> list[tuple[bytes, bytes]]:
    out = []
    for k in list(m.raw_keys()):
        v = m.lookup_bytes(k)
        if v is not None:
            out.append((k, v))
            if delete:
                m.delete_bytes(k)
    return out


#: how many bytes of keys and values one batch lookup reads at most by default
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
            for k, v in zip(keys, values, strict=True):
                m.update_bytes(m.encode_key(k), m.encode_value(v), flags)
            return len(keys)
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
            n = 0
            for k in ks:
                if not m.delete_bytes(m.encode_key(k)):
                    raise KeyError(k) from None
                n += 1
            return n
        raise map_error(e, f"batch delete in map {m.name}") from None
    return int(attr.count)
