"""ebpf: eBPF from Python — compile, load, verify, run and attach eBPF programs.

Two backends share one API: ``"kernel"`` (Linux, through bpf(2)) and ``"vm"``
(an in-process runtime with its own verifier and interpreter).

>>> import ebpf
>>> ebpf.isa.disassemble(ebpf.isa.assemble("r0 = 42\\nexit"))
'r0 = 0x2a\\nexit'

Importing is cheap: nothing touches the kernel or parses BTF until asked.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import (
    AttachError,
    BTFError,
    CompileError,
    ConfigError,
    ELFError,
    Error,
    InstructionError,
    KeyExistsError,
    LoadError,
    MapError,
    MapFullError,
    MapIndexError,
    MapTypeError,
    NotSupportedError,
    PrivilegeError,
    RuntimeFault,
    SystemCallError,
    VerifierError,
)

__version__ = "0.1.0"

# Public names defined in submodules, imported on first use (fast `import ebpf`).
_LAZY = {
    "ObjectSpec": ".spec",
    "ProgramSpec": ".spec",
    "MapSpec": ".spec",
    "VariableSpec": ".spec",
    "PinType": ".spec",
    "Object": ".objects",
    "Variable": ".objects",
    "load": ".objects",
    "default_backend": ".backend",
    "Program": ".programs",
    "RunResult": ".programs",
    "Map": ".maps",
    "MapBatch": ".mapbatch",
    "Link": ".links",
    "Struct": ".codec",
    "RingBuffer": ".ringbuf",
    "UserRingBuffer": ".userringbuf",
    "RecordBatch": ".recordbatch",
    "PerfBuffer": ".perfbuf",
    "compile": ".toolchain",
    "Histogram": ".histogram",
    "btf": ".btf",
    "elf": ".elf",
    "toolchain": ".toolchain",
    "kernel": ".kernel",
    "vm": ".vm",
    "verify": ".verifier",
    "verifier": ".verifier",
    "isa": ".isa",
    "AttachType": ".uapi",
    "HelperId": ".uapi",
    "LinkType": ".uapi",
    "MapType": ".uapi",
    "ProgramType": ".uapi",
}

if TYPE_CHECKING:  # pragma: no cover
    from . import btf, elf, isa, kernel, toolchain, verifier, vm  # noqa: F401
    from .backend import default_backend  # noqa: F401
    from .codec import Struct  # noqa: F401
    from .links import Link  # noqa: F401
    from .mapbatch import MapBatch  # noqa: F401
    from .maps import Map  # noqa: F401
    from .objects import Object, Variable, load  # noqa: F401
    from .programs import Program, RunResult  # noqa: F401
    from .recordbatch import RecordBatch  # noqa: F401
    from .spec import MapSpec, ObjectSpec, PinType, ProgramSpec, VariableSpec  # noqa: F401
    from .uapi import AttachType, HelperId, LinkType, MapType, ProgramType  # noqa: F401
    from .userringbuf import UserRingBuffer  # noqa: F401
    from .verifier import verify  # noqa: F401


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'ebpf' has no attribute {name!r}")
    module = import_module(mod, __name__)
    value = module if mod.lstrip(".") == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AttachError", "BTFError", "CompileError", "ConfigError", "ELFError", "Error",
    "InstructionError", "KeyExistsError", "LoadError", "MapError", "MapFullError",
    "MapIndexError", "MapTypeError", "NotSupportedError", "PrivilegeError", "RuntimeFault",
    "SystemCallError", "VerifierError", *sorted(_LAZY),
]
