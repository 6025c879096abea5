"""The state of one program run, shared by the executors and the helpers.

A :class:`Run` holds the memory the program can reach, the remaining instruction
budget, the tail-call count, the packet (for packet helpers and LD_ABS), what the
program asked for (redirects), and how to call a BPF function (for callbacks:
``bpf_loop``, ``bpf_for_each_map_elem``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import Error, RuntimeFault
from ..uapi import HelperId
from .memory import STACK_BASE, Memory, Region

if TYPE_CHECKING:  # pragma: no cover
    from .programs import VMProgram

#: bytes of stack per BPF frame
STACK_SIZE = 512
#: the kernel's MAX_CALL_FRAMES: the program plus 7 nested calls
MAX_FRAMES = 8
#: the kernel's MAX_TAIL_CALL_CNT
MAX_TAIL_CALLS = 33
#: default instruction budget of one run
DEFAULT_BUDGET = 1_000_000
#: instructions charged for each element or iteration a helper works through
#: (bpf_for_each_map_elem, bpf_loop, bpf_user_ringbuf_drain), besides the
#: callback's own: work done inside a helper counts against the run's budget
ITERATION_COST = 1


#: helpers a spin lock holder may call (the kernel's verifier allows no other call)
LOCK_HELPERS = frozenset({int(HelperId.spin_lock), int(HelperId.spin_unlock)})


def call_under_lock(run: Run, what: str, pc: int | None = None) -> RuntimeFault:
    """The fault of a helper call made while a spin lock is held (every
    executor's helper dispatch raises it: see :mod:`ebpf.vm.helpers.locks`)."""
    held = ", ".join(f"{a:#x}" for a in sorted(run.locks))
    return RuntimeFault(f"function calls are not allowed while holding a lock: {what} called "
                        f"holding the bpf_spin_lock at {held}", pc)


class StopProgram(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a helper (or LD_ABS) to end the whole run with ``r0``."""

    def __init__(self, r0: int):
        self.r0 = r0


class TailCall(Exception):  # noqa: N818 - control flow, not an error
    """Raised by bpf_tail_call: the current function is replaced by ``program``."""

    def __init__(self, program: VMProgram, ctx: int):
        self.program = program
        self.ctx = ctx


def wrap_helper(fn: Callable[..., int], hid: int | None = None) -> Callable[..., int]:
    """Helper ``fn`` (called as helper ``hid``, else as its own ``helper_id``) as the
    executors call it: ``helper(run, pc, r1, .., r5)``, the result cut to 64 bits.
    Under a spin lock only the lock helpers may run; a fault without a place gets
    ``pc``; a helper's own bug (any other exception) becomes a RuntimeFault naming
    it, never escapes raw."""
    lock_ok = (getattr(fn, "helper_id", None) if hid is None else hid) in LOCK_HELPERS
    what = getattr(fn, "__name__", "a helper" if hid is None else f"helper #{hid}")

    def helper(run, pc, r1, r2, r3, r4, r5):
        if run.locks and not lock_ok:
            raise call_under_lock(run, what, pc)
        run.helper_pc = pc
        try:
            return fn(run, r1, r2, r3, r4, r5) & 0xFFFF_FFFF_FFFF_FFFF
        except RuntimeFault as e:
            if e.pc is None:
                raise RuntimeFault(e.reason, pc) from None
            raise
        except (StopProgram, TailCall, Error):
            raise
        except Exception as e:  # noqa: BLE001 - a helper bug must not escape raw
            raise RuntimeFault(f"helper {getattr(fn, '__name__', '?')} failed: "
                               f"{type(e).__name__}: {e}", pc) from e
    helper.__name__ = getattr(fn, "__name__", "helper")
    return helper


@dataclass
class Redirect:
    """What bpf_redirect / bpf_redirect_map asked for."""

    ifindex: int
    flags: int = 0
    map: str | None = None
    #: the cookie of the socket a sockmap/sockhash redirect chose (0 otherwise)
    socket: int = 0


@dataclass
class Run:
    """Per-run state. ``budget`` counts down one per instruction executed."""

    mem: Memory
    program: Any = None  # the VMProgram running (changes on tail calls)
    budget: int = DEFAULT_BUDGET
    ctx: int = 0  # address of the context (r1 at entry)
    cpu: int = 0
    packet: Any = None  # contexts.Packet for packet programs
    tail_calls: int = 0
    redirect: Redirect | None = None
    trace: list[str] = field(default_factory=list)
    #: ring-buffer records reserved and not yet submitted: addr -> (map, None, position)
    reserved: dict[int, Any] = field(default_factory=dict)
    #: spin locks held: addresses
    locks: set[int] = field(default_factory=set)
    #: the stack region (set by __post_init__: one per Memory, reused by repeated runs)
    stack: Region = field(init=False)
    #: depth of the frame running now (executors keep it current for callbacks)
    depth: int = 0
    #: slot of the helper call being made (set by the executors' helper dispatch)
    helper_pc: int = -1
    #: slot of the BPF-to-BPF call each frame made: call_pcs[d] is the call in frame d
    #: that is running frame d + 1 (the interpreter and translator keep it; for
    #: bpf_get_stack / bpf_get_stackid)
    call_pcs: list[int] = field(default_factory=lambda: [-1] * MAX_FRAMES)
    #: cgroup storage of this (test) run: map handle -> its value region
    cgroup_storage: dict[int, Region] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the run's context object (:class:`ebpf.vm.contexts.Context`), for helpers that
    #: answer from what stands behind it (a sysctl request, a socket)
    context: Any = None
    #: a cgroup hook's return value to the process (bpf_get_retval/bpf_set_retval)
    cg_retval: int = 0

    def __post_init__(self) -> None:
        # one stack per Memory: repeated runs on the same memory reuse it
        for r in self.mem.local:
            if r.base == STACK_BASE:
                self.stack = r
                break
        else:
            self.stack = self.mem.add_local(
                Region(STACK_BASE, bytearray(STACK_SIZE * MAX_FRAMES), "stack"))

    def frame_pointer(self, depth: int) -> int:
        """r10 of the frame at ``depth`` (0 = the program's own frame)."""
        if depth >= MAX_FRAMES:
            raise RuntimeFault(f"call stack too deep: more than {MAX_FRAMES} frames")
        return self.stack.end - STACK_SIZE * depth

    def spend(self, n: int, pc: int | None = None) -> None:
        self.budget -= n
        if self.budget < 0:
            raise RuntimeFault("instruction budget exhausted (runaway loop?); raise it with "
                               "budget=", pc)

    def call_function(self, code: Any, slot: int, args: tuple[int, ...], depth: int | None = None) -> int:
        """Call the BPF function at ``slot`` of ``code`` (a callback) with r1..rN = args,
        in a new frame below the current one."""
        if depth is None:
            depth = self.depth + 1
        return self.program.executor.call(self, code, slot, args, depth)
