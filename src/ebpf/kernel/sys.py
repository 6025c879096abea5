"""The bpf(2) system call.

Every command family has its own ``ctypes.Structure`` laid out exactly like the
matching member of ``union bpf_attr``, generated from the kernel's BTF into
:mod:`ebpf.uapi.structs` (their one home; the flags are in
:mod:`ebpf.uapi.consts`). :func:`bpf` passes
``sizeof(attr)`` as the size, so the kernel zero-fills whatever a newer kernel has
beyond it, and an older kernel rejects only non-zero bytes it does not know.

>>> import ctypes
>>> from ebpf.kernel import sys as bsys
>>> from ebpf.uapi.structs import MapCreateAttr
>>> attr = MapCreateAttr(map_type=2, key_size=4, value_size=8, max_entries=1)
>>> attr.map_type, ctypes.sizeof(attr) >= 80
(2, True)
>>> fd = bsys.FD(bsys.bpf(bsys.Command.MAP_CREATE, attr))
>>> fd.close()

Errors: :func:`bpf` raises :class:`ebpf.errors.SystemCallError` subclasses built by
:func:`error_for` (EPERM/EACCES become :class:`PrivilegeError` naming the
capability; the ``error`` argument picks the class for the rest).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import os
from typing import Any

from .._internal.closeable import ClosedWhenCollected
from .._internal.libc import function as libc_function
from .._internal.libc import libc as _libc
from .._internal.libc import open_libc, syscall_number
from ..errors import PrivilegeError, SystemCallError
from ..uapi import Command, ProgramType

log = logging.getLogger("ebpf.kernel")

__all__ = ["Command", "FD", "bpf", "error_for", "addr", "c_string"]

# The log levels are the verifier's (include/linux/bpf_verifier.h), not UAPI.
BPF_LOG_LEVEL1 = 1
BPF_LOG_LEVEL2 = 2
BPF_LOG_STATS = 4


# ---- the system call ----------------------------------------------------------

_syscall: Any = None


def _get_syscall():
    global _syscall
    if _syscall is None:
        nr = syscall_number("bpf")
        if nr is None:
            from ..errors import NotSupportedError

            raise NotSupportedError("bpf(2)", detail=f"unknown syscall number on {os.uname().machine}")
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
        f = open_libc().syscall
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

class FD(ClosedWhenCollected):
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

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"
