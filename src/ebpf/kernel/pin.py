"""bpffs helpers: find or mount the BPF filesystem, make pin directories.

>>> from ebpf.kernel.pin import is_bpffs  # doctest: +SKIP
>>> is_bpffs("/sys/fs/bpf")  # doctest: +SKIP
True
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import os
from typing import TYPE_CHECKING

from .._internal.libc import function
from ..errors import Error, PrivilegeError, SystemCallError
from ..uapi.consts import BPF_FS_MAGIC, CGROUP2_SUPER_MAGIC

if TYPE_CHECKING:
    from .sys import FD

log = logging.getLogger("ebpf.kernel")

DEFAULT_PIN_PATH = "/sys/fs/bpf"

__all__ = ["BPF_FS_MAGIC", "CGROUP2_SUPER_MAGIC", "DEFAULT_PIN_PATH", "fs_type", "is_bpffs", "mount_bpffs", "ensure_bpffs_dir"]


class _Statfs(ctypes.Structure):
    # struct statfs on 64-bit Linux: f_type first, then sizes we do not need
    _fields_ = [("f_type", ctypes.c_long), ("_rest", ctypes.c_byte * 112)]


def fs_type(path: str) -> int | None:
    """The filesystem magic number of ``path`` (statfs ``f_type``), None if it fails."""
    st = _Statfs()
    fn = function("statfs", ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Statfs)])
    if fn(os.fsencode(path), ctypes.byref(st)) != 0:
        return None
    return st.f_type & 0xFFFFFFFF


def is_bpffs(path: str) -> bool:
    """Whether ``path`` lies on a BPF filesystem."""
    return fs_type(path) == BPF_FS_MAGIC


def mount_bpffs(path: str = DEFAULT_PIN_PATH) -> None:
    """Mount bpffs at ``path`` (needs CAP_SYS_ADMIN)."""
    os.makedirs(path, exist_ok=True)
    fn = function("mount", ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.c_ulong, ctypes.c_char_p])
    if fn(b"bpf", os.fsencode(path), b"bpf", 0, b"mode=0700") != 0:
        err = ctypes.get_errno()
        if err in (_errno.EPERM, _errno.EACCES):
            raise PrivilegeError(f"mounting bpffs at {path}", err, capability="CAP_SYS_ADMIN")
        raise SystemCallError(f"mounting bpffs at {path}", err)
    log.info("mounted bpffs at %s", path)


def _bpffs_root(path: str) -> str | None:
    """The nearest existing ancestor of ``path`` (inclusive)."""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent
    return p


def ensure_bpffs_dir(path: str) -> str:
    """Make sure ``path`` is a directory on bpffs: mount bpffs at the default
    location when that is where ``path`` lives and nothing is mounted, then
    create missing directories. Returns ``path``."""
    path = os.path.abspath(path)
    existing = _bpffs_root(path)
    if existing is None or not is_bpffs(existing):
        if path == DEFAULT_PIN_PATH or path.startswith(DEFAULT_PIN_PATH + "/"):
            if not is_bpffs(DEFAULT_PIN_PATH):
                mount_bpffs(DEFAULT_PIN_PATH)
        else:
            raise SystemCallError(f"{path} is not on a BPF filesystem (mount -t bpf bpf DIR)",
                                  _errno.EINVAL)
    os.makedirs(path, exist_ok=True)
    return path


_KIND_NAMES = {"map": "a map", "prog": "a program", "link": "a link"}


def open_pinned(path: str, kind: str, error: type[Error], flags: int = 0) -> FD:
    """The fd of the ``kind`` object ("map", "prog" or "link") pinned at ``path``
    (BPF_OBJ_GET with ``flags``). Nothing there, or another kind of object, is
    ``error`` naming the path; a refusal is a :class:`PrivilegeError`."""
    from . import commands
    from .info import fd_kind

    what = {"prog": "program"}.get(kind, kind)
    try:
        fd = commands.obj_get(path, flags, what=f"opening pinned {what} {path}")
    except PrivilegeError:
        raise
    except OSError as e:
        if e.errno == _errno.ENOENT:
            raise error(f"no pinned object at {path}", e.errno) from None
        raise
    if fd_kind(fd.fd) != kind:
        fd.close()
        raise error(f"{path} is pinned, but not {_KIND_NAMES[kind]}")
    return fd
