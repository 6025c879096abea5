"""Kernel programs: load a :class:`~ebpf.spec.ProgramSpec` with BPF_PROG_LOAD
(relocated by :mod:`.relocate`, its BTF facts from :mod:`.program_btf`), run it
with BPF_PROG_TEST_RUN, open pinned programs or programs by id.

>>> import ebpf
>>> spec = ebpf.ProgramSpec(name="ret2", type=ebpf.ProgramType.XDP,
...                         instructions=ebpf.isa.assemble("r0 = 2\\nexit"))
>>> with ebpf.Program.load(spec) as prog:
...     prog.test_run(b"\\0" * 64).retval
2
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import os
from typing import Any

from ..errors import (
    Error,
    LoadError,
    NotSupportedError,
    PrivilegeError,
    SystemCallError,
    VerifierError,
)
from ..isa import encode
from ..loader.types import known_type
from ..programs import Program, RunResult
from ..spec import ProgramSpec
from ..uapi import Command, ProgramType, consts, structs
from . import commands, lockdown, probes
from . import sys as bsys
from .maps import ENOTSUPP, sanitize_name
from .program_btf import attach_btf_target, ext_target, func_line_info
from .relocate import FdArray, relocate

log = logging.getLogger("ebpf.kernel")

__all__ = ["KernelProgram", "load_program", "relocate", "attach_btf_target", "open_pinned_program",
           "open_program_by_id"]

_POISON_TEXT = str(0xBAD2310)  # "invalid func unknown#195896080" in the verifier log
MAX_LOG_SIZE = 1 << 30  # what the kernel accepts at most (UINT_MAX >> 2)
FIRST_LOG_SIZE = 1 << 18


# Program types whose BPF_PROG_TEST_RUN handler accepts ctx_in only: no
# data_in/out, ctx_out, repeat or duration (bpf_prog_test_run_raw_tp/_syscall).
_CTX_ONLY_TYPES = frozenset({ProgramType.RAW_TRACEPOINT, ProgramType.RAW_TRACEPOINT_WRITABLE,
                             ProgramType.SYSCALL})


class KernelProgram(Program):
    """A program loaded into the kernel (``fd``; ``close()`` unloads it once
    nothing else — a link, a pin, a program array — holds it)."""

    backend = "kernel"

    def __init__(self, spec: ProgramSpec, fd: bsys.FD, *, verifier_log: str = ""):
        super().__init__(spec)
        self._fd = fd
        self._id = 0
        #: the verifier's log when loading asked for one (``log_level``)
        self.verifier_log = verifier_log

    @property
    def fd(self) -> int:
        if self._fd.closed:
            raise LoadError(f"program {self.name} is closed")
        return self._fd.fd

    @property
    def closed(self) -> bool:
        return self._fd.closed

    @property
    def id(self) -> int:
        """The kernel's id of this program."""
        if not self._id:
            self._id = self.info().id
        return self._id

    def info(self):
        """A :class:`ebpf.kernel.info.ProgramInfo` snapshot."""
        from .info import prog_info_from_fd

        return prog_info_from_fd(self.fd)

    def xlated(self) -> str:
        """The instructions after the verifier rewrote them, as text."""
        from .info import dump_xlated

        return dump_xlated(self.fd, by_fd=True)

    def jited(self) -> str:
        """The JITed machine code, disassembled (needs capstone)."""
        from .info import dump_jited

        return dump_jited(self.fd, by_fd=True)

    def test_run(self, data: bytes = b"", *, repeat: int = 1, ctx: bytes | None = None,
                 data_size_out: int | None = None, flags: int = 0, cpu: int = 0) -> RunResult:
        """BPF_PROG_TEST_RUN: run ``repeat`` times on ``data`` (packet) and ``ctx``.

        ``data_out`` gets ``data_size_out`` bytes (default: input + 256, room for
        a grown packet); ``ctx`` comes back changed when passed in.

        RAW_TRACEPOINT and SYSCALL programs run once on ``ctx`` alone (the kernel
        refuses packet data, repeat counts and an output context for them);
        ``repeat`` must stay 1. A SYSCALL program's writes to its context come
        back as ``RunResult.ctx``; a raw tracepoint's context does not change.
        """
        if self.type in _CTX_ONLY_TYPES:
            return self._test_run_ctx_only(data, repeat=repeat, ctx=ctx, flags=flags, cpu=cpu)
        data = bytes(data or b"")
        din = ctypes.create_string_buffer(data, max(len(data), 1))
        out_size = data_size_out if data_size_out is not None else (len(data) + 256 if data else 0)
        ctx_in = bytes(ctx) if ctx is not None else None
        cin = cout = None
        if ctx_in is not None:
            cin = ctypes.create_string_buffer(ctx_in, max(len(ctx_in), 1))
            cout = ctypes.create_string_buffer(max(len(ctx_in), 1))
        for _ in range(6):
            dout = ctypes.create_string_buffer(max(out_size, 1)) if out_size else None
            attr = structs.ProgTestRunAttr(
                prog_fd=self.fd, repeat=max(repeat, 1) if repeat else 0, flags=flags, cpu=cpu)
            if data:
                attr.data_in = ctypes.addressof(din)
                attr.data_size_in = len(data)
            if dout is not None:
                attr.data_out = ctypes.addressof(dout)
                attr.data_size_out = out_size
            if ctx_in is not None and cin is not None and cout is not None:
                attr.ctx_in = ctypes.addressof(cin)
                attr.ctx_size_in = len(ctx_in)
                attr.ctx_out = ctypes.addressof(cout)
                attr.ctx_size_out = len(ctx_in)
            try:
                commands.prog_test_run(attr, raw=True)
            except OSError as e:
                err = e.errno or 0
                if err == _errno.ENOSPC and dout is not None and out_size < (1 << 24):
                    out_size = max(out_size * 4, attr.data_size_out, 4096)
                    continue
                raise self._test_run_error(err) from None
            got = attr.data_size_out if dout is not None else 0
            return RunResult(
                retval=attr.retval, data=dout.raw[:got] if dout is not None else b"",
                duration_ns=attr.duration,
                ctx=cout.raw[:attr.ctx_size_out] if cout is not None else None)
        raise SystemCallError(f"test run of {self.name}: output keeps growing", _errno.ENOSPC)

    def _test_run_ctx_only(self, data: bytes, *, repeat: int, ctx: bytes | None,
                           flags: int, cpu: int) -> RunResult:
        """Test run for the types whose kernel handler takes ``ctx_in`` only."""
        what = f"test run of program {self.name} ({self.type.name})"
        if data:
            raise SystemCallError(f"{what}: takes no packet data, pass ctx= instead", _errno.EINVAL)
        if repeat not in (0, 1):
            raise SystemCallError(f"{what}: the kernel runs these programs once; "
                                  f"repeat={repeat} is not accepted", _errno.EINVAL)
        syscall = self.type == ProgramType.SYSCALL
        if syscall and (flags or cpu):
            raise SystemCallError(f"{what}: flags and cpu are not accepted for SYSCALL programs",
                                  _errno.EINVAL)
        if not syscall and cpu and not flags & consts.BPF_F_TEST_RUN_ON_CPU:
            flags |= consts.BPF_F_TEST_RUN_ON_CPU
        raw = bytes(ctx) if ctx is not None else b""
        cin = ctypes.create_string_buffer(raw, max(len(raw), 1))
        attr = structs.ProgTestRunAttr(prog_fd=self.fd, repeat=0, flags=flags, cpu=cpu)
        if raw:
            attr.ctx_in = ctypes.addressof(cin)
            attr.ctx_size_in = len(raw)
        try:
            commands.prog_test_run(attr, raw=True)
        except OSError as e:
            raise self._test_run_error(e.errno or 0) from None
        out = cin.raw[:len(raw)] if ctx is not None else None
        return RunResult(retval=attr.retval, data=b"", duration_ns=0, ctx=out)

    def _test_run_error(self, err: int) -> Error:
        what = f"test run of program {self.name} ({self.type.name})"
        if err in (ENOTSUPP, _errno.EOPNOTSUPP, _errno.ENOTSUP):
            return NotSupportedError(f"BPF_PROG_TEST_RUN for {self.type.name} programs")
        if err in (_errno.EPERM, _errno.EACCES):
            return PrivilegeError(what, err, capability="CAP_SYS_ADMIN")
        hint = ""
        if err == _errno.EINVAL:
            hint = " (data or ctx of the wrong size for this program type?)"
        return SystemCallError(what + hint, err)

    def pin(self, path: str) -> None:
        """Pin at ``path`` in bpffs."""
        from .pin import ensure_bpffs_dir

        ensure_bpffs_dir(os.path.dirname(os.path.abspath(path)))
        commands.obj_pin(self.fd, path, what=f"pinning program {self.name} at {path}")

    def attach(self, **target: Any):
        """Attach (see :func:`ebpf.kernel.attach.attach_program`); returns a Link."""
        from .attach import attach_program

        return attach_program(self, **target)

    def close(self) -> None:
        self._fd.close()
        self._closed = True

    def __del__(self) -> None:
        try:
            self._fd.close()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else f" fd={self._fd._fd}"
        return f"<KernelProgram {self.name!r} {self.type.name} section={self.section!r}{state}>"


# ---- loading ----------------------------------------------------------------------

def _capability_for(ptype: ProgramType) -> str:
    return bsys.capability_for(Command.PROG_LOAD, int(ptype))


def load_program(spec: ProgramSpec, maps: dict[str, Any] | None = None, *,
                 btf: Any = None, kconfig_offsets: dict[str, int] | None = None,
                 log_level: int = 0, log_size: int = 0, attach_prog_fd: int = 0,
                 attach_target: Any = None, ifindex: int = 0,
                 struct_ops: tuple[int, int, str] | None = None,
                 **options: Any) -> KernelProgram:
    """Load ``spec`` into the kernel.

    ``maps`` (name → KernelMap) resolve map references; ``btf`` is the object's
    BTF already loaded (:class:`ebpf.kernel.btf.KernelBTF`) — without it the
    spec's BTF is loaded here when it has func/line info. ``log_level`` > 0
    keeps the verifier's log on success (``prog.verifier_log``). A rejected
    program raises :class:`VerifierError` with the whole log. A ``freplace``
    (EXT) program needs ``attach_target``: the loaded program (or its fd) whose
    function ``spec.attach_to`` it replaces. A struct_ops program needs
    ``struct_ops=(kernel struct BTF id, member index, module)`` (objects set it).
    """
    spec = known_type(spec)
    if not spec.instructions:
        raise LoadError(f"program {spec.name} has no instructions")
    unknown = set(options) - {"jit", "executor", "budget"}  # the vm backend's options are accepted
    if unknown:
        raise LoadError(f"program {spec.name}: unknown load option(s) "
                        f"{', '.join(sorted(unknown))} for the kernel backend")
    probes.bump_memlock()
    fd_array = FdArray()
    own_btf = None
    target: tuple[int, str] | None
    try:
        if spec.type == ProgramType.EXT:
            target, attach_prog_fd = ext_target(spec, attach_target)
        elif spec.type == ProgramType.STRUCT_OPS:
            if struct_ops is None:
                raise LoadError(f"program {spec.name} is a struct_ops callback: load it with "
                                "the object whose struct_ops map points to it")
            target = (struct_ops[0], struct_ops[2])
        else:
            target = attach_btf_target(spec)
        poisoned: list[Any] = []
        insns = relocate(spec, maps, kconfig_offsets=kconfig_offsets, fd_array=fd_array,
                         core_poisoned=poisoned)


        raw = encode(insns)
        if btf is None and spec.btf is not None and spec.func_infos:
            try:
                from .btf import load_btf

                own_btf = load_btf(spec.btf)
                btf = own_btf
            except Error as e:
                log.debug("program %s: BTF not loaded (%s); loading without", spec.name, e)
        blob = None
        if btf is not None:
            blob = getattr(btf, "blob", None)
            if blob is None and getattr(btf, "spec", None) is not None:
                try:
                    blob = btf.spec.to_bytes()
                except Exception:  # noqa: BLE001
                    blob = None
        attach_btf_obj_fd = 0
        if target is not None and target[1] not in ("vmlinux", "target", ""):
            from .btf import module_btf_fd

            mod_fd = module_btf_fd(target[1])
            fd_array.fds.append(mod_fd)  # closed with the rest
            attach_btf_obj_fd = mod_fd.fd
        try:
            eat = struct_ops[1] if spec.type == ProgramType.STRUCT_OPS and struct_ops else None
            fd, vlog = _prog_load(spec, raw, btf, blob, target,
                                  attach_btf_obj_fd or attach_prog_fd, fd_array, log_level,
                                  log_size, ifindex, eat)
        except VerifierError as e:
            if poisoned and _POISON_TEXT in e.log:
                reasons = "; ".join(f"instruction {r.index}: {r.reason}" for r in poisoned)
                raise VerifierError(
                    f"loading program {spec.name}: reached code whose CO-RE relocation "
                    f"failed against this kernel ({reasons})", e.log, e.errno,
                    program=spec.name) from None
            raise
        return KernelProgram(spec, fd, verifier_log=vlog)
    finally:
        fd_array.close()
        if own_btf is not None:
            own_btf.close()


def _expected_attach_type(spec: ProgramSpec) -> int:
    """The attach type number for BPF_PROG_LOAD: the spec's, else the kernel number
    the section name gives when ``ebpf.uapi.AttachType`` has no member for it."""
    if spec.attach_type is not None:
        return int(spec.attach_type)
    info = spec.section_info
    if info is not None and info.attach_type_value is not None:
        return int(info.attach_type_value)
    return 0


def _prog_load(spec: ProgramSpec, raw: bytes, btf: Any, blob: bytes | None,
               target: tuple[int, str] | None, attach_fd: int, fd_array: FdArray,
               log_level: int, log_size: int, ifindex: int,
               expected_attach_type: int | None = None) -> tuple[bsys.FD, str]:
    insns = ctypes.create_string_buffer(raw, len(raw))
    lic = bsys.c_string(spec.license or "")
    name = sanitize_name(spec.name).encode()
    fa = fd_array.buffer()
    with_btf = btf is not None
    fbuf = lbuf = None
    nf = nl = 0
    if with_btf:
        fbuf, nf, lbuf, nl = func_line_info(spec, blob)

    def attr_for(level: int, buf: ctypes.Array | None, size: int, btf_on: bool) -> structs.ProgLoadAttr:
        a = structs.ProgLoadAttr(
            prog_type=int(spec.type), insn_cnt=len(raw) // 8, insns=ctypes.addressof(insns),
            license=ctypes.addressof(lic), kern_version=spec.kernel_version or
            (probes.kernel_version_code() if spec.type == ProgramType.KPROBE else 0),
            prog_flags=spec.flags, prog_name=name, prog_ifindex=ifindex,
            expected_attach_type=expected_attach_type if expected_attach_type is not None else
            _expected_attach_type(spec))
        if target is not None:
            a.attach_btf_id = target[0]
        if attach_fd:
            a.attach_prog_fd = attach_fd
        if fa is not None:
            a.fd_array = ctypes.addressof(fa)
        if btf_on:
            a.prog_btf_fd = btf.fd
            if fbuf is not None:
                a.func_info_rec_size, a.func_info, a.func_info_cnt = 8, ctypes.addressof(fbuf), nf
            if lbuf is not None:
                a.line_info_rec_size, a.line_info, a.line_info_cnt = 16, ctypes.addressof(lbuf), nl
        if level and buf is not None:
            a.log_level, a.log_size, a.log_buf = level, size, ctypes.addressof(buf)
        return a

    needed = [0]  # log_true_size the kernel reported (Linux 6.4+)

    def attempt(level: int, size: int, btf_on: bool) -> tuple[bsys.FD | None, int, str]:
        buf = ctypes.create_string_buffer(size) if level else None
        for _ in range(5):
            attr = attr_for(level, buf, size, btf_on)
            try:
                fd = commands.prog_load(attr, raw=True)
            except OSError as e:
                if e.errno == _errno.EAGAIN:
                    continue
                needed[0] = attr.log_true_size
                return None, e.errno or _errno.EINVAL, buf.value.decode(errors="replace") if buf else ""
            return fd, 0, buf.value.decode(errors="replace") if buf else ""
        return None, _errno.EAGAIN, ""

    size = min(max(log_size, FIRST_LOG_SIZE), MAX_LOG_SIZE) if log_level else 0
    fd, err, text = attempt(log_level, size, with_btf)
    if fd is not None:
        return fd, text
    # Reload with a log, growing the buffer until the whole log fits.
    level = log_level or 1
    size = min(max(log_size, FIRST_LOG_SIZE), MAX_LOG_SIZE)
    err2 = err
    while True:
        fd, err2, text = attempt(level, size, with_btf)
        if fd is not None:  # a transient failure went away
            return fd, text if log_level else ""
        if err2 == _errno.ENOSPC and size < MAX_LOG_SIZE:
            grown = needed[0] + 1 if needed[0] >= size else size * 4
            size = min(grown, MAX_LOG_SIZE)
            continue
        break
    if with_btf and err2 == _errno.EINVAL and _btf_complaint(text):
        log.debug("program %s: kernel refused its BTF info; loading without:\n%s", spec.name, text)
        fd, err3, text3 = attempt(level, size, False)
        if fd is not None:
            return fd, text3 if log_level else ""
        err2, text = err3, text3 or text
    raise _load_error(spec, err2 if err2 != _errno.ENOSPC else err, text)


# Program types a locked-down kernel refuses to load, root included (trampolines, LSM,
# iterators); KPROBE is not here: kprobe refusals happen at attach, not at load.
_LOCKDOWN_REFUSED = frozenset({ProgramType.TRACING, ProgramType.LSM, ProgramType.EXT})


def _verifier_ran(text: str) -> bool:
    """Whether the log shows the verifier at work (not a bare refusal: an empty log,
    or only the end-of-log statistics of a check that processed no instruction)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return False
    return not all(ln.startswith("processed 0 insns") for ln in lines)


def _btf_complaint(text: str) -> bool:
    t = text.lower()
    return any(w in t for w in ("func_info", "line_info", "btf", "invalid func info",
                                "invalid line info"))


def _load_error(spec: ProgramSpec, err: int, text: str) -> Error:
    what = f"loading program {spec.name} ({spec.type.name}, section {spec.section!r})"
    if err in (_errno.EPERM, _errno.EACCES) and not _verifier_ran(text):
        if spec.type in _LOCKDOWN_REFUSED:
            reason = lockdown.refusal()
            if reason:
                return PrivilegeError(what, err, reason=reason)
        return PrivilegeError(what, err, capability=_capability_for(spec.type))
    if err in (_errno.EINVAL, _errno.EOPNOTSUPP, ENOTSUPP) and not text.strip() and \
            not probes.prog_type_supported(spec.type):
        return NotSupportedError(f"program type {spec.type.name}", detail=f"program {spec.name}")
    if text.strip():
        return VerifierError(what, text, err, program=spec.name)
    return LoadError(what, err)


def _wrap_prog_fd(fd: bsys.FD) -> KernelProgram:
    from .info import prog_info_from_fd

    try:
        info = prog_info_from_fd(fd.fd)
    except Exception:
        fd.close()
        raise
    try:
        ptype = ProgramType(info.type)
    except ValueError:
        ptype = info.type  # type: ignore[assignment]
    prog = KernelProgram(ProgramSpec(name=info.name, type=ptype), fd)
    prog._id = info.id
    return prog


def open_pinned_program(path: str) -> KernelProgram:
    """Open the program pinned at ``path`` (its spec holds what the kernel
    reports: name and type; no instructions)."""
    from .pin import open_pinned

    fd = open_pinned(path, "prog", LoadError)
    return _wrap_prog_fd(fd)


def open_program_by_id(prog_id: int) -> KernelProgram:
    """Open a loaded program by id (needs CAP_SYS_ADMIN)."""
    return _wrap_prog_fd(commands.get_fd_by_id(Command.PROG_GET_FD_BY_ID, prog_id,
                                               error=LoadError, kind="program"))
