"""The bpf(2) system call: the one place command numbers and attr layouts live.

Every command gets its own ``ctypes.Structure`` laid out exactly like the matching
member of ``union bpf_attr`` (linux/bpf.h, up to Linux 6.18). :func:`bpf` passes
``sizeof(attr)`` as the size, so the kernel zero-fills whatever a newer kernel has
beyond it, and an older kernel rejects only non-zero bytes it does not know.

>>> import ctypes
>>> from ebpf.kernel import sys as bsys
>>> attr = bsys.MapCreateAttr(map_type=2, key_size=4, value_size=8, max_entries=1)
>>> ctypes.sizeof(attr)
80
>>> fd = bsys.FD(bsys.bpf(bsys.Command.MAP_CREATE, attr))
>>> fd.close()

Errors: :func:`bpf` raises :class:`ebpf.errors.SystemCallError` subclasses built by
:func:`error_for` (EPERM/EACCES become :class:`PrivilegeError` naming the
capability; the ``error`` argument picks the class for the rest).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno as _errno
import logging
import os
import platform
from typing import Any

from .._internal.libc import function as libc_function
from .._internal.libc import libc as _libc
from ..errors import PrivilegeError, SystemCallError
from ..uapi import Command, ProgramType

log = logging.getLogger("ebpf.kernel")

__all__ = [
    "BPF_OBJ_NAME_LEN", "BPF_TAG_SIZE", "Command", "FD", "bpf", "error_for", "addr",
    "c_string", "obj_pin", "obj_get", "get_info_by_fd", "get_next_id", "get_fd_by_id",
    "MapCreateAttr", "MapElemAttr", "MapBatchAttr", "ProgLoadAttr", "ObjPinAttr",
    "ProgAttachAttr", "ProgTestRunAttr", "GetIdAttr", "InfoAttr", "ProgQueryAttr",
    "RawTracepointOpenAttr", "BtfLoadAttr", "TaskFdQueryAttr", "LinkCreateAttr",
    "LinkUpdateAttr", "LinkDetachAttr", "EnableStatsAttr", "IterCreateAttr",
    "ProgBindMapAttr", "ProgInfo", "MapInfo", "BtfInfo", "LinkInfo",
]

BPF_OBJ_NAME_LEN = 16
BPF_TAG_SIZE = 8

# ---- flags used with the commands ---------------------------------------------
BPF_F_RDONLY = 1 << 3  # file_flags for OBJ_GET / GET_FD_BY_ID open_flags
BPF_F_WRONLY = 1 << 4
BPF_STATS_RUN_TIME = 0
BPF_F_TEST_RUN_ON_CPU = 1 << 0
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
BPF_F_QUERY_EFFECTIVE = 1 << 0
# PROG_ATTACH flags
BPF_F_ALLOW_OVERRIDE = 1 << 0
BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2
BPF_F_BEFORE = 1 << 3
BPF_F_AFTER = 1 << 4
BPF_F_ID = 1 << 5
BPF_F_LINK = 1 << 13
# XDP link / netlink flags
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
XDP_FLAGS_HW_MODE = 1 << 3
XDP_FLAGS_REPLACE = 1 << 4
# LINK_CREATE flags for multi kprobes / uprobes
BPF_F_KPROBE_MULTI_RETURN = 1 << 0
BPF_F_UPROBE_MULTI_RETURN = 1 << 0
# log levels
BPF_LOG_LEVEL1 = 1
BPF_LOG_LEVEL2 = 2
BPF_LOG_STATS = 4


_u8 = ctypes.c_uint8
_u32 = ctypes.c_uint32
_s32 = ctypes.c_int32
_u64 = ctypes.c_uint64
_name = ctypes.c_char * BPF_OBJ_NAME_LEN


class _Attr(ctypes.Structure):
    """Base of the attr structures: a readable repr, nothing else."""

    def __repr__(self) -> str:
        parts = []
        for fname, *_ in self._fields_:
            if fname.startswith("_"):
                continue
            v = getattr(self, fname)
            if isinstance(v, (int, bytes)) and v:
                parts.append(f"{fname}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


# ---- union bpf_attr members ---------------------------------------------------

class MapCreateAttr(_Attr):
    """BPF_MAP_CREATE."""

    _fields_ = [
        ("map_type", _u32), ("key_size", _u32), ("value_size", _u32), ("max_entries", _u32),
        ("map_flags", _u32), ("inner_map_fd", _u32), ("numa_node", _u32),
        ("map_name", _name), ("map_ifindex", _u32), ("btf_fd", _u32),
        ("btf_key_type_id", _u32), ("btf_value_type_id", _u32),
        ("btf_vmlinux_value_type_id", _u32), ("map_extra", _u64),
        ("value_type_btf_obj_fd", _s32), ("map_token_fd", _s32),
    ]


class MapElemAttr(_Attr):
    """BPF_MAP_LOOKUP_ELEM, UPDATE_ELEM, DELETE_ELEM, GET_NEXT_KEY,
    LOOKUP_AND_DELETE_ELEM, FREEZE (``value`` doubles as ``next_key``)."""

    _fields_ = [("map_fd", _u32), ("_pad0", _u32), ("key", _u64), ("value", _u64),
                ("flags", _u64)]

    @property
    def next_key(self) -> int:
        return self.value

    @next_key.setter
    def next_key(self, v: int) -> None:
        self.value = v


class MapBatchAttr(_Attr):
    """BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH, UPDATE_BATCH, DELETE_BATCH."""

    _fields_ = [("in_batch", _u64), ("out_batch", _u64), ("keys", _u64), ("values", _u64),
                ("count", _u32), ("map_fd", _u32), ("elem_flags", _u64), ("flags", _u64)]


class ProgLoadAttr(_Attr):
    """BPF_PROG_LOAD. ``attach_prog_fd`` and ``attach_btf_obj_fd`` share a slot."""

    _fields_ = [
        ("prog_type", _u32), ("insn_cnt", _u32), ("insns", _u64), ("license", _u64),
        ("log_level", _u32), ("log_size", _u32), ("log_buf", _u64),
        ("kern_version", _u32), ("prog_flags", _u32), ("prog_name", _name),
        ("prog_ifindex", _u32), ("expected_attach_type", _u32), ("prog_btf_fd", _u32),
        ("func_info_rec_size", _u32), ("func_info", _u64), ("func_info_cnt", _u32),
        ("line_info_rec_size", _u32), ("line_info", _u64), ("line_info_cnt", _u32),
        ("attach_btf_id", _u32), ("attach_prog_fd", _u32), ("core_relo_cnt", _u32),
        ("fd_array", _u64), ("core_relos", _u64), ("core_relo_rec_size", _u32),
        ("log_true_size", _u32), ("prog_token_fd", _s32), ("fd_array_cnt", _u32),
    ]

    @property
    def attach_btf_obj_fd(self) -> int:
        return self.attach_prog_fd

    @attach_btf_obj_fd.setter
    def attach_btf_obj_fd(self, v: int) -> None:
        self.attach_prog_fd = v


class ObjPinAttr(_Attr):
    """BPF_OBJ_PIN, BPF_OBJ_GET."""

    _fields_ = [("pathname", _u64), ("bpf_fd", _u32), ("file_flags", _u32),
                ("path_fd", _s32), ("_pad0", _u32)]


class ProgAttachAttr(_Attr):
    """BPF_PROG_ATTACH, BPF_PROG_DETACH. ``target_fd`` doubles as
    ``target_ifindex``; ``replace_bpf_fd`` as ``relative_fd``/``relative_id``."""

    _fields_ = [("target_fd", _u32), ("attach_bpf_fd", _u32), ("attach_type", _u32),
                ("attach_flags", _u32), ("replace_bpf_fd", _u32), ("_pad0", _u32),
                ("expected_revision", _u64)]

    @property
    def relative_fd(self) -> int:
        return self.replace_bpf_fd

    @relative_fd.setter
    def relative_fd(self, v: int) -> None:
        self.replace_bpf_fd = v

    relative_id = relative_fd


class ProgTestRunAttr(_Attr):
    """BPF_PROG_TEST_RUN (a.k.a. BPF_PROG_RUN)."""

    _fields_ = [
        ("prog_fd", _u32), ("retval", _u32), ("data_size_in", _u32), ("data_size_out", _u32),
        ("data_in", _u64), ("data_out", _u64), ("repeat", _u32), ("duration", _u32),
        ("ctx_size_in", _u32), ("ctx_size_out", _u32), ("ctx_in", _u64), ("ctx_out", _u64),
        ("flags", _u32), ("cpu", _u32), ("batch_size", _u32), ("_pad0", _u32),
    ]


class GetIdAttr(_Attr):
    """BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID and *_GET_FD_BY_ID. ``start_id`` is
    also ``prog_id``/``map_id``/``btf_id``/``link_id``."""

    _fields_ = [("start_id", _u32), ("next_id", _u32), ("open_flags", _u32),
                ("fd_by_id_token_fd", _s32)]


class InfoAttr(_Attr):
    """BPF_OBJ_GET_INFO_BY_FD."""

    _fields_ = [("bpf_fd", _u32), ("info_len", _u32), ("info", _u64)]


class ProgQueryAttr(_Attr):
    """BPF_PROG_QUERY. ``prog_cnt`` is also ``count``."""

    _fields_ = [("target_fd", _u32), ("attach_type", _u32), ("query_flags", _u32),
                ("attach_flags", _u32), ("prog_ids", _u64), ("prog_cnt", _u32),
                ("_pad0", _u32), ("prog_attach_flags", _u64), ("link_ids", _u64),
                ("link_attach_flags", _u64), ("revision", _u64)]


class RawTracepointOpenAttr(_Attr):
    """BPF_RAW_TRACEPOINT_OPEN."""

    _fields_ = [("name", _u64), ("prog_fd", _u32), ("_pad0", _u32), ("cookie", _u64)]


class BtfLoadAttr(_Attr):
    """BPF_BTF_LOAD."""

    _fields_ = [("btf", _u64), ("btf_log_buf", _u64), ("btf_size", _u32),
                ("btf_log_size", _u32), ("btf_log_level", _u32), ("btf_log_true_size", _u32),
                ("btf_flags", _u32), ("btf_token_fd", _s32)]


class TaskFdQueryAttr(_Attr):
    """BPF_TASK_FD_QUERY."""

    _fields_ = [("pid", _u32), ("fd", _u32), ("flags", _u32), ("buf_len", _u32),
                ("buf", _u64), ("prog_id", _u32), ("fd_type", _u32),
                ("probe_offset", _u64), ("probe_addr", _u64)]


# LINK_CREATE's per-attach-kind tails (the union after ``flags``, at offset 16)

class LinkIterTail(ctypes.Structure):
    _fields_ = [("iter_info", _u64), ("iter_info_len", _u32), ("_pad0", _u32)]


class LinkPerfEventTail(ctypes.Structure):
    _fields_ = [("bpf_cookie", _u64)]


class LinkKprobeMultiTail(ctypes.Structure):
    _fields_ = [("flags", _u32), ("cnt", _u32), ("syms", _u64), ("addrs", _u64),
                ("cookies", _u64)]


class LinkTracingTail(ctypes.Structure):
    _fields_ = [("target_btf_id", _u32), ("_pad0", _u32), ("cookie", _u64)]


class LinkNetfilterTail(ctypes.Structure):
    _fields_ = [("pf", _u32), ("hooknum", _u32), ("priority", _s32), ("flags", _u32)]


class LinkTcxTail(ctypes.Structure):
    """Also the layout for netkit: ``relative_fd`` doubles as ``relative_id``."""

    _fields_ = [("relative_fd", _u32), ("_pad0", _u32), ("expected_revision", _u64)]


class LinkUprobeMultiTail(ctypes.Structure):
    _fields_ = [("path", _u64), ("offsets", _u64), ("ref_ctr_offsets", _u64),
                ("cookies", _u64), ("cnt", _u32), ("flags", _u32), ("pid", _u32),
                ("_pad0", _u32)]


class LinkTail(ctypes.Union):
    _fields_ = [("target_btf_id", _u32), ("iter", LinkIterTail),
                ("perf_event", LinkPerfEventTail), ("kprobe_multi", LinkKprobeMultiTail),
                ("tracing", LinkTracingTail), ("netfilter", LinkNetfilterTail),
                ("tcx", LinkTcxTail), ("uprobe_multi", LinkUprobeMultiTail),
                ("netkit", LinkTcxTail)]


class LinkCreateAttr(_Attr):
    """BPF_LINK_CREATE. ``target_fd`` doubles as ``target_ifindex``; the
    attach-kind specific part is ``tail`` (``attr.tail.tracing.cookie``, ...).
    ``target_btf_id``, ``iter_info``/``iter_info_len`` and ``bpf_cookie`` are
    shortcuts into it."""

    _fields_ = [("prog_fd", _u32), ("target_fd", _u32), ("attach_type", _u32),
                ("flags", _u32), ("tail", LinkTail)]

    @property
    def target_ifindex(self) -> int:
        return self.target_fd

    @target_ifindex.setter
    def target_ifindex(self, v: int) -> None:
        self.target_fd = v

    @property
    def target_btf_id(self) -> int:
        return self.tail.target_btf_id

    @target_btf_id.setter
    def target_btf_id(self, v: int) -> None:
        self.tail.target_btf_id = v

    @property
    def bpf_cookie(self) -> int:
        return self.tail.perf_event.bpf_cookie

    @bpf_cookie.setter
    def bpf_cookie(self, v: int) -> None:
        self.tail.perf_event.bpf_cookie = v


class LinkUpdateAttr(_Attr):
    """BPF_LINK_UPDATE."""

    _fields_ = [("link_fd", _u32), ("new_prog_fd", _u32), ("flags", _u32),
                ("old_prog_fd", _u32)]


class LinkDetachAttr(_Attr):
    """BPF_LINK_DETACH."""

    _fields_ = [("link_fd", _u32)]


class EnableStatsAttr(_Attr):
    """BPF_ENABLE_STATS (``type`` = BPF_STATS_RUN_TIME)."""

    _fields_ = [("type", _u32)]


class IterCreateAttr(_Attr):
    """BPF_ITER_CREATE."""

    _fields_ = [("link_fd", _u32), ("flags", _u32)]


class ProgBindMapAttr(_Attr):
    """BPF_PROG_BIND_MAP."""

    _fields_ = [("prog_fd", _u32), ("map_fd", _u32), ("flags", _u32)]


# ---- info structures (BPF_OBJ_GET_INFO_BY_FD) --------------------------------

class ProgInfo(_Attr):
    """struct bpf_prog_info."""

    _fields_ = [
        ("type", _u32), ("id", _u32), ("tag", _u8 * BPF_TAG_SIZE),
        ("jited_prog_len", _u32), ("xlated_prog_len", _u32),
        ("jited_prog_insns", _u64), ("xlated_prog_insns", _u64), ("load_time", _u64),
        ("created_by_uid", _u32), ("nr_map_ids", _u32), ("map_ids", _u64), ("name", _name),
        ("ifindex", _u32), ("gpl_compatible", _u32, 1), ("_pad_bits", _u32, 31),
        ("netns_dev", _u64), ("netns_ino", _u64), ("nr_jited_ksyms", _u32),
        ("nr_jited_func_lens", _u32), ("jited_ksyms", _u64), ("jited_func_lens", _u64),
        ("btf_id", _u32), ("func_info_rec_size", _u32), ("func_info", _u64),
        ("nr_func_info", _u32), ("nr_line_info", _u32), ("line_info", _u64),
        ("jited_line_info", _u64), ("nr_jited_line_info", _u32),
        ("line_info_rec_size", _u32), ("jited_line_info_rec_size", _u32),
        ("nr_prog_tags", _u32), ("prog_tags", _u64), ("run_time_ns", _u64),
        ("run_cnt", _u64), ("recursion_misses", _u64), ("verified_insns", _u32),
        ("attach_btf_obj_id", _u32), ("attach_btf_id", _u32), ("_pad0", _u32),
    ]


class MapInfo(_Attr):
    """struct bpf_map_info."""

    _fields_ = [
        ("type", _u32), ("id", _u32), ("key_size", _u32), ("value_size", _u32),
        ("max_entries", _u32), ("map_flags", _u32), ("name", _name), ("ifindex", _u32),
        ("btf_vmlinux_value_type_id", _u32), ("netns_dev", _u64), ("netns_ino", _u64),
        ("btf_id", _u32), ("btf_key_type_id", _u32), ("btf_value_type_id", _u32),
        ("btf_vmlinux_id", _u32), ("map_extra", _u64),
    ]


class BtfInfo(_Attr):
    """struct bpf_btf_info."""

    _fields_ = [("btf", _u64), ("btf_size", _u32), ("id", _u32), ("name", _u64),
                ("name_len", _u32), ("kernel_btf", _u32)]


class _LinkInfoRawTp(ctypes.Structure):
    _fields_ = [("tp_name", _u64), ("tp_name_len", _u32), ("_pad0", _u32)]


class _LinkInfoTracing(ctypes.Structure):
    _fields_ = [("attach_type", _u32), ("target_obj_id", _u32), ("target_btf_id", _u32)]


class _LinkInfoCgroup(ctypes.Structure):
    _fields_ = [("cgroup_id", _u64), ("attach_type", _u32)]


class _LinkInfoIter(ctypes.Structure):
    _fields_ = [("target_name", _u64), ("target_name_len", _u32), ("map_id", _u32),
                ("a", _u64), ("b", _u32)]


class _LinkInfoNetns(ctypes.Structure):
    _fields_ = [("netns_ino", _u32), ("attach_type", _u32)]


class _LinkInfoXdp(ctypes.Structure):
    _fields_ = [("ifindex", _u32)]


class _LinkInfoStructOps(ctypes.Structure):
    _fields_ = [("map_id", _u32)]


class _LinkInfoNetfilter(ctypes.Structure):
    _fields_ = [("pf", _u32), ("hooknum", _u32), ("priority", _s32), ("flags", _u32)]


class _LinkInfoTcx(ctypes.Structure):
    """tcx and netkit."""

    _fields_ = [("ifindex", _u32), ("attach_type", _u32)]


class _LinkInfoUnion(ctypes.Union):
    _fields_ = [("raw_tracepoint", _LinkInfoRawTp), ("tracing", _LinkInfoTracing),
                ("cgroup", _LinkInfoCgroup), ("iter", _LinkInfoIter),
                ("netns", _LinkInfoNetns), ("xdp", _LinkInfoXdp),
                ("struct_ops", _LinkInfoStructOps), ("netfilter", _LinkInfoNetfilter),
                ("tcx", _LinkInfoTcx), ("netkit", _LinkInfoTcx),
                ("raw", _u8 * 64)]


class LinkInfo(_Attr):
    """struct bpf_link_info: ``type``, ``id``, ``prog_id`` and the per-type part
    in ``u`` (``info.u.xdp.ifindex``, ``info.u.tracing.target_btf_id``, ...)."""

    _fields_ = [("type", _u32), ("id", _u32), ("prog_id", _u32), ("_pad0", _u32),
                ("u", _LinkInfoUnion)]


# ---- the system call ----------------------------------------------------------

_SYSCALL_NR = {
    "x86_64": 321, "amd64": 321, "aarch64": 280, "arm64": 280, "riscv64": 280,
    "loongarch64": 280, "i386": 357, "i686": 357, "armv7l": 386, "armv6l": 386,
    "ppc64le": 361, "ppc64": 361, "s390x": 351, "mips64": 5315,
}

_syscall: Any = None


def _get_syscall():
    global _syscall
    if _syscall is None:
        nr = _SYSCALL_NR.get(platform.machine())
        if nr is None:
            from ..errors import NotSupportedError

            raise NotSupportedError("bpf(2)", detail=f"unknown syscall number on {platform.machine()}")
        fn = libc_function("syscall", ctypes.c_long,
                           [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint])
        _syscall = (nr, fn)
    return _syscall


_fast_syscall: Any = None


def fast_syscall() -> Any:
    """libc's ``syscall`` bound with no errno capture and no argument conversion:
    call it as ``f(nr, cmd, ctypes.byref(attr), size)`` (small ints and a byref only)
    on hot paths; it returns the raw result, and a caller that needs the errno of a
    failure runs the call again through :func:`bpf`."""
    global _fast_syscall
    if _fast_syscall is None:
        _get_syscall()
        f = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").syscall
        f.restype = ctypes.c_long
        _fast_syscall = f
    return _fast_syscall


def libc() -> Any:
    """The C library (ctypes.CDLL, errno-aware)."""
    return _libc()


_PERFMON_PROG_TYPES = frozenset({
    ProgramType.KPROBE, ProgramType.TRACEPOINT, ProgramType.PERF_EVENT,
    ProgramType.RAW_TRACEPOINT, ProgramType.RAW_TRACEPOINT_WRITABLE, ProgramType.TRACING,
    ProgramType.LSM, ProgramType.STRUCT_OPS, ProgramType.EXT,
}) if hasattr(ProgramType, "LSM") else frozenset()
_NET_ADMIN_PROG_TYPES = frozenset(
    getattr(ProgramType, n) for n in (
        "SCHED_CLS", "SCHED_ACT", "XDP", "LWT_IN", "LWT_OUT", "LWT_XMIT", "LWT_SEG6LOCAL",
        "SK_SKB", "SK_MSG", "FLOW_DISSECTOR", "CGROUP_DEVICE", "CGROUP_SOCK",
        "CGROUP_SOCK_ADDR", "CGROUP_SOCKOPT", "CGROUP_SYSCTL", "SOCK_OPS", "SK_LOOKUP",
        "SK_REUSEPORT", "NETFILTER", "LIRC_MODE2") if hasattr(ProgramType, n))


def capability_for(cmd: int, prog_type: int | None = None) -> str:
    """The capability the kernel checks for ``cmd`` (and program type)."""
    if cmd == Command.PROG_LOAD and prog_type is not None:
        if prog_type in _PERFMON_PROG_TYPES:
            return "CAP_PERFMON"
        if prog_type in _NET_ADMIN_PROG_TYPES:
            return "CAP_NET_ADMIN"
        return "CAP_BPF"
    if cmd in (Command.MAP_CREATE, Command.PROG_LOAD, Command.BTF_LOAD,
               Command.MAP_LOOKUP_ELEM, Command.MAP_UPDATE_ELEM, Command.MAP_DELETE_ELEM,
               Command.MAP_GET_NEXT_KEY, Command.MAP_FREEZE, Command.OBJ_PIN, Command.OBJ_GET):
        return "CAP_BPF"
    if cmd in (Command.RAW_TRACEPOINT_OPEN, Command.TASK_FD_QUERY):
        return "CAP_PERFMON"
    if cmd in (Command.PROG_ATTACH, Command.PROG_DETACH, Command.PROG_QUERY):
        return "CAP_NET_ADMIN"
    return "CAP_SYS_ADMIN"


def error_for(err: int, what: str, cmd: int | None = None, *, error: type = SystemCallError,
              capability: str | None = None) -> SystemCallError:
    """Build the exception for ``errno`` ``err`` while doing ``what``.

    EPERM/EACCES → :class:`PrivilegeError` (capability from ``capability`` or
    :func:`capability_for`); everything else → ``error(what, err)``.
    """
    if err in (_errno.EPERM, _errno.EACCES):
        cap = capability or (capability_for(cmd) if cmd is not None else "CAP_SYS_ADMIN")
        return PrivilegeError(what, err, capability=cap)
    return error(what, err)


def bpf(cmd: int, attr: ctypes.Structure, *, what: str = "", error: type = SystemCallError,
        capability: str | None = None, raw: bool = False) -> int:
    """Run bpf(``cmd``, ``attr``, sizeof(attr)); returns the result (an fd for
    commands that make one). Retries on EINTR.

    On failure raises :func:`error_for` (``raw=True``: a plain ``OSError`` with
    the errno, for callers that map errors themselves).
    """
    nr, fn = _get_syscall()
    size = ctypes.sizeof(attr)
    ref = ctypes.byref(attr)
    while True:
        ret = fn(nr, int(cmd), ref, size)
        if ret >= 0:
            return ret
        err = ctypes.get_errno()
        if err == _errno.EINTR:
            continue
        try:
            cname = Command(cmd).name
        except ValueError:
            cname = str(cmd)
        if raw:
            raise OSError(err, f"bpf({cname}): {os.strerror(err)}")
        raise error_for(err, what or f"bpf({cname})", cmd, error=error, capability=capability)


# ---- pointers and strings ----------------------------------------------------

def addr(buf: Any) -> int:
    """Address of a ctypes object or buffer (0 for None) for a ``__u64`` pointer field.

    Keep ``buf`` alive for as long as the kernel may use the address.
    """
    if buf is None:
        return 0
    return ctypes.addressof(buf)


def c_string(s: str | bytes) -> ctypes.Array:
    """A NUL-terminated C string buffer (keep it referenced while in use)."""
    if isinstance(s, str):
        s = os.fsencode(s)
    return ctypes.create_string_buffer(s)


# ---- file descriptors ----------------------------------------------------------

class FD:
    """Owns one file descriptor: ``close()`` is idempotent, it is a context
    manager, and it closes itself when garbage collected.

    >>> import os
    >>> r, w = os.pipe(); os.close(w)
    >>> with FD(r) as fd:
    ...     fd.closed
    False
    """

    __slots__ = ("_fd", "__weakref__")

    def __init__(self, fd: int):
        self._fd = -1
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        self._fd = fd

    @property
    def fd(self) -> int:
        """The raw number; raises ``ValueError`` once closed."""
        if self._fd < 0:
            raise ValueError("file descriptor already closed")
        return self._fd

    def fileno(self) -> int:
        return self.fd

    def __int__(self) -> int:
        return self.fd

    def __index__(self) -> int:
        return self.fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as e:  # pragma: no cover - EBADF means someone else closed it
                log.debug("closing fd %d: %s", fd, e)

    def detach(self) -> int:
        """Give up ownership; returns the raw fd."""
        fd, self._fd = self._fd, -1
        return fd

    def dup(self) -> FD:
        """A new FD owning a duplicate (close-on-exec) of this descriptor."""
        import fcntl

        return FD(fcntl.fcntl(self.fd, fcntl.F_DUPFD_CLOEXEC, 3))

    def __enter__(self) -> FD:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"


# ---- small generic commands -------------------------------------------------------

def obj_pin(fd: int, path: str, *, what: str = "") -> None:
    """Pin the object behind ``fd`` at ``path`` in bpffs."""
    p = c_string(path)
    attr = ObjPinAttr(pathname=addr(p), bpf_fd=fd)
    bpf(Command.OBJ_PIN, attr, what=what or f"pinning to {path}")


def obj_get(path: str, flags: int = 0, *, what: str = "") -> FD:
    """Open the object pinned at ``path``."""
    p = c_string(path)
    attr = ObjPinAttr(pathname=addr(p), file_flags=flags)
    return FD(bpf(Command.OBJ_GET, attr, what=what or f"opening pinned object {path}"))


def get_info_by_fd(fd: int, info: ctypes.Structure, *, what: str = "") -> ctypes.Structure:
    """Fill ``info`` (ProgInfo/MapInfo/BtfInfo/LinkInfo, pointer fields set by
    the caller) through BPF_OBJ_GET_INFO_BY_FD; returns it."""
    attr = InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=addr(info))
    bpf(Command.OBJ_GET_INFO_BY_FD, attr, what=what or f"getting info of fd {fd}")
    return info


def get_next_id(cmd: int, start: int = 0) -> int | None:
    """Next id after ``start`` for a *_GET_NEXT_ID command; None at the end."""
    attr = GetIdAttr(start_id=start)
    try:
        bpf(cmd, attr, raw=True)
    except OSError as e:
        if e.errno == _errno.ENOENT:
            return None
        raise error_for(e.errno or 0, f"listing ids ({Command(cmd).name})", cmd) from None
    return attr.next_id


def iter_ids(cmd: int):
    """All ids a *_GET_NEXT_ID command lists, in order."""
    cur = 0
    while True:
        nxt = get_next_id(cmd, cur)
        if nxt is None:
            return
        yield nxt
        cur = nxt


def get_fd_by_id(cmd: int, obj_id: int, flags: int = 0, *, error: type = SystemCallError) -> FD:
    """Open a program/map/BTF/link by id (*_GET_FD_BY_ID)."""
    attr = GetIdAttr(start_id=obj_id, open_flags=flags)
    return FD(bpf(cmd, attr, what=f"opening id {obj_id} ({Command(cmd).name})", error=error))


def enable_stats(kind: int = BPF_STATS_RUN_TIME) -> FD:
    """BPF_ENABLE_STATS: run-time stats stay on while the returned FD is open."""
    return FD(bpf(Command.ENABLE_STATS, EnableStatsAttr(type=kind),
                  what="enabling BPF run-time stats"))
