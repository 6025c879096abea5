"""The C library through ctypes (errno-aware), loaded once.

Prototypes belong to the caller: :func:`function` gives a fresh function
object, so two modules can type ``syscall`` differently without clashing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def libc() -> ctypes.CDLL:
    """The process's C library (``errno`` kept for ``ctypes.get_errno``)."""
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return ctypes.CDLL(None, use_errno=True)


def function(name: str, restype: Any = ctypes.c_int, argtypes: list[Any] | None = None) -> Any:
    """A new ctypes function object for ``name`` with this prototype."""
    fn = libc()[name]
    fn.restype = restype
    if argtypes is not None:
        fn.argtypes = argtypes
    return fn
