"""What every hook family shares: program names, attach type numbers, perf links."""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import os
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType
from .. import perf
from .. import sys as bsys
from ..links import PerfEventLink, is_unsupported, link_fd_create

log = logging.getLogger("ebpf.kernel.attach")

def prog_name(prog: Any) -> str:
    return getattr(prog, "name", None) or "program"


def multi_arrays(kind: str, prog: Any, values: list[int], cookies: Any, what: str
                 ) -> tuple[ctypes.Array, ctypes.Array | None]:
    """The u64 arrays a multi-probe link takes (``values``: addresses, offsets),
    with its per-probe ``cookies`` (None: none); one cookie per probe or
    AttachError."""
    if cookies is not None and len(cookies) != len(values):
        raise AttachError(f"{kind} program {prog_name(prog)}: {len(cookies)} cookies for "
                          f"{len(values)} {what}")
    arr = (ctypes.c_uint64 * len(values))(*values)
    return arr, (ctypes.c_uint64 * len(values))(*cookies) if cookies is not None else None


def socket_of(kind: str, prog: Any, target: dict[str, Any], needs: str) -> Any:
    """The socket (or fd) a socket program attaches to: ``sock=`` or ``socket=``."""
    sock = target.pop("sock", None)
    if sock is None:
        sock = target.pop("socket", None)
    no_extra(kind, prog, target)
    if sock is None:
        raise AttachError(f"{kind} program {prog_name(prog)} needs sock= ({needs})")
    return sock


def no_extra(kind: str, prog: Any, target: dict[str, Any]) -> None:
    if target:
        raise AttachError(f"{kind} program {prog_name(prog)}: unexpected argument(s) "
                          f"{', '.join(sorted(target))}")


# ---- networking ---------------------------------------------------------------------

def ifindex_of(prog: Any, kind: str, target: dict[str, Any]) -> tuple[int, str]:
    ifname = target.pop("ifname", None) or target.pop("interface", None) \
        or target.pop("dev", None)
    ifindex = target.pop("ifindex", None)
    if ifindex is None and ifname is None:
        raise AttachError(f"{kind} program {prog_name(prog)} needs ifname= or ifindex=")
    if ifindex is None:
        if isinstance(ifname, int):
            return ifname, f"ifindex {ifname}"
        try:
            import socket

            ifindex = socket.if_nametoindex(ifname)
        except OSError:
            raise AttachError(f"{kind} program {prog_name(prog)}: no network interface "
                              f"named {ifname!r}", _errno.ENODEV) from None
        return ifindex, str(ifname)
    return int(ifindex), ifname or f"ifindex {ifindex}"


def legacy_fallback(original: AttachError, legacy: Any) -> Link:
    """Try the legacy way after the bpf_link way failed with "not supported"-like
    errors; if that fails too, the bpf_link error is the one that explains."""
    try:
        return legacy()
    except AttachError as e:
        log.info("legacy attach failed as well: %s", e)
        raise original from None


def open_dir_fd(path: Any, what: str) -> tuple[bsys.FD, str]:
    if isinstance(path, int):
        return bsys.FD(os.dup(path)), f"fd {path}"
    path = os.fspath(path)
    try:
        return bsys.FD(os.open(path, os.O_RDONLY | os.O_CLOEXEC)), path
    except FileNotFoundError:
        raise AttachError(f"{what} {path} does not exist", _errno.ENOENT) from None
    except OSError as e:
        raise AttachError(f"opening {what} {path}", e.errno) from None


def attach_name(atype: int) -> str:
    try:
        return AttachType(atype).name
    except ValueError:
        return str(atype)


# ---- tracing ------------------------------------------------------------------------

def perf_link(prog: Any, perf_fd: int, desc: str, cookie: int = 0,
               legacy: bool = False) -> PerfEventLink:
    """Put ``prog`` on perf event ``perf_fd`` (taking ownership of it): a
    BPF_PERF_EVENT link, or PERF_EVENT_IOC_SET_BPF where the kernel has no such
    links (before 5.15) or ``legacy`` asks for it."""
    try:
        def setup(attr):
            attr.perf_event.bpf_cookie = cookie
        link_fd = None
        if not legacy:
            try:
                link_fd = link_fd_create(prog, perf_fd, int(AttachType.PERF_EVENT), setup=setup,
                                         what=f"attaching {prog_name(prog)} to {desc}")
            except AttachError as e:
                if not is_unsupported(e) or cookie:
                    raise
                log.info("BPF_PERF_EVENT links not available (%s); using "
                         "PERF_EVENT_IOC_SET_BPF", e)
        if link_fd is None:
            if cookie:
                raise NotSupportedError("BPF cookies on perf event attachments",
                                        min_kernel="5.15", detail="they need BPF_PERF_EVENT links")
            perf.set_bpf(perf_fd, int(prog.fd))
        link = PerfEventLink(prog, perf_fd, link_fd, desc)
    except BaseException:
        perf.close_quietly(perf_fd)
        raise
    try:
        perf.enable(link.perf_fd)
    except BaseException:
        link.close()
        raise
    return link
