"""Socket programs: SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_EBPF, sockmap/sockhash programs."""

from __future__ import annotations

import os
from typing import Any

from ...errors import AttachError
from ...links import Link
from ...uapi import structs
from .. import commands
from .. import sys as bsys
from ..links import FDLink, ProgAttachLink, attach_socket_filter, is_unsupported, link_fd_create
from .common import no_extra, prog_name, socket_of


def attach_socket(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                  target: dict[str, Any]) -> Link:
    return attach_socket_filter(prog, socket_of("socket filter", prog, target,
                                                "a socket or its fd"))


def attach_reuseport(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                     target: dict[str, Any]) -> Link:
    sock = socket_of("sk_reuseport", prog, target, "a socket of the SO_REUSEPORT group")
    return attach_socket_filter(prog, sock, reuseport=True)


def attach_sockmap(kind: str):
    def handler(prog, attach_to, atype, retprobe, target):
        m = target.pop("map", None)
        if "attach_type" in target:
            atype = int(target.pop("attach_type"))
        no_extra(kind, prog, target)
        if m is None:
            raise AttachError(f"{kind} program {prog_name(prog)} needs map= (a sockmap or sockhash)")
        if atype is None:
            raise AttachError(f"{kind} program {prog_name(prog)} needs attach_type= "
                              "(its section does not say: stream_parser, stream_verdict, ...)")
        mfd = m if isinstance(m, int) else int(m.fd)
        desc = f"{kind} on map {getattr(m, 'name', mfd)}"
        try:
            fd = link_fd_create(prog, mfd, atype, what=f"attaching {prog_name(prog)} to {desc}")
            return FDLink(prog, fd, desc)
        except AttachError as e:
            if not is_unsupported(e):
                raise
        dup = bsys.FD(os.dup(mfd))
        try:
            attr = structs.ProgAttachAttr(target_fd=dup.fd, attach_bpf_fd=int(prog.fd),
                                       attach_type=atype)
            commands.prog_attach(attr, what=f"attaching {prog_name(prog)} to {desc}",
                     error=AttachError)
        except BaseException:
            dup.close()
            raise
        return ProgAttachLink(prog, dup, atype, desc + " (prog_attach)")
    return handler
