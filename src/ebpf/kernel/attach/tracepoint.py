"""Tracepoints (perf events) and raw tracepoints."""

from __future__ import annotations

import errno as _errno
from typing import Any

from ...errors import AttachError
from ...links import Link
from ...uapi import Command, structs
from .. import commands, perf, tracefs
from .. import sys as bsys
from ..links import FDLink
from .common import no_extra, perf_link, prog_name


def attach_tracepoint(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                      target: dict[str, Any]) -> Link:
    tp = target.pop("tracepoint", None) or target.pop("event", None) or attach_to
    if "category" in target:
        tp = f"{target.pop('category')}/{target.pop('name', '')}"
    cookie = int(target.pop("cookie", 0))
    legacy = bool(target.pop("legacy", False))
    no_extra("tracepoint", prog, target)
    if not tp or tp.count("/") != 1:
        raise AttachError(f"tracepoint program {prog_name(prog)} needs tracepoint='category/name' "
                          f"(section {prog.spec.section!r} does not name one)")
    cat, name = tp.split("/")
    tp_id = tracefs.tracepoint_id(cat, name)
    attr = perf.PerfEventAttr(type=perf.TYPE_TRACEPOINT, config=tp_id, sample_period=1,
                              wakeup_events=1)
    fd = perf.perf_event_open(attr, pid=-1, cpu=0, what=f"tracepoint {tp}")
    return perf_link(prog, fd, f"tracepoint {tp}" + (" (ioctl)" if legacy else ""), cookie,
                      legacy)


def attach_raw_tracepoint(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                          target: dict[str, Any]) -> Link:
    tp = target.pop("tracepoint", None) or target.pop("event", None) or attach_to
    cookie = int(target.pop("cookie", 0))
    no_extra("raw tracepoint", prog, target)
    if not tp:
        raise AttachError(f"raw tracepoint program {prog_name(prog)} needs tracepoint='name' "
                          f"(such as 'sys_enter'; section {prog.spec.section!r} names none)")
    if "/" in tp:  # tolerate "category/name" by taking the event name
        tp = tp.rsplit("/", 1)[1]
    name = bsys.c_string(tp)
    attr = structs.RawTracepointOpenAttr(name=bsys.addr(name), prog_fd=int(prog.fd), cookie=cookie)
    try:
        fd = commands.raw_tracepoint_open(attr, raw=True)
    except OSError as e:
        if e.errno == _errno.ENOENT:
            raise AttachError(f"attaching raw tracepoint {prog_name(prog)}: the kernel has no "
                              f"tracepoint {tp!r}", e.errno) from None
        raise bsys.error_for(e.errno or 0, f"attaching raw tracepoint {prog_name(prog)} to {tp}",
                             Command.RAW_TRACEPOINT_OPEN, error=AttachError) from None
    return FDLink(prog, fd, f"raw_tracepoint {tp}")
