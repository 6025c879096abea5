"""The environment the bpf_conformance suite expects of a runtime.

>>> from ebpf.vm.conformance import run_conformance
>>> run_conformance(bytes.fromhex("b7000000070000009500000000000000"))
7
"""

from __future__ import annotations

from .code import decode_raw, prepare
from .memory import CTX_BASE, Memory, Region
from .run import Run, StopProgram

#: helper 5 in the suite: "unwind"
UNWIND = 5


def _unwind(run: Run, r1: int, *_: int) -> int:
    if r1 == 0:
        raise StopProgram(0)
    return r1


HELPERS = {UNWIND: _unwind}


class _Prog:
    def __init__(self, code, executor):
        self.code = code
        self.executor = executor
        self.name = code.name


def run_conformance(program: bytes, memory: bytes = b"", *, budget: int = 10_000_000,
                    jit: bool = True, executor: str | None = None) -> int:
    """Decode ``program`` strictly, run it with r1 = a writable copy of
    ``memory`` and r2 = its length; return r0. ``executor`` names the vm
    executor (default: the runtime's; ``jit=False``: the interpreter)."""
    from .executors import make_executor, resolve_executor

    insns = decode_raw(program)
    code = prepare(insns, "conformance", helper_known=HELPERS.__contains__)
    ex = make_executor(resolve_executor(executor, jit), HELPERS)
    mem = Memory()
    run = Run(mem, budget=budget)
    r1 = 0
    if memory:
        r1 = mem.add_local(Region(CTX_BASE, bytearray(memory), "memory")).base
    run.program = _Prog(code, ex)
    try:
        return ex.call(run, code, 0, (r1, len(memory)), 0)
    except StopProgram as stop:
        return stop.r0
