"""Kernel maps: created from a :class:`~ebpf.spec.MapSpec` through BPF_MAP_CREATE.

>>> import ebpf
>>> m = ebpf.Map.create(ebpf.MapSpec(name="c", type=ebpf.MapType.HASH, key_size=4,
...                                  value_size=8, max_entries=8))
>>> m[1] = 10; m[1]
10
>>> m.close()
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import logging
import mmap
import os
import re
from collections.abc import Iterator
from typing import Any

from .. import codec
from .._internal.libc import function
from ..errors import (
    KeyExistsError,
    LoadError,
    MapError,
    MapFullError,
    NotSupportedError,
    PrivilegeError,
)
from ..loader.maps import map_spec_error, map_spec_problem
from ..maps import BPF_ANY, KEYLESS_TYPES, Map, element_error
from ..spec import BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, MapSpec
from ..uapi import Command, MapType
from . import probes
from . import sys as bsys

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelMap", "create_map", "open_pinned_map", "open_map_by_id", "sanitize_name"]

ENOTSUPP = 524  # the kernel-internal "not supported" some commands leak

_FD_VALUE_TYPES = frozenset({
    MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
    MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY,
})
_STORAGE_TYPES = frozenset(
    t for t in (MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
                getattr(MapType, "CGRP_STORAGE", None)) if t is not None)

_NAME_OK = re.compile(r"[^A-Za-z0-9_.]")


def sanitize_name(name: str) -> str:
    """A kernel object name: at most 15 characters of ``[A-Za-z0-9_.]``."""
    return _NAME_OK.sub("_", name)[: bsys.BPF_OBJ_NAME_LEN - 1]


def _buf(size: int) -> ctypes.Array:
    return ctypes.create_string_buffer(max(size, 1))


def _map_error(e: OSError, what: str) -> Exception:
    err = e.errno or 0
    if err in (_errno.EPERM, _errno.EACCES):
        # element operations go through an fd we already hold: EPERM means the
        # map is frozen or the fd is read-only, not a missing capability
        return MapError(what + " (map frozen, or opened read-only)", err)
    if err in (_errno.E2BIG, _errno.ENOSPC):
        return MapFullError(what, err)
    if err == _errno.EEXIST:
        return KeyExistsError(what, err)
    return MapError(what, err)


def _round_ringbuf(size: int) -> int:
    """Ring buffer sizes must be a power-of-two number of pages (libbpf rounds up)."""
    page = mmap.PAGESIZE
    size = max(size, page)
    n = 1
    while n < size:
        n <<= 1
    return n


_MAP_FIXED = 0x10
class _MMap:
    """mmap/munmap with prototypes (arena mappings need an address hint)."""

    def __init__(self) -> None:
        self.mmap = function("mmap", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t,
                                                       ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                       ctypes.c_long])
        self.munmap = function("munmap", ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t])


@functools.cache
def _libc() -> _MMap:
    return _MMap()


_LOOKUP = int(Command.MAP_LOOKUP_ELEM)
_UPDATE = int(Command.MAP_UPDATE_ELEM)
_DELETE = int(Command.MAP_DELETE_ELEM)


class _ElemOps:
    """One map's single-element commands with everything prepared once: the attr, the
    key and value buffers and the bound syscall, so a call costs a copy in, the
    system call and a copy out (no ctypes objects made per call). A lock keeps the
    shared buffers to one caller at a time (ctypes releases the GIL in the call)."""

    __slots__ = ("nr", "fn", "fast", "ref", "dref", "size", "attr", "dattr", "kview", "vbuf",
                 "vview", "vsize", "lock")

    def __init__(self, fd: int, key_size: int, value_size: int) -> None:
        import threading

        self.nr, self.fn = bsys._get_syscall()
        # the same syscall(2) without errno capture or argument conversion: several
        # times cheaper through ctypes; a failure is run again through ``fn`` to learn
        # its errno (every command here is idempotent when it fails)
        self.fast = bsys.fast_syscall()
        kbuf = ctypes.create_string_buffer(max(key_size, 1))
        self.vbuf = ctypes.create_string_buffer(max(value_size, 1))
        self.attr = bsys.MapElemAttr(map_fd=fd, key=ctypes.addressof(kbuf),
                                     value=ctypes.addressof(self.vbuf))
        self.ref = ctypes.byref(self.attr)
        # DELETE_ELEM takes no value (the kernel refuses a non-zero one)
        self.dattr = bsys.MapElemAttr(map_fd=fd, key=ctypes.addressof(kbuf))
        self.dref = ctypes.byref(self.dattr)
        self.size = ctypes.sizeof(self.attr)
        self.kview = memoryview(kbuf).cast("B")[:key_size]
        self.vview = memoryview(self.vbuf).cast("B")[:value_size]
        self.vsize = value_size
        self.lock = threading.Lock()

    def call(self, cmd: int, key: bytes, flags: int = 0) -> int:
        """Run ``cmd`` on ``key`` (value to/from :attr:`vbuf`); 0 or the errno."""
        self.kview[:] = key
        if cmd == _DELETE:
            ref = self.dref
        else:
            self.attr.flags = flags
            ref = self.ref
        nr, size = self.nr, self.size
        if self.fast(nr, cmd, ref, size) >= 0:
            return 0
        fn = self.fn
        while True:
            if fn(nr, cmd, ref, size) >= 0:
                return 0
            err = ctypes.get_errno()
            if err != _errno.EINTR:
                return err


def _os_error(err: int, cmd: int) -> OSError:
    return OSError(err, f"bpf({Command(cmd).name}): {os.strerror(err)}")


class KernelMap(Map):
    """A map in the kernel, owned through its fd.

    Beyond the :class:`ebpf.Map` dict protocol: :attr:`fd`, :meth:`pin`,
    :meth:`freeze`, :meth:`info`, batch operations and :attr:`memory` for
    ``BPF_F_MMAPABLE`` arrays.
    """

    backend = "kernel"

    def __init__(self, spec: MapSpec, fd: bsys.FD, *, map_id: int = 0):
        super().__init__(spec)
        self._fd = fd
        self._id = map_id
        self._mmap: mmap.mmap | None = None
        self._inner_keepalive: list[Any] = []
        self._struct_ops: Any = None  # ebpf.kernel.structops.KernelStructOps
        self._struct_ops_value: bytes | None = None
        self._arena: tuple[int, int, Any] | None = None  # ARENA mapping: address, length, buffer
        #: where an object's arena globals start in an ARENA map (0 otherwise)
        self.arena_data_offset = 0
        self._ops: _ElemOps | None = None  # made on the first element operation

    def _elem_ops(self) -> _ElemOps | None:
        """The prepared single-element path, for maps with plain keys and values."""
        ops = self._ops
        if ops is None:
            if (self.key_size == 0 or self.type in KEYLESS_TYPES or self.type == MapType.ARENA
                    or self.type in _FD_VALUE_TYPES):
                return None
            ops = self._ops = _ElemOps(self.fd, self.key_size, self._value_buf_size())
        if self._fd.closed:
            raise MapError(f"map {self.name} is closed")
        return ops

    # ---- identity ----------------------------------------------------------
    @property
    def fd(self) -> int:
        if self._fd.closed:
            raise MapError(f"map {self.name} is closed")
        return self._fd.fd

    @property
    def id(self) -> int:
        """The kernel's id of this map."""
        if not self._id:
            self._id = self.info().id
        return self._id

    @property
    def num_cpus(self) -> int:
        return probes.possible_cpus()

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def _value_buf_size(self) -> int:
        if self.per_cpu:
            return codec.per_cpu_stride(self.value_size) * self.num_cpus
        return self.value_size

    def _key_arg(self, key: bytes) -> tuple[Any, int]:
        if self.key_size == 0 or self.type in KEYLESS_TYPES:
            return None, 0
        if len(key) != self.key_size:
            raise MapError(f"map {self.name}: key is {len(key)} bytes, the map needs {self.key_size}")
        kb = ctypes.create_string_buffer(key, len(key))
        return kb, ctypes.addressof(kb)

    # ---- raw element operations ------------------------------------------
    def lookup_bytes(self, key: bytes) -> bytes | None:
        ops = self._ops or self._elem_ops()
        if ops is not None and len(key) == self.key_size and not self._fd.closed:
            with ops.lock:
                err = ops.call(_LOOKUP, key)
                if not err:
                    return ops.vview.tobytes()
            if err == _errno.ENOENT:
                return None
            raise _map_error(_os_error(err, _LOOKUP), f"looking up a key in map {self.name}")
        if self.type == MapType.ARENA:
            return self._arena_lookup(key)
        kb, kaddr = self._key_arg(key)
        vb = _buf(self._value_buf_size())
        attr = bsys.MapElemAttr(map_fd=self.fd, key=kaddr, value=ctypes.addressof(vb))
        try:
            bsys.bpf(Command.MAP_LOOKUP_ELEM, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise _map_error(e, f"looking up a key in map {self.name}") from None
        return vb.raw[: self._value_buf_size()]

    def lookup_and_delete_bytes(self, key: bytes) -> bytes | None:
        """Atomically read and remove an entry (hash maps, Linux 5.14+)."""
        kb, kaddr = self._key_arg(key)
        vb = _buf(self._value_buf_size())
        attr = bsys.MapElemAttr(map_fd=self.fd, key=kaddr, value=ctypes.addressof(vb))
        try:
            bsys.bpf(Command.MAP_LOOKUP_AND_DELETE_ELEM, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise _map_error(e, f"lookup-and-delete in map {self.name}") from None
        return vb.raw[: self._value_buf_size()]

    def _arena_lookup(self, key: bytes) -> bytes | None:
        """An ARENA map has no elements; key 0 reads its object's globals window
        (from ``arena_data_offset`` to the end), so object variables work."""
        if bytes(key) != b"\0\0\0\0":
            raise MapError(f"map {self.name}: an ARENA map has no elements (use .memory)")
        size = self.max_entries * mmap.PAGESIZE - self.arena_data_offset
        return bytes(self._arena_globals(size))

    def update_bytes(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        if self.type == MapType.ARENA:
            if bytes(key) != b"\0\0\0\0":
                raise MapError(f"map {self.name}: an ARENA map has no elements (use .memory)")
            self._arena_globals(len(value))[:] = bytes(value)
            return
        ops = self._ops or self._elem_ops()
        if (ops is not None and len(key) == self.key_size and len(value) == ops.vsize
                and not self._fd.closed):
            with ops.lock:
                ops.vview[:] = value
                err = ops.call(_UPDATE, key, flags)
            if err:
                raise element_error(self, "update", err)
            return
        kb, kaddr = self._key_arg(key)
        want = self._value_buf_size() if self.type not in _FD_VALUE_TYPES else 4
        if len(value) != want:
            raise MapError(f"map {self.name}: value is {len(value)} bytes, the map needs {want}")
        vb = ctypes.create_string_buffer(value, max(len(value), 1))
        attr = bsys.MapElemAttr(map_fd=self.fd, key=kaddr, value=ctypes.addressof(vb), flags=flags)
        try:
            bsys.bpf(Command.MAP_UPDATE_ELEM, attr, raw=True)
        except OSError as e:
            raise element_error(self, "update", e.errno or 0) from None

    def delete_bytes(self, key: bytes) -> bool:
        ops = self._ops or self._elem_ops()
        if ops is not None and len(key) == self.key_size and not self._fd.closed:
            with ops.lock:
                err = ops.call(_DELETE, key)
            if not err:
                return True
            if err == _errno.ENOENT:
                return False
            return self._delete_failed(_os_error(err, _DELETE))
        kb, kaddr = self._key_arg(key)
        attr = bsys.MapElemAttr(map_fd=self.fd, key=kaddr)
        try:
            bsys.bpf(Command.MAP_DELETE_ELEM, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return False
            return self._delete_failed(e)
        return True

    def _delete_failed(self, e: OSError) -> bool:
        raise element_error(self, "delete", e.errno or 0) from None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        if self.key_size == 0:
            return None
        if key is None:
            kb, kaddr = None, 0
        else:
            kb, kaddr = self._key_arg(key)
        nb = _buf(self.key_size)
        attr = bsys.MapElemAttr(map_fd=self.fd, key=kaddr, value=ctypes.addressof(nb))
        try:
            bsys.bpf(Command.MAP_GET_NEXT_KEY, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise _map_error(e, f"iterating map {self.name}") from None
        return nb.raw[: self.key_size]

    def push_bytes(self, value: bytes, flags: int = BPF_ANY) -> None:
        if self.type not in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
            raise NotSupportedError(f"push on a {self.type.name} map")
        if len(value) != self.value_size:
            raise MapError(f"map {self.name}: value is {len(value)} bytes, the map needs {self.value_size}")
        vb = ctypes.create_string_buffer(value, len(value))
        attr = bsys.MapElemAttr(map_fd=self.fd, value=ctypes.addressof(vb), flags=flags)
        try:
            bsys.bpf(Command.MAP_UPDATE_ELEM, attr, raw=True)
        except OSError as e:
            raise element_error(self, "push", e.errno or 0) from None

    def pop_bytes(self, peek: bool = False) -> bytes | None:
        if self.type not in (MapType.QUEUE, MapType.STACK):
            raise NotSupportedError(f"pop on a {self.type.name} map")
        vb = _buf(self.value_size)
        attr = bsys.MapElemAttr(map_fd=self.fd, value=ctypes.addressof(vb))
        cmd = Command.MAP_LOOKUP_ELEM if peek else Command.MAP_LOOKUP_AND_DELETE_ELEM
        try:
            bsys.bpf(cmd, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise _map_error(e, f"popping from map {self.name}") from None
        return vb.raw[: self.value_size]

    def contains_value(self, value: Any) -> bool:
        """Bloom filter membership test (may give false positives)."""
        if self.type != MapType.BLOOM_FILTER:
            raise NotSupportedError(f"membership test on a {self.type.name} map")
        raw = codec.encode(value, self.value_size, self.spec.value_type)
        vb = ctypes.create_string_buffer(raw, len(raw))
        attr = bsys.MapElemAttr(map_fd=self.fd, value=ctypes.addressof(vb))
        try:
            bsys.bpf(Command.MAP_LOOKUP_ELEM, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return False
            raise _map_error(e, f"querying bloom filter {self.name}") from None
        return True

    def __contains__(self, key: object) -> bool:
        if self.type == MapType.BLOOM_FILTER:
            return self.contains_value(key)
        return super().__contains__(key)

    def decode_value(self, raw: bytes) -> Any:
        if self.type in _FD_VALUE_TYPES:  # the kernel answers with the object's id
            return int.from_bytes(raw[:4], "little")
        return super().decode_value(raw)

    # ---- batch operations ------------------------------------------------
    def _batch_unsupported(self, e: OSError) -> bool:
        return e.errno in (_errno.EINVAL, _errno.ENOTSUP, _errno.EOPNOTSUPP, ENOTSUPP)

    def lookup_batch_bytes(self, *, delete: bool = False, chunk: int = 0) -> list[tuple[bytes, bytes]]:
        """Every (key, value) as raw bytes, read ``chunk`` entries per system call
        (BPF_MAP_LOOKUP[_AND_DELETE]_BATCH); falls back to one call per key where
        the kernel cannot batch this map type."""
        n = chunk or max(1, min(self.max_entries or 1, 4096))
        vsize = self._value_buf_size()
        keys = _buf(self.key_size * n)
        vals = _buf(vsize * n)
        tok_size = max(self.key_size, 8)
        tok_in = _buf(tok_size)
        tok_out = _buf(tok_size)
        out: list[tuple[bytes, bytes]] = []
        first = True
        cmd = Command.MAP_LOOKUP_AND_DELETE_BATCH if delete else Command.MAP_LOOKUP_BATCH
        while True:
            attr = bsys.MapBatchAttr(
                in_batch=0 if first else ctypes.addressof(tok_in),
                out_batch=ctypes.addressof(tok_out), keys=ctypes.addressof(keys),
                values=ctypes.addressof(vals), count=n, map_fd=self.fd)
            done = False
            try:
                bsys.bpf(cmd, attr, raw=True)
            except OSError as e:
                if e.errno == _errno.ENOENT:
                    done = True
                elif first and self._batch_unsupported(e):
                    return self._lookup_loop(delete)
                elif e.errno == _errno.ENOSPC and n < (1 << 20):
                    n *= 4  # a hash bucket did not fit: bigger chunks
                    keys, vals = _buf(self.key_size * n), _buf(vsize * n)
                    continue
                else:
                    raise _map_error(e, f"batch lookup in map {self.name}") from None
            kr, vr = keys.raw, vals.raw
            for i in range(attr.count):
                out.append((kr[i * self.key_size:(i + 1) * self.key_size],
                            vr[i * vsize:(i + 1) * vsize]))
            if done:
                return out
            ctypes.memmove(tok_in, tok_out, tok_size)
            first = False

    def _lookup_loop(self, delete: bool) -> list[tuple[bytes, bytes]]:
        out = []
        for k in list(self.raw_keys()):
            v = self.lookup_bytes(k)
            if v is not None:
                out.append((k, v))
                if delete:
                    self.delete_bytes(k)
        return out

    def lookup_batch(self, *, delete: bool = False) -> list[tuple[Any, Any]]:
        """Every entry decoded, read in batches (see :meth:`lookup_batch_bytes`)."""
        return [(self.decode_key(k), self.decode_value(v))
                for k, v in self.lookup_batch_bytes(delete=delete)]

    def iter_items(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, value), read with the batch commands where the kernel has them
        (what ``items()`` and ``values()`` iterate)."""
        if self.key_size == 0 or self.type in _FD_VALUE_TYPES:
            return super().iter_items()
        return iter(self.lookup_batch())

    def update_batch(self, items: Any, flags: int = BPF_ANY) -> int:
        """Write many entries in one system call (BPF_MAP_UPDATE_BATCH); ``items``
        is a mapping or (key, value) pairs. Returns how many were written."""
        pairs = list(items.items()) if hasattr(items, "items") else list(items)
        if not pairs:
            return 0
        ks, vs = self.key_size, self.value_size
        if self.spec.key_type is None and all(type(k) is int for k, _ in pairs):
            try:  # the common case, without the codec's per-item checks
                kraw = b"".join([k.to_bytes(ks, "little") for k, _ in pairs])
            except OverflowError:
                kraw = b"".join(self.encode_key(k) for k, _ in pairs)
        else:
            kraw = b"".join(self.encode_key(k) for k, _ in pairs)
        if (self.spec.value_type is None and not self.per_cpu and self.type not in _FD_VALUE_TYPES
                and all(type(v) is int and v >= 0 for _, v in pairs)):
            try:
                vraw = b"".join([v.to_bytes(vs, "little") for _, v in pairs])
            except OverflowError:
                vraw = b"".join(self.encode_value(v) for _, v in pairs)
        else:
            vraw = b"".join(self.encode_value(v) for _, v in pairs)
        kb = ctypes.create_string_buffer(kraw, len(kraw))
        vb = ctypes.create_string_buffer(vraw, len(vraw))
        attr = bsys.MapBatchAttr(keys=ctypes.addressof(kb), values=ctypes.addressof(vb),
                                 count=len(pairs), map_fd=self.fd, elem_flags=flags)
        try:
            bsys.bpf(Command.MAP_UPDATE_BATCH, attr, raw=True)
        except OSError as e:
            if self._batch_unsupported(e) and attr.count == 0:
                for k, v in pairs:
                    self.update_bytes(self.encode_key(k), self.encode_value(v), flags)
                return len(pairs)
            raise _map_error(e, f"batch update of map {self.name} "
                                f"({attr.count} of {len(pairs)} written)") from None
        return attr.count

    def delete_batch(self, keys: Any) -> int:
        """Delete many keys in one system call (BPF_MAP_DELETE_BATCH). Returns the
        count deleted; a missing key raises ``KeyError`` after the ones before it."""
        ks = list(keys)
        if not ks:
            return 0
        kraw = b"".join(self.encode_key(k) for k in ks)
        kb = ctypes.create_string_buffer(kraw, len(kraw))
        attr = bsys.MapBatchAttr(keys=ctypes.addressof(kb), count=len(ks), map_fd=self.fd)
        try:
            bsys.bpf(Command.MAP_DELETE_BATCH, attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                raise KeyError(ks[attr.count] if attr.count < len(ks) else None) from None
            if self._batch_unsupported(e) and attr.count == 0:
                n = 0
                for k in ks:
                    if not self.delete_bytes(self.encode_key(k)):
                        raise KeyError(k) from None
                    n += 1
                return n
            raise _map_error(e, f"batch delete in map {self.name}") from None
        return attr.count

    def attach_struct_ops(self):
        """Register this struct_ops map with the kernel; returns a Link whose
        ``close()`` unregisters it."""
        from .structops import attach_struct_ops

        return attach_struct_ops(self)

    def _ring_consumer(self, page_count: int = 8):
        """The ring-consumer protocol object (see :mod:`ebpf.ringbuf`) for a RINGBUF
        or PERF_EVENT_ARRAY map, read through mmap (``page_count`` pages per CPU
        for a perf buffer)."""
        if self.type == MapType.RINGBUF:
            from .ringbuf import consumer_for

            return consumer_for(self)
        if self.type == MapType.PERF_EVENT_ARRAY:
            from .perfbuf import KernelPerfConsumer

            return KernelPerfConsumer(self, page_count)
        raise NotSupportedError("event consumers", detail=f"map {self.name} is a "
                                f"{self.type.name} map")

    def _user_ring(self):
        """The producer protocol object (see :mod:`ebpf.userringbuf`) of a USER_RINGBUF map."""
        from .ringbuf import user_ring_for

        return user_ring_for(self)

    # ---- map-wide operations ---------------------------------------------
    def freeze(self) -> None:
        """Make the map read-only from user space (BPF_MAP_FREEZE)."""
        attr = bsys.MapElemAttr(map_fd=self.fd)
        bsys.bpf(Command.MAP_FREEZE, attr, what=f"freezing map {self.name}", error=MapError)
        self.spec.freeze = True

    def pin(self, path: str) -> None:
        """Pin at ``path`` in bpffs (parents created; bpffs mounted if needed)."""
        from .pin import ensure_bpffs_dir

        ensure_bpffs_dir(os.path.dirname(os.path.abspath(path)))
        bsys.obj_pin(self.fd, path, what=f"pinning map {self.name} at {path}")

    def info(self):
        """A :class:`ebpf.kernel.info.MapInfo` snapshot from the kernel."""
        from .info import map_info_from_fd

        return map_info_from_fd(self.fd)

    @property
    def memory(self) -> memoryview:
        """The value area of a ``BPF_F_MMAPABLE`` array, or the whole of an ARENA
        map (``max_entries`` pages, at ``map_extra`` when that is set), shared
        with the kernel."""
        if self.type == MapType.ARENA:
            return self._arena_memory()
        if self._mmap is None:
            if not (self.flags & BPF_F_MMAPABLE) or self.type != MapType.ARRAY:
                raise NotSupportedError("mmap", detail=f"map {self.name} is not a BPF_F_MMAPABLE array")
            size = codec.per_cpu_stride(self.value_size) * self.max_entries
            size = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
            writable = not (self.spec.freeze or self.flags & bsys.BPF_F_RDONLY)
            prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
            try:
                self._mmap = mmap.mmap(self.fd, size, mmap.MAP_SHARED, prot)
            except OSError as e:
                raise MapError(f"mapping map {self.name} into memory", e.errno) from None
        return memoryview(self._mmap)

    def _arena_memory(self) -> memoryview:
        """Map the arena (once; the kernel fixes its user address at the first
        mmap, and a program using the arena can only load after that)."""
        if self._arena is None:
            length = self.max_entries * mmap.PAGESIZE
            libc = _libc()
            flags = mmap.MAP_SHARED | (_MAP_FIXED if self.spec.map_extra else 0)
            addr = libc.mmap(ctypes.c_void_p(self.spec.map_extra or None), ctypes.c_size_t(length),
                             mmap.PROT_READ | mmap.PROT_WRITE, flags, self.fd, ctypes.c_long(0))
            if addr in (None, ctypes.c_void_p(-1).value):
                err = ctypes.get_errno()
                raise MapError(f"mapping arena {self.name} ({length} bytes) into memory", err)
            self._arena = (addr, length, (ctypes.c_char * length).from_address(addr))
        return memoryview(self._arena[2]).cast("B")

    def _unmap_arena(self) -> None:
        if self._arena is None:
            return
        import sys

        addr, length, buf = self._arena
        self._arena = None
        libc = _libc()
        if sys.getrefcount(buf) > 2:
            # a memoryview from .memory is still alive: lay private zero pages over
            # the range (the arena is released; stale views read zeros, not a fault)
            log.debug("arena %s: memory still referenced; replaced by anonymous pages", self.name)
            libc.mmap(ctypes.c_void_p(addr), ctypes.c_size_t(length),
                      mmap.PROT_READ | mmap.PROT_WRITE,
                      mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED, -1, ctypes.c_long(0))
            return
        del buf
        libc.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(length))

    def _arena_globals(self, size: int) -> memoryview:
        return self._arena_memory()[self.arena_data_offset:self.arena_data_offset + size]

    def close(self) -> None:
        self._unmap_arena()
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # someone still holds a memoryview: GC will unmap
                log.debug("map %s: memory still referenced, unmapped later", self.name)
            self._mmap = None
        self._fd.close()
        self._closed = True

    def __del__(self) -> None:
        try:
            self._unmap_arena()
            self._fd.close()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else f" fd={self._fd._fd}"
        return (f"<KernelMap {self.name!r} {self.type.name} key={self.key_size} "
                f"value={self.value_size} max_entries={self.max_entries}{state}>")


# ---- creation -------------------------------------------------------------------

def _normalize(spec: MapSpec) -> MapSpec:
    """Fill in what the kernel insists on for each map type."""
    s = spec.copy()
    t = s.type
    if t == MapType.PERF_EVENT_ARRAY:
        # keys are CPU numbers, values perf event fds: the kernel takes 4 and 4 only
        # (objects that declare their event struct as the value type get 4, as with
        # libbpf and cilium/ebpf)
        if s.value_size not in (0, 4) or s.key_size not in (0, 4):
            log.debug("map %s: PERF_EVENT_ARRAY key/value sizes %d/%d set to 4/4", s.name,
                      s.key_size, s.value_size)
            s.btf_key_type_id = s.btf_value_type_id = 0
        s.key_size = 4
        s.value_size = 4
        if s.max_entries == 0:
            s.max_entries = probes.possible_cpus()
    elif t in (MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.CGROUP_ARRAY):
        s.key_size = s.key_size or 4
        s.value_size = 4
    elif t == MapType.LPM_TRIE:
        s.flags |= BPF_F_NO_PREALLOC
    elif t in (MapType.RINGBUF, getattr(MapType, "USER_RINGBUF", MapType.RINGBUF)):
        s.key_size = 0
        s.value_size = 0
        s.max_entries = _round_ringbuf(s.max_entries)
    elif t in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
        s.key_size = 0
    elif t in _STORAGE_TYPES:
        s.flags |= BPF_F_NO_PREALLOC
        s.max_entries = 0
    return s


def create_map(spec: MapSpec, *, btf_fd: int | None = None, inner_fd: int | None = None,
               name: str | None = None) -> KernelMap:
    """Create ``spec`` in the kernel.

    ``btf_fd`` is a loaded object BTF the spec's ``btf_key_type_id``/
    ``btf_value_type_id`` refer to (None: when the spec carries BTF it is
    loaded here for the map's lifetime; 0: create without BTF). A kernel that
    refuses the BTF still gets the map, without it. Map-in-map types get their inner map from ``inner_fd`` or
    create a template from ``spec.inner``.
    """
    try:
        mtype = MapType(spec.type)
    except ValueError:
        raise NotSupportedError(f"map type {spec.type!r}",
                                detail=f"map {spec.name!r}: not a map type this library knows"
                                ) from None
    if mtype is not spec.type:
        spec = spec.copy()
        spec.type = mtype
    probes.bump_memlock()
    s = _normalize(spec)
    if s.type == MapType.STRUCT_OPS:
        return _create_struct_ops(s, btf_fd or 0, name or s.name)
    own_btf = None
    if btf_fd is None and s.btf is not None and (s.btf_key_type_id or s.btf_value_type_id):
        try:
            from .btf import load_btf

            own_btf = load_btf(s.btf)
            btf_fd = own_btf.fd
        except Exception as e:  # noqa: BLE001 - BTF only helps decoding/dumping
            log.debug("map %s: object BTF not loaded (%s); creating without", spec.name, e)
            if s.type in _STORAGE_TYPES:
                raise
    inner_tmp = None
    try:
        if s.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS) and inner_fd is None:
            if s.inner is None:
                raise MapError(f"map {spec.name}: a {s.type.name} needs an inner map spec")
            inner_tmp = create_map(s.inner, btf_fd=btf_fd, name=(s.inner.name or "inner"))
            inner_fd = inner_tmp.fd
        fd = _map_create(s, name or s.name, btf_fd or 0, inner_fd or 0)
    except BaseException:
        if own_btf is not None:
            own_btf.close()
        raise
    finally:
        if inner_tmp is not None:
            inner_tmp.close()
    m = KernelMap(s, fd)
    if own_btf is not None:
        m._inner_keepalive.append(own_btf)
    return m


def _create_struct_ops(s: MapSpec, btf_fd: int, name: str) -> KernelMap:
    """A struct_ops map: its value is the kernel's ``bpf_struct_ops_<name>`` wrapper."""
    from .. import btf as B
    from .structops import BPF_F_VTYPE_BTF_OBJ_FD, resolve_struct_ops

    kst = resolve_struct_ops(s)
    size = B.sizeof(kst.wrapper)
    attr = bsys.MapCreateAttr(map_type=MapType.STRUCT_OPS, key_size=4, value_size=size,
                              max_entries=1, map_flags=s.flags,
                              map_name=sanitize_name(name).encode(), btf_fd=btf_fd,
                              btf_vmlinux_value_type_id=kst.wrapper_id)
    mod_fd = None
    if kst.module != "vmlinux":
        from .btf import module_btf_fd

        mod_fd = module_btf_fd(kst.module)
        attr.value_type_btf_obj_fd = mod_fd.fd
        attr.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD
    try:
        fd = bsys.FD(bsys.bpf(Command.MAP_CREATE, attr,
                              what=f"creating struct_ops map {s.name!r} ({kst.name})",
                              error=LoadError))
    finally:
        if mod_fd is not None:
            mod_fd.close()
    live = s.copy()
    live.value_size = size
    live.key_type = live.value_type = None  # the value is the kernel's wrapper, not ours
    m = KernelMap(live, fd)
    m._struct_ops = kst
    return m


def _map_create(s: MapSpec, name: str, btf_fd: int, inner_fd: int) -> bsys.FD:
    def attr_for(with_btf: bool) -> bsys.MapCreateAttr:
        a = bsys.MapCreateAttr(
            map_type=s.type, key_size=s.key_size, value_size=s.value_size,
            max_entries=s.max_entries, map_flags=s.flags, inner_map_fd=inner_fd,
            numa_node=s.numa_node, map_name=sanitize_name(name).encode(), map_extra=s.map_extra)
        if with_btf and btf_fd:
            a.btf_fd = btf_fd
            a.btf_key_type_id = s.btf_key_type_id
            a.btf_value_type_id = s.btf_value_type_id
        return a

    what = (f"creating map {s.name!r} ({s.type.name}, key {s.key_size}, value {s.value_size}, "
            f"max_entries {s.max_entries}, flags {s.flags:#x})")
    try:
        return bsys.FD(bsys.bpf(Command.MAP_CREATE, attr_for(True), raw=True))
    except OSError as e:
        err = e.errno or 0
    if err in (_errno.EPERM, _errno.EACCES):
        raise PrivilegeError(what, err, capability="CAP_BPF")
    if err == _errno.EINVAL and btf_fd and s.type not in _STORAGE_TYPES:
        try:  # like libbpf: a kernel that rejects the BTF still gets the map
            fd = bsys.FD(bsys.bpf(Command.MAP_CREATE, attr_for(False), raw=True))
            log.debug("map %s created without BTF (kernel refused it)", s.name)
            return fd
        except OSError as e2:
            err = e2.errno or err
    if err in (_errno.EINVAL, _errno.EOPNOTSUPP, ENOTSUPP) and not probes.map_type_supported(s.type):
        raise NotSupportedError(f"map type {s.type.name}", detail=f"map {s.name!r}")
    problem = map_spec_problem(s) if err == _errno.EINVAL else ""
    if problem and not any(getattr(s, f) == 0 for f in ("max_entries", "value_size")):
        raise map_spec_error(s, problem)
    if err == _errno.EINVAL:
        unset = [f for f in ("max_entries", "value_size") if getattr(s, f) == 0
                 and s.type not in _STORAGE_TYPES and s.type != MapType.RINGBUF]
        if unset:  # tools size these at run time (bpf_map__set_max_entries & co)
            what += (f"; {' and '.join(unset)} is 0: set it on the object's MapSpec "
                     "before loading")
    raise LoadError(what, err)


def _spec_from_info(info, name_hint: str = "") -> MapSpec:
    try:
        mtype = MapType(info.type)
    except ValueError:
        mtype = info.type  # type: ignore[assignment]
    spec = MapSpec(name=info.name or name_hint, type=mtype, key_size=info.key_size,
                   value_size=info.value_size, max_entries=info.max_entries,
                   flags=info.flags, map_extra=info.map_extra,
                   btf_key_type_id=info.btf_key_type_id,
                   btf_value_type_id=info.btf_value_type_id)
    if info.btf_id and (info.btf_key_type_id or info.btf_value_type_id):
        try:
            from .btf import btf_spec_by_id

            btf = btf_spec_by_id(info.btf_id)
            spec.btf = btf
            if info.btf_key_type_id:
                spec.key_type = btf[info.btf_key_type_id]
            if info.btf_value_type_id:
                spec.value_type = btf[info.btf_value_type_id]
        except Exception as e:  # noqa: BLE001 - decoding falls back to bytes/ints
            log.debug("map %s: BTF %d not usable: %s", spec.name, info.btf_id, e)
    return spec


def _wrap_fd(fd: bsys.FD, name_hint: str = "") -> KernelMap:
    from .info import map_info_from_fd

    try:
        info = map_info_from_fd(fd.fd)
    except Exception:
        fd.close()
        raise
    return KernelMap(_spec_from_info(info, name_hint), fd, map_id=info.id)


def open_pinned_map(path: str, *, readonly: bool = False) -> KernelMap:
    """Open the map pinned at ``path``; its spec is rebuilt from the kernel's info
    (with BTF, when it has some, so reads decode)."""
    flags = bsys.BPF_F_RDONLY if readonly else 0
    try:
        fd = bsys.obj_get(path, flags, what=f"opening pinned map {path}")
    except PrivilegeError:
        raise
    except OSError as e:
        if e.errno == _errno.ENOENT:
            raise MapError(f"no pinned object at {path}", e.errno) from None
        raise
    from .info import fd_kind

    if fd_kind(fd.fd) != "map":
        fd.close()
        raise MapError(f"{path} is pinned, but not a map")
    return _wrap_fd(fd, os.path.basename(path))


def open_map_by_id(map_id: int) -> KernelMap:
    """Open a kernel map by its id (needs CAP_SYS_ADMIN)."""
    try:
        fd = bsys.get_fd_by_id(Command.MAP_GET_FD_BY_ID, map_id, error=MapError)
    except MapError as e:
        if e.errno == _errno.ENOENT:
            raise MapError(f"no map with id {map_id}", e.errno) from None
        raise
    return _wrap_fd(fd)


def readonly_prog_flags(spec: MapSpec) -> int:
    """Flags libbpf gives .rodata/.kconfig maps (read-only to programs)."""
    return spec.flags | BPF_F_RDONLY_PROG
