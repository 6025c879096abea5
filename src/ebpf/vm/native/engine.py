"""LLVM in-process: optimise a module, compile it for the host, keep the code.

Compiled programs are cached by the hash of their IR (which holds every
instruction, map handle and address the code depends on), so loading the same
program again costs no compilation.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ...errors import LoadError

log = logging.getLogger("ebpf.vm")

_LOCK = threading.Lock()
_TM: Any = None
#: how many compiled programs the cache keeps
CACHE_SIZE = 128
_CACHE: OrderedDict[str, Compiled] = OrderedDict()

#: i64 f(ptr st, i64 r1..r5, i64 depth)
FUNCTION = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64,
                            ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)
#: i64 run_loop(ptr st, i64 n)
LOOP = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64)


@dataclass
class Compiled:
    """Machine code of one program: a callable per BPF function (by slot)."""

    key: str
    functions: dict[int, Any]
    addresses: dict[int, int]
    loop: Any
    engine: Any
    #: optimised IR (for dumps)
    ir: str
    compile_ns: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


def target_machine(fresh: bool = False) -> Any:
    """The host's target machine (LLVM initialised on first use); ``fresh``
    makes a new one (an execution engine owns and frees its own)."""
    global _TM
    if _TM is None or fresh:
        import llvmlite.binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                          features=llvm.get_host_cpu_features().flatten(),
                                          opt=3, jit=True, codemodel="jitdefault")
        if fresh:
            return tm
        _TM = tm
    return _TM


def compile_module(ir: str, entries: list[int], name: str) -> Compiled:
    """Compile ``ir`` (or take it from the cache); ``entries`` are the slots of
    the BPF functions ``@f<slot>``."""
    key = hashlib.sha256(ir.encode()).hexdigest()
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        import llvmlite.binding as llvm

        t0 = time.perf_counter_ns()
        tm = target_machine()
        try:
            mod = llvm.parse_assembly(ir)
            mod.verify()
        except RuntimeError as e:  # our generator's bug, not the user's
            raise LoadError(f"program {name}: native code generation failed: {e}") from None
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        opt_ir = str(mod)
        engine = llvm.create_mcjit_compiler(mod, target_machine(fresh=True))
        engine.finalize_object()
        functions, addresses = {}, {}
        for slot in entries:
            addr = engine.get_function_address(f"f{slot}")
            if addr:
                addresses[slot] = addr
                functions[slot] = FUNCTION(addr)
        loop = LOOP(engine.get_function_address("run_loop"))
        compiled = Compiled(key, functions, addresses, loop, engine, opt_ir,
                            time.perf_counter_ns() - t0)
        log.debug("native: compiled %s in %.1f ms", name, compiled.compile_ns / 1e6)
        _CACHE[key] = compiled
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return compiled


def machine_code(compiled: Compiled) -> list[tuple[str, int, bytes]]:
    """(symbol, address, bytes) of every function of ``compiled``, from an
    object file of the same optimised IR (same target machine, same code)."""
    import llvmlite.binding as llvm

    from ...elf.reader import symbols_of_object

    tm = target_machine()
    mod = llvm.parse_assembly(compiled.ir)
    obj = tm.emit_object(mod)
    out = []
    for name, data in symbols_of_object(obj):
        addr = compiled.engine.get_function_address(name)
        out.append((name, addr, data))
    return out
