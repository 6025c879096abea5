"""``Program``: a loaded eBPF program, whichever backend loaded it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._internal.closeable import Closeable
from .backend import get_backend
from .errors import NotSupportedError
from .spec import ProgramSpec
from .uapi import ProgramType


@dataclass
class RunResult:
    """What a test run gave: the return value (r0), the packet after the run
    (``data``, e.g. after bpf_xdp_adjust_head), the context after the run
    (``ctx``, when one was passed) and the mean time per run in nanoseconds."""

    retval: int
    data: bytes = b""
    duration_ns: int = 0
    ctx: bytes | None = None


class Program(Closeable):
    """A loaded program. Backends implement :meth:`test_run` and :meth:`attach`."""

    backend: str = ""
    #: the Object this program was loaded with, kept alive by the program (see Object)
    _object: object | None = None

    def __init__(self, spec: ProgramSpec):
        self.spec = spec
        self._closed = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def type(self) -> ProgramType:
        return self.spec.type

    @property
    def section(self) -> str:
        return self.spec.section

    def test_run(self, data: bytes = b"", *, repeat: int = 1, ctx: bytes | None = None,
                 data_size_out: int | None = None, flags: int = 0, cpu: int = 0) -> RunResult:
        """Run the program once (or ``repeat`` times) on ``data``/``ctx``
        with BPF_PROG_TEST_RUN semantics."""
        raise NotImplementedError

    def attach(self, **target: Any):
        """Attach to the event the section names, plus ``target`` (ifname=,
        sock=, cgroup=, binary=/symbol=/pid=, ...). Returns a :class:`ebpf.Link`."""
        raise NotSupportedError("attach", detail=f"on the {self.backend} backend")

    def jited(self) -> str:
        """The machine code the program runs as, disassembled (the kernel's JIT;
        the vm's native executor)."""
        raise NotSupportedError("machine code", detail=f"on the {self.backend} backend")

    @property
    def fd(self) -> int:
        raise NotSupportedError("file descriptors", detail=f"the {self.backend} backend has none")

    def pin(self, path: str) -> None:
        raise NotSupportedError("pinning", detail=f"the {self.backend} backend has no bpffs")

    def close(self) -> None:
        self._closed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.type.name} section={self.section!r}>"

    @classmethod
    def load(cls, spec: ProgramSpec, backend: str = "kernel", **options: Any) -> Program:
        """Load a single program (its references must be resolvable without an object)."""
        return get_backend(backend).load_program(spec, **options)
