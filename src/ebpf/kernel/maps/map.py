"""A kernel map owned through its fd: :class:`KernelMap`, the single-element
commands (with a prepared fast path for plain keys and values) and the map-wide
ones (freeze, pin, info); batch operations are in :mod:`.batch`, shared memory in
:mod:`.memory` (example in :mod:`ebpf.kernel.maps`).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import mmap
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ... import codec
from ...errors import MapError, NotSupportedError
from ...maps import ARRAY_TYPES, BPF_ANY, FD_VALUE_TYPES, KEYLESS_TYPES, Map, element_error
from ...spec import BPF_F_MMAPABLE, MapSpec
from ...uapi import Command, MapType, consts, structs
from .. import commands, probes
from .. import sys as bsys
from . import batch
from .errors import buffer, map_error, os_error
from .memory import ArenaMapping, map_array

if TYPE_CHECKING:
    from ...mapbatch import MapBatch
    from ..info import MapInfo
    from ..structops import StructOpsLink

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelMap"]

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
        self.nr, self.fn = bsys._get_syscall()
        # the same syscall(2) without errno capture or argument conversion: several
        # times cheaper through ctypes; a failure is run again through ``fn`` to learn
        # its errno (every command here is idempotent when it fails)
        self.fast = bsys.fast_syscall()
        kbuf = ctypes.create_string_buffer(max(key_size, 1))
        self.vbuf = ctypes.create_string_buffer(max(value_size, 1))
        self.attr = structs.MapElemAttr(map_fd=fd, key=ctypes.addressof(kbuf),
                                     value=ctypes.addressof(self.vbuf))
        self.ref = ctypes.byref(self.attr)
        # DELETE_ELEM takes no value (the kernel refuses a non-zero one)
        self.dattr = structs.MapElemAttr(map_fd=fd, key=ctypes.addressof(kbuf))
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
        self._arena: ArenaMapping | None = None  # an ARENA map's pages, once mapped
        #: where an object's arena globals start in an ARENA map (0 otherwise)
        self.arena_data_offset = 0
        self._ops: _ElemOps | None = None  # made on the first element operation

    def _elem_ops(self) -> _ElemOps | None:
        """The prepared single-element path, for maps with plain keys and values."""
        ops = self._ops
        if ops is None:
            if (self.key_size == 0 or self.type in KEYLESS_TYPES or self.type == MapType.ARENA
                    or self.type in FD_VALUE_TYPES):
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
            raise map_error(os_error(err, _LOOKUP), f"looking up a key in map {self.name}")
        if self.type == MapType.ARENA:
            return self._arena_lookup(key)
        return self._read_value(commands.map_lookup_elem, key, "looking up a key in map")

    def lookup_and_delete_bytes(self, key: bytes) -> bytes | None:
        """Atomically read and remove an entry (hash maps, Linux 5.14+)."""
        return self._read_value(commands.map_lookup_and_delete_elem, key,
                                "lookup-and-delete in map")

    def _elem_command(self, command: Any, what: str, key: int = 0, value: int = 0,
                      flags: int = 0) -> bool:
        """Run the element command ``command`` on this map (``key``/``value``: buffer
        addresses); False when the kernel says ENOENT, any other failure a MapError
        saying ``what`` (followed by the map's name)."""
        attr = structs.MapElemAttr(map_fd=self.fd, key=key, value=value, flags=flags)
        try:
            command(attr, raw=True)
        except OSError as e:
            if e.errno == _errno.ENOENT:
                return False
            raise map_error(e, f"{what} {self.name}") from None
        return True

    def _read_value(self, command: Any, key: bytes | None, what: str) -> bytes | None:
        """The value ``command`` reads for ``key`` (None: no key), None on ENOENT."""
        kb, kaddr = self._key_arg(key) if key is not None else (None, 0)
        size = self._value_buf_size() if key is not None else self.value_size
        vb = buffer(size)
        if not self._elem_command(command, what, kaddr, ctypes.addressof(vb)):
            return None
        return vb.raw[:size]

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
        want = self._value_buf_size() if self.type not in FD_VALUE_TYPES else 4
        if len(value) != want:
            raise MapError(f"map {self.name}: value is {len(value)} bytes, the map needs {want}")
        vb = ctypes.create_string_buffer(value, max(len(value), 1))
        attr = structs.MapElemAttr(map_fd=self.fd, key=kaddr, value=ctypes.addressof(vb), flags=flags)
        try:
            commands.map_update_elem(attr, raw=True)
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
            return self._delete_failed(os_error(err, _DELETE))
        kb, kaddr = self._key_arg(key)
        attr = structs.MapElemAttr(map_fd=self.fd, key=kaddr)
        try:
            commands.map_delete_elem(attr, raw=True)
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
        nb = buffer(self.key_size)
        if not self._elem_command(commands.map_get_next_key, "iterating map", kaddr,
                                  ctypes.addressof(nb)):
            return None
        return nb.raw[: self.key_size]

    def push_bytes(self, value: bytes, flags: int = BPF_ANY) -> None:
        if self.type not in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
            raise NotSupportedError(f"push on a {self.type.name} map")
        if len(value) != self.value_size:
            raise MapError(f"map {self.name}: value is {len(value)} bytes, the map needs {self.value_size}")
        vb = ctypes.create_string_buffer(value, len(value))
        attr = structs.MapElemAttr(map_fd=self.fd, value=ctypes.addressof(vb), flags=flags)
        try:
            commands.map_update_elem(attr, raw=True)
        except OSError as e:
            raise element_error(self, "push", e.errno or 0) from None

    def pop_bytes(self, peek: bool = False) -> bytes | None:
        if self.type not in (MapType.QUEUE, MapType.STACK):
            raise NotSupportedError(f"pop on a {self.type.name} map")
        run = commands.map_lookup_elem if peek else commands.map_lookup_and_delete_elem
        return self._read_value(run, None, "popping from map")

    def contains_value(self, value: Any) -> bool:
        """Bloom filter membership test (may give false positives)."""
        if self.type != MapType.BLOOM_FILTER:
            raise NotSupportedError(f"membership test on a {self.type.name} map")
        raw = codec.encode(value, self.value_size, self.spec.value_type)
        vb = ctypes.create_string_buffer(raw, len(raw))
        return self._elem_command(commands.map_lookup_elem, "querying bloom filter", 0,
                                  ctypes.addressof(vb))

    def __contains__(self, key: object) -> bool:
        if self.type == MapType.BLOOM_FILTER:
            return self.contains_value(key)
        return super().__contains__(key)

    # the dict protocol's hot paths, fused for the prepared single-element commands
    # (same behaviour as ebpf.Map's, one Python frame less per call)
    def __getitem__(self, key: Any) -> Any:
        ops = self._ops
        if ops is None or self._fd.closed:
            return super().__getitem__(key)
        raw = self.encode_key(key)
        if len(raw) != self.key_size:
            return super().__getitem__(key)
        with ops.lock:
            err = ops.call(_LOOKUP, raw)
            if not err:
                value = ops.vview.tobytes()
        if err:
            if err == _errno.ENOENT:
                raise KeyError(key)
            raise map_error(os_error(err, _LOOKUP), f"looking up a key in map {self.name}")
        return self.decode_value(value)

    def __setitem__(self, key: Any, value: Any) -> None:
        ops = self._ops
        if ops is None or self._fd.closed or self.type in ARRAY_TYPES:
            return self.put(key, value, BPF_ANY)  # arrays: put() checks the index
        raw, vraw = self.encode_key(key), self.encode_value(value)
        if len(raw) != self.key_size or len(vraw) != ops.vsize:
            return self.put(key, value, BPF_ANY)
        with ops.lock:
            ops.vview[:] = vraw
            err = ops.call(_UPDATE, raw, BPF_ANY)
        if err:
            raise element_error(self, "update", err)

    def decode_value(self, raw: bytes) -> Any:
        if self.type in FD_VALUE_TYPES:  # the kernel answers with the object's id
            return int.from_bytes(raw[:4], "little")
        return super().decode_value(raw)

    # ---- batch operations (see .batch) --------------------------------------
    def lookup_batch_packed(self, *, delete: bool = False, chunk: int = 0) -> MapBatch:
        """Every entry in one :class:`ebpf.MapBatch`, read by
        BPF_MAP_LOOKUP[_AND_DELETE]_BATCH straight into its buffers (``chunk``
        entries per system call, default the whole map); one call per key where the
        kernel cannot batch this map type."""
        return batch.lookup_batch_packed(self, delete=delete, chunk=chunk)

    def iter_items(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, value), read with the batch commands where the kernel has them
        (what ``items()`` and ``values()`` iterate)."""
        if self.key_size == 0 or self.type in FD_VALUE_TYPES:
            return super().iter_items()
        return iter(self.lookup_batch())

    def update_batch(self, items: Any, flags: int = BPF_ANY) -> int:
        """Write many entries in one system call (BPF_MAP_UPDATE_BATCH); ``items``
        is a mapping or (key, value) pairs. Returns how many were written."""
        return batch.update_batch(self, items, flags)

    def delete_batch(self, keys: Any) -> int:
        """Delete many keys in one system call (BPF_MAP_DELETE_BATCH); see
        :meth:`ebpf.Map.delete_batch`."""
        return batch.delete_batch(self, keys)

    def attach_struct_ops(self) -> StructOpsLink:
        """Register this struct_ops map with the kernel; returns a Link whose
        ``close()`` unregisters it."""
        from ..structops import attach_struct_ops

        return attach_struct_ops(self)

    def _ring_consumer(self, page_count: int = 8) -> Any:
        """The ring-consumer protocol object (see :mod:`ebpf.ringbuf`) for a RINGBUF
        or PERF_EVENT_ARRAY map, read through mmap (``page_count`` pages per CPU
        for a perf buffer)."""
        if self.type == MapType.RINGBUF:
            from ..ringbuf import consumer_for

            return consumer_for(self)
        if self.type == MapType.PERF_EVENT_ARRAY:
            from ..perfbuf import KernelPerfConsumer

            return KernelPerfConsumer(self, page_count)
        raise NotSupportedError("event consumers", detail=f"map {self.name} is a "
                                f"{self.type.name} map")

    def _user_ring(self) -> Any:
        """The producer protocol object (see :mod:`ebpf.userringbuf`) of a USER_RINGBUF map."""
        from ..ringbuf import user_ring_for

        return user_ring_for(self)

    # ---- map-wide operations ---------------------------------------------
    def freeze(self) -> None:
        """Make the map read-only from user space (BPF_MAP_FREEZE)."""
        attr = structs.MapElemAttr(map_fd=self.fd)
        commands.map_freeze(attr, what=f"freezing map {self.name}", error=MapError)
        self.spec.freeze = True

    def pin(self, path: str) -> None:
        """Pin at ``path`` in bpffs (parents created; bpffs mounted if needed)."""
        from ..pin import ensure_bpffs_dir

        ensure_bpffs_dir(os.path.dirname(os.path.abspath(path)))
        commands.obj_pin(self.fd, path, what=f"pinning map {self.name} at {path}")

    def info(self) -> MapInfo:
        """A :class:`ebpf.kernel.info.MapInfo` snapshot from the kernel."""
        from ..info import map_info_from_fd

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
            writable = not (self.spec.freeze or self.flags & consts.BPF_F_RDONLY)
            self._mmap = map_array(self.fd, size, writable=writable, name=self.name)
        return memoryview(self._mmap)

    def _arena_memory(self) -> memoryview:
        """Map the arena (once; the kernel fixes its user address at the first
        mmap, and a program using the arena can only load after that)."""
        if self._arena is None:
            self._arena = ArenaMapping(self.fd, self.max_entries * mmap.PAGESIZE,
                                       self.spec.map_extra, self.name)
        return self._arena.view()

    def _unmap_arena(self) -> None:
        arena, self._arena = self._arena, None
        if arena is not None:
            arena.unmap()

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


