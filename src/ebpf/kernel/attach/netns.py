"""Network namespace programs: sk_lookup (Linux 5.9+) and flow_dissector links."""

from __future__ import annotations

from ...uapi import AttachType
from ..links import FDLink, link_fd_create
from .common import no_extra, open_dir_fd, prog_name


def attach_netns(kind: str, default_type: str):
    def handler(prog, attach_to, atype, retprobe, target):
        ns = target.pop("netns", None) or "/proc/self/ns/net"
        no_extra(kind, prog, target)
        nsfd, where = open_dir_fd(ns, "network namespace")
        try:
            at = atype if atype is not None else int(AttachType[default_type])
            fd = link_fd_create(prog, nsfd.fd, at,
                                what=f"attaching {kind} program {prog_name(prog)} to netns {where}")
        finally:
            nsfd.close()
        return FDLink(prog, fd, f"{kind} in netns {where}")
    return handler
