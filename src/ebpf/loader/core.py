"""CO-RE at load, the same for every backend: which BTF a program's relocations
resolve against (the running kernel's, another one the caller names, or, where a
backend allows it, the program's own when the machine has none), and the
relocations applied with one wording of what failed.

A relocation that cannot be satisfied poisons its instruction (see
:mod:`ebpf.btf.core`); :func:`relocate_core` returns those so a backend can
explain a rejection (the kernel's verifier) or fault when one is reached (the vm).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import BTFError, LoadError
from ..isa.instruction import Instruction
from ..spec import ProgramSpec

log = logging.getLogger("ebpf.loader")

__all__ = ["core_targets", "relocate_core", "relocate_core_kernel"]


def core_targets(spec: ProgramSpec, core_btf: Any = None, *, own_fallback: bool = True
                 ) -> list[Any]:
    """The BTF specs CO-RE relocations of ``spec`` resolve against: ``core_btf`` (a
    ``btf.Spec``, a list of them, or a path/"vmlinux"/module name for
    ``ebpf.btf.load_spec``); by default the running kernel's (vmlinux and
    modules), so one object takes the same branches on every backend. Without
    kernel BTF: the program's own (the compiled values stay) when
    ``own_fallback``, else the :class:`ebpf.BTFError` propagates."""
    if core_btf is not None:
        if isinstance(core_btf, (list, tuple)):
            return list(core_btf)
        if isinstance(core_btf, (str, os.PathLike)):
            from ..btf import load_spec

            return [load_spec(os.fspath(core_btf))]
        return [core_btf]
    from ..btf import load_kernel_specs

    try:
        return load_kernel_specs()
    except (BTFError, OSError) as e:
        if not own_fallback:
            raise
        log.info("program %s: no kernel BTF (%s); CO-RE relocations keep their compiled "
                 "values", spec.name, e)
        return [spec.btf]


def relocate_core(spec: ProgramSpec, insns: list[Instruction], core_btf: Any = None, *,
                  own_fallback: bool = True) -> tuple[list[Any], Any]:
    """Resolve the CO-RE relocations of ``insns`` (``spec``'s instructions, copied)
    in place against :func:`core_targets`. Returns (the ``CoreResult`` of every
    relocation that could not be satisfied, its instruction now poisoned; the BTF
    whose layouts the program now uses). Raises :class:`ebpf.LoadError`."""
    if not any(i.core is not None for i in insns):
        return [], spec.btf
    results, target = _resolve(spec, insns, core_btf, own_fallback)
    return _poisoned(spec, results), target


def relocate_core_kernel(spec: ProgramSpec, insns: list[Instruction]) -> list[Any]:
    """:func:`relocate_core` against the running kernel's BTF (no fallback), the
    outcome kept per kernel (:func:`ebpf.btf.cache.kernel_memo`, keyed by the local
    BTF and the relocated instructions): the next load of the same program on the
    same kernel patches the same instructions the same way without reading the
    kernel's BTF. Returns the poisoned relocations' ``CoreResult``."""
    if not any(i.core is not None for i in insns):
        return []
    if spec.btf is None:
        raise LoadError(f"program {spec.name} has CO-RE relocations but the object has no BTF")
    from ..btf.cache import blob, kernel_memo
    from ..btf.core import core_outcomes, replay_core_relocations

    key = []
    for i, ins in enumerate(insns):
        relo = ins.core
        if relo is not None:
            key.append(f"{i}:{ins.opcode}:{ins.dst}:{ins.src}:{ins.off}:{ins.imm}:"
                       f"{type(relo).__name__}:{getattr(relo, 'type_id', '')}:"
                       f"{getattr(relo, 'access_str', '')}:{int(getattr(relo, 'kind', -1))}")
    done: list[list[Any]] = []

    def compute() -> list[list[Any]]:
        results, _ = _resolve(spec, insns, None, own_fallback=False)
        done.append(results)
        return core_outcomes(insns, results)

    def replay(outcomes: Any) -> bool:
        results = replay_core_relocations(insns, outcomes)
        if results is not None:
            done.append(results)
        return results is not None

    kernel_memo("core", blob(spec.btf) + "\n".join(key).encode(), compute, accept=replay)
    return _poisoned(spec, done[0])


def _resolve(spec: ProgramSpec, insns: list[Instruction], core_btf: Any,
             own_fallback: bool) -> tuple[list[Any], Any]:
    """Every ``CoreResult`` (``insns`` patched), and the BTF resolved against."""
    if spec.btf is None:
        raise LoadError(f"program {spec.name} has CO-RE relocations but the object has no BTF")
    from ..btf.core import apply_core_relocations

    try:
        targets = core_targets(spec, core_btf, own_fallback=own_fallback)
        results = apply_core_relocations(insns, spec.btf, targets)
    except BTFError as e:
        hint = ""
        text = str(e)
        if "cannot be relocated" in text or ("instruction" in text and "expected" in text):
            hint = (" (the record does not point at an instruction holding the compiled value: "
                    "a misplaced compiler record, as bpf-gcc 12 emits and libbpf refuses too; "
                    "build with clang)")
        raise LoadError(f"program {spec.name}: CO-RE relocation failed: {e}{hint}") from None
    return results, targets[0]


def _poisoned(spec: ProgramSpec, results: list[Any]) -> list[Any]:
    poisoned = [r for r in results if r.poisoned]
    for r in poisoned:
        log.debug("program %s: CO-RE relocation poisoned at instruction %d: %s",
                  spec.name, r.index, r.reason)
    return poisoned
