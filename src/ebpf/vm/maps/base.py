"""VMMap, the base of every runtime map, and what the families share (errors, fd-array refs)."""

from __future__ import annotations

import errno
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ..._internal.closeable import ClosedWhenCollected
from ...errors import MapError
from ...maps import BPF_ANY, Map, element_error
from ...spec import MapSpec
from ..memory import MAP_HANDLES
from .cpus import possible_cpus

log = logging.getLogger("ebpf.vm")


def next_key_after(keys: list[bytes], key: bytes | None) -> bytes | None:
    """BPF_MAP_GET_NEXT_KEY over ``keys`` in their order: the key after ``key``,
    the first when ``key`` is None or not there, None after the last."""
    try:
        i = 0 if key is None else keys.index(key) + 1
    except ValueError:
        i = 0
    return keys[i] if i < len(keys) else None


def _round8(n: int) -> int:
    return (n + 7) & ~7


class VMMap(ClosedWhenCollected, Map):
    """Base of the runtime's maps. Program-side operations return 0 or -errno,
    user-side (``*_bytes``) ones raise :class:`ebpf.MapError` subclasses."""

    backend = "vm"

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self._lock = threading.RLock()
        self.handle = MAP_HANDLES.register(self)
        self.frozen = False
        self.ncpu = possible_cpus() if self.per_cpu else 1
        self.stride = _round8(spec.value_size)
        #: called once when the map closes, before its memory is released (the
        #: native executor's map headers stop generated code using it)
        self._close_hooks: list[Callable[[], None]] = []
        #: bytes charged against the map memory limit (see .limits)
        self._charged = 0
        #: offsets of the value's kptr fields (``__kptr`` object pointers): an
        #: update leaves them NULL and user space reads them as 0, as the kernel's
        from ...btf.kptr import kptr_fields

        self.kptrs = tuple(f.offset for f in kptr_fields(getattr(spec, "value_type", None)))

    def _clear_kptrs(self, value: bytes) -> bytes:
        """``value`` (one or per-CPU values, ``stride`` apart) with its kptr fields 0."""
        if not self.kptrs:
            return value
        out = bytearray(value)
        step = self.stride if len(out) > self.value_size else len(out)
        for base in range(0, len(out), step or 1):
            for off in self.kptrs:
                out[base + off:base + off + 8] = bytes(8)
        return bytes(out)

    @property
    def num_cpus(self) -> int:
        return self.ncpu if self.per_cpu else possible_cpus()

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        MAP_HANDLES.unregister(self.handle)
        for hook in self._close_hooks:
            hook()
        self._release()
        if self._charged:
            from .limits import uncharge

            uncharge(self._charged)
            self._charged = 0

    def _release(self) -> None:
        """Unmap every value region."""

    def freeze(self) -> None:
        """Refuse further updates from user space (BPF_MAP_FREEZE)."""
        self.frozen = True

    # ---- program side (helpers) ------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of the value for ``key`` (on ``cpu`` for per-CPU maps), or 0."""
        return 0

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -errno.EINVAL

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def prog_push(self, value: bytes, flags: int) -> int:
        return -errno.EINVAL

    def prog_pop(self, peek: bool) -> bytes | int:
        return -errno.EINVAL

    def prog_lookup_cpu(self, key: bytes, cpu: int) -> int:
        """bpf_map_lookup_percpu_elem: value on a given CPU (per-CPU maps only)."""
        return 0

    # ---- user side -------------------------------------------------------------
    def _check_key(self, key: bytes, what: str) -> None:
        if len(key) != self.key_size:
            raise MapError(f"{what} of map {self.name}: key must be {self.key_size} bytes, "
                           f"got {len(key)}", errno.EINVAL)

    def _check_value(self, value: bytes, what: str) -> None:
        want = self.stride * self.ncpu if self.per_cpu else self.value_size
        if len(value) != want:
            raise MapError(f"{what} of map {self.name}: value must be {want} bytes, "
                           f"got {len(value)}", errno.EINVAL)

    def update_bytes(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        self._check_key(key, "update")
        self._check_value(value, "update")
        if self.frozen:
            raise MapError(f"update of map {self.name}: map is frozen", errno.EPERM)
        rc = self._user_update(key, value, flags)
        if rc:
            raise element_error(self, "update", -rc)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        return -errno.EINVAL

    def delete_bytes(self, key: bytes) -> bool:
        self._check_key(key, "delete")
        if self.frozen:
            raise MapError(f"delete from map {self.name}: map is frozen", errno.EPERM)
        rc = self.prog_delete(key)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise element_error(self, "delete", -rc)
        return True

    def __repr__(self) -> str:
        return super().__repr__().replace("<VM", "<vm.VM", 1)


#: the kernel-internal "not supported" errno user-space lookups of some fd arrays get
ENOTSUPP = 524


# registry of vm objects stored in fd arrays (programs, maps): small int ids,
# held weakly (the fd arrays themselves hold the objects they contain)
_REFS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_REF_IDS: dict[int, int] = {}
_REF_LOCK = threading.Lock()
_next_ref = itertools.count(1000)


def ref_id(obj: Any) -> int:
    """A small id standing for a vm program or map in fd-array values (like an fd)."""
    with _REF_LOCK:
        rid = _REF_IDS.get(id(obj))
        if rid is None or _REFS.get(rid) is not obj:
            rid = next(_next_ref)
            _REFS[rid] = obj
            _REF_IDS[id(obj)] = rid
        return rid


class RefValues:
    """Values that stand for vm objects (programs, maps) by id, as fds do in the
    kernel: users give the object or its id and read the id back."""

    __slots__ = ()

    def encode_value(self, value: Any) -> bytes:
        if isinstance(value, int):
            return value.to_bytes(4, "little")
        return ref_id(value).to_bytes(4, "little")

    def decode_value(self, raw: bytes) -> Any:
        return int.from_bytes(raw[:4], "little")

