"""struct_ops: kernel structs of function pointers implemented by BPF programs
(TCP congestion control, sched_ext, HID, ...), as libbpf loads them.

An object's ``SEC(".struct_ops")`` variable (e.g. ``struct tcp_congestion_ops
cc = { .ssthresh = (void *)my_ssthresh, .name = "mycc" }``) becomes a
``BPF_MAP_TYPE_STRUCT_OPS`` map whose value is the kernel's
``struct bpf_struct_ops_<name>`` wrapper; each program it points to is loaded
with the kernel struct as ``attach_btf_id`` and the member's index as
``expected_attach_type``. Registering the struct with the kernel is attaching:
:meth:`StructOps.attach` (``.struct_ops.link`` maps get a link).

>>> from ebpf.kernel.structops import essential_name
>>> essential_name("tcp_congestion_ops___v2")
'tcp_congestion_ops'
"""

from __future__ import annotations

import errno as _errno
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AttachError, BTFError, LoadError, MapError
from ..links import Link
from ..spec import MapSpec
from ..uapi import AttachType, structs
from ..uapi.consts import BPF_F_LINK, BPF_F_VTYPE_BTF_OBJ_FD
from . import commands
from . import sys as bsys

if TYPE_CHECKING:
    from ..btf import Struct

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelStructOps", "resolve_struct_ops", "struct_ops_value", "StructOpsLink",
           "essential_name", "BPF_F_LINK", "BPF_F_VTYPE_BTF_OBJ_FD"]



def essential_name(name: str) -> str:
    """A type name without its ``___flavour`` suffix."""
    i = name.find("___")
    return name[:i] if i > 0 else name


@dataclass
class KernelStructOps:
    """Where a struct_ops map's type lives in the kernel."""

    name: str  # e.g. "tcp_congestion_ops"
    type_id: int  # kernel struct
    type: Any
    wrapper_id: int  # struct bpf_struct_ops_<name>
    wrapper: Any
    data_offset: int  # offset of the struct inside the wrapper
    module: str  # "vmlinux" or a module name

    def member_index(self, member: str) -> int:
        for i, m in enumerate(self.type.members):
            if m.name == member:
                return i
        raise LoadError(f"struct {self.name} in the kernel has no member {member!r}")


def resolve_struct_ops(ms: MapSpec) -> KernelStructOps:
    """Find the kernel struct and its ``bpf_struct_ops_`` wrapper for map ``ms``."""
    from .btf import find_kernel_type

    name = essential_name(_local_struct(ms).name)
    try:
        kt = find_kernel_type(name, "struct")
        wrapper = find_kernel_type("bpf_struct_ops_" + name, "struct")
    except BTFError:
        raise LoadError(f"struct_ops map {ms.name}: the kernel has no struct_ops type "
                        f"{name!r} (is the subsystem built in or its module loaded?)",
                        _errno.ENOENT) from None
    data = next((m for m in wrapper.type.members if m.name == "data"), None)
    if data is None:
        raise LoadError(f"struct bpf_struct_ops_{name} has no 'data' member")
    return KernelStructOps(name, kt.type_id, kt.type, wrapper.type_id, wrapper.type,
                           data.offset // 8, wrapper.module)


def _local_struct(ms: MapSpec) -> Struct:
    """The object's own struct behind a struct_ops map's value (typedefs and
    qualifiers stripped); LoadError when the value is not a named struct."""
    from .. import btf as B

    local = ms.value_type
    if local is None or not local.name:
        raise LoadError(f"struct_ops map {ms.name}: no named struct type for its value")
    resolved = B.resolve(local)
    if not isinstance(resolved, B.Struct):
        raise LoadError(f"struct_ops map {ms.name}: its value type {local.name!r} is "
                        f"a {resolved.kind}, not a struct")
    return resolved


def _is_func_ptr(t: Any) -> bool:
    from .. import btf as B

    r = B.resolve(t)
    return isinstance(r, B.Pointer) and isinstance(B.resolve(r.type), B.FuncProto)


def program_attach(ms: MapSpec, kst: KernelStructOps) -> dict[str, tuple[int, int]]:
    """Program name → (attach_btf_id, expected_attach_type = member index)."""
    out: dict[str, tuple[int, int]] = {}
    for member, prog in ms.contents:
        idx = kst.member_index(member)
        if prog in out and out[prog] != (kst.type_id, idx):
            raise LoadError(f"program {prog} is used for two different struct_ops members")
        out[prog] = (kst.type_id, idx)
    return out


def struct_ops_value(ms: MapSpec, kst: KernelStructOps, prog_fds: dict[str, int]) -> bytes:
    """The map value: the wrapper struct with the object's member values copied
    into the kernel's layout and each function pointer set to its program's fd."""
    from .. import btf as B

    size = B.sizeof(kst.wrapper)
    buf = bytearray(size)
    local = _local_struct(ms)
    data = (ms.data or b"").ljust(ms.value_size, b"\0")
    kmembers = {m.name: m for m in kst.type.members}
    progs = dict(ms.contents)
    for lm in local.members:
        if not lm.name:
            continue
        km = kmembers.get(lm.name)
        lsize = B.sizeof(lm.type) if not getattr(lm, "bitfield_size", 0) else 0
        lraw = data[lm.offset // 8:lm.offset // 8 + lsize]
        if km is None:
            if lm.name in progs or any(lraw):
                raise LoadError(f"struct_ops map {ms.name}: member {lm.name!r} does not exist "
                                f"in the kernel's struct {kst.name}")
            continue
        koff = kst.data_offset + km.offset // 8
        if lm.name in progs:
            if not _is_func_ptr(km.type):
                raise LoadError(f"struct_ops map {ms.name}: kernel member {lm.name!r} is not a "
                                "function pointer")
            fd = prog_fds.get(progs[lm.name])
            if fd is None:
                raise LoadError(f"struct_ops map {ms.name}: program {progs[lm.name]!r} for "
                                f"{lm.name} was not loaded")
            buf[koff:koff + 8] = fd.to_bytes(8, "little")
            continue
        if _is_func_ptr(lm.type):
            continue  # a NULL callback
        ksize = B.sizeof(km.type)
        if getattr(lm, "bitfield_size", 0) or getattr(km, "bitfield_size", 0):
            raise LoadError(f"struct_ops map {ms.name}: bitfield member {lm.name!r} unsupported")
        if ksize != lsize:
            if any(lraw):
                raise LoadError(f"struct_ops map {ms.name}: member {lm.name!r} is {lsize} bytes "
                                f"here but {ksize} in the kernel")
            continue
        buf[koff:koff + ksize] = lraw
    return bytes(buf)


class StructOpsLink(Link):
    """A registered struct_ops map: ``close()`` unregisters it (deletes the map's
    element, or detaches the BPF link of a ``.struct_ops.link`` map)."""

    backend = "kernel"

    def __init__(self, map_: Any, link_fd: bsys.FD | None):
        super().__init__(map_, f"struct_ops {map_.name}")
        self.map = map_
        self._link_fd = link_fd

    @property
    def fd(self) -> int:
        if self._link_fd is None:
            raise AttachError(f"struct_ops {self.map.name} is registered without a BPF link")
        return self._link_fd.fd

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._link_fd is not None:
            self._link_fd.close()
            return
        try:
            if not self.map.closed:
                self.map.delete_bytes(b"\0\0\0\0")
        except MapError as e:
            log.warning("unregistering struct_ops %s: %s", self.map.name, e)


def attach_struct_ops(m: Any) -> StructOpsLink:
    """Register struct_ops map ``m`` (its value was prepared at load)."""
    value = getattr(m, "_struct_ops_value", None)
    if value is None:
        raise AttachError(f"map {m.name} is not a struct_ops map loaded from an object")
    try:
        m.update_bytes(b"\0\0\0\0", value)
    except MapError as e:
        raise AttachError(f"registering struct_ops {m.name}: {e.message}", e.errno) from None
    link_fd = None
    if m.flags & BPF_F_LINK:
        attr = structs.LinkCreateAttr(prog_fd=m.fd, attach_type=AttachType.STRUCT_OPS)
        link_fd = commands.link_create(attr,
                                   what=f"creating the struct_ops link of {m.name}",
                                   error=AttachError)
    return StructOpsLink(m, link_fd)


def struct_ops_programs(spec_maps: dict[str, MapSpec]) -> dict[str, tuple[str, str]]:
    """Program name → (struct_ops map name, member) for every struct_ops map."""
    out: dict[str, tuple[str, str]] = {}
    for ms in spec_maps.values():
        if ms.type.name == "STRUCT_OPS":
            for member, prog in ms.contents:
                out.setdefault(prog, (ms.name, member))
    return out
