"""BTF and the kernel: load an object's BTF (BPF_BTF_LOAD), read BTF back by id,
and find kernel types and functions (vmlinux or a module) for attach targets,
ksyms and kfuncs.

>>> from ebpf.kernel.btf import find_kernel_type  # doctest: +SKIP
>>> find_kernel_type("bpf_lsm_file_open", "func").type_id > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import logging
from dataclasses import dataclass
from typing import Any

from ..errors import BTFError, LoadError, PrivilegeError
from ..uapi import Command
from . import sys as bsys

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelBTF", "load_btf", "btf_spec_by_id", "KernelType", "find_kernel_type",
           "module_btf_fd"]


class KernelBTF:
    """A BTF blob loaded into the kernel (``fd``; ``close()`` releases it)."""

    def __init__(self, fd: bsys.FD, spec: Any = None, blob: bytes | None = None):
        self._fd = fd
        self.spec = spec
        #: the exact bytes loaded (string offsets for line info refer to them)
        self.blob = blob

    @property
    def fd(self) -> int:
        return self._fd.fd

    @property
    def id(self) -> int:
        info = bsys.get_info_by_fd(self.fd, bsys.BtfInfo())
        return info.id

    def close(self) -> None:
        self._fd.close()

    def __enter__(self) -> KernelBTF:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _btf_load(data: bytes, log_size: int = 0) -> tuple[int, int, str]:
    """(fd or -1, errno, log)."""
    blob = ctypes.create_string_buffer(data, len(data))
    buf = ctypes.create_string_buffer(log_size) if log_size else None
    attr = bsys.BtfLoadAttr(btf=ctypes.addressof(blob), btf_size=len(data))
    if buf is not None:
        attr.btf_log_buf = ctypes.addressof(buf)
        attr.btf_log_size = log_size
        attr.btf_log_level = 1
    try:
        return bsys.bpf(Command.BTF_LOAD, attr, raw=True), 0, ""
    except OSError as e:
        return -1, e.errno or _errno.EINVAL, buf.value.decode(errors="replace") if buf else ""


def load_btf(source: Any) -> KernelBTF:
    """Load BTF into the kernel: an :class:`ebpf.btf.Spec` (``to_bytes()``) or raw bytes.

    Failure raises :class:`LoadError` carrying the kernel's BTF log.
    """
    data = source if isinstance(source, (bytes, bytearray)) else source.to_bytes()
    fd, err, _ = _btf_load(bytes(data))
    spec = None if isinstance(source, (bytes, bytearray)) else source
    if fd >= 0:
        return KernelBTF(bsys.FD(fd), spec, bytes(data))
    if err in (_errno.EPERM, _errno.EACCES):
        raise PrivilegeError("loading BTF", err, capability="CAP_BPF")
    size = 1 << 16
    text = ""
    while size <= (1 << 26):
        fd, err2, text = _btf_load(bytes(data), size)
        if fd >= 0:  # succeeded with a log?  take it
            return KernelBTF(bsys.FD(fd), spec, bytes(data))
        if err2 != _errno.ENOSPC:
            break
        size <<= 2
    lines = [ln for ln in text.splitlines() if ln.strip()]
    detail = "\n".join(lines[-4:])
    raise LoadError(f"loading BTF ({len(data)} bytes) into the kernel"
                    + (f": {detail}" if detail else ""), err)


def _btf_info(fd: int, with_data: bool) -> tuple[bsys.BtfInfo, bytes, str]:
    name = ctypes.create_string_buffer(64)
    info = bsys.BtfInfo(name=ctypes.addressof(name), name_len=64)
    bsys.get_info_by_fd(fd, info)
    data = b""
    if with_data:
        size = info.btf_size
        blob = ctypes.create_string_buffer(size)
        info2 = bsys.BtfInfo(btf=ctypes.addressof(blob), btf_size=size,
                             name=ctypes.addressof(name), name_len=64)
        bsys.get_info_by_fd(fd, info2)
        data = blob.raw[:size]
    return info, data, name.value.decode(errors="replace")


def btf_spec_by_id(btf_id: int) -> Any:
    """Parse the BTF object ``btf_id`` from the kernel (split BTF of modules on
    top of vmlinux)."""
    from .. import btf as B

    with bsys.get_fd_by_id(Command.BTF_GET_FD_BY_ID, btf_id, error=BTFError) as fd:
        info, data, name = _btf_info(fd.fd, True)
    if info.kernel_btf and name == "vmlinux":
        return B.load_kernel_btf()
    base = B.load_kernel_btf() if info.kernel_btf else None
    return B.Spec.from_bytes(data, base=base)


@functools.cache
def _module_btf_ids() -> dict[str, int]:
    """Kernel module name → BTF object id, for modules that have BTF."""
    out: dict[str, int] = {}
    for bid in bsys.iter_ids(Command.BTF_GET_NEXT_ID):
        try:
            with bsys.get_fd_by_id(Command.BTF_GET_FD_BY_ID, bid) as fd:
                info, _, name = _btf_info(fd.fd, False)
        except OSError:
            continue
        if info.kernel_btf and name:
            out[name] = bid
    return out


def module_btf_fd(module: str) -> bsys.FD:
    """An fd of module ``module``'s BTF object (for attach_btf_obj_fd / fd_array)."""
    ids = _module_btf_ids()
    if module not in ids:
        _module_btf_ids.cache_clear()
        ids = _module_btf_ids()
    if module not in ids:
        raise BTFError(f"kernel module {module!r} has no BTF loaded")
    return bsys.get_fd_by_id(Command.BTF_GET_FD_BY_ID, ids[module], error=BTFError)


@dataclass
class KernelType:
    """Where a kernel type lives: its id inside ``module``'s BTF ("vmlinux" for the
    kernel proper) and the type itself."""

    type_id: int
    module: str
    type: Any

    @property
    def in_module(self) -> bool:
        return self.module != "vmlinux"


def find_kernel_type(name: str, kind: str | None = None, *, modules: bool = True) -> KernelType:
    """Find ``name`` (of ``kind``: "func", "typedef", "struct", "var", ...) in vmlinux
    BTF, then in module BTF. Raises :class:`BTFError` when absent."""
    from .. import btf as B

    vmlinux = B.load_kernel_btf()
    found = _find_in(vmlinux, name, kind)
    if found is not None:
        return KernelType(vmlinux.type_id(found), "vmlinux", found)
    if modules:
        for mod in B.kernel_module_names():
            try:
                spec = B.load_module_btf(mod)
            except BTFError:
                continue
            found = _find_in(spec, name, kind, own_only=True)
            if found is not None:
                return KernelType(spec.type_id(found), mod, found)
    raise BTFError(f"no {kind + ' ' if kind else ''}{name!r} in the kernel's BTF")


def _find_in(spec: Any, name: str, kind: str | None, own_only: bool = False) -> Any:
    try:
        cands = spec.types_by_name(name, kind)
    except BTFError:
        return None
    if own_only:
        own = spec.own_ids()
        cands = [t for t in cands if spec.type_id(t) in own]
    return cands[0] if cands else None
