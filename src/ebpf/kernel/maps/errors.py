"""What a failed map command means: the errno turned into the right
:class:`ebpf.MapError` subclass, and the buffers the commands fill."""

from __future__ import annotations

import ctypes
import errno as _errno
import os

from ...errors import KeyExistsError, MapError, MapFullError
from ...uapi import Command

__all__ = ["ENOTSUPP", "buffer", "map_error", "os_error"]

ENOTSUPP = 524  # the kernel-internal "not supported" some commands leak


def buffer(size: int) -> ctypes.Array[ctypes.c_char]:
    """A zeroed buffer of ``size`` bytes (at least one: the kernel wants an address)."""
    return ctypes.create_string_buffer(max(size, 1))


def map_error(e: OSError, what: str) -> Exception:
    """The :class:`ebpf.MapError` for a failed command on a map we already hold."""
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


def os_error(err: int, cmd: int) -> OSError:
    """The OSError a raw command ``cmd`` failing with ``err`` would have raised."""
    return OSError(err, f"bpf({Command(cmd).name}): {os.strerror(err)}")
