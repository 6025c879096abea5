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
from ..isa.instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
)
from ..spec import ProgramSpec
from ..symbols import kallsyms
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


def _map_fd(maps: dict[str, Any], name: str, prog: str, slot: int) -> int:
    m = maps.get(name)
    if m is None:
        raise LoadError(f"program {prog}: instruction {slot} refers to map {name!r}, "
                        f"which was not created (maps: {', '.join(sorted(maps)) or 'none'})")
    return m.fd


def relocate(spec: ProgramSpec, maps: dict[str, Any] | None = None, *,
             kconfig_offsets: dict[str, int] | None = None,
             fd_array: FdArray | None = None,
             core_poisoned: list[Any] | None = None) -> list[Instruction]:
    """The program's instructions with every reference patched for this kernel:
    CO-RE relocations resolved against kernel BTF, map fds and global-data
    addresses, kconfig values, ksyms and kfuncs."""
    maps = maps or {}
    insns = [i.copy() for i in spec.instructions]
    if any(i.core is not None for i in insns):
        insns = _apply_core(spec, insns, core_poisoned)
    slot = 0
    for ins in insns:
        ref = ins.reference
        here = slot
        slot += ins.size
        if ref is None or isinstance(ref, FunctionReference):
            continue
        if isinstance(ref, MapReference):
            if not ins.is_lddw:
                raise LoadError(f"program {spec.name}: map reference on a non-lddw at slot {here}")
            fd = _map_fd(maps, ref.map, spec.name, here)
            if ref.value:
                # arena globals sit in the arena's last pages (see KernelMap.arena_data_offset)
                off = ref.offset + getattr(maps[ref.map], "arena_data_offset", 0)
                ins.src = op.BPF_PSEUDO_MAP_VALUE
                ins.imm = (fd & 0xFFFFFFFF) | ((off & 0xFFFFFFFF) << 32)
            else:
                ins.src = op.BPF_PSEUDO_MAP_FD
                ins.imm = fd & 0xFFFFFFFF
        elif isinstance(ref, KconfigReference):
            offs = kconfig_offsets or {}
            if ref.name not in offs:
                raise LoadError(f"program {spec.name}: kconfig extern {ref.name!r} has no "
                                "place in a .kconfig map")
            fd = _map_fd(maps, ".kconfig", spec.name, here)
            addend = ins.imm & 0xFFFFFFFF
            addend = addend - (1 << 32) if addend & 0x80000000 else addend
            ins.src = op.BPF_PSEUDO_MAP_VALUE
            ins.imm = (fd & 0xFFFFFFFF) | (((offs[ref.name] + addend) & 0xFFFFFFFF) << 32)
        elif isinstance(ref, KsymReference):
            _resolve_ksym(spec, ins, ref, here, fd_array)
    return insns


def _resolve_ksym(spec: ProgramSpec, ins: Instruction, ref: KsymReference, slot: int,
                  fd_array: FdArray | None) -> None:
    from .btf import find_kernel_type

    if ins.is_call:  # kfunc
        try:
            kt = find_kernel_type(ref.name, "func")
        except BTFError:
            if ref.weak:
                ins.src, ins.imm, ins.off = op.BPF_PSEUDO_KFUNC_CALL, 0, 0
                return
            raise LoadError(f"program {spec.name}: kfunc {ref.name!r} (slot {slot}) is not in "
                            "the kernel's BTF") from None
        ins.src = op.BPF_PSEUDO_KFUNC_CALL
        ins.imm = kt.type_id
        ins.off = 0
        if kt.in_module:
            if fd_array is None:
                raise LoadError(f"program {spec.name}: kfunc {ref.name} lives in module "
                                f"{kt.module}; no fd_array to reference it")
            ins.off = fd_array.slot(kt.module)
        return
    # a __ksym variable: BTF id (typed), else its address (typeless)
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
        return
    addr = kallsyms.address_of(ref.name)
    if addr is not None and addr != 0:
        ins.src = 0
        ins.imm = addr & 0xFFFFFFFFFFFFFFFF
        return
    if ref.weak:
        ins.src = 0
        ins.imm = 0
        return
    hint = ""
    from .._internal.host import kernel_config

    if kernel_config().get("CONFIG_KALLSYMS_ALL") in (None, "n"):
        hint = " (this kernel lists only functions there: CONFIG_KALLSYMS_ALL is off)"
    raise LoadError(f"program {spec.name}: kernel symbol {ref.name!r} (slot {slot}) not found "
                    f"in kernel BTF or /proc/kallsyms{hint}")


def _apply_core(spec: ProgramSpec, insns: list[Instruction],
                poisoned: list[Any] | None) -> list[Instruction]:
    try:
        from ..btf import load_kernel_specs
        from ..btf.core import apply_core_relocations
    except ImportError as e:
        # Without the resolver the compiled values stay: right when the object was
        # built against this kernel's own vmlinux.h, which is the common case here.
        log.warning("program %s: CO-RE relocations left as compiled (%s)", spec.name, e)
        return insns
    if spec.btf is None:
        raise LoadError(f"program {spec.name} has CO-RE relocations but the object has no BTF")
    try:
        results = apply_core_relocations(insns, spec.btf, load_kernel_specs())
    except BTFError as e:
        hint = ""
        text = str(e)
        if "cannot be relocated" in text or ("instruction" in text and "expected" in text):
            hint = (" (the record does not point at an instruction holding the compiled value: "
                    "a misplaced compiler record, as bpf-gcc 12 emits and libbpf refuses too; "
                    "build with clang)")
        raise LoadError(f"program {spec.name}: CO-RE relocation failed: {e}{hint}") from None
    for r in results:
        if r.poisoned:
            log.debug("program %s: CO-RE relocation poisoned at instruction %d: %s",
                      spec.name, r.index, r.reason)
            if poisoned is not None:
                poisoned.append(r)
    return insns

