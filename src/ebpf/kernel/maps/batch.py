"""Batch operations on a kernel map: many entries per system call
(BPF_MAP_LOOKUP[_AND_DELETE]_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH),
falling back to one call per key where the kernel cannot batch the map type."""

from __future__ import annotations

import ctypes
import errno as _errno
from typing import TYPE_CHECKING, Any

from ...maps import BPF_ANY, FD_VALUE_TYPES
from ...uapi import Command
from .. import sys as bsys
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
    n = chunk or max(1, min(m.max_entries or 1, 4096))
    vsize = m._value_buf_size()
    keys = buffer(m.key_size * n)
    vals = buffer(vsize * n)
    tok_size = max(m.key_size, 8)
    tok_in = buffer(tok_size)
    tok_out = buffer(tok_size)
    out: list[tuple[bytes, bytes]] = []
    first = True
    cmd = Command.MAP_LOOKUP_AND_DELETE_BATCH if delete else Command.MAP_LOOKUP_BATCH
    while True:
        attr = bsys.MapBatchAttr(
            in_batch=0 if first else ctypes.addressof(tok_in),
            out_batch=ctypes.addressof(tok_out), keys=ctypes.addressof(keys),
            values=ctypes.addressof(vals), count=n, map_fd=m.fd)
        done = False
        try:
            bsys.bpf(cmd, attr, raw=True)
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


def _keys_raw(m: KernelMap, keys: list[Any]) -> bytes:
    """``keys`` encoded back to back; plain non-negative ints (the common case)
    without the codec's per-key checks."""
    ks = m.key_size
    if m.spec.key_type is None and all(type(k) is int and k >= 0 for k in keys):
        try:
            return b"".join([k.to_bytes(ks, "little") for k in keys])
        except OverflowError:
            pass  # the codec names the key that does not fit
    return b"".join([m.encode_key(k) for k in keys])


def update_batch(m: KernelMap, items: Any, flags: int = BPF_ANY) -> int:
    """Write ``items`` (a mapping or (key, value) pairs) into ``m`` in one system
    call; returns how many were written."""
    pairs = list(items.items()) if hasattr(items, "items") else list(items)
    if not pairs:
        return 0
    vs = m.value_size
    kraw = _keys_raw(m, [k for k, _ in pairs])
    if (m.spec.value_type is None and not m.per_cpu and m.type not in FD_VALUE_TYPES
            and all(type(v) is int and v >= 0 for _, v in pairs)):
        try:
            vraw = b"".join([v.to_bytes(vs, "little") for _, v in pairs])
        except OverflowError:
            vraw = b"".join(m.encode_value(v) for _, v in pairs)
    else:
        vraw = b"".join(m.encode_value(v) for _, v in pairs)
    kb = ctypes.create_string_buffer(kraw, len(kraw))
    vb = ctypes.create_string_buffer(vraw, len(vraw))
    attr = bsys.MapBatchAttr(keys=ctypes.addressof(kb), values=ctypes.addressof(vb),
                             count=len(pairs), map_fd=m.fd, elem_flags=flags)
    try:
        bsys.bpf(Command.MAP_UPDATE_BATCH, attr, raw=True)
    except OSError as e:
        if batch_unsupported(e) and attr.count == 0:
            for k, v in pairs:
                m.update_bytes(m.encode_key(k), m.encode_value(v), flags)
            return len(pairs)
        raise map_error(e, f"batch update of map {m.name} "
                           f"({attr.count} of {len(pairs)} written)") from None
    return int(attr.count)


def delete_batch(m: KernelMap, keys: Any) -> int:
    """Delete ``keys`` from ``m`` in one system call; returns the count deleted. A
    missing key raises ``KeyError`` after the ones before it."""
    ks = list(keys)
    if not ks:
        return 0
    kraw = _keys_raw(m, ks)
    kb = ctypes.create_string_buffer(kraw, len(kraw))
    attr = bsys.MapBatchAttr(keys=ctypes.addressof(kb), count=len(ks), map_fd=m.fd)
    try:
        bsys.bpf(Command.MAP_DELETE_BATCH, attr, raw=True)
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
