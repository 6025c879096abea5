"""Relocating a program's references, the same walk for every backend: each
instruction's symbolic reference (a map, a global-data value, a ``.kconfig``
extern, a ``__ksym`` variable, a kfunc) is checked and located here, and the
backend only writes what its machine needs into the instruction
(:class:`Relocator`: a map fd or handle, a value address, a ksym, a kfunc).

The checks and their errors are the ones every backend gives: a reference to a
map the object did not create, a map reference on an instruction that is not
``lddw``, a ``.kconfig`` extern with no place in the ``.kconfig`` map, a
kernel symbol or a kfunc the machine lacks (unless ``__weak``).

>>> from ebpf.isa import assemble
>>> from ebpf.spec import ProgramSpec
>>> from ebpf.uapi import ProgramType
>>> class Fds:
...     def map_pointer(self, ins, name, m): ins.src, ins.imm = 1, m
...     def map_value(self, ins, name, m, offset): ins.src, ins.imm = 2, m + (offset << 32)
...     def ksym(self, ins, ref, slot): return False
...     def kfunc(self, ins, ref, slot): return False
...     def other(self, ins, slot): pass
>>> spec = ProgramSpec(name="p", type=ProgramType.XDP,
...                    instructions=assemble("r1 = counts ll\\nr0 = 0\\nexit"))
>>> relocate_references(spec, spec.instructions, {"counts": 7}, {}, Fds())[0].imm
7
>>> relocate_references(spec, spec.instructions, {}, {}, Fds())
Traceback (most recent call last):
...
ebpf.errors.LoadError: program p: instruction 0 refers to map 'counts', which was not created (maps: none)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .._internal.ints import s32
from ..errors import LoadError
from ..isa import opcodes as op
from ..isa.instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
)
from ..spec import ProgramSpec

__all__ = ["Relocator", "relocate_references"]


class Relocator(Protocol):
    """What a backend writes into a relocated instruction (``ins`` is a copy; the
    walk has checked the reference and found the map)."""

    def map_pointer(self, ins: Instruction, name: str, m: Any) -> None:
        """``lddw`` of map ``m`` itself (its fd, its handle)."""

    def map_value(self, ins: Instruction, name: str, m: Any, offset: int) -> None:
        """``lddw`` of the address ``offset`` bytes into the value of map ``m``
        (global data, ``.kconfig``, arena globals)."""

    def ksym(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        """``lddw`` of the ``__ksym`` variable (or kfunc address) ``ref``; False
        when the backend's machine has no such symbol."""

    def kfunc(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        """A call of the kfunc ``ref``; False when the backend's machine has no
        such kfunc (for a ``__weak`` one the backend has written the call its
        machine makes of a kfunc that is absent)."""

    def other(self, ins: Instruction, slot: int) -> None:
        """An instruction without a symbolic reference (the backend may check or
        rewrite it: raw pseudo sources, address-space casts)."""


def relocate_references(spec: ProgramSpec, insns: Sequence[Instruction], maps: Mapping[str, Any],
                        kconfig_offsets: Mapping[str, int], target: Relocator
                        ) -> list[Instruction]:
    """Copies of ``insns`` with every symbolic reference handed to ``target``.
    ``maps`` are the object's maps by name (what ``target`` receives as ``m``),
    ``kconfig_offsets`` where each ``.kconfig`` extern sits in the ``.kconfig``
    map. Raises :class:`ebpf.LoadError` naming the program and the instruction."""
    out: list[Instruction] = []
    slot = 0
    for original in insns:
        ins = original.copy()
        here = slot
        slot += ins.size
        out.append(ins)
        ref = ins.reference
        if isinstance(ref, MapReference):
            if not ins.is_lddw:
                raise LoadError(f"program {spec.name}: map reference on a non-lddw at slot {here}")
            m = maps.get(ref.map)
            if m is None:
                raise LoadError(f"program {spec.name}: instruction {here} refers to map "
                                f"{ref.map!r}, which was not created "
                                f"(maps: {', '.join(sorted(maps)) or 'none'})")
            if ref.value or ins.src == op.BPF_PSEUDO_MAP_VALUE:
                target.map_value(ins, ref.map, m, ref.offset)
            else:
                target.map_pointer(ins, ref.map, m)
        elif isinstance(ref, KconfigReference):
            kc = maps.get(".kconfig")
            if ref.name not in kconfig_offsets or kc is None:
                raise LoadError(f"program {spec.name}: kconfig extern {ref.name!r} has no "
                                "place in a .kconfig map")
            addend = s32(ins.imm)
            target.map_value(ins, ".kconfig", kc, kconfig_offsets[ref.name] + addend)
        elif isinstance(ref, KsymReference):
            if ins.is_call:
                if not target.kfunc(ins, ref, here) and not ref.weak:
                    raise LoadError(f"program {spec.name}: kfunc {ref.name!r} (slot {here}) "
                                    "not found (a __weak one, guarded by bpf_ksym_exists(), "
                                    "may be absent)")
            elif not target.ksym(ins, ref, here):
                if not ref.weak:
                    raise LoadError(_missing_ksym(spec, ref, here))
                ins.src, ins.imm = 0, 0  # a __weak one the machine lacks reads as 0
        elif ref is None or isinstance(ref, FunctionReference):
            target.other(ins, here)
    return out


def _missing_ksym(spec: ProgramSpec, ref: KsymReference, slot: int) -> str:
    from .._internal.host import kernel_config

    hint = ""
    if kernel_config().get("CONFIG_KALLSYMS_ALL") in (None, "n"):
        hint = " (this kernel lists only functions there: CONFIG_KALLSYMS_ALL is off)"
    return (f"program {spec.name}: kernel symbol {ref.name!r} (slot {slot}) not found "
            f"in kernel BTF or /proc/kallsyms{hint}")
