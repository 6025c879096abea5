"""XDP: bpf_link on an interface (Linux 5.9+), netlink before that."""

from __future__ import annotations

import errno as _errno
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType, consts
from ..links import FDLink, is_unsupported, link_fd_create
from .common import ifindex_of, legacy_fallback, log, no_extra, prog_name

XDP_MODES = {"skb": consts.XDP_FLAGS_SKB_MODE, "generic": consts.XDP_FLAGS_SKB_MODE,
             "drv": consts.XDP_FLAGS_DRV_MODE, "native": consts.XDP_FLAGS_DRV_MODE,
             "hw": consts.XDP_FLAGS_HW_MODE, "offload": consts.XDP_FLAGS_HW_MODE}


def attach_xdp(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
               target: dict[str, Any]) -> Link:
    ifindex, where = ifindex_of(prog, "XDP", target)
    mode = target.pop("mode", None)
    flags = int(target.pop("flags", 0))
    legacy = bool(target.pop("legacy", False))
    no_extra("XDP", prog, target)
    if mode is not None:
        try:
            flags |= XDP_MODES[str(mode).lower()]
        except KeyError:
            raise AttachError(f"XDP program {prog_name(prog)}: mode must be 'skb', 'drv' or 'hw', "
                              f"not {mode!r}") from None
    desc = f"XDP on {where}" + (f" ({mode} mode)" if mode else "")
    from ..netlink import attach_xdp_netlink

    if legacy:
        return attach_xdp_netlink(prog, ifindex, flags, desc + " (netlink)")
    try:
        fd = link_fd_create(prog, ifindex, int(AttachType.XDP), flags=flags,
                            what=f"attaching XDP program {prog_name(prog)} to {where}")
        return FDLink(prog, fd, desc)
    except AttachError as e:
        if e.errno == _errno.EBUSY:
            raise AttachError(f"attaching XDP program {prog_name(prog)} to {where}: another "
                              "XDP program is attached there already", e.errno) from None
        if e.errno == _errno.EEXIST:
            raise AttachError(f"attaching XDP program {prog_name(prog)} to {where}: an XDP "
                              "program is attached there already in another mode (skb/drv)",
                              e.errno) from None
        if e.errno == _errno.EOPNOTSUPP and mode:
            raise NotSupportedError(f"XDP {mode} mode on {where}",
                                    detail="the driver does not support it") from None
        if not is_unsupported(e):
            raise
        log.info("XDP bpf_link refused (%s); trying netlink", e)
        return legacy_fallback(e, lambda: attach_xdp_netlink(prog, ifindex, flags,
                                                       desc + " (netlink)"))
