"""The native executor: runs LLVM-compiled BPF functions on a run's state.

Generated code reads and writes the same ``bytearray`` objects the rest of the
runtime uses (stack, context, packet, map values): a run's region tables hold,
for each :class:`~ebpf.vm.memory.Region`, its simulated bounds and the host
address of its bytes. Anything generated code does not do itself goes through
one trampoline (a ctypes callback) into Python: helper calls (the runtime's
own implementations), memory accesses the tables cannot serve (faults with the
same messages as the other executors, per-field context write checks), LD_ABS,
and faults found natively. A Python exception ends the run natively: the
trampoline records it, sets the state's status, and every native frame
returns; :meth:`NativeExecutor.call` re-raises it.
"""

from __future__ import annotations

import ctypes
import logging
import random
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..._internal.ints import s64
from ...errors import RuntimeFault
from ..code import CODE_BASE, Code
from ..interpreter import Interpreter, load_packet_abs
from ..maps.base import _REFS
from ..maps.ringbuf import RB_HDR
from ..memory import M64, MAP_HANDLES, AddressSpace, GlobalMemory, Region
from ..run import MAX_FRAMES, Run, StopProgram, TailCall
from . import layout as L
from .engine import Compiled, compile_module
from .ir import entry_points, module_ir
from .maps import INDEXED_MAPS, RINGS, IndexedEntries, describe, host_address

log = logging.getLogger("ebpf.vm")

_U64 = ctypes.c_uint64
TRAMPOLINE_TYPE = ctypes.CFUNCTYPE(_U64, ctypes.c_void_p, _U64, _U64, _U64, _U64,
                                   _U64, _U64, _U64, _U64, _U64)
#: live states by address (the trampoline's way back to a run)
_STATES: dict[int, NativeState] = {}


def _entries(regions: Sequence[Region]) -> tuple[Any, int]:
    words = []
    for r in regions:
        if r.size <= 0:
            continue
        delta = (host_address(r.buf) - r.delta) & M64
        flags = L.FLAG_WRITE if r.writable and r.on_write is None else 0
        e = r.elem
        if e is None:
            words += [r.base & M64, r.end & M64, delta, flags, 0, 0]
        else:
            live = 0 if e.live is None else host_address(e.live)
            words += [r.base & M64, r.end & M64, delta, flags,
                      e.value_size | e.stride << 32, live]
    n = len(words) // L.ENTRY_WORDS
    arr = (_U64 * max(len(words), L.ENTRY_WORDS))(*words)
    return arr, n


class _GlobalTable:
    """The global regions as a native table, rebuilt when the table changes."""

    def __init__(self) -> None:
        self.key: Any = None
        self.arr: Any = None
        self.n = 0

    def get(self, gm: GlobalMemory | AddressSpace) -> tuple[Any, int]:
        table = gm._table
        if table is not self.key:
            self.arr, self.n = _entries(table[1])
            self.key = table
        return self.arr, self.n


#: per address space (one per program, see memory.AddressSpace), while it lives
_GLOBAL_TABLES: weakref.WeakKeyDictionary[Any, _GlobalTable] = weakref.WeakKeyDictionary()


class NativeState:
    """The native side of one :class:`Run`: the state block and region tables."""

    def __init__(self, run: Run):
        self.run = run
        self.words = (_U64 * L.WORDS)()
        self.addr = ctypes.addressof(self.words)
        self.words[L.TRAMPOLINE] = ctypes.cast(_TRAMPOLINE, ctypes.c_void_p).value or 0
        # xorshift64* must not start at 0
        self.words[L.RNG] = random.getrandbits(64) | 1
        self.exc: BaseException | None = None
        self.executor: NativeExecutor | None = None
        self.local: Any = None
        self.globals: Any = None
        self.active = 0

    def raise_pending(self) -> None:
        """After native code stopped with a status: clear it and raise what the
        trampoline kept (a fault, a tail call...), if anything."""
        self.words[L.STATUS] = 0
        exc, self.exc = self.exc, None
        if exc is not None:
            raise exc

    def refresh(self) -> None:
        """Rebuild the region tables from the run's memory (regions may have
        been added, moved or resized by Python code since the last look)."""
        run = self.run
        w = self.words
        self.local, n = _entries(run.mem.local)
        w[L.LOCAL_TAB] = ctypes.addressof(self.local)
        w[L.LOCAL_N] = n
        gm = run.mem.globals_
        gt = _GLOBAL_TABLES.get(gm)
        if gt is None:
            gt = _GLOBAL_TABLES[gm] = _GlobalTable()
        self.globals, gn = gt.get(gm)
        w[L.GLOBAL_TAB] = ctypes.addressof(self.globals)
        w[L.GLOBAL_N] = gn
        w[L.STACK_END] = run.stack.end
        w[L.STACK_DELTA] = (host_address(run.stack.buf) - run.stack.delta) & M64
        w[L.CPU] = run.cpu
        w[L.GEN] = (w[L.GEN] + 1) & M64

    def records_to_python(self) -> None:
        """Hand the ring-buffer records generated code reserved (and holds) to
        ``Run.reserved``, where the Python helpers and the end-of-run check
        look."""
        w = self.words
        for k in range(L.RB_SLOTS):
            addr = w[L.RB_ADDR + k]
            if addr:
                w[L.RB_ADDR + k] = 0
                m: Any = MAP_HANDLES.get(w[L.RB_MAP + k])
                if m is not None:
                    self.run.reserved[addr] = (m, None, addr - m.region.base - RB_HDR)

    def settle(self) -> None:
        """After generated code returns: records to Python, hash maps' journals
        replayed (their deleted elements retired, spare slots refilled),
        consumers woken."""
        self.records_to_python()
        for m in list(INDEXED_MAPS.values()):
            entries = m.entries
            if isinstance(entries, IndexedEntries) and not m._closed:
                entries.catch_up()
        if self.words[L.WAKE]:
            self.words[L.WAKE] = 0
            for ring in list(RINGS.values()):
                if ring._consumers:
                    ring._wake()

    def fail(self, exc: BaseException) -> int:
        self.exc = exc
        self.words[L.STATUS] = L.STATUS_UNWIND
        return 0


def state_of(run: Run) -> NativeState:
    st = run.extra.get("native")
    if st is None:
        st = run.extra["native"] = NativeState(run)
    return st


class NativeExecutor:
    """Executor running each :class:`Code` as machine code compiled by LLVM."""

    name = "native"

    def __init__(self, helpers: dict[int, Callable[..., int]], probe_loads: bool = False):
        self.helpers = helpers
        self.probe_loads = probe_loads
        #: the reference interpreter's helper-call and fault handling, shared
        self._ref = Interpreter(helpers, probe_loads)
        self._compiled: dict[int, tuple[Code, Compiled]] = {}

    def compiled(self, code: Code) -> Compiled:
        entry = self._compiled.get(id(code))
        if entry is None or entry[0] is not code:
            maps = describe(code.slots)
            ir = module_ir(code, self.probe_loads, maps)
            entry = (code, compile_module(ir, sorted(entry_points(code)), code.name,
                                          keep=[i.header for i in maps.values()]))
            self._compiled[id(code)] = entry
        return entry[1]

    # the translator's name for "prepare now"
    functions = compiled

    def call(self, run: Run, code: Code, slot: int, args: Sequence[int], depth: int) -> int:
        """Run the function at ``slot`` with r1.. = args (tail calls replace it)."""
        comp = self.compiled(code)
        fn = comp.functions.get(slot)
        if fn is None:
            raise RuntimeFault(f"no function starts at slot {slot}")
        st = state_of(run)
        a = [x & M64 for x in args] + [0] * (5 - len(args))
        saved = run.program, run.depth, st.executor
        st.executor = self
        st.refresh()
        w = st.words
        w[L.BUDGET] = run.budget & M64
        # Python says which program runs (a native tail call says it in PROG)
        saved_prog = w[L.PROG]
        w[L.PROG] = 0
        w[L.TAILS] = run.tail_calls
        st.active += 1
        _STATES[st.addr] = st
        try:
            r0 = fn(st.addr, a[0], a[1], a[2], a[3], a[4], depth)
        finally:
            st.active -= 1
            run.program, run.depth, st.executor = saved
            run.tail_calls = w[L.TAILS]
            w[L.PROG] = saved_prog
            st.settle()
            run.budget = s64(w[L.BUDGET])
            if not st.active:
                _STATES.pop(st.addr, None)
        if w[L.STATUS]:
            st.raise_pending()
        return r0

    def run_loop(self, run: Run, code: Code, ctx: int, repeat: int) -> tuple[int, int]:
        """Run the program ``repeat`` times natively (r1 = ctx, a full budget
        each time). Returns (r0 of the last run, nanoseconds per run). The time
        is the thread's CPU time: like the kernel's test-run timer, which stops
        while the task is rescheduled, it leaves out time other processes took."""
        import time

        comp = self.compiled(code)
        st = state_of(run)
        st.executor = self
        st.refresh()
        w = st.words
        w[L.BUDGET_INIT] = run.budget & M64
        w[L.BUDGET] = run.budget & M64
        w[L.CTX] = ctx
        w[L.DONE] = 0
        w[L.PROG] = 0
        st.active += 1
        _STATES[st.addr] = st
        saved = run.program, run.depth
        try:
            t0 = time.thread_time_ns()
            r0 = comp.loop(st.addr, repeat)
            dt = time.thread_time_ns() - t0
        finally:
            st.settle()
            st.active -= 1
            run.program, run.depth = saved
            run.budget = s64(w[L.BUDGET])
            _STATES.pop(st.addr, None)
        if w[L.STATUS]:
            st.raise_pending()
        return r0, dt // max(1, w[L.DONE])

    # ---- the trampoline's work ---------------------------------------------------
    def _helper(self, st: NativeState, hid: int, pc: int, depth: int, r: list[int]) -> int:
        run = st.run
        run.depth = depth
        run.budget = s64(st.words[L.BUDGET])
        w = st.words
        run.call_pcs[:depth] = [s64(w[L.CALL_PCS + d]) for d in range(depth)]
        run.tail_calls = w[L.TAILS]
        st.records_to_python()
        program = run.program
        if w[L.PROG]:  # a native tail call entered this program
            run.program = _REFS.get(w[L.PROG], program)
        try:
            return self._ref._helper(run, hid, r, pc)
        except TailCall as t:
            # the tail-called program replaces the current function: run it
            # here and make that function return its r0
            saved = run.program
            run.program = t.program
            try:
                rv = t.program.executor.call(run, t.program.code, 0, (t.ctx,), depth)
            finally:
                run.program = saved
                st.refresh()
            st.words[L.RETVAL] = rv & M64
            st.words[L.STATUS] = L.STATUS_RETURN
            return rv
        finally:
            run.program = program
            w[L.TAILS] = run.tail_calls
            w[L.BUDGET] = run.budget & M64
            if not w[L.STATUS] or w[L.STATUS] == L.STATUS_RETURN:
                st.refresh()

    def _callx(self, st: NativeState, target: int, pc: int, depth: int, r: list[int]) -> int:
        if target >= CODE_BASE:
            raise RuntimeFault(f"callx to {target:#x}, which is not a function", pc)
        return self._helper(st, target, pc, depth, r)

    @staticmethod
    def _memory(st: NativeState, kind: int, addr: int, size: int, pc: int) -> int:
        mem = st.run.mem
        if kind == L.MEM_PROBE:
            reg = mem.find(addr, size)
            if reg is None:
                return 0
        elif kind == L.MEM_WRITE:
            reg = mem.region(addr, size, pc, "write", write=True)
        else:
            reg = mem.region(addr, size, pc, "read")
        return host_address(reg.buf) + (addr - reg.delta)


_FAULTS = {
    L.FAULT_BUDGET: "instruction budget exhausted (runaway loop?)",
    L.FAULT_DEPTH: f"call stack too deep: more than {MAX_FRAMES} frames",
    L.FAULT_OFF_END: "execution ran off the end of the program",
}


def _trampoline(stp: int, opcode: int, pc: int, depth: int, aux: int, r1: int, r2: int,
                r3: int, r4: int, r5: int) -> int:
    st = _STATES.get(stp)
    if st is None:  # pragma: no cover - generated code only runs under call()
        return 0
    try:
        ex = st.executor
        assert ex is not None  # set by NativeExecutor.call
        if not opcode >> 63:
            hid = opcode - (1 << 32) if opcode >> 31 else opcode
            return ex._helper(st, hid, pc, depth, [0, r1, r2, r3, r4, r5]) & M64
        if opcode == L.OP_MEMORY:
            return ex._memory(st, aux, r1, r2, pc)
        if opcode == L.OP_FAULT:
            raise RuntimeFault(_FAULTS[aux], pc)
        if opcode == L.OP_LDABS:
            return load_packet_abs(st.run, s64(r1), r2, pc) & M64
        if opcode == L.OP_CALLX:
            return ex._callx(st, aux, pc, depth, [0, r1, r2, r3, r4, r5]) & M64
        raise RuntimeFault(f"native code asked for unknown operation {opcode:#x}", pc)
    except BaseException as e:  # noqa: BLE001 - must not cross the C boundary
        if isinstance(e, RecursionError):
            e = RuntimeFault("Python recursion limit reached", pc)
        return st.fail(e)


_TRAMPOLINE = TRAMPOLINE_TYPE(_trampoline)


__all__ = ["NativeExecutor", "StopProgram"]
