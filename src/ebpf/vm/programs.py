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
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import BTFError, LoadError, RuntimeFault, SystemCallError
from ..isa import opcodes as op
from ..isa.instruction import (
    Instruction,
    KsymReference,
    MapReference,
)
from ..loader.core import relocate_core
from ..loader.relocate import relocate_references
from ..loader.types import known_type
from ..programs import Program, RunResult
from ..spec import ProgramSpec
from ..symbols import kallsyms
from ..uapi import AttachType, ProgramType
from .code import ADDR_SPACE_CAST, CAST_RESOLVED, CODE_BASE, Code, prepare, pseudo_func_offset
from .contexts import make_context
from .executors import MAX_COMPILED_SLOTS, executor_for, make_executor, resolve_executor
from .helpers import (
    CG_RETVAL_TYPES,
    KFUNC_ADDR_BASE,
    KFUNCS,
    helpers_for,
    missing_kfunc,
    refusal,
    release_locks,
    supported,
)
from .helpers.retval import hook_result
from .maps import ArenaMap, ArrayMap, VMMap
from .memory import GLOBAL, M64, MAP_HANDLES, AddressSpace, Memory
from .reuseport import ReuseportRequest
from .run import DEFAULT_BUDGET, Redirect, Run, StopProgram
from .sockaddr import SockAddrRequest
from .sockops import SockOpsRequest
from .sysctl import SysctlRequest

#: what a run's ``ctx`` may be: the context's bytes, or a request naming what stands
#: behind a context of a hook the kernel cannot test-run
REQUESTS = (SysctlRequest, SockOpsRequest, ReuseportRequest, SockAddrRequest)
RunContext = bytes | SysctlRequest | SockOpsRequest | ReuseportRequest | SockAddrRequest

log = logging.getLogger("ebpf.vm")

#: program types whose direct loads through BTF pointers cannot fault
PROBE_MEM_TYPES = frozenset({ProgramType.TRACING, ProgramType.LSM, ProgramType.STRUCT_OPS})


class VMRunResult(RunResult):
    """A :class:`ebpf.RunResult` plus what only the runtime can tell: the
    redirect the program asked for, its trace_printk lines and the number of
    instructions it executed."""

    def __init__(self, retval: int, data: bytes = b"", duration_ns: int = 0,
                 ctx: bytes | None = None, redirect: Redirect | None = None,
                 trace: list[str] | None = None, instructions: int = 0,
                 cgroup_retval: int | None = None):
        super().__init__(retval, data, duration_ns, ctx)
        self.redirect = redirect
        self.trace = trace or []
        self.instructions = instructions
        #: a cgroup program's: what the hook's system call returns to the process
        #: (0, the value bpf_set_retval set, or -EPERM for a rejection); None otherwise
        self.cgroup_retval = cgroup_retval


class VMProgram(Program):
    """A program loaded into the runtime. ``executor`` is ``"native"`` (LLVM
    machine code; the default when llvmlite imports), ``"translator"``
    (Python source; the default otherwise) or ``"interpreter"`` (the
    reference); ``jit=False`` is an alias for the interpreter. ``budget`` caps
    instructions per run; ``cpu`` is the virtual CPU runs use by default
    (per-CPU maps, bpf_get_smp_processor_id)."""

    backend = "vm"

    def __init__(self, spec: ProgramSpec, code: Code, *, jit: bool | None = None,
                 budget: int = DEFAULT_BUDGET, maps: Mapping[str, VMMap] | None = None,
                 executor: str | None = None):
        super().__init__(spec)
        self.code = code
        #: the executor's name: "native", "translator" or "interpreter"
        self.executor_name = executor_for(resolve_executor(executor, jit), len(code.slots))
        if self.executor_name != resolve_executor(executor, jit):
            log.warning("program %s: %d instructions, more than the %s executor compiles "
                        "(%d): it runs on the interpreter", spec.name, len(code.slots),
                        resolve_executor(executor, jit), MAX_COMPILED_SLOTS)
        self.jit = self.executor_name != "interpreter"
        self.budget = budget
        self.maps = dict(maps or {})
        #: the global memory runs reach: this program's maps (its object's), no other
        self.space = AddressSpace([self])
        # tracing/LSM programs dereference BTF pointers directly; the kernel turns
        # those loads into fault-tolerant PROBE_MEM loads (a fault reads 0)
        probe = spec.type in PROBE_MEM_TYPES
        self.executor = make_executor(self.executor_name, helpers_for(spec.type, is_gpl(spec)),
                                     probe_loads=probe)
        if self.jit:
            self.executor.functions(code)  # translate/compile now: errors surface at load
        self.links: list = []
        self._cpu_lock = threading.Lock()
        #: CO-RE relocations left unsatisfied (their instructions fault if reached)
        self.core_poisoned: list = []
        #: the BTF whose type layouts the program's accesses follow after CO-RE
        #: (task_struct stand-ins are laid out from it)
        self.layout_btf = spec.btf

    # ---- running ---------------------------------------------------------------
    def _execute(self, ctx_obj, mem: Memory, cpu: int, budget: int | None,
                 repeat: int = 0, storage: dict | None = None) -> tuple[int, Run, int]:
        """One run (or, with ``repeat``, the native executor's loop of runs);
        returns (r0, the run, ns per run in the native loop). ``storage`` is the
        test run's cgroup storage, shared by its repetitions."""
        mem.globals_ = self.space
        run = Run(mem, program=self, budget=self.budget if budget is None else budget,
                  ctx=ctx_obj.addr, cpu=cpu, packet=ctx_obj.packet,
                  cgroup_storage={} if storage is None else storage, context=ctx_obj)
        per_run = 0
        GLOBAL.enter()
        try:
            if repeat:
                r0, per_run = self.executor.run_loop(run, self.code, ctx_obj.addr, repeat)
            else:
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
        return r0, run, per_run

    def test_run(self, data: bytes = b"", *, repeat: int = 1,
                 ctx: RunContext | None = None,
                 data_size_out: int | None = None, flags: int = 0, cpu: int = 0,
                 budget: int | None = None) -> VMRunResult:
        """Run with BPF_PROG_TEST_RUN semantics: returns r0, the packet after the
        run, the context after the run (when ``ctx`` was given) and the mean
        duration. As in the kernel, repeated runs share the packet buffer."""
        self._check_open()
        if self.spec.attach_type in (AttachType.XDP_DEVMAP, AttachType.XDP_CPUMAP):
            # as the kernel's bpf_prog_test_run_xdp: these run only from a devmap/cpumap
            raise SystemCallError(f"test run of program {self.name}: xdp/devmap and xdp/cpumap "
                                  "programs cannot be test-run (the kernel refuses them)",
                                  errno.EINVAL)
        repeat = max(1, repeat)
        mem = Memory()
        ctx_obj = make_context(mem, self.type, bytes(data), _ctx_in(ctx))
        start = time.perf_counter_ns()
        storage: dict = {}  # cgroup storage: one for the whole test run, as the kernel's
        if repeat > 1 and hasattr(self.executor, "run_loop") and _repeatable(ctx_obj):
            # the native executor loops in machine code: a duration comparable
            # to the kernel's BPF_PROG_TEST_RUN
            r0, run, per_run = self._execute(ctx_obj, mem, cpu, budget, repeat, storage)
            elapsed = per_run * repeat
        else:
            for _ in range(repeat):
                ctx_obj.begin()
                r0, run, _ = self._execute(ctx_obj, mem, cpu, budget, storage=storage)
                ctx_obj.end()
                ctx_obj.returned(r0)
            elapsed = time.perf_counter_ns() - start
        if ctx_obj.short_ctx:
            raise SystemCallError(f"test run of program {self.name}: the context out does not "
                                  f"fit in {len(ctx) if isinstance(ctx, (bytes, bytearray)) else 0} bytes",
                                  errno.ENOSPC)
        out, ctx_out = ctx_obj.finish()
        if data_size_out is not None:
            out = out[:data_size_out]
        return VMRunResult(r0 & 0xFFFF_FFFF, out, elapsed // repeat, ctx_out,
                           redirect=run.redirect, trace=run.trace,
                           instructions=(self.budget if budget is None else budget) - run.budget,
                           cgroup_retval=hook_result(run, r0) if self.type in CG_RETVAL_TYPES
                           else None)

    def run(self, ctx: RunContext | Sequence[int] | None = None,
            *, data: bytes = b"", cpu: int = 0,
            budget: int | None = None) -> int:
        """Call the program directly: ``ctx`` is the context's bytes, or a list
        of integers (raw tracepoint / fentry style u64 arguments). Returns r0.

        >>> # prog.run([1, 2])  -> r0 with ctx = {u64 1, u64 2}
        """
        self._check_open()
        mem = Memory()
        if ctx is None or isinstance(ctx, (bytes, bytearray, memoryview, *REQUESTS)):
            ctx_obj = make_context(mem, self.type, bytes(data), _ctx_in(ctx))
        else:
            ctx_obj = make_context(mem, self.type, bytes(data), args=list(ctx))
        ctx_obj.begin()
        r0, _, _ = self._execute(ctx_obj, mem, cpu, budget)
        ctx_obj.end()
        ctx_obj.returned(r0)
        return r0

    def space_owners(self) -> list[VMMap]:
        """The maps whose memory this program may reach (see AddressSpace)."""
        return list(self.maps.values())

    def jited(self) -> str:
        """The machine code of the native executor for this program,
        disassembled with capstone (as :meth:`ebpf.kernel` programs show the
        kernel JIT's)."""
        if self.executor_name != "native":
            from ..errors import NotSupportedError

            raise NotSupportedError("machine code of a vm program",
                                    detail=f"program {self.name} runs on the "
                                           f"{self.executor_name} (load it with "
                                           "executor='native')")
        from .native.engine import disassemble

        return disassemble(self.executor.compiled(self.code))

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
        if self.spec.needs_kernel_events:
            _warn_no_kernel_events(self)
        return link

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.links.clear()
        super().close()


def _ctx_in(ctx: RunContext | bytearray | memoryview | None) -> RunContext | None:
    """A run's ``ctx`` argument as :func:`make_context` takes it."""
    return ctx if ctx is None or isinstance(ctx, REQUESTS) else bytes(ctx)


def _repeatable(ctx_obj: Any) -> bool:
    """Whether repeated runs need nothing between them (no begin/end work)."""
    from .contexts import Context

    return type(ctx_obj).begin is Context.begin and type(ctx_obj).end is Context.end


_warned_no_kernel_events = False


def _warn_no_kernel_events(prog: VMProgram) -> None:
    """Once per process: a tracing program attached on the vm waits for events
    that only Python can fire (a reader of its maps would wait forever)."""
    global _warned_no_kernel_events
    if _warned_no_kernel_events:
        return
    _warned_no_kernel_events = True
    warnings.warn(
        f"program {prog.name} (SEC(\"{prog.spec.section}\")) is attached on the vm backend, "
        "where kernel events never reach it: it runs only when Python fires its hook "
        "(ebpf.vm.hooks.fire). To trace the system, load with backend=\"kernel\" as root "
        "(or with CAP_BPF and CAP_PERFMON).", RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------------------
def apply_core(spec: ProgramSpec, insns: list[Instruction], core_btf: Any = None
               ) -> tuple[list[Any], Any]:
    """Resolve the CO-RE relocations of ``insns`` in place against ``core_btf``
    (default: the running kernel's BTF, else the program's own; see
    :func:`ebpf.loader.core.core_targets`). Returns (the relocations that could
    not be satisfied, whose instructions now fault if reached, as the kernel's
    verifier refuses them only on a reachable path; the BTF whose layouts the
    program now uses)."""
    return relocate_core(spec, insns, core_btf)


_KSYMS: dict[str, int | None] = {}


def ksym_address(name: str) -> int | None:
    """What an ``lddw`` of the ``__ksym`` variable ``name`` loads in the runtime:
    for a variable of the kernel's BTF (typed ksym), a read-only zero-filled
    stand-in of its type's size (reads succeed, as on the kernel's
    PTR_TO_BTF_ID memory, and give 0); otherwise its /proc/kallsyms address
    (a number to compare or print; the runtime has nothing behind it); None
    when the kernel has no such symbol."""
    if name in _KSYMS:
        return _KSYMS[name]
    addr: int | None = None
    try:
        from ..btf import Var, load_kernel_btf, sizeof

        var = load_kernel_btf().type_by_name(name, "var")
        size = max(sizeof(var.type), 1) if isinstance(var, Var) else 0
    except (BTFError, OSError):
        size = 0
    if size:
        from .memory import GLOBAL

        addr = GLOBAL.allocate(bytearray(size), f"ksym {name} (vm stand-in)",
                               writable=False).base
    else:
        addr = kallsyms.address_of(name)
    _KSYMS[name] = addr
    return addr


def _arena_of(spec: ProgramSpec, insns: list[Instruction],
              maps: Mapping[str, VMMap]) -> ArenaMap | None:
    """The arena a program works in: the ARENA map it refers to, else the
    object's only one."""
    for ins in insns:
        ref = ins.reference
        if isinstance(ref, MapReference) and isinstance(maps.get(ref.map), ArenaMap):
            return maps[ref.map]  # type: ignore[return-value]
    arenas = [m for m in maps.values() if isinstance(m, ArenaMap)]
    return arenas[0] if len(arenas) == 1 else None


class _VMRelocator:
    """The vm's half of :func:`ebpf.loader.relocate.relocate_references`: map
    handles, value addresses in the runtime's memory, ksym stand-ins, kfuncs the
    runtime provides, and address-space casts into the program's arena."""

    def __init__(self, spec: ProgramSpec, arena: ArenaMap | None,
                 maps: Mapping[str, VMMap]) -> None:
        self.spec = spec
        self.arena = arena
        self.maps = maps

    def map_pointer(self, ins: Instruction, name: str, m: Any) -> None:
        ins.imm = m.handle
        ins.src = 0

    def map_value(self, ins: Instruction, name: str, m: Any, offset: int) -> None:
        if isinstance(m, ArenaMap):
            # __arena globals: user addresses in the arena's last pages
            ins.imm = m.address(m.arena_data_offset + offset)
        elif isinstance(m, ArrayMap):
            ins.imm = m.regions[0].base + offset
        else:
            raise LoadError(f"program {self.spec.name}: direct value access to map "
                            f"{name!r}, which is not an array")
        ins.src = 0

    def ksym(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        # a kfunc the runtime provides has an address (bpf_ksym_exists: true)
        addr = (KFUNC_ADDR_BASE + KFUNCS[ref.name] if ref.name in KFUNCS
                else ksym_address(ref.name))
        if addr is None:
            return False
        ins.imm = addr
        ins.src = 0
        return True

    def kfunc(self, ins: Instruction, ref: KsymReference, slot: int) -> bool:
        if not ins.is_kfunc_call:
            return True
        if ref.name in KFUNCS:
            ins.src = 0  # a kfunc the runtime provides: called as one of its helpers
            ins.imm = KFUNCS[ref.name]
            return True
        # one the runtime lacks: as libbpf, a __weak one's call is poisoned and
        # faults only when reached (programs guard it with bpf_ksym_exists)
        ins.src = 0
        ins.imm = missing_kfunc(ref.name)
        return False

    def other(self, ins: Instruction, slot: int) -> None:
        if ins.opcode == op.BPF_ALU64 | op.BPF_MOV | op.BPF_X and ins.off == ADDR_SPACE_CAST:
            if self.arena is None:
                raise LoadError(f"program {self.spec.name}: addr_space_cast in a program that "
                                "uses no arena map")
            if ins.imm not in (1, 1 << 16):
                raise LoadError(f"program {self.spec.name}: addr_space_cast can only convert "
                                f"between address spaces 1 and 0 (imm {ins.imm:#x})")
            ins.imm = CAST_RESOLVED | self.arena.hi
        elif ins.opcode == op.LD_IMM64 and ins.reference is None and ins.src in (
                op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE, op.BPF_PSEUDO_MAP_IDX,
                op.BPF_PSEUDO_MAP_IDX_VALUE, op.BPF_PSEUDO_BTF_ID):
            raise LoadError(f"program {self.spec.name}: lddw with src={ins.src} and no map "
                            "reference (raw file descriptors mean nothing in the vm)")
        elif ins.opcode == op.LD_IMM64 and ins.reference is None and ins.src == 0:
            other = MAP_HANDLES.get(ins.imm & M64)
            if other is not None and all(other is not m for m in self.maps.values()):
                raise LoadError(f"program {self.spec.name}: instruction {slot} loads the "
                                f"address of map {getattr(other, 'name', '?')}, which is not "
                                "one of its maps (another object's memory)")


def resolve(spec: ProgramSpec, maps: Mapping[str, VMMap],
            kconfig_offsets: Mapping[str, int] | None = None,
            insns: list[Instruction] | None = None) -> list[Instruction]:
    """Copy the instructions with every symbolic reference turned into a runtime
    value: map pointers, global-data addresses (``kconfig_offsets`` places
    ``.kconfig`` externs), function addresses. ``insns`` are the instructions
    to use instead of the spec's (after CO-RE, see :func:`apply_core`). The walk
    and its checks are :mod:`ebpf.loader.relocate`."""
    source = spec.instructions if insns is None else insns
    return relocate_references(spec, source, maps, kconfig_offsets or {},
                               _VMRelocator(spec, _arena_of(spec, source, maps), maps))


def is_gpl(spec: ProgramSpec) -> bool:
    """Whether the program's license is GPL-compatible (GPL-only helpers)."""
    from ..verifier.platform import GPL_LICENSES

    return (spec.license or "") in GPL_LICENSES


def load_program(spec: ProgramSpec, maps: Mapping[str, VMMap] | None = None, *,
                 jit: bool | None = None, executor: str | None = None,
                 budget: int = DEFAULT_BUDGET,
                 kconfig_offsets: Mapping[str, int] | None = None, core_btf: Any = None,
                 verify: bool | None = None, verified: bool = False, **_: Any) -> VMProgram:
    """Load ``spec`` into the runtime. ``maps`` resolves the program's map
    references by name; CO-RE relocations resolve against ``core_btf`` (default:
    the running kernel's BTF, see :func:`ebpf.loader.core.core_targets`). Unknown
    helpers, kfuncs and malformed instructions are load-time errors (:class:`ebpf.LoadError` /
    :class:`ebpf.InstructionError`). ``verify`` (True or False) runs our verifier
    first, as :func:`ebpf.vm.objects.load_object` does for every program
    (``verified``: it already did)."""
    spec = known_type(spec)
    maps = maps or {}
    if verify is not None:  # a standalone load (ebpf.Program.load): verify here
        from .objects import verify_at_load

        verify_at_load(spec, {n: m.spec for n, m in maps.items()}, verify, core_btf)
        verified = verify
    relocated = spec.instructions
    if any(i.core is not None for i in relocated):  # CO-RE rewrites copies in place
        relocated = [i.copy() for i in relocated]
    poisoned, layout_btf = apply_core(spec, relocated, core_btf)
    insns = resolve(spec, maps, kconfig_offsets, relocated)
    gpl = is_gpl(spec)
    # a verified program calls no helper its type may not on any path the verifier
    # walked (as the kernel, it skips calls in code dead by constants, e.g. a
    # `const volatile` flag); unverified, every call site counts. Either way the
    # run-time table (helpers_for) faults on a refused id, naming why.
    for hid in () if verified else sorted({i.imm for i in insns if i.is_helper_call}):
        why = refusal(hid, spec.type, gpl)
        if why is not None:
            raise LoadError(f"program {spec.name}: {why}")
    code = prepare(insns, spec.name, helper_known=supported)
    for pc, ins in enumerate(code.slots):
        if ins is not None and ins.opcode == op.LD_IMM64 and ins.src == op.BPF_PSEUDO_FUNC:
            target = pc + 1 + pseudo_func_offset(ins.imm)
            code.slots[pc] = Instruction(ins.opcode, ins.dst, 0, 0, CODE_BASE + 8 * target)
    prog = VMProgram(spec, code, jit=jit, executor=executor, budget=budget, maps=maps)
    prog.core_poisoned = poisoned
    prog.layout_btf = layout_btf
    return prog
