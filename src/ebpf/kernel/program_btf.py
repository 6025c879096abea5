"""What a program load tells the kernel from BTF: the BTF id of the kernel
function or type a tracing, LSM or iterator program attaches to (or of the
function a ``freplace`` program replaces), and the program's func and line info."""

from __future__ import annotations

import ctypes
import errno as _errno
import struct
from typing import Any

from ..errors import BTFError, LoadError
from ..spec import ProgramSpec
from ..uapi import AttachType, ProgramType

__all__ = ["attach_btf_target", "ext_target", "func_line_info"]


def attach_btf_target(spec: ProgramSpec) -> tuple[int, str] | None:
    """(BTF type id, module name) of the kernel function/type a tracing, LSM or
    iterator program attaches to, or None for other programs."""
    from .btf import find_kernel_type

    at = spec.attach_type
    target = spec.attach_to
    if spec.type not in (ProgramType.TRACING, ProgramType.LSM) or at is None:
        return None
    if not target:
        raise LoadError(f"program {spec.name} ({spec.section!r}) needs an attach target "
                        "in its section name")
    module = None
    if ":" in target and at != AttachType.TRACE_ITER:
        module, target = target.split(":", 1)
    if at == AttachType.TRACE_RAW_TP:
        name, kind = "btf_trace_" + target, "typedef"
    elif at == AttachType.TRACE_ITER:
        name, kind = "bpf_iter_" + target, "func"
    elif spec.type == ProgramType.LSM:
        name, kind = "bpf_lsm_" + target, "func"
    else:
        name, kind = target, "func"
    try:
        kt = find_kernel_type(name, kind)
    except BTFError:
        raise LoadError(f"program {spec.name}: attach target {name!r} ({kind}) is not in the "
                        f"kernel's BTF", _errno.ESRCH) from None
    if module and kt.module != module:
        raise LoadError(f"program {spec.name}: {name} is not in module {module}")
    return kt.type_id, kt.module


def ext_target(spec: ProgramSpec, attach_target: Any) -> tuple[tuple[int, str], int]:
    """(BTF id of the replaced function in the target's BTF, target fd)."""
    from .btf import btf_spec_by_id
    from .info import prog_info_from_fd

    if attach_target is None:
        raise LoadError(f"program {spec.name} ({spec.section!r}) replaces function "
                        f"{spec.attach_to!r} of another program: pass attach_target=PROGRAM")
    fd = attach_target if isinstance(attach_target, int) else attach_target.fd
    info = prog_info_from_fd(fd)
    if not info.btf_id:
        raise LoadError(f"program {spec.name}: target program {info.name!r} has no BTF, "
                        "so its functions cannot be replaced")
    tbtf = btf_spec_by_id(info.btf_id)
    try:
        func = tbtf.type_by_name(spec.attach_to, kind="func")
    except BTFError:
        raise LoadError(f"program {spec.name}: target program {info.name!r} has no "
                        f"function {spec.attach_to!r}") from None
    return (tbtf.type_id(func), "target"), fd



def btf_strings(blob: bytes) -> dict[str, int]:
    """String → first offset in a raw BTF blob's string section."""
    if len(blob) < 24:
        return {}
    _magic, _ver, _flags, hdr_len, _toff, _tlen, soff, slen = struct.unpack_from("<HBBIIIII", blob)
    start = hdr_len + soff
    strs = blob[start:start + slen]
    out: dict[str, int] = {}
    pos = 0
    for piece in strs.split(b"\0"):
        s = piece.decode(errors="replace")
        out.setdefault(s, pos)
        pos += len(piece) + 1
    return out


def func_line_info(spec: ProgramSpec, blob: bytes | None) -> tuple[Any, int, Any, int]:
    funcs = sorted(spec.func_infos, key=lambda f: f.insn_off)
    fbuf = None
    if funcs:
        fbuf = ctypes.create_string_buffer(
            b"".join(struct.pack("<II", f.insn_off, f.type_id) for f in funcs), 8 * len(funcs))
    lbuf = None
    lines = sorted(spec.line_infos, key=lambda li: li.insn_off)
    if lines and blob is not None:
        strings = btf_strings(blob)
        recs: list[bytes] = []
        for li in lines:
            fo = strings.get(li.file_name)
            lo = strings.get(li.line_text)
            if fo is None or lo is None:
                recs.clear()
                break
            recs.append(struct.pack("<IIII", li.insn_off, fo, lo,
                                    (li.line << 10) | (li.column & 0x3FF)))
        if recs:
            lbuf = ctypes.create_string_buffer(b"".join(recs), 16 * len(recs))
        else:
            lines = []
    return fbuf, len(funcs), lbuf, len(lines) if lbuf is not None else 0

