"""Programs of the user-space runtime: load (resolve references, validate,
translate) and run (``test_run`` with BPF_PROG_TEST_RUN semantics, ``run``).

>>> import ebpf
>>> from ebpf.isa import Instruction, opcodes as op
>>> prog = ebpf.Program.load(ebpf.ProgramSpec(name="two", type=ebpf.ProgramType.XDP,
...     instructions=[Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=2),
...                   Instruction(op.EXIT)]), backend="vm")
>>> prog.test_run(b"\\0" * 14).retval
2
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import LoadError, RuntimeFault, SystemCallError
from ..isa import opcodes as op
from ..isa.instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
)
from ..programs import Program, RunResult
from ..spec import ProgramSpec
from ..uapi import ProgramType
from .code import CODE_BASE, Code, prepare, pseudo_func_offset
from .contexts import make_context
from .helpers import HELPERS, KFUNCS, release_locks, supported
from .maps import ArrayMap, VMMap
from .memory import GLOBAL, Memory
from .run import DEFAULT_BUDGET, Redirect, Run, StopProgram

log = logging.getLogger("ebpf.vm")

#: program types whose direct loads through BTF pointers cannot fault
PROBE_MEM_TYPES = frozenset({ProgramType.TRACING, ProgramType.LSM, ProgramType.STRUCT_OPS})


class VMRunResult(RunResult):
    """A :class:`ebpf.RunResult` plus what only the runtime can tell: the
    redirect the program asked for, its trace_printk lines and the number of
    instructions it executed."""

    def __init__(self, retval: int, data: bytes = b"", duration_ns: int = 0,
                 ctx: bytes | None = None, redirect: Redirect | None = None,
                 trace: list[str] | None = None, instructions: int = 0):
        super().__init__(retval, data, duration_ns, ctx)
        self.redirect = redirect
        self.trace = trace or []
        self.instructions = instructions


class VMProgram(Program):
    """A program loaded into the runtime. ``jit=False`` uses the reference
    interpreter; ``budget`` caps instructions per run; ``cpu`` is the virtual
    CPU runs use by default (per-CPU maps, bpf_get_smp_processor_id)."""

    backend = "vm"

    def __init__(self, spec: ProgramSpec, code: Code, *, jit: bool = True,
                 budget: int = DEFAULT_BUDGET, maps: Mapping[str, VMMap] | None = None):
        super().__init__(spec)
        self.code = code
        self.jit = jit
        self.budget = budget
        self.maps = dict(maps or {})
        # tracing/LSM programs dereference BTF pointers directly; the kernel turns
        # those loads into fault-tolerant PROBE_MEM loads (a fault reads 0)
        probe = spec.type in PROBE_MEM_TYPES
        if jit:
            from .compiler import Translator

            self.executor = Translator(HELPERS, probe_loads=probe)
            self.executor.functions(code)  # translate now: errors surface at load
        else:
            from .interpreter import Interpreter

            self.executor = Interpreter(HELPERS, probe_loads=probe)
        self.links: list = []
        self._cpu_lock = threading.Lock()

    # ---- running ---------------------------------------------------------------
    def _execute(self, ctx_obj, mem: Memory, cpu: int, budget: int | None) -> tuple[int, Run]:
        run = Run(mem, program=self, budget=self.budget if budget is None else budget,
                  ctx=ctx_obj.addr, cpu=cpu, packet=ctx_obj.packet)
        GLOBAL.enter()
        try:
            r0 = self.executor.call(run, self.code, 0, (ctx_obj.addr,), 0)
        except StopProgram as s:
            r0 = s.r0
        except RecursionError:
            raise RuntimeFault(f"program {self.name}: Python recursion limit reached") from None
        finally:
            GLOBAL.leave()
            if run.locks:
                release_locks(run)
        if run.reserved:
            names = sorted({m.name for m, _, _ in run.reserved.values()})
            for m, _, slot in run.reserved.values():
                m.commit(slot, None, 0)
            raise RuntimeFault(f"program {self.name} returned with unreleased ring buffer "
                               f"records of {', '.join(names)}")
        return r0, run

    def test_run(self, data: bytes = b"", *, repeat: int = 1, ctx: bytes | None = None,
                 data_size_out: int | None = None, flags: int = 0, cpu: int = 0,
                 budget: int | None = None) -> VMRunResult:
        """Run with BPF_PROG_TEST_RUN semantics: returns r0, the packet after the
        run, the context after the run (when ``ctx`` was given) and the mean
        duration. As in the kernel, repeated runs share the packet buffer."""
        self._check_open()
        repeat = max(1, repeat)
        mem = Memory()
        ctx_obj = make_context(mem, self.type, bytes(data), None if ctx is None else bytes(ctx))
        start = time.perf_counter_ns()
        r0 = 0
        run = None
        for _ in range(repeat):
            ctx_obj.begin()
            r0, run = self._execute(ctx_obj, mem, cpu, budget)
            ctx_obj.end()
        elapsed = time.perf_counter_ns() - start
        if ctx_obj.short_ctx:
            raise SystemCallError(f"test run of program {self.name}: the context out does not "
                                  f"fit in {len(ctx)} bytes", errno.ENOSPC)
        out, ctx_out = ctx_obj.finish()
        if data_size_out is not None:
            out = out[:data_size_out]
        return VMRunResult(r0 & 0xFFFF_FFFF, out, elapsed // repeat, ctx_out,
                           redirect=run.redirect, trace=run.trace,
                           instructions=(self.budget if budget is None else budget) - run.budget)

    def run(self, ctx: bytes | Sequence[int] | None = None, *, data: bytes = b"", cpu: int = 0,
            budget: int | None = None) -> int:
        """Call the program directly: ``ctx`` is the context's bytes, or a list
        of integers (raw tracepoint / fentry style u64 arguments). Returns r0.

        >>> # prog.run([1, 2])  -> r0 with ctx = {u64 1, u64 2}
        """
        self._check_open()
        mem = Memory()
        if ctx is None or isinstance(ctx, (bytes, bytearray, memoryview)):
            ctx_obj = make_context(mem, self.type, bytes(data),
                                   None if ctx is None else bytes(ctx))
        else:
            ctx_obj = make_context(mem, self.type, bytes(data), args=list(ctx))
        ctx_obj.begin()
        r0, _ = self._execute(ctx_obj, mem, cpu, budget)
        ctx_obj.end()
        return r0

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeFault(f"program {self.name} is closed")

    # ---- attaching ---------------------------------------------------------------
    def attach(self, **target: Any):
        """Attach to a runtime hook (see :mod:`ebpf.vm.hooks`): ``pcap=PATH``,
        ``packets=ITERABLE``, ``interval=SECONDS``, or nothing for event hooks
        fired with :func:`ebpf.vm.hooks.fire`."""
        from .hooks import attach

        link = attach(self, **target)
        self.links.append(link)
        return link

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.links.clear()
        super().close()


# ---------------------------------------------------------------------------
def resolve(spec: ProgramSpec, maps: Mapping[str, VMMap],
            kconfig_offsets: Mapping[str, int] | None = None) -> list[Instruction]:
    """Copy the instructions with every symbolic reference turned into a runtime
    value: map pointers, global-data addresses (``kconfig_offsets`` places
    ``.kconfig`` externs), function addresses. CO-RE records are left as
    compiled: the runtime's types are the program's own."""
    out = []
    for ins in spec.instructions:
        ins = ins.copy()
        ref = ins.reference
        if ins.opcode == op.LD_IMM64:
            if isinstance(ref, MapReference):
                m = maps.get(ref.map)
                if m is None:
                    raise LoadError(f"program {spec.name}: map {ref.map!r} is not loaded")
                if ref.value or ins.src == op.BPF_PSEUDO_MAP_VALUE:
                    if not isinstance(m, ArrayMap):
                        raise LoadError(f"program {spec.name}: direct value access to map "
                                        f"{ref.map!r}, which is not an array")
                    ins.imm = m.regions[0].base + ref.offset
                else:
                    ins.imm = m.handle
                ins.src = 0
            elif isinstance(ref, KsymReference):
                if not ref.weak:
                    raise LoadError(f"program {spec.name}: kernel symbol {ref.name!r} does not "
                                    "exist in the vm")
                ins.imm = 0
                ins.src = 0
            elif isinstance(ref, KconfigReference):
                kc = maps.get(".kconfig")
                offs = kconfig_offsets or {}
                if not isinstance(kc, ArrayMap) or ref.name not in offs:
                    raise LoadError(f"program {spec.name}: kconfig extern {ref.name!r} has no "
                                    "place in a .kconfig map")
                addend = ins.imm & 0xFFFF_FFFF
                addend = addend - (1 << 32) if addend & 0x8000_0000 else addend
                ins.imm = kc.regions[0].base + offs[ref.name] + addend
                ins.src = 0
            elif ins.src in (op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE, op.BPF_PSEUDO_MAP_IDX,
                             op.BPF_PSEUDO_MAP_IDX_VALUE, op.BPF_PSEUDO_BTF_ID):
                raise LoadError(f"program {spec.name}: lddw with src={ins.src} and no map "
                                "reference (raw file descriptors mean nothing in the vm)")
        elif ins.is_kfunc_call and isinstance(ref, KsymReference) and ref.name in KFUNCS:
            ins.src = 0  # a kfunc the runtime provides: called as one of its helpers
            ins.imm = KFUNCS[ref.name]
        elif isinstance(ref, FunctionReference) or ins.is_local_call:
            pass  # offsets already set by the ELF reader
        out.append(ins)
    return out


def load_program(spec: ProgramSpec, maps: Mapping[str, VMMap] | None = None, *,
                 jit: bool = True, budget: int = DEFAULT_BUDGET,
                 kconfig_offsets: Mapping[str, int] | None = None, **_: Any) -> VMProgram:
    """Load ``spec`` into the runtime. ``maps`` resolves the program's map
    references by name. Unknown helpers, kfuncs and malformed instructions are
    load-time errors (:class:`ebpf.LoadError` / :class:`ebpf.InstructionError`)."""
    maps = maps or {}
    insns = resolve(spec, maps, kconfig_offsets)
    code = prepare(insns, spec.name, helper_known=supported)
    for pc, ins in enumerate(code.slots):
        if ins is not None and ins.opcode == op.LD_IMM64 and ins.src == op.BPF_PSEUDO_FUNC:
            target = pc + 1 + pseudo_func_offset(ins.imm)
            code.slots[pc] = Instruction(ins.opcode, ins.dst, 0, 0, CODE_BASE + 8 * target)
    return VMProgram(spec, code, jit=jit, budget=budget, maps=maps)
