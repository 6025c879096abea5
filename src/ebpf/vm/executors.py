"""The runtime's executors, by name: ``"native"`` (LLVM machine code),
``"translator"`` (Python source) and ``"interpreter"`` (the reference).

>>> from ebpf.vm.executors import resolve_executor
>>> resolve_executor("interpreter")
'interpreter'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Error

#: every executor name
EXECUTORS = ("native", "translator", "interpreter")


#: whether "native" is the default when llvmlite imports
NATIVE_BY_DEFAULT = True


def default_executor() -> str:
    """``"native"`` when llvmlite imports, otherwise ``"translator"``."""
    from .native import available

    return "native" if NATIVE_BY_DEFAULT and available() else "translator"


def resolve_executor(executor: str | None = None, jit: bool | None = None) -> str:
    """The executor to use: ``executor`` if given, else ``jit=False`` means the
    interpreter and anything else the default."""
    if executor is None:
        return "interpreter" if jit is False else default_executor()
    if executor not in EXECUTORS:
        raise Error(f"unknown vm executor {executor!r} (choose from {', '.join(EXECUTORS)})")
    if executor == "native":
        from .native import available

        if not available():
            raise Error("executor 'native' needs llvmlite (pip install llvmlite)")
    return executor


#: programs longer than this (slots) run on the interpreter: translating or
#: compiling costs time and memory per instruction (tens of microseconds and
#: kilobytes), so a program of a million instructions would take minutes and
#: gigabytes; the interpreter only keeps the instructions and loads it in seconds
MAX_COMPILED_SLOTS = 32_768


def executor_for(name: str, slots: int) -> str:
    """The executor a program of ``slots`` instruction slots runs on when
    ``name`` is asked for (see :data:`MAX_COMPILED_SLOTS`)."""
    if name != "interpreter" and slots > MAX_COMPILED_SLOTS:
        return "interpreter"
    return name


def make_executor(name: str, helpers: dict[int, Callable[..., int]],
                  probe_loads: bool = False) -> Any:
    """An executor instance of the named kind over ``helpers``."""
    if name == "native":
        from .native.runtime import NativeExecutor

        return NativeExecutor(helpers, probe_loads=probe_loads)
    if name == "translator":
        from .compiler import Translator

        return Translator(helpers, probe_loads=probe_loads)
    from .interpreter import Interpreter

    return Interpreter(helpers, probe_loads=probe_loads)
