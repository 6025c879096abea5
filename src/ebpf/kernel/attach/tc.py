"""tc: tcx links (Linux 6.6+), else clsact + cls_bpf through netlink."""

from __future__ import annotations

from typing import Any

from ...errors import AttachError
from ...links import Link
from ...uapi import AttachType
from ..links import FDLink, is_unsupported, link_fd_create
from .common import ifindex_of, legacy_fallback, log, no_extra, prog_name


def attach_tc(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
              target: dict[str, Any]) -> Link:
    ifindex, where = ifindex_of(prog, "tc", target)
    direction = target.pop("direction", None)
    legacy = bool(target.pop("legacy", False))
    prio = int(target.pop("priority", target.pop("prio", 1)))
    handle = int(target.pop("handle", 1))
    no_extra("tc", prog, target)
    ingress, egress = int(AttachType.TCX_INGRESS), int(AttachType.TCX_EGRESS)
    if direction is not None:
        d = str(direction).lower()
        if d not in ("ingress", "egress"):
            raise AttachError(f"tc program {prog_name(prog)}: direction must be 'ingress' or "
                              f"'egress', not {direction!r}")
        atype = ingress if d == "ingress" else egress
    if atype not in (ingress, egress):
        raise AttachError(f"tc program {prog_name(prog)} needs direction='ingress' or 'egress' "
                          "(or a tc/ingress, tc/egress section)")
    d = "ingress" if atype == ingress else "egress"
    from ..netlink import attach_tc_netlink

    def netlink_way() -> Link:
        return attach_tc_netlink(prog, ifindex, d, f"tc {d} on {where} (cls_bpf, prio {prio})",
                                 prio=prio, handle=handle)
    if legacy:
        return netlink_way()
    try:
        fd = link_fd_create(prog, ifindex, atype,
                            what=f"attaching tc program {prog_name(prog)} to {where} {d}")
        return FDLink(prog, fd, f"tcx {d} on {where}")
    except AttachError as e:
        if not is_unsupported(e):
            raise
        log.info("tcx link refused (%s); trying clsact + cls_bpf", e)
        return legacy_fallback(e, netlink_way)
