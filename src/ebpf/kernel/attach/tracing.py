"""BTF tracing programs (fentry/fexit/fmod_ret/tp_btf), LSM and freplace: targets fixed at load."""

from __future__ import annotations

import errno as _errno
from typing import Any

from ...errors import AttachError, NotSupportedError, SystemCallError
from ...links import Link
from ...uapi import AttachType, ProgramType, structs
from .. import commands
from ..links import FDLink, is_unsupported, link_fd_create
from .common import attach_name, no_extra, prog_name


def attach_tracing(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                   target: dict[str, Any]) -> Link:
    """fentry/fexit/fmod_ret/tp_btf/lsm (target fixed at load through attach_btf_id)."""
    cookie = int(target.pop("cookie", 0))
    no_extra("tracing", prog, target)
    what = f"attaching {prog_name(prog)} ({prog.spec.section or 'tracing'})"
    if atype is None:
        atype = int(AttachType.LSM_MAC) if prog.spec.type == ProgramType.LSM else \
            int(AttachType.TRACE_FENTRY)

    def setup(attr):
        if cookie:
            attr.tracing.cookie = cookie
    try:
        fd = link_fd_create(prog, 0, atype, setup=setup, what=what)
    except AttachError as e:
        if not is_unsupported(e) or cookie:
            raise _explain_tracing(prog, attach_to, e) from None
        attr = structs.RawTracepointOpenAttr(name=0, prog_fd=int(prog.fd))
        try:
            fd = commands.raw_tracepoint_open(attr, what=what, error=AttachError)
        except AttachError as e2:
            raise _explain_tracing(prog, attach_to, e2) from None
    return FDLink(prog, fd, f"{prog.spec.section or attach_name(atype)}")


def _explain_tracing(prog: Any, attach_to: str, e: SystemCallError) -> SystemCallError:
    if getattr(e, "errno", None) == _errno.EINVAL:
        return AttachError(f"attaching {prog_name(prog)} to {attach_to or '?'}: the kernel refused "
                           "(was the program loaded with its BTF target? fentry/fexit/lsm "
                           "targets are fixed at load time)", e.errno)
    return e


def attach_struct_ops(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                      target: dict[str, Any]) -> Link:
    raise NotSupportedError("attaching struct_ops programs one by one",
                            detail="register the struct_ops map instead")
