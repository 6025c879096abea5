"""Making and opening kernel maps: BPF_MAP_CREATE from a :class:`~ebpf.spec.MapSpec`
(with the sizes and flags each map type insists on), struct_ops maps, and maps
opened from a pin or an id (their spec rebuilt from the kernel's info)."""

from __future__ import annotations

import errno as _errno
import logging
import mmap
import os
import re
from typing import Any

from ...errors import LoadError, MapError, NotSupportedError, PrivilegeError
from ...loader.maps import map_spec_error, map_spec_problem
from ...loader.types import known_type
from ...spec import BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, MapSpec
from ...uapi import Command, MapType, consts, structs
from .. import commands, probes
from .. import sys as bsys
from .errors import ENOTSUPP
from .map import KernelMap

log = logging.getLogger("ebpf.kernel")

__all__ = ["create_map", "normalize", "open_map_by_id", "open_pinned_map", "readonly_prog_flags",
           "round_ringbuf", "sanitize_name"]

#: map types holding per-object storage (no preallocation, max_entries 0)
STORAGE_TYPES = frozenset(
    t for t in (MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
                getattr(MapType, "CGRP_STORAGE", None)) if t is not None)

_NAME_OK = re.compile(r"[^A-Za-z0-9_.]")


def sanitize_name(name: str) -> str:
    """A kernel object name: at most 15 characters of ``[A-Za-z0-9_.]``."""
    return _NAME_OK.sub("_", name)[: consts.BPF_OBJ_NAME_LEN - 1]


def round_ringbuf(size: int) -> int:
    """Ring buffer sizes must be a power-of-two number of pages (libbpf rounds up)."""
    page = mmap.PAGESIZE
    size = max(size, page)
    n = 1
    while n < size:
        n <<= 1
    return n


def normalize(spec: MapSpec) -> MapSpec:
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
        s.max_entries = round_ringbuf(s.max_entries)
    elif t in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER):
        s.key_size = 0
    elif t in STORAGE_TYPES:
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
    spec = known_type(spec)
    probes.bump_memlock()
    s = normalize(spec)
    if s.type == MapType.STRUCT_OPS:
        return _create_struct_ops(s, btf_fd or 0, name or s.name)
    own_btf = None
    if btf_fd is None and s.btf is not None and (s.btf_key_type_id or s.btf_value_type_id):
        try:
            from ..btf import load_btf

            own_btf = load_btf(s.btf)
            btf_fd = own_btf.fd
        except Exception as e:  # noqa: BLE001 - BTF only helps decoding/dumping
            log.debug("map %s: object BTF not loaded (%s); creating without", spec.name, e)
            if s.type in STORAGE_TYPES:
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
    from ... import btf as B
    from ..structops import BPF_F_VTYPE_BTF_OBJ_FD, resolve_struct_ops

    kst = resolve_struct_ops(s)
    size = B.sizeof(kst.wrapper)
    attr = structs.MapCreateAttr(map_type=MapType.STRUCT_OPS, key_size=4, value_size=size,
                              max_entries=1, map_flags=s.flags,
                              map_name=sanitize_name(name).encode(), btf_fd=btf_fd,
                              btf_vmlinux_value_type_id=kst.wrapper_id)
    mod_fd = None
    if kst.module != "vmlinux":
        from ..btf import module_btf_fd

        mod_fd = module_btf_fd(kst.module)
        attr.value_type_btf_obj_fd = mod_fd.fd
        attr.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD
    try:
        fd = commands.map_create(attr,
                              what=f"creating struct_ops map {s.name!r} ({kst.name})",
                              error=LoadError)
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
    def attr_for(with_btf: bool) -> structs.MapCreateAttr:
        a = structs.MapCreateAttr(
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
        return commands.map_create(attr_for(True), raw=True)
    except OSError as e:
        err = e.errno or 0
    if err in (_errno.EPERM, _errno.EACCES):
        raise PrivilegeError(what, err, capability="CAP_BPF")
    if err == _errno.EINVAL and btf_fd and s.type not in STORAGE_TYPES:
        try:  # like libbpf: a kernel that rejects the BTF still gets the map
            fd = commands.map_create(attr_for(False), raw=True)
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
                 and s.type not in STORAGE_TYPES and s.type != MapType.RINGBUF]
        if unset:  # tools size these at run time (bpf_map__set_max_entries & co)
            what += (f"; {' and '.join(unset)} is 0: set it on the object's MapSpec "
                     "before loading")
    raise LoadError(what, err)


def _spec_from_info(info: Any, name_hint: str = "") -> MapSpec:
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
            from ..btf import btf_spec_by_id

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
    from ..info import map_info_from_fd

    try:
        info = map_info_from_fd(fd.fd)
    except Exception:
        fd.close()
        raise
    return KernelMap(_spec_from_info(info, name_hint), fd, map_id=info.id)


def open_pinned_map(path: str, *, readonly: bool = False) -> KernelMap:
    """Open the map pinned at ``path``; its spec is rebuilt from the kernel's info
    (with BTF, when it has some, so reads decode)."""
    from ..pin import open_pinned

    fd = open_pinned(path, "map", MapError, consts.BPF_F_RDONLY if readonly else 0)
    return _wrap_fd(fd, os.path.basename(path))


def open_map_by_id(map_id: int) -> KernelMap:
    """Open a kernel map by its id (needs CAP_SYS_ADMIN)."""
    return _wrap_fd(commands.get_fd_by_id(Command.MAP_GET_FD_BY_ID, map_id, error=MapError,
                                          kind="map"))


def readonly_prog_flags(spec: MapSpec) -> int:
    """Flags libbpf gives .rodata/.kconfig maps (read-only to programs)."""
    return spec.flags | BPF_F_RDONLY_PROG
