"""cgroup programs: bpf_link (Linux 5.7+), else BPF_PROG_ATTACH."""

from __future__ import annotations

import errno
from typing import Any

from ...errors import AttachError
from ...links import Link
from ...uapi import consts, structs
from .. import commands
from .. import sys as bsys
from ..links import FDLink, ProgAttachLink, is_unsupported, link_fd_create
from ..pin import CGROUP2_SUPER_MAGIC, fs_type
from .common import attach_name, log, no_extra, open_dir_fd, prog_name


def attach_cgroup(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                  target: dict[str, Any]) -> Link:
    cg = target.pop("cgroup", None)
    legacy = bool(target.pop("legacy", False))
    flags = int(target.pop("flags", 0))
    no_extra("cgroup", prog, target)
    if cg is None:
        raise AttachError(f"cgroup program {prog_name(prog)} needs cgroup= (a cgroup v2 "
                          "directory such as /sys/fs/cgroup/unified or its fd)")
    if atype is None:
        raise AttachError(f"cgroup program {prog_name(prog)} needs attach_type= (its section "
                          f"{prog.spec.section!r} does not say which hook)")
    cgfd: bsys.FD | None
    cgfd, where = open_dir_fd(cg, "cgroup")
    kind = fs_type(f"/proc/self/fd/{cgfd.fd}")
    if kind is not None and kind != CGROUP2_SUPER_MAGIC:  # the kernel would say EBADF
        cgfd.close()
        raise AttachError(f"attaching {prog_name(prog)}: {where} is not a cgroup v2 directory "
                          "(a directory of the cgroup2 filesystem, such as /sys/fs/cgroup "
                          "or one under it)", errno.EBADF)
    desc = f"cgroup {where} ({attach_name(atype)})"
    try:
        if not legacy:
            try:
                fd = link_fd_create(prog, cgfd.fd, atype,
                                    what=f"attaching {prog_name(prog)} to cgroup {where}")
                return FDLink(prog, fd, desc)
            except AttachError as e:
                if not is_unsupported(e):
                    raise
                log.info("cgroup bpf_link failed (%s); falling back to BPF_PROG_ATTACH", e)
        attr = structs.ProgAttachAttr(target_fd=cgfd.fd, attach_bpf_fd=int(prog.fd),
                                   attach_type=atype,
                                   attach_flags=flags or consts.BPF_F_ALLOW_MULTI)
        commands.prog_attach(attr, what=f"attaching {prog_name(prog)} to cgroup {where}",
                 error=AttachError)
        link = ProgAttachLink(prog, cgfd, atype, desc + " (prog_attach)")
        cgfd = None
        return link
    finally:
        if cgfd is not None:
            cgfd.close()
