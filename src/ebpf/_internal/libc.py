"""The C library through ctypes (errno-aware), loaded once.

Prototypes belong to the caller: :func:`function` gives a fresh function
object, so two modules can type ``syscall`` differently without clashing.

The library is opened by its soname (``libc.so.6`` on glibc), else as the
process's own symbols (``dlopen(NULL)``: the C library the interpreter is linked
with); ``ctypes.util.find_library`` is the last resort, as it runs ``ldconfig -p``
(a child process at every start).

>>> open_libc().getpid() == __import__("os").getpid()
True
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

#: the numbers of the system calls called through libc's ``syscall``, by machine
_SYSCALL_NUMBERS = {
    "bpf": {"x86_64": 321, "amd64": 321, "aarch64": 280, "arm64": 280, "riscv64": 280,
            "loongarch64": 280, "i386": 357, "i686": 357, "armv7l": 386, "armv6l": 386,
            "ppc64le": 361, "ppc64": 361, "s390x": 351, "mips64": 5315},
    "perf_event_open": {"x86_64": 298, "aarch64": 241, "armv7l": 364, "riscv64": 241,
                        "ppc64le": 319, "s390x": 331, "i686": 336, "loongarch64": 241},
}


def syscall_number(name: str) -> int | None:
    """The number of system call ``name`` on this machine (None: not known here)."""
    return _SYSCALL_NUMBERS[name].get(os.uname().machine)


def open_libc(use_errno: bool = False) -> ctypes.CDLL:
    """A new handle on the C library (``use_errno``: errno kept for ``ctypes.get_errno``)."""
    for name in ("libc.so.6", None):
        try:
            lib = ctypes.CDLL(name, use_errno=use_errno)
            lib.syscall  # noqa: B018 - a handle without libc's symbols does not do
            return lib
        except (OSError, AttributeError):
            continue
    from ctypes.util import find_library

    return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=use_errno)


@functools.cache
def libc() -> ctypes.CDLL:
    """The process's C library (``errno`` kept for ``ctypes.get_errno``)."""
    return open_libc(use_errno=True)


def function(name: str, restype: Any = ctypes.c_int, argtypes: list[Any] | None = None) -> Any:
    """A new ctypes function object for ``name`` with this prototype."""
    fn = libc()[name]
    fn.restype = restype
    if argtypes is not None:
        fn.argtypes = argtypes
    return fn
