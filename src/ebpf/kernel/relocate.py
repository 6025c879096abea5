"""Relocating a program for the kernel: every reference in its instructions
patched for this machine — CO-RE against kernel BTF, map fds and global-data
addresses, ``.kconfig`` values, ksyms and kfuncs (module kfuncs through the
load's ``fd_array``)."""

from __future__ import annotations

import ctypes
import logging
from typing import TYPE_CHECKING, Any

from ..errors import BTFError, LoadError
from ..isa import opcodes as op
from ..isa.instruction import Instruction, KsymReference
from ..loader.core import relocate_core_kernel
from ..loader.relocate import relocate_references
from ..spec import ProgramSpec
from . import sys as bsys

if TYPE_CHECKING:
    from .btf import KernelType

log = logging.getLogger("ebpf.kernel")

__all__ = ["FdArray", "relocate"]


class FdArray:
    """fd_array for kfunc calls into modules: index 0 stays unused (off=0 means vmlinux)."""

    def __init__(self) -> None:
        self.fds: list[bsys.FD] = []
        self.index: dict[str, int] = {}

    def slot(self, module: str) -> int:
        if module not in self.index:
            from .btf import module_btf_fd

            self.fds.append(module_btf_fd(module))
            self.index[module] = len(self.fds)
        return self.index[module]

    def fd_of(self, module: str) -> int:
        return self.fds[self.slot(module) - 1].fd

    def buffer(self) -> ctypes.Array | None:
        if not self.fds:
            return None
        arr = (ctypes.c_int32 * (len(self.fds) + 1))()
        arr[0] = -1
        for i, f in enumerate(self.fds, 1):
            arr[i] = f.fd
        return arr

    def close(self) -> None:
        for f in self.fds:
            f.close()


class _KernelRelocator:
    """The kernel's half of :func:`ebpf.loader.relocate.relocate_references`: map
    fds (``BPF_PSEUDO_MAP_FD``/``_VALUE``), ksyms and kfuncs by kernel BTF id."""

    def __init__(self, spec: ProgramSpec, fd_array: FdArray | None) -> None:
        self.spec = spec
        self.fd_array = fd_array

    def map_pointer(self, ins: Instruction, name: str, m: Any) -> None:
        ins.src = op.BPF_PSEUDO_MAP_FD
        ins.imm = m.fd & 0xFFFFFFFF

    def map_value(self, ins: Instruction, name: str, m: Any, offset: int) -> None:
        # arena globals sit in the arena's last pages (see KernelMap.arena_data_offset)
        off = offset + getattr(m, "arena_data_offset", 0)
        ins.src = op.BPF_PSEUDO_MAP_VALUE
        ins.imm = (m.fd & 0xFFFFFFFF) | ((off & 0xFFFFFFFF) << 32)

    def ksym(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        return _resolve_ksym(self.spec, ins, ref, self.fd_array)

    def kfunc(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        return _resolve_kfunc(self.spec, ins, ref, self.fd_array)

    def other(self, ins: Instruction, slot: int) -> None:
        pass  # raw fds in hand-written programs pass through


def relocate(spec: ProgramSpec, maps: dict[str, Any] | None = None, *,
             kconfig_offsets: dict[str, int] | None = None,
             fd_array: FdArray | None = None,
             core_poisoned: list[Any] | None = None) -> list[Instruction]:
    """The program's instructions with every reference patched for this kernel:
    CO-RE relocations resolved against kernel BTF, map fds and global-data
    addresses, kconfig values, ksyms and kfuncs (the walk and its checks are
    :mod:`ebpf.loader.relocate`, CO-RE :mod:`ebpf.loader.core`)."""
    insns = [i.copy() for i in spec.instructions]
    poisoned = relocate_core_kernel(spec, insns)
    if core_poisoned is not None:
        core_poisoned.extend(poisoned)
    return relocate_references(spec, insns, maps or {}, kconfig_offsets or {},
                               _KernelRelocator(spec, fd_array))


def _resolve_kfunc(spec: ProgramSpec, ins: Instruction, ref: KsymReference,
                   fd_array: FdArray | None) -> bool:
    """A kfunc call by its kernel BTF id; False when kernel BTF lacks it (the
    call is left for the verifier to remove, as libbpf does for a __weak one)."""
    from .btf import find_kernel_type

    try:
        kt = find_kernel_type(ref.name, "func")
    except BTFError:
        ins.src, ins.imm, ins.off = op.BPF_PSEUDO_KFUNC_CALL, 0, 0
        return False
    ins.src = op.BPF_PSEUDO_KFUNC_CALL
    ins.imm = kt.type_id
    ins.off = 0
    if kt.in_module:
        if fd_array is None:
            raise LoadError(f"program {spec.name}: kfunc {ref.name} lives in module "
                            f"{kt.module}; no fd_array to reference it")
        ins.off = fd_array.slot(kt.module)
    return True


def _resolve_ksym(spec: ProgramSpec, ins: Instruction, ref: KsymReference,
                  fd_array: FdArray | None) -> bool:
    """A __ksym variable: its BTF id (typed), else its address (typeless); False
    when the kernel has neither."""
    from .btf import find_kernel_type

    var: KernelType | None
    try:
        var = find_kernel_type(ref.name, "var")
    except BTFError:
        var = None
    if var is not None:
        ins.src = op.BPF_PSEUDO_BTF_ID
        obj_fd = 0
        if var.in_module:
            if fd_array is None:
                raise LoadError(f"program {spec.name}: ksym {ref.name} lives in a module")
            obj_fd = fd_array.fd_of(var.module)
        ins.imm = (var.type_id & 0xFFFFFFFF) | ((obj_fd & 0xFFFFFFFF) << 32)
        return True
    from ..symbols import kallsyms  # only programs with untyped ksyms need it

    addr = kallsyms.address_of(ref.name)
    if addr is not None and addr != 0:
        ins.src = 0
        ins.imm = addr & 0xFFFFFFFFFFFFFFFF
        return True
    return False
