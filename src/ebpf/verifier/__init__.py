"""Our own static verifier: proves a program safe before the vm runs it, with
the kernel's rules and wording, on any OS and without privileges.

>>> import ebpf
>>> from ebpf.isa import assemble
>>> spec = ebpf.ProgramSpec(name="ok", type=ebpf.ProgramType.SOCKET_FILTER,
...                         instructions=assemble("r0 = 0\\nexit"))
>>> ebpf.verify(spec).accepted
True
>>> bad = ebpf.ProgramSpec(name="bad", type=ebpf.ProgramType.SOCKET_FILTER,
...                        instructions=assemble("exit"))
>>> try:
...     ebpf.verify(bad)
... except ebpf.VerifierError as e:
...     print(e.log.splitlines()[-3])
R0 !read_ok

Layout: :mod:`.cfg` (control flow, structural checks), :mod:`.tnum` and
:mod:`.scalar` (the numeric domains), :mod:`.types` and :mod:`.state`
(pointer kinds, stack slots, pruning), :mod:`.memory` and :mod:`.calls` (the
rules), :mod:`.platform` (helper prototypes and contexts as data),
:mod:`.checker` (the walk), :mod:`.log` (the kernel-style log).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VerifierError

log = logging.getLogger("ebpf.verifier")

__all__ = ["VerificationResult", "verify", "verify_program"]


@dataclass
class VerificationResult:
    """The verdict on one program."""

    program: str
    accepted: bool
    log: str
    #: the rejection reason (the kernel-style message), "" when accepted
    error: str = ""
    #: slot of the instruction the error is reported at (-1: none)
    insn: int = -1
    #: source line of that instruction (from BTF line info), when known
    source: str = ""
    processed_insns: int = 0
    total_states: int = 0
    verification_time_ns: int = 0
    stack_depth: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"program": self.program, "accepted": self.accepted, "error": self.error,
                "insn": self.insn, "source": self.source,
                "processed_insns": self.processed_insns, "total_states": self.total_states,
                "verification_time_ns": self.verification_time_ns,
                "stack_depth": self.stack_depth}

    def raise_for_status(self) -> VerificationResult:
        if not self.accepted:
            where = f" at insn {self.insn}" if self.insn >= 0 else ""
            src = f" ({self.source})" if self.source else ""
            raise VerifierError(f"program {self.program}: verifier rejected it{where}{src}: "
                                f"{self.error.splitlines()[0]}", self.log, program=self.program)
        return self


def with_kconfig(spec: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """``spec``'s maps with the ``.kconfig`` map's data filled in from this host
    (what the loaders put there), and each extern's offset in it."""
    from ..loader.kconfig import fill_kconfig_data

    maps = dict(spec.maps)
    kc = maps.get(".kconfig")
    if kc is None:
        return maps, {}
    data, offsets = fill_kconfig_data(spec.variables, kc.value_size)
    kc = kc.copy()  # the object holds zeros in its place: the loaders fill it
    kc.data = data
    maps[".kconfig"] = kc
    return maps, offsets


def tracing_args(prog: Any, kernel_btf: Any = None) -> tuple[bool | str, ...] | None:
    """For a BTF-typed tracing program (``tp_btf``, ``fentry``/``fexit``/``fmod_ret``,
    ``lsm``): for each u64 of its context, what the kernel passes there, read from
    the attach target's prototype in the kernel's BTF (``kernel_btf``, default the
    running kernel's): False for a scalar, a struct name for a pointer to that
    struct, True for another pointer. ``None`` when that cannot be known (no kernel
    BTF, target not found): every slot may then hold a pointer."""
    from ..errors import Error
    from ..uapi import AttachType, ProgramType

    if prog.type not in (ProgramType.TRACING, ProgramType.LSM) or not prog.attach_to:
        return None
    try:
        from .. import btf as B

        spec = kernel_btf if kernel_btf is not None else B.load_kernel_btf()
        at = prog.attach_type
        name = prog.attach_to.rsplit(":", 1)[-1]  # fentry/module:func
        proto: Any
        ret: Any = None
        if at == AttachType.TRACE_RAW_TP:
            proto = B.resolve(spec.type_by_name(f"btf_trace_{name}", kind="typedef"))
            if isinstance(proto, B.Pointer):
                proto = B.resolve(proto.type)
            if not isinstance(proto, B.FuncProto):
                return None
            params = list(proto.params)[1:]  # the first is the tracepoint's own data
        else:
            fname = f"bpf_lsm_{name}" if prog.type == ProgramType.LSM else name
            funcs = [f for f in spec.types_by_name(fname, kind="func") if isinstance(f, B.Func)]
            if not funcs:
                return None
            proto = B.resolve(funcs[0].type)
            if not isinstance(proto, B.FuncProto):
                return None
            params = list(proto.params)
            if at == AttachType.TRACE_FEXIT:
                ret = proto.return_type
        from .memory import pointer_kind

        return tuple(pointer_kind(B, t) for t in [p.type for p in params] +
                     ([ret] if ret is not None else []))
    except (Error, OSError):  # no kernel BTF here, or a target it lacks: nothing known
        return None


def verify_program(prog: Any, maps: dict[str, Any] | None = None, log_level: int = 1,
                   core_btf: Any = None, kconfig: dict[str, int] | None = None
                   ) -> VerificationResult:
    """Verify one :class:`ebpf.ProgramSpec` whose map references name entries of
    ``maps`` (MapSpecs by name). ``kconfig`` gives each ``.kconfig`` extern's offset
    in the ``.kconfig`` map: when that map's data is known, the externs read as the
    constants they are. Never raises for an unsafe program: see
    :attr:`VerificationResult.accepted`."""
    from .checker import Verifier
    from .types import Reject

    insns = _relocated(prog, core_btf)
    # the kernel's types (typed pointers' layouts): the CO-RE target when one is given
    kbtf = core_btf if hasattr(core_btf, "types_by_name") else None
    v = Verifier(insns, prog.type, maps=maps or {}, license=prog.license or "",
                 attach_type=prog.attach_type, log_level=log_level, btf=prog.btf,
                 name=prog.name, kconfig=kconfig,
                 ctx_args=tracing_args(prog, kbtf), kernel_btf=kbtf)
    start = time.perf_counter_ns()
    error, at = "", -1
    try:
        v.run()
    except Reject as e:
        error = str(e)
        at = getattr(v, "cur_slot", -1)
    except RecursionError:
        error, at = "program too complex to verify", getattr(v, "cur_slot", -1)
    elapsed = time.perf_counter_ns() - start
    for line in error.splitlines():
        v.log.always(line)
    st = v.stats
    v.log.always(f"processed {st.processed} insns (limit 1000000) max_states_per_insn "
                 f"{st.max_states_per_insn} total_states {st.states} peak_states {st.states} "
                 "mark_read 0")
    if not error:
        v.log.always("stack depth " + "+".join(str(d) for d in (st.stack_depths or [0])))
    v.log.always(f"verification time {elapsed // 1000} usec")
    source = ""
    if at >= 0 and hasattr(v, "cfg") and at < len(v.cfg.insns):
        ins = v.cfg.insns[at]
        li = getattr(ins, "line", None)
        if li is not None:
            source = f"{Path(str(li.file_name)).name}:{li.line}: {str(li.line_text).strip()}"
    return VerificationResult(prog.name, not error, v.log.text(), error, at if error else -1,
                              source, st.processed, st.states, elapsed, st.stack_depths)


def _relocated(prog: Any, core_btf: Any) -> list:
    insns = [i.copy() for i in prog.instructions]
    if not any(i.core is not None for i in insns) or prog.btf is None:
        return insns
    from ..btf.core import apply_core_relocations
    from ..loader.core import core_targets

    try:  # as the backends choose it (no kernel BTF: the compiled values stay)
        targets = core_targets(prog, core_btf)
    except Exception as e:  # noqa: BLE001 - an unreadable core_btf: keep compiled values
        log.info("program %s: CO-RE target BTF not read (%s)", prog.name, e)
        targets = [prog.btf]
    try:
        apply_core_relocations(insns, prog.btf, targets)
    except Exception as e:  # noqa: BLE001 - a failed relocation is reported by the walk
        log.info("program %s: CO-RE relocation failed: %s", prog.name, e)
    return insns


def verify(obj_or_spec: Any, program: str | None = None, log_level: int = 1, *,
           check: bool = True, core_btf: Any = None
           ) -> VerificationResult | list[VerificationResult]:
    """Verify a program, or every program of an object.

    ``obj_or_spec`` is a path to an ELF object, its bytes, an
    :class:`ebpf.ObjectSpec` or a single :class:`ebpf.ProgramSpec`. With
    ``program`` (or a ProgramSpec) the result is one :class:`VerificationResult`,
    else a list in the object's order. With ``check`` (the default) a rejection
    raises :class:`ebpf.VerifierError` whose ``.log`` is the verifier log.
    """
    from ..spec import ObjectSpec, ProgramSpec

    if isinstance(obj_or_spec, ProgramSpec):
        res = verify_program(obj_or_spec, {}, log_level, core_btf)
        return res.raise_for_status() if check else res
    if isinstance(obj_or_spec, ObjectSpec):
        spec = obj_or_spec
    elif isinstance(obj_or_spec, (bytes, bytearray)):
        spec = ObjectSpec.from_bytes(bytes(obj_or_spec))
    elif isinstance(obj_or_spec, (str, os.PathLike)):
        spec = ObjectSpec.from_file(os.fspath(obj_or_spec))
    else:
        raise TypeError(f"verify() takes a path, bytes, ObjectSpec or ProgramSpec, not "
                        f"{type(obj_or_spec).__name__}")
    maps, kconfig = with_kconfig(spec)
    if program is not None:
        if program not in spec.programs:
            from ..errors import LoadError

            raise LoadError(f"no program {program!r} in the object (it has "
                            f"{', '.join(sorted(spec.programs)) or 'none'})")
        res = verify_program(spec.programs[program], maps, log_level, core_btf, kconfig)
        return res.raise_for_status() if check else res
    results = [verify_program(p, maps, log_level, core_btf, kconfig)
               for p in spec.programs.values()]
    if check:
        for r in results:
            r.raise_for_status()
    return results
