"""uprobes: one probe (perf event) or one uprobe_multi link (Linux 6.6+)."""

from __future__ import annotations

import ctypes
import errno as _errno
from typing import Any

from ...errors import AttachError, NotSupportedError
from ...links import Link
from ...uapi import AttachType, consts
from .. import perf, tracefs, uprobe
from .. import sys as bsys
from ..links import FDLink, PerfEventLink, link_fd_create
from .common import multi_arrays, no_extra, perf_link, prog_name


def uprobe_event(prog: Any, path: str, offset: int, retprobe: bool, pid: int | None,
                  ref_ctr_offset: int = 0, cookie: int = 0, desc: str = "") -> PerfEventLink:
    pmu = tracefs.pmu_type("uprobe")
    if pmu is None:
        raise NotSupportedError("uprobes", detail="no uprobe PMU in "
                                f"{tracefs.EVENT_SOURCE} (CONFIG_UPROBE_EVENTS off?)",
                                min_kernel="4.17")
    config = 0
    if retprobe:
        bit = tracefs.pmu_format_bit("uprobe", "retprobe")
        config |= 1 << (bit if bit is not None else 0)
    if ref_ctr_offset:
        config |= ref_ctr_offset << 32
    cpath = bsys.c_string(path)
    attr = perf.PerfEventAttr(type=pmu, config=config, config1=ctypes.addressof(cpath),
                              config2=offset, sample_period=1, wakeup_events=1)
    fd = perf.perf_event_open(attr, pid=-1 if pid is None else pid,
                              cpu=0 if pid is None else -1, what=desc)
    del cpath
    return perf_link(prog, fd, desc, cookie)


def attach_uprobe(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                  target: dict[str, Any]) -> Link:
    binary = target.pop("binary", None) or target.pop("path", None)
    symbol = target.pop("symbol", None) or target.pop("function", None)
    offset = target.pop("offset", None)
    pid = target.pop("pid", None)
    ref_ctr = int(target.pop("ref_ctr_offset", 0))
    cookie = int(target.pop("cookie", 0))
    no_extra("uprobe", prog, target)
    if binary is None and attach_to:
        sec_bin, sec_sym = uprobe.parse_target(attach_to)
        binary = sec_bin or None
        if symbol is None and offset is None and sec_sym:
            if sec_sym.startswith("0x") or sec_sym.isdigit():
                offset = int(sec_sym, 0)
            else:
                symbol = sec_sym
    kind = "uretprobe" if retprobe else "uprobe"
    if not binary:
        raise AttachError(f"{kind} program {prog_name(prog)} needs binary= (a path or library "
                          "name) and symbol= or offset=")
    if symbol is None and offset is None:
        raise AttachError(f"{kind} program {prog_name(prog)} needs symbol= or offset= in {binary}")
    path = uprobe.resolve_binary(str(binary), pid)
    off = int(offset or 0)
    if symbol is not None:
        off += uprobe.symbol_offset(path, str(symbol))
    where = f"{path}:{symbol}" if symbol else f"{path}:{off:#x}"
    desc = f"{kind} {where}" + (f" pid {pid}" if pid is not None else "")
    return uprobe_event(prog, path, off, retprobe, pid, ref_ctr, cookie, desc)


def attach_uprobe_multi(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                        target: dict[str, Any]) -> Link:
    """One bpf_link for many uprobes in one binary (Linux 6.6+): ``binary=`` plus
    ``symbols=[...]`` (names, versions and +offsets allowed), ``pattern="glob*"``
    or ``offsets=[...]``; or a ``uprobe.multi/PATH:GLOB`` section."""
    import fnmatch

    binary = target.pop("binary", None) or target.pop("path", None)
    symbols = target.pop("symbols", None)
    pattern = target.pop("pattern", None)
    offsets = target.pop("offsets", None)
    pid = target.pop("pid", None)
    cookies = target.pop("cookies", None)
    no_extra("uprobe.multi", prog, target)
    if binary is None and attach_to:
        sec_bin, sec_pat = uprobe.parse_target(attach_to)
        binary = sec_bin or None
        if symbols is None and offsets is None and pattern is None:
            pattern = sec_pat or None
    kind = "uretprobe.multi" if retprobe else "uprobe.multi"
    if not binary:
        raise AttachError(f"{kind} program {prog_name(prog)} needs binary= and symbols=, "
                          "pattern= or offsets=")
    path = uprobe.resolve_binary(str(binary), pid)
    offs: list[int] = [int(o) for o in offsets] if offsets is not None else []
    if symbols is not None:
        offs += [uprobe.symbol_offset(path, str(sym)) for sym in symbols]
    if pattern is not None:
        elf = uprobe.open_elf(path)
        names = sorted({sym.name for sym in elf.symbols()
                        if sym.type in (uprobe.STT_FUNC, uprobe.STT_GNU_IFUNC)
                        and sym.shndx != uprobe.SHN_UNDEF and sym.value
                        and fnmatch.fnmatchcase(sym.name, pattern)})
        offs += sorted({uprobe.symbol_offset(path, n) for n in names})
    if not offs:
        raise AttachError(f"{kind} program {prog_name(prog)}: nothing to probe in {path} "
                          f"(symbols={symbols!r} pattern={pattern!r} offsets={offsets!r})")
    cpath = bsys.c_string(path)
    off_arr, cookie_arr = multi_arrays(kind, prog, offs, cookies, "probes")

    def setup(attr):
        um = attr.uprobe_multi
        um.path = ctypes.addressof(cpath)
        um.offsets = ctypes.addressof(off_arr)
        um.cookies = ctypes.addressof(cookie_arr) if cookie_arr is not None else 0
        um.cnt = len(offs)
        um.flags = consts.BPF_F_UPROBE_MULTI_RETURN if retprobe else 0
        um.pid = int(pid or 0)
    try:
        fd = link_fd_create(prog, 0, int(AttachType.TRACE_UPROBE_MULTI), setup=setup,
                            what=f"attaching {kind} {prog_name(prog)} to {len(offs)} places in {path}")
    except AttachError as e:
        if e.errno in (_errno.EOPNOTSUPP, 524):
            raise NotSupportedError("uprobe.multi links", min_kernel="6.6") from None
        if e.errno == _errno.EINVAL:
            raise AttachError(f"attaching {kind} {prog_name(prog)}: the kernel refused (was it "
                              "loaded with expected_attach_type TRACE_UPROBE_MULTI, from a "
                              "uprobe.multi section?)", e.errno) from None
        raise
    return FDLink(prog, fd, f"{kind} {path} ({len(offs)} probes)")
