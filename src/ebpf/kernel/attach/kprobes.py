"""kprobes and kprobe_multi links."""

from __future__ import annotations

import ctypes
import errno as _errno
import os
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType, consts
from .. import perf, tracefs
from .. import sys as bsys
from ..links import FDLink, link_fd_create
from .common import multi_arrays, no_extra, perf_link, prog_name


def attach_kprobe(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                  target: dict[str, Any]) -> Link:
    func = target.pop("function", None) or target.pop("symbol", None) or attach_to
    offset = int(target.pop("offset", 0))
    cookie = int(target.pop("cookie", 0))
    no_extra("kprobe", prog, target)
    kind = "kretprobe" if retprobe else "kprobe"
    tracefs.require_kprobes(kind)
    if not func:
        raise AttachError(f"{kind} program {prog_name(prog)} needs function=")
    pmu = tracefs.pmu_type("kprobe")
    if pmu is None:
        raise NotSupportedError(f"{kind} through tracefs kprobe_events",
                                detail="only the kprobe PMU is supported", min_kernel="4.17")
    config = 0
    if retprobe:
        bit = tracefs.pmu_format_bit("kprobe", "retprobe")
        config |= 1 << (bit if bit is not None else 0)
    cname = bsys.c_string(func)
    attr = perf.PerfEventAttr(type=pmu, config=config, config1=ctypes.addressof(cname),
                              config2=offset, sample_period=1, wakeup_events=1)
    fd = perf.perf_event_open(attr, pid=-1, cpu=0, what=f"{kind} {func}")
    return perf_link(prog, fd, f"{kind} {func}", cookie)


def attach_kprobe_multi(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                        target: dict[str, Any]) -> Link:
    """Many kernel functions, one bpf_link (Linux 5.18+, needs fprobe): ``symbols=[...]``
    or ``pattern="glob*"`` (matched against tracefs available_filter_functions), or a
    ``kprobe.multi/GLOB`` section."""
    import fnmatch

    symbols = target.pop("symbols", None)
    pattern = target.pop("pattern", None)
    cookies = target.pop("cookies", None)
    no_extra("kprobe.multi", prog, target)
    kind = "kretprobe.multi" if retprobe else "kprobe.multi"
    tracefs.require_kprobes(kind)
    if symbols is None and pattern is None:
        pattern = attach_to or None
    if symbols is None and pattern is None:
        raise AttachError(f"{kind} program {prog_name(prog)} needs symbols= or pattern=")
    names = [str(x) for x in symbols] if symbols is not None else []
    if pattern is not None:
        path = os.path.join(tracefs.tracefs_path(), "available_filter_functions")
        try:
            with open(path) as f:
                funcs = {line.split()[0] for line in f if line.strip()}
        except OSError as e:
            raise AttachError(f"reading {path}", e.errno) from None
        names += sorted(n for n in funcs if fnmatch.fnmatchcase(n, pattern))
    if not names:
        raise AttachError(f"{kind} program {prog_name(prog)}: no kernel function matches "
                          f"{pattern!r}")
    cstrings = [bsys.c_string(n) for n in names]
    syms, cookie_arr = multi_arrays(kind, prog, [ctypes.addressof(c) for c in cstrings], cookies,
                                    "functions")

    def setup(attr):
        km = attr.kprobe_multi
        km.flags = consts.BPF_F_KPROBE_MULTI_RETURN if retprobe else 0
        km.cnt = len(names)
        km.syms = ctypes.addressof(syms)
        km.cookies = ctypes.addressof(cookie_arr) if cookie_arr is not None else 0
    try:
        fd = link_fd_create(prog, 0, int(AttachType.TRACE_KPROBE_MULTI), setup=setup,
                            what=f"attaching {kind} {prog_name(prog)} to {len(names)} functions")
    except AttachError as e:
        if e.errno in (_errno.EOPNOTSUPP, 524):
            raise NotSupportedError("kprobe.multi links", min_kernel="5.18",
                                    detail="the kernel needs CONFIG_FPROBE") from None
        raise
    return FDLink(prog, fd, f"{kind} ({len(names)} functions)")
