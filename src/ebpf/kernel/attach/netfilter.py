"""netfilter hooks (Linux 6.4+)."""

from __future__ import annotations

import errno as _errno
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType
from ..links import FDLink, link_fd_create
from .common import no_extra, prog_name

NF_PROTO = {"inet": 1, "ipv4": 2, "ip": 2, "ipv6": 10, "ip6": 10}
NF_HOOKS = {"prerouting": 0, "pre_routing": 0, "local_in": 1, "input": 1, "forward": 2,
            "local_out": 3, "output": 3, "postrouting": 4, "post_routing": 4}


def attach_netfilter(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                     target: dict[str, Any]) -> Link:
    pf = target.pop("pf", "ipv4")
    hook = target.pop("hook", target.pop("hooknum", None))
    priority = int(target.pop("priority", 0))
    flags = int(target.pop("flags", 0))
    no_extra("netfilter", prog, target)
    if hook is None:
        raise AttachError(f"netfilter program {prog_name(prog)} needs hook= "
                          f"({', '.join(NF_HOOKS)} or a number) and pf=")
    pfn = NF_PROTO.get(pf.lower()) if isinstance(pf, str) else int(pf)
    hookn = NF_HOOKS.get(hook.lower()) if isinstance(hook, str) else int(hook)
    if pfn is None or hookn is None:
        raise AttachError(f"netfilter program {prog_name(prog)}: unknown pf={pf!r} or hook={hook!r}")

    def setup(attr):
        attr.netfilter.pf = pfn
        attr.netfilter.hooknum = hookn
        attr.netfilter.priority = priority
        attr.netfilter.flags = flags
    try:
        fd = link_fd_create(prog, 0, int(AttachType.NETFILTER), setup=setup,
                            what=f"attaching netfilter program {prog_name(prog)}")
    except AttachError as e:
        if e.errno == _errno.EOPNOTSUPP:
            raise NotSupportedError("netfilter BPF links", min_kernel="6.4") from None
        raise
    return FDLink(prog, fd, f"netfilter pf={pf} hook={hook} prio={priority}")
