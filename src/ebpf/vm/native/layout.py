"""The contract between generated code and Python: the layout of a run's
native state block, region-table entries, and the trampoline's operation codes.

The state block is an array of 64-bit words (one per :class:`ebpf.vm.run.Run`);
generated functions take a pointer to it as their first argument.
"""

from __future__ import annotations

# ---- state words ---------------------------------------------------------------
#: 0 = running; UNWIND = an exception is pending, every frame returns at once;
#: RETURN = the current frame returns ``RETVAL`` (a tail call finished for it)
STATUS = 0
RETVAL = 1
#: remaining instruction budget (signed)
BUDGET = 2
#: run-local region table (pointer, entries), searched linearly, in order
LOCAL_TAB = 3
LOCAL_N = 4
#: global region table (pointer, entries), sorted by base, binary-searched
GLOBAL_TAB = 5
GLOBAL_N = 6
#: address of the one Python trampoline
TRAMPOLINE = 7
#: simulated address of the top of the stack (r10 of frame 0)
STACK_END = 8
#: the run's virtual CPU
CPU = 9
#: the budget each repetition of a native test-run loop starts with
BUDGET_INIT = 10
#: r1 of each repetition of a native test-run loop
CTX = 11
#: runs the native loop completed
DONE = 12
#: bumped whenever Python rebuilds the region tables: generated code drops
#: its per-register region caches when it changed across a call
GEN = 13
#: tail calls made in this run (the kernel's limit is MAX_TAIL_CALLS)
TAILS = 15
#: xorshift64* state of bpf_get_prandom_u32 in generated code (seeded per run state)
RNG = 14
#: the slot of the BPF-to-BPF call each frame made (Run.call_pcs, for
#: bpf_get_stack & co.): CALL_PCS + depth
CALL_PCS = 16
#: the ref id (:func:`ebpf.vm.maps.base.ref_id`) of the program a native tail
#: call entered, 0 while the program Python started runs (the trampoline sets
#: ``Run.program`` from it)
PROG = 24
#: set by generated code that submitted a ring-buffer record asking for a
#: wakeup; Python wakes the rings' consumers when the run returns
WAKE = 25
#: ring-buffer records generated code reserved and has not submitted yet, in
#: RB_SLOTS slots: data address (0 = free slot), host address of the header,
#: map handle
RB_SLOTS = 4
RB_ADDR = 32
RB_HOST = RB_ADDR + RB_SLOTS
RB_MAP = RB_HOST + RB_SLOTS
#: host address minus simulated address of the run's stack: a load or store at
#: a constant offset from r10 inside the frame needs no region lookup
STACK_DELTA = 26
WORDS = 48

STATUS_UNWIND = 1
STATUS_RETURN = 2

# ---- map headers: a few words per map generated code reads ----------------------
#: 1 while the map is open; generated code takes the Python helper (which
#: faults on a closed map) once it is 0
MAP_LIVE = 0
MAP_WORDS = 4

# ---- region-table entries: six words ----------------------------------------------
#: simulated base, simulated end (exclusive), host address minus simulated
#: address, flags, element layout (0, or value size | stride << 32: an access
#: stays inside one element's value), host address of the elements' live
#: bytes (0, or one byte per element, 1 = live; others ask Python)
ENTRY_WORDS = 6
#: plain stores may go straight to memory (writable, no per-field check)
FLAG_WRITE = 1

# ---- trampoline operation codes (its ``op`` argument) ------------------------------
#: operations other than helper calls have the top bit set; a helper call
#: passes the helper id (callx passes the target register)
SPECIAL = 1 << 63
#: a memory access the region table could not serve: aux = kind, r1 = address,
#: r2 = size; returns the host address, or 0 (probe read of nothing, or fault)
OP_MEMORY = SPECIAL | 1
#: a fault found by generated code: aux = one of FAULT_*
OP_FAULT = SPECIAL | 2
#: LD_ABS / LD_IND: r1 = offset (signed), r2 = size
OP_LDABS = SPECIAL | 3
#: callx to something that is not a function of the program: aux = target
OP_CALLX = SPECIAL | 4

MEM_READ = 0
MEM_WRITE = 1
MEM_PROBE = 2

FAULT_BUDGET = 0
FAULT_DEPTH = 1
FAULT_OFF_END = 2
