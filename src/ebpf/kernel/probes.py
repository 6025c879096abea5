"""Feature probes: what this kernel can do, asked once and cached.

>>> import ebpf
>>> from ebpf.kernel import probes
>>> probes.bpf_usable()
True
>>> probes.map_type_supported(ebpf.MapType.RINGBUF)
True
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import logging
import os
from typing import TYPE_CHECKING

from .._internal.host import kernel_version, kernel_version_code
from .._internal.host import possible_cpu_count as possible_cpus
from ..uapi import AttachType, MapType, ProgramType, structs
from . import commands
from . import sys as bsys

if TYPE_CHECKING:
    from ..uapi import HelperId

log = logging.getLogger("ebpf.kernel")

__all__ = ["bpf_usable", "kernel_version", "kernel_version_code", "map_type_supported",
           "prog_type_supported", "helper_supported", "possible_cpus", "bump_memlock",
           "memlock_charged"]


def memlock_charged() -> bool:
    """True when the kernel accounts BPF memory against RLIMIT_MEMLOCK
    (before Linux 5.11, which moved it to memory cgroups)."""
    return kernel_version() < (5, 11, 0)


_memlock_done = False


def bump_memlock() -> None:
    """Raise RLIMIT_MEMLOCK to infinity where the kernel still charges it (once)."""
    global _memlock_done
    if _memlock_done:
        return
    _memlock_done = True
    if not memlock_charged():
        return
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError) as e:
        log.debug("could not raise RLIMIT_MEMLOCK: %s", e)


def _try_map(map_type: int, key_size: int, value_size: int, max_entries: int,
             flags: int = 0, inner_fd: int = 0, map_extra: int = 0) -> int:
    """errno of creating such a map (0 on success)."""
    attr = structs.MapCreateAttr(map_type=map_type, key_size=key_size, value_size=value_size,
                              max_entries=max_entries, map_flags=flags, inner_map_fd=inner_fd,
                              map_extra=map_extra)
    try:
        commands.map_create(attr, raw=True).close()
    except OSError as e:
        return e.errno or _errno.EINVAL
    return 0


@functools.cache
def bpf_usable() -> bool:
    """Can we use bpf(2) here (create a tiny array map)? Cached."""
    try:
        bump_memlock()
        return _try_map(MapType.ARRAY, 4, 4, 1) == 0
    except Exception as e:  # noqa: BLE001 - any failure means "no"
        log.debug("bpf(2) unusable: %s", e)
        return False


@functools.cache
def map_type_supported(map_type: MapType | int) -> bool:
    """Whether the kernel knows this map type (creates a minimal one)."""
    t = MapType(map_type)
    page = os.sysconf("SC_PAGE_SIZE")
    nopre = 1  # BPF_F_NO_PREALLOC
    if t in (MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
             getattr(MapType, "CGRP_STORAGE", -1)):
        # These need BTF for the value: without it a supporting kernel says
        # EINVAL too, so look the type up in the kernel's map-type table instead.
        return _kernel_has_map_ops(t)
    if t == MapType.STRUCT_OPS:
        return _kernel_has_map_ops(t)
    params = {
        MapType.LPM_TRIE: (8, 4, 1, nopre, 0),
        MapType.QUEUE: (0, 4, 1, 0, 0),
        MapType.STACK: (0, 4, 1, 0, 0),
        MapType.BLOOM_FILTER: (0, 4, 1, 0, 0),
        MapType.RINGBUF: (0, 0, page, 0, 0),
        MapType.USER_RINGBUF: (0, 0, page, 0, 0),
        MapType.ARENA: (0, 0, 1, 1 << 10, 0),  # one page, BPF_F_MMAPABLE
        MapType.CGROUP_STORAGE: (8, 4, 0, 0, 0),
        MapType.PERCPU_CGROUP_STORAGE: (8, 4, 0, 0, 0),
        MapType.STACK_TRACE: (4, 8, 1, 0, 0),
        MapType.SOCKMAP: (4, 4, 1, 0, 0),
        MapType.SOCKHASH: (4, 4, 1, 0, 0),
        MapType.XSKMAP: (4, 4, 1, 0, 0),
        MapType.DEVMAP: (4, 4, 1, 0, 0),
        MapType.DEVMAP_HASH: (4, 4, 1, 0, 0),
        MapType.CPUMAP: (4, 4, 1, 0, 0),
    }
    if t in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        inner = structs.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1)
        try:
            with commands.map_create(inner, raw=True) as ifd:
                return _try_map(t, 4, 4, 1, 0, ifd.fd) == 0
        except OSError:
            return False
    ks, vs, n, flags, extra = params.get(t, (4, 4, 1, 0, 0))
    return _try_map(t, ks, vs, n, flags, 0, extra) == 0


_MIN_KERNEL = {
    MapType.SK_STORAGE: (5, 2, 0), MapType.STRUCT_OPS: (5, 6, 0),
    MapType.INODE_STORAGE: (5, 10, 0), MapType.TASK_STORAGE: (5, 11, 0),
}


def _kernel_has_map_ops(t: MapType) -> bool:
    """Storage and struct_ops maps cannot be created without BTF for their
    value, so judge them by the kernel version that introduced them."""
    need = _MIN_KERNEL.get(t, (6, 2, 0))  # CGRP_STORAGE: 6.2
    return kernel_version() >= need


def _load_insns(prog_type: int, raw: bytes, log_size: int = 0,
                expected_attach_type: int = 0, prog_flags: int = 0) -> tuple[int, str]:
    """(errno or 0, verifier log) of loading ``raw`` instructions."""
    insns = ctypes.create_string_buffer(raw, len(raw))
    lic = bsys.c_string("GPL")
    buf = ctypes.create_string_buffer(log_size) if log_size else None
    attr = structs.ProgLoadAttr(prog_type=prog_type, insn_cnt=len(raw) // 8,
                             insns=bsys.addr(insns), license=bsys.addr(lic),
                             expected_attach_type=expected_attach_type,
                             prog_flags=prog_flags)
    if buf is not None:
        attr.log_level = 1
        attr.log_size = log_size
        attr.log_buf = bsys.addr(buf)
    try:
        commands.prog_load(attr, raw=True).close()
    except OSError as e:
        text = buf.value.decode(errors="replace") if buf is not None else ""
        return e.errno or _errno.EINVAL, text
    return 0, ""


def _insn(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return bytes([opcode, (src << 4) | dst]) + off.to_bytes(2, "little", signed=True) + \
        imm.to_bytes(4, "little", signed=True)


_RET0 = _insn(0xB7, 0, 0, 0, 0) + _insn(0x95)  # r0 = 0; exit


# program types that need an expected attach type (or flags) to load at all
_PROBE_ATTACH = {
    "CGROUP_SOCK_ADDR": (AttachType.CGROUP_INET4_CONNECT, 0),
    "CGROUP_SOCKOPT": (AttachType.CGROUP_GETSOCKOPT, 0),
    "SK_LOOKUP": (AttachType.SK_LOOKUP, 0),
    "SYSCALL": (0, 1 << 4),  # BPF_F_SLEEPABLE
}


@functools.cache
def prog_type_supported(prog_type: ProgramType | int) -> bool:
    """Whether the kernel knows this program type (loads ``r0 = 0; exit``).

    Types that cannot load without an attach target (tracing, ext, lsm,
    struct_ops) are judged by the kernel's answer: EINVAL about the missing
    target still means the type exists.
    """
    t = ProgramType(prog_type)
    eat, flags = _PROBE_ATTACH.get(t.name, (0, 0))
    err, text = _load_insns(t, _RET0, log_size=4096, expected_attach_type=eat, prog_flags=flags)
    if err == 0:
        return True
    if t in (ProgramType.TRACING, ProgramType.EXT, ProgramType.LSM, ProgramType.STRUCT_OPS):
        # unknown types fail before the log is written; known ones complain about attach
        return bool(text.strip()) or err not in (_errno.EINVAL,)
    return err not in (_errno.EINVAL, _errno.EOPNOTSUPP, 524)


@functools.cache
def helper_supported(prog_type: ProgramType | int, helper_id: HelperId | int) -> bool:
    """Whether programs of ``prog_type`` may call helper ``helper_id``."""
    raw = _insn(0x85, 0, 0, 0, int(helper_id)) + _RET0
    err, text = _load_insns(ProgramType(prog_type), raw, log_size=16384)
    if err == 0:
        return True
    if "invalid func" in text or "unknown func" in text or "program of this type cannot use helper" in text:
        return False
    return bool(text)  # failed on arguments, not on the helper itself
