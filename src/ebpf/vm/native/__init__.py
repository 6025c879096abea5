"""The native executor: eBPF to machine code through LLVM (``llvmlite``).

``executor="native"`` (the default whenever llvmlite imports) compiles each
BPF function to an LLVM function, optimises the module (inlining, loop
optimisations) and runs the host machine code in-process, on the same memory
the rest of the runtime sees. See :mod:`.ir` (code generation), :mod:`.runtime`
(state, region tables, the Python trampoline) and :mod:`.engine` (LLVM, cache).
"""

from __future__ import annotations

from functools import cache


@cache
def available() -> bool:
    """Whether llvmlite imports and its LLVM library loads (the native executor can run)."""
    try:
        import llvmlite.binding  # noqa: F401
    except (ImportError, OSError):  # not installed, or libllvmlite unloadable here
        return False
    return True


__all__ = ["available"]
