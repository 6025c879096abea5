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
from typing import Any


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
