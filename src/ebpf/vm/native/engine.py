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
    #: native memory the code reads by address (map headers and indexes):
    #: alive as long as the code
    keep: list[Any] = field(default_factory=list)


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


def compile_module(ir: str, entries: list[int], name: str,
                   keep: list[Any] | None = None) -> Compiled:
    """Compile ``ir`` (or take it from the cache); ``entries`` are the slots of
    the BPF functions ``@f<slot>``; ``keep``: objects owning native memory the
    IR names by address."""
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
            addr = engine.get_function_address(f"e{slot}")
            if addr:
                addresses[slot] = addr
                functions[slot] = FUNCTION(addr)
        loop = LOOP(engine.get_function_address("run_loop"))
        compiled = Compiled(key, functions, addresses, loop, engine, opt_ir,
                            time.perf_counter_ns() - t0, keep=list(keep or ()))
        log.debug("native: compiled %s in %.1f ms", name, compiled.compile_ns / 1e6)
        _CACHE[key] = compiled
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return compiled


_SUPPORT: Any = None


def support() -> tuple[Any, Any]:
    """The ring buffers' spin lock (``lock(addr)``, ``unlock(addr)``) as
    functions Python calls: the code generated modules carry, compiled once."""
    global _SUPPORT
    with _LOCK:
        if _SUPPORT is None:
            import llvmlite.binding as llvm

            from .irring import spin

            tm = target_machine()
            mod = llvm.parse_assembly(spin(""))
            mod.triple = tm.triple
            mod.data_layout = str(tm.target_data)
            engine = llvm.create_mcjit_compiler(mod, target_machine(fresh=True))
            engine.finalize_object()
            fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
            _SUPPORT = (engine, fn(engine.get_function_address("rt_spin_lock")),
                        fn(engine.get_function_address("rt_spin_unlock")))
        return _SUPPORT[1], _SUPPORT[2]


def machine_code(compiled: Compiled) -> list[tuple[str, bytes]]:
    """(function name, machine code) of every function of ``compiled``: the
    object code LLVM emits for the same optimised module (the bytes the engine
    loaded, before relocation)."""
    import llvmlite.binding as llvm

    obj = target_machine().emit_object(llvm.parse_assembly(compiled.ir))
    return _functions(obj)


def _functions(obj: bytes) -> list[tuple[str, bytes]]:
    """Function symbols of an ELF64 little-endian relocatable object and their bytes."""
    import struct

    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum, _shstrndx = struct.unpack_from("<HHH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize)
                for i in range(shnum)]
    out = []
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            name_off, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", obj, off)
            if info & 0xF != 2 or not size:  # STT_FUNC
                continue
            end = obj.index(b"\0", strtab[4] + name_off)
            name = obj[strtab[4] + name_off:end].decode()
            text = sections[shndx]
            out.append((name, obj[text[4] + value:text[4] + value + size]))
    return out


def disassemble(compiled: Compiled) -> str:
    """The machine code of ``compiled`` as capstone text, one block per function."""
    import platform

    from ...errors import NotSupportedError

    try:
        import capstone
    except ImportError:
        raise NotSupportedError("disassembling native code",
                                detail="needs capstone (pip install 'ebpf[jit]')") from None
    arch = platform.machine()
    if arch in ("x86_64", "amd64", "AMD64"):
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    elif arch in ("aarch64", "arm64"):
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    else:
        raise NotSupportedError("disassembling native code", detail=f"on {arch}")
    lines: list[str] = []
    for name, code in machine_code(compiled):
        if name[1:].isdigit():
            what = (f"entry of the BPF function at slot {name[1:]}" if name[0] == "e"
                    else f"BPF function at slot {name[1:]}")
        else:
            what = "runtime" if name.startswith("rt_") else "test_run loop"
        lines.append(f"{name}: ({what}, {len(code)} bytes)")
        for ins in md.disasm(code, 0):
            lines.append(f"{ins.address:6x}: {ins.bytes.hex(' '):<30} "
                         f"{ins.mnemonic} {ins.op_str}".rstrip())
    return "\n".join(lines)
