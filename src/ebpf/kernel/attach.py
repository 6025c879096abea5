"""Attaching kernel programs to events: :func:`attach_program`.

What the section name says (``ProgramSpec.attach_kind``, ``attach_to``,
``attach_type``, ``retprobe``) is completed by keyword arguments:

==================  ==============================================================
kind                arguments (besides what the section says)
==================  ==============================================================
xdp                 ``ifname=``/``ifindex=``, ``mode="skb"|"drv"|"hw"`` (default:
                    native when the driver has it, generic otherwise)
tc / tcx            ``ifname=``/``ifindex=``, ``direction="ingress"|"egress"``
                    (SEC("tc/ingress") says it); tcx links on Linux 6.6+, else
                    (or ``legacy=True``) clsact + cls_bpf with ``priority=``/``handle=``
socket              ``sock=`` a socket object or fd (SO_ATTACH_BPF)
sk_reuseport        ``sock=`` one socket of the SO_REUSEPORT group
cgroup              ``cgroup=`` a cgroup v2 directory (or fd); ``attach_type=``
                    when the section does not say (SEC("cgroup/skb"))
sk_lookup, flow_    ``netns=`` a netns path or fd (default: our own)
dissector
sk_skb / sk_msg     ``map=`` the sockmap/sockhash
tracepoint          ``tracepoint="category/name"`` unless the section says it
raw_tracepoint      ``tracepoint="name"`` unless the section says it
tracing, lsm        nothing (the target was fixed at load: fentry/fexit/fmod_ret,
                    tp_btf, lsm)
iter                optional ``map=`` (map iterators), ``cgroup=``, ``pid=``/``tid=``
uprobe              ``binary=`` and ``symbol=`` or ``offset=``, optional ``pid=``,
                    ``retprobe=``; or the section (``uprobe/libc.so.6:getpid``)
uprobe.multi        ``binary=`` and ``symbols=[...]``, ``pattern="glob*"`` or
                    ``offsets=[...]``; one link for all (Linux 6.6+)
usdt                ``binary=``, ``provider=``, ``name=`` (or ``usdt=(provider,
                    name)``; one uprobe per site). Programs built on
                    <bpf/usdt.bpf.h> (BPF_USDT, bpf_usdt_arg) get each site's
                    argument spec; ``cookie=`` is then what bpf_usdt_cookie() says
kprobe              ``function=`` (or the section); needs a kernel with kprobes
perf_event          ``perf_event=dict(type=..., config=..., sample_period=N |
                    sample_freq=F)``, ``cpu=`` (default: every online CPU),
                    optional ``pid=``
netfilter           ``pf=`` ("ipv4"/"ipv6"/number), ``hook=`` (name or number),
                    ``priority=``
==================  ==============================================================

Every attachment is owned by the returned :class:`ebpf.Link` (see
:mod:`ebpf.kernel.links`): closing it detaches, so does our process exiting.

>>> link = prog.attach(ifname="lo")  # doctest: +SKIP
>>> link.close()  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import errno as _errno
import logging
import os
import socket
from typing import Any

from ..errors import AttachError, NotSupportedError, SystemCallError
from ..links import Link
from ..uapi import AttachType, Command, ProgramType
from . import perf, tracefs, uprobe
from . import sys as bsys
from .links import (
    FDLink,
    IterLink,
    MultiLink,
    PerfEventLink,
    ProgAttachLink,
    attach_socket_filter,
    is_unsupported,
    link_fd_create,
)

log = logging.getLogger("ebpf.kernel.attach")

# enum bpf_attach_type members newer than some generated tables (kernel numbers)
_ATTACH_NUMBERS = {"NETFILTER": 45, "TCX_INGRESS": 46, "TCX_EGRESS": 47,
                   "TRACE_UPROBE_MULTI": 48, "NETKIT_PRIMARY": 54, "NETKIT_PEER": 55,
                   "CGROUP_UNIX_CONNECT": 49, "CGROUP_UNIX_SENDMSG": 50,
                   "CGROUP_UNIX_RECVMSG": 51, "CGROUP_UNIX_GETPEERNAME": 52,
                   "CGROUP_UNIX_GETSOCKNAME": 53}

XDP_MODES = {"skb": bsys.XDP_FLAGS_SKB_MODE, "generic": bsys.XDP_FLAGS_SKB_MODE,
             "drv": bsys.XDP_FLAGS_DRV_MODE, "native": bsys.XDP_FLAGS_DRV_MODE,
             "hw": bsys.XDP_FLAGS_HW_MODE, "offload": bsys.XDP_FLAGS_HW_MODE}

NF_PROTO = {"inet": 1, "ipv4": 2, "ip": 2, "ipv6": 10, "ip6": 10}
NF_HOOKS = {"prerouting": 0, "pre_routing": 0, "local_in": 1, "input": 1, "forward": 2,
            "local_out": 3, "output": 3, "postrouting": 4, "post_routing": 4}


def _attach_number(name: str) -> int:
    member = AttachType.__members__.get(name)
    if member is not None:
        return int(member)
    return _ATTACH_NUMBERS[name]


def _name(prog: Any) -> str:
    return getattr(prog, "name", None) or "program"


def _kind_of(prog: Any) -> tuple[str, str, Any, bool]:
    """(attach_kind, attach_to, attach type number or None, retprobe) for ``prog``."""
    spec = prog.spec
    kind = spec.attach_kind or ""
    attach_to = spec.attach_to or ""
    atype = int(spec.attach_type) if spec.attach_type is not None else None
    retprobe = bool(spec.retprobe)
    if spec.section:
        try:
            from ..elf.sections import classify

            info = classify(spec.section)
        except ImportError:
            info = None
        if info is not None and info.known:
            kind = kind or info.attach_kind
            attach_to = attach_to or info.attach_to
            if atype is None and info.attach_type_value is not None:
                atype = info.attach_type_value
            retprobe = retprobe or info.retprobe
    if not kind:
        kind = _KIND_BY_TYPE.get(spec.type, "")
    return kind, attach_to, atype, retprobe


_KIND_BY_TYPE = {
    ProgramType.SOCKET_FILTER: "socket", ProgramType.XDP: "xdp", ProgramType.SCHED_CLS: "tc",
    ProgramType.TRACEPOINT: "tracepoint", ProgramType.RAW_TRACEPOINT: "raw_tracepoint",
    ProgramType.RAW_TRACEPOINT_WRITABLE: "raw_tracepoint", ProgramType.KPROBE: "kprobe",
    ProgramType.PERF_EVENT: "perf_event", ProgramType.CGROUP_SKB: "cgroup",
    ProgramType.CGROUP_SOCK: "cgroup", ProgramType.CGROUP_SOCK_ADDR: "cgroup",
    ProgramType.SOCK_OPS: "cgroup", ProgramType.CGROUP_DEVICE: "cgroup",
    ProgramType.CGROUP_SYSCTL: "cgroup", ProgramType.CGROUP_SOCKOPT: "cgroup",
    ProgramType.TRACING: "tracing", ProgramType.LSM: "lsm", ProgramType.SK_LOOKUP: "sk_lookup",
    ProgramType.FLOW_DISSECTOR: "flow_dissector", ProgramType.SK_SKB: "sk_skb",
    ProgramType.SK_MSG: "sk_msg", ProgramType.EXT: "freplace",
}


def attach_program(prog: Any, **target: Any) -> Link:
    """Attach kernel program ``prog`` where its section says, completed by
    ``target`` (see the module docs). Returns a :class:`ebpf.Link`.

    Raises :class:`ebpf.AttachError` naming what is missing or what failed, and
    :class:`ebpf.NotSupportedError` for what this kernel cannot do.
    """
    kind, attach_to, atype, retprobe = _kind_of(prog)
    if "retprobe" in target:
        retprobe = bool(target.pop("retprobe"))
    if "attach_type" in target:
        at = target.pop("attach_type")
        try:
            atype = _attach_number(at.upper()) if isinstance(at, str) else int(at)
        except (KeyError, ValueError, TypeError):
            raise AttachError(f"program {_name(prog)}: unknown attach_type {at!r} (an "
                              "AttachType, its name or its number)") from None
    # an explicit target kind wins over a generic program type guess
    if "perf_event" in target and kind in ("", "kprobe"):
        kind = "perf_event"
    if kind in ("kprobe", "uprobe", "") and ("usdt" in target or "provider" in target):
        kind = "usdt"
    elif kind in ("kprobe", "") and "binary" in target:
        kind = "uprobe"  # SEC("kprobe")-typed program put on user space code
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise NotSupportedError(f"attaching {kind or 'this kind of'} program {_name(prog)}",
                                detail=f"section {prog.spec.section!r}, type "
                                f"{getattr(prog.spec.type, 'name', prog.spec.type)}")
    try:
        link = handler(prog, attach_to, atype, retprobe, target)
    except (TypeError, ValueError) as e:  # arguments of the wrong type (cookie="x", ...)
        raise AttachError(f"attaching {kind} program {_name(prog)}: bad argument: {e}") from None
    log.debug("attached %s: %s", _name(prog), link.description)
    return link


def _no_extra(kind: str, prog: Any, target: dict[str, Any]) -> None:
    if target:
        raise AttachError(f"{kind} program {_name(prog)}: unexpected argument(s) "
                          f"{', '.join(sorted(target))}")


# ---- networking ---------------------------------------------------------------------

def _ifindex(prog: Any, kind: str, target: dict[str, Any]) -> tuple[int, str]:
    ifname = target.pop("ifname", None) or target.pop("interface", None) \
        or target.pop("dev", None)
    ifindex = target.pop("ifindex", None)
    if ifindex is None and ifname is None:
        raise AttachError(f"{kind} program {_name(prog)} needs ifname= or ifindex=")
    if ifindex is None:
        if isinstance(ifname, int):
            return ifname, f"ifindex {ifname}"
        try:
            ifindex = socket.if_nametoindex(ifname)
        except OSError:
            raise AttachError(f"{kind} program {_name(prog)}: no network interface "
                              f"named {ifname!r}", _errno.ENODEV) from None
        return ifindex, str(ifname)
    return int(ifindex), ifname or f"ifindex {ifindex}"


def _attach_xdp(prog, attach_to, atype, retprobe, target):
    ifindex, where = _ifindex(prog, "XDP", target)
    mode = target.pop("mode", None)
    flags = int(target.pop("flags", 0))
    legacy = bool(target.pop("legacy", False))
    _no_extra("XDP", prog, target)
    if mode is not None:
        try:
            flags |= XDP_MODES[str(mode).lower()]
        except KeyError:
            raise AttachError(f"XDP program {_name(prog)}: mode must be 'skb', 'drv' or 'hw', "
                              f"not {mode!r}") from None
    desc = f"XDP on {where}" + (f" ({mode} mode)" if mode else "")
    from .netlink import attach_xdp_netlink

    if legacy:
        return attach_xdp_netlink(prog, ifindex, flags, desc + " (netlink)")
    try:
        fd = link_fd_create(prog, ifindex, int(AttachType.XDP), flags=flags,
                            what=f"attaching XDP program {_name(prog)} to {where}")
        return FDLink(prog, fd, desc)
    except AttachError as e:
        if e.errno == _errno.EBUSY:
            raise AttachError(f"attaching XDP program {_name(prog)} to {where}: another "
                              "XDP program is attached there already", e.errno) from None
        if e.errno == _errno.EEXIST:
            raise AttachError(f"attaching XDP program {_name(prog)} to {where}: an XDP "
                              "program is attached there already in another mode (skb/drv)",
                              e.errno) from None
        if e.errno == _errno.EOPNOTSUPP and mode:
            raise NotSupportedError(f"XDP {mode} mode on {where}",
                                    detail="the driver does not support it") from None
        if not is_unsupported(e):
            raise
        log.info("XDP bpf_link refused (%s); trying netlink", e)
        return _fallback(e, lambda: attach_xdp_netlink(prog, ifindex, flags,
                                                       desc + " (netlink)"))


def _fallback(original: AttachError, legacy: Any) -> Link:
    """Try the legacy way after the bpf_link way failed with "not supported"-like
    errors; if that fails too, the bpf_link error is the one that explains."""
    try:
        return legacy()
    except AttachError as e:
        log.info("legacy attach failed as well: %s", e)
        raise original from None


def _attach_tc(prog, attach_to, atype, retprobe, target):
    ifindex, where = _ifindex(prog, "tc", target)
    direction = target.pop("direction", None)
    legacy = bool(target.pop("legacy", False))
    prio = int(target.pop("priority", target.pop("prio", 1)))
    handle = int(target.pop("handle", 1))
    _no_extra("tc", prog, target)
    ingress, egress = _attach_number("TCX_INGRESS"), _attach_number("TCX_EGRESS")
    if direction is not None:
        d = str(direction).lower()
        if d not in ("ingress", "egress"):
            raise AttachError(f"tc program {_name(prog)}: direction must be 'ingress' or "
                              f"'egress', not {direction!r}")
        atype = ingress if d == "ingress" else egress
    if atype not in (ingress, egress):
        raise AttachError(f"tc program {_name(prog)} needs direction='ingress' or 'egress' "
                          "(or a tc/ingress, tc/egress section)")
    d = "ingress" if atype == ingress else "egress"
    from .netlink import attach_tc_netlink

    def netlink_way() -> Link:
        return attach_tc_netlink(prog, ifindex, d, f"tc {d} on {where} (cls_bpf, prio {prio})",
                                 prio=prio, handle=handle)
    if legacy:
        return netlink_way()
    try:
        fd = link_fd_create(prog, ifindex, atype,
                            what=f"attaching tc program {_name(prog)} to {where} {d}")
        return FDLink(prog, fd, f"tcx {d} on {where}")
    except AttachError as e:
        if not is_unsupported(e):
            raise
        log.info("tcx link refused (%s); trying clsact + cls_bpf", e)
        return _fallback(e, netlink_way)


def _attach_socket(prog, attach_to, atype, retprobe, target):
    sock = target.pop("sock", None)
    if sock is None:
        sock = target.pop("socket", None)
    _no_extra("socket filter", prog, target)
    if sock is None:
        raise AttachError(f"socket filter {_name(prog)} needs sock= (a socket or its fd)")
    return attach_socket_filter(prog, sock)


def _attach_reuseport(prog, attach_to, atype, retprobe, target):
    sock = target.pop("sock", None)
    if sock is None:
        sock = target.pop("socket", None)
    _no_extra("sk_reuseport", prog, target)
    if sock is None:
        raise AttachError(f"sk_reuseport program {_name(prog)} needs sock= (a socket of the "
                          "SO_REUSEPORT group)")
    return attach_socket_filter(prog, sock, reuseport=True)


def _open_dir_fd(path: Any, what: str) -> tuple[bsys.FD, str]:
    if isinstance(path, int):
        return bsys.FD(os.dup(path)), f"fd {path}"
    path = os.fspath(path)
    try:
        return bsys.FD(os.open(path, os.O_RDONLY | os.O_CLOEXEC)), path
    except FileNotFoundError:
        raise AttachError(f"{what} {path} does not exist", _errno.ENOENT) from None
    except OSError as e:
        raise AttachError(f"opening {what} {path}", e.errno) from None


def _attach_cgroup(prog, attach_to, atype, retprobe, target):
    cg = target.pop("cgroup", None)
    legacy = bool(target.pop("legacy", False))
    flags = int(target.pop("flags", 0))
    _no_extra("cgroup", prog, target)
    if cg is None:
        raise AttachError(f"cgroup program {_name(prog)} needs cgroup= (a cgroup v2 "
                          "directory such as /sys/fs/cgroup/unified or its fd)")
    if atype is None:
        raise AttachError(f"cgroup program {_name(prog)} needs attach_type= (its section "
                          f"{prog.spec.section!r} does not say which hook)")
    cgfd, where = _open_dir_fd(cg, "cgroup")
    desc = f"cgroup {where} ({_attach_name(atype)})"
    try:
        if not legacy:
            try:
                fd = link_fd_create(prog, cgfd.fd, atype,
                                    what=f"attaching {_name(prog)} to cgroup {where}")
                return FDLink(prog, fd, desc)
            except AttachError as e:
                if not is_unsupported(e):
                    raise
                log.info("cgroup bpf_link failed (%s); falling back to BPF_PROG_ATTACH", e)
        attr = bsys.ProgAttachAttr(target_fd=cgfd.fd, attach_bpf_fd=int(prog.fd),
                                   attach_type=atype,
                                   attach_flags=flags or bsys.BPF_F_ALLOW_MULTI)
        bsys.bpf(Command.PROG_ATTACH, attr, what=f"attaching {_name(prog)} to cgroup {where}",
                 error=AttachError)
        link = ProgAttachLink(prog, cgfd, atype, desc + " (prog_attach)")
        cgfd = None
        return link
    finally:
        if cgfd is not None:
            cgfd.close()


def _attach_name(atype: int) -> str:
    try:
        return AttachType(atype).name
    except ValueError:
        for k, v in _ATTACH_NUMBERS.items():
            if v == atype:
                return k
        return str(atype)


def _attach_netns(kind: str, default_type: str):
    def handler(prog, attach_to, atype, retprobe, target):
        ns = target.pop("netns", None) or "/proc/self/ns/net"
        _no_extra(kind, prog, target)
        nsfd, where = _open_dir_fd(ns, "network namespace")
        try:
            at = atype if atype is not None else _attach_number(default_type)
            fd = link_fd_create(prog, nsfd.fd, at,
                                what=f"attaching {kind} program {_name(prog)} to netns {where}")
        finally:
            nsfd.close()
        return FDLink(prog, fd, f"{kind} in netns {where}")
    return handler


def _attach_sockmap(kind: str):
    def handler(prog, attach_to, atype, retprobe, target):
        m = target.pop("map", None)
        if "attach_type" in target:
            atype = int(target.pop("attach_type"))
        _no_extra(kind, prog, target)
        if m is None:
            raise AttachError(f"{kind} program {_name(prog)} needs map= (a sockmap or sockhash)")
        if atype is None:
            raise AttachError(f"{kind} program {_name(prog)} needs attach_type= "
                              "(its section does not say: stream_parser, stream_verdict, ...)")
        mfd = m if isinstance(m, int) else int(m.fd)
        desc = f"{kind} on map {getattr(m, 'name', mfd)}"
        try:
            fd = link_fd_create(prog, mfd, atype, what=f"attaching {_name(prog)} to {desc}")
            return FDLink(prog, fd, desc)
        except AttachError as e:
            if not is_unsupported(e):
                raise
        dup = bsys.FD(os.dup(mfd))
        try:
            attr = bsys.ProgAttachAttr(target_fd=dup.fd, attach_bpf_fd=int(prog.fd),
                                       attach_type=atype)
            bsys.bpf(Command.PROG_ATTACH, attr, what=f"attaching {_name(prog)} to {desc}",
                     error=AttachError)
        except BaseException:
            dup.close()
            raise
        return ProgAttachLink(prog, dup, atype, desc + " (prog_attach)")
    return handler


def _attach_netfilter(prog, attach_to, atype, retprobe, target):
    pf = target.pop("pf", "ipv4")
    hook = target.pop("hook", target.pop("hooknum", None))
    priority = int(target.pop("priority", 0))
    flags = int(target.pop("flags", 0))
    _no_extra("netfilter", prog, target)
    if hook is None:
        raise AttachError(f"netfilter program {_name(prog)} needs hook= "
                          f"({', '.join(NF_HOOKS)} or a number) and pf=")
    pfn = NF_PROTO.get(pf.lower()) if isinstance(pf, str) else int(pf)
    hookn = NF_HOOKS.get(hook.lower()) if isinstance(hook, str) else int(hook)
    if pfn is None or hookn is None:
        raise AttachError(f"netfilter program {_name(prog)}: unknown pf={pf!r} or hook={hook!r}")

    def setup(attr):
        attr.tail.netfilter.pf = pfn
        attr.tail.netfilter.hooknum = hookn
        attr.tail.netfilter.priority = priority
        attr.tail.netfilter.flags = flags
    try:
        fd = link_fd_create(prog, 0, _attach_number("NETFILTER"), setup=setup,
                            what=f"attaching netfilter program {_name(prog)}")
    except AttachError as e:
        if e.errno == _errno.EOPNOTSUPP:
            raise NotSupportedError("netfilter BPF links", min_kernel="6.4") from None
        raise
    return FDLink(prog, fd, f"netfilter pf={pf} hook={hook} prio={priority}")


# ---- tracing ------------------------------------------------------------------------

def _perf_link(prog: Any, perf_fd: int, desc: str, cookie: int = 0,
               legacy: bool = False) -> PerfEventLink:
    """Put ``prog`` on perf event ``perf_fd`` (taking ownership of it): a
    BPF_PERF_EVENT link, or PERF_EVENT_IOC_SET_BPF where the kernel has no such
    links (before 5.15) or ``legacy`` asks for it."""
    try:
        def setup(attr):
            attr.bpf_cookie = cookie
        link_fd = None
        if not legacy:
            try:
                link_fd = link_fd_create(prog, perf_fd, int(AttachType.PERF_EVENT), setup=setup,
                                         what=f"attaching {_name(prog)} to {desc}")
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


def _attach_tracepoint(prog, attach_to, atype, retprobe, target):
    tp = target.pop("tracepoint", None) or target.pop("event", None) or attach_to
    if "category" in target:
        tp = f"{target.pop('category')}/{target.pop('name', '')}"
    cookie = int(target.pop("cookie", 0))
    legacy = bool(target.pop("legacy", False))
    _no_extra("tracepoint", prog, target)
    if not tp or tp.count("/") != 1:
        raise AttachError(f"tracepoint program {_name(prog)} needs tracepoint='category/name' "
                          f"(section {prog.spec.section!r} does not name one)")
    cat, name = tp.split("/")
    tp_id = tracefs.tracepoint_id(cat, name)
    attr = perf.PerfEventAttr(type=perf.TYPE_TRACEPOINT, config=tp_id, sample_period=1,
                              wakeup_events=1)
    fd = perf.perf_event_open(attr, pid=-1, cpu=0, what=f"tracepoint {tp}")
    return _perf_link(prog, fd, f"tracepoint {tp}" + (" (ioctl)" if legacy else ""), cookie,
                      legacy)


def _attach_raw_tracepoint(prog, attach_to, atype, retprobe, target):
    tp = target.pop("tracepoint", None) or target.pop("event", None) or attach_to
    cookie = int(target.pop("cookie", 0))
    _no_extra("raw tracepoint", prog, target)
    if not tp:
        raise AttachError(f"raw tracepoint program {_name(prog)} needs tracepoint='name' "
                          f"(such as 'sys_enter'; section {prog.spec.section!r} names none)")
    if "/" in tp:  # tolerate "category/name" by taking the event name
        tp = tp.rsplit("/", 1)[1]
    name = bsys.c_string(tp)
    attr = bsys.RawTracepointOpenAttr(name=bsys.addr(name), prog_fd=int(prog.fd), cookie=cookie)
    try:
        fd = bsys.bpf(Command.RAW_TRACEPOINT_OPEN, attr, raw=True)
    except OSError as e:
        if e.errno == _errno.ENOENT:
            raise AttachError(f"attaching raw tracepoint {_name(prog)}: the kernel has no "
                              f"tracepoint {tp!r}", e.errno) from None
        raise bsys.error_for(e.errno, f"attaching raw tracepoint {_name(prog)} to {tp}",
                             Command.RAW_TRACEPOINT_OPEN, error=AttachError) from None
    return FDLink(prog, fd, f"raw_tracepoint {tp}")


def _attach_tracing(prog, attach_to, atype, retprobe, target):
    """fentry/fexit/fmod_ret/tp_btf/lsm (target fixed at load through attach_btf_id)."""
    cookie = int(target.pop("cookie", 0))
    _no_extra("tracing", prog, target)
    what = f"attaching {_name(prog)} ({prog.spec.section or 'tracing'})"
    if atype is None:
        atype = int(AttachType.LSM_MAC) if prog.spec.type == ProgramType.LSM else \
            int(AttachType.TRACE_FENTRY)

    def setup(attr):
        if cookie:
            attr.tail.tracing.cookie = cookie
    try:
        fd = link_fd_create(prog, 0, atype, setup=setup, what=what)
    except AttachError as e:
        if not is_unsupported(e) or cookie:
            raise _explain_tracing(prog, attach_to, e) from None
        attr = bsys.RawTracepointOpenAttr(name=0, prog_fd=int(prog.fd))
        try:
            fd = bsys.bpf(Command.RAW_TRACEPOINT_OPEN, attr, what=what, error=AttachError)
        except AttachError as e2:
            raise _explain_tracing(prog, attach_to, e2) from None
    return FDLink(prog, fd, f"{prog.spec.section or _attach_name(atype)}")


def _explain_tracing(prog: Any, attach_to: str, e: SystemCallError) -> SystemCallError:
    if getattr(e, "errno", None) == _errno.EINVAL:
        return AttachError(f"attaching {_name(prog)} to {attach_to or '?'}: the kernel refused "
                           "(was the program loaded with its BTF target? fentry/fexit/lsm "
                           "targets are fixed at load time)", e.errno)
    return e


class _IterInfo(ctypes.Structure):
    """union bpf_iter_link_info (16 bytes): map_fd | cgroup{order, fd, id} | task{tid, pid, pid_fd}."""

    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32), ("c", ctypes.c_uint64)]


_MAP_ITERS = frozenset({"bpf_map_elem", "bpf_sk_storage_map", "sockmap"})
_ITER_ORDER = {"default": 0, "self_only": 1, "descendants_pre": 2, "descendants_post": 3,
               "ancestors_up": 4}


def _attach_iter(prog, attach_to, atype, retprobe, target):
    m = target.pop("map", None)
    cg = target.pop("cgroup", None)
    order = target.pop("order", "default")
    tid = target.pop("tid", None)
    pid = target.pop("pid", None)
    _no_extra("iterator", prog, target)
    if m is None and attach_to in _MAP_ITERS:
        raise AttachError(f"iterator {_name(prog)} (iter/{attach_to}) needs map= (the map "
                          "to walk)")
    info = _IterInfo()
    keep: list[Any] = []
    if m is not None:
        info.a = m if isinstance(m, int) else int(m.fd)
    elif cg is not None:
        cgfd, _where = _open_dir_fd(cg, "cgroup")
        keep.append(cgfd)
        info.a = _ITER_ORDER.get(order, order) if isinstance(order, str) else int(order)
        info.b = cgfd.fd
    elif tid is not None or pid is not None:
        info.a = int(tid or 0)
        info.b = int(pid or 0)
    use_info = m is not None or cg is not None or tid is not None or pid is not None

    def setup(attr):
        if use_info:
            attr.tail.iter.iter_info = ctypes.addressof(info)
            attr.tail.iter.iter_info_len = ctypes.sizeof(info)
    try:
        fd = link_fd_create(prog, 0, int(AttachType.TRACE_ITER), setup=setup,
                            what=f"creating iterator link for {_name(prog)} ({attach_to})")
    finally:
        for k in keep:
            k.close()
    return IterLink(prog, fd, f"iter/{attach_to}")


def _uprobe_event(prog: Any, path: str, offset: int, retprobe: bool, pid: int | None,
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
    return _perf_link(prog, fd, desc, cookie)


def _attach_uprobe(prog, attach_to, atype, retprobe, target):
    binary = target.pop("binary", None) or target.pop("path", None)
    symbol = target.pop("symbol", None) or target.pop("function", None)
    offset = target.pop("offset", None)
    pid = target.pop("pid", None)
    ref_ctr = int(target.pop("ref_ctr_offset", 0))
    cookie = int(target.pop("cookie", 0))
    _no_extra("uprobe", prog, target)
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
        raise AttachError(f"{kind} program {_name(prog)} needs binary= (a path or library "
                          "name) and symbol= or offset=")
    if symbol is None and offset is None:
        raise AttachError(f"{kind} program {_name(prog)} needs symbol= or offset= in {binary}")
    path = uprobe.resolve_binary(str(binary), pid)
    off = int(offset or 0)
    if symbol is not None:
        off += uprobe.symbol_offset(path, str(symbol))
    where = f"{path}:{symbol}" if symbol else f"{path}:{off:#x}"
    desc = f"{kind} {where}" + (f" pid {pid}" if pid is not None else "")
    return _uprobe_event(prog, path, off, retprobe, pid, ref_ctr, cookie, desc)


def _attach_usdt(prog, attach_to, atype, retprobe, target):
    binary = target.pop("binary", None) or target.pop("path", None)
    provider = target.pop("provider", None)
    name = target.pop("name", None)
    usdt = target.pop("usdt", None)
    pid = target.pop("pid", None)
    cookie = int(target.pop("cookie", 0))
    _no_extra("usdt", prog, target)
    if usdt is not None:
        provider, name = usdt if isinstance(usdt, (tuple, list)) else str(usdt).split(":", 1)
    if attach_to and (binary is None or provider is None):
        parts = attach_to.rsplit(":", 2)
        if len(parts) == 3:
            binary = binary or parts[0]
            provider, name = provider or parts[1], name or parts[2]
    if not binary or not provider or not name:
        raise AttachError(f"USDT program {_name(prog)} needs binary=, provider= and name= "
                          "(or a usdt/PATH:PROVIDER:NAME section)")
    path = uprobe.resolve_binary(str(binary), pid)
    sites = uprobe.find_usdt(path, provider, name)
    specs = _USDTSpecs.for_program(prog)
    links: list[Link] = []
    release: list[Any] = []
    try:
        for p in sites:
            spec_id = 0
            if specs is not None:  # the program reads arguments through <bpf/usdt.bpf.h>
                args = uprobe.parse_usdt_args(p.args)
                exec_type = uprobe.open_elf(path).type == uprobe.ET_EXEC
                spec_id = specs.add(uprobe.pack_usdt_spec(args, cookie),
                                    p.address if exec_type else None)
                release.append(spec_id)
            links.append(_uprobe_event(prog, path, p.offset, False, pid, p.semaphore_offset,
                                       spec_id if specs is not None else cookie,
                                       f"usdt {path}:{provider}:{name}@{p.address:#x}"))
    except BaseException:
        for link in links:
            link.close()
        if specs is not None:
            specs.release(release)
        raise
    link = MultiLink(prog, links, f"usdt {path}:{provider}:{name} ({len(links)} sites)")
    if specs is not None:
        link.on_close(lambda: specs.release(release))
    return link


class _USDTSpecs:
    """The __bpf_usdt_specs / __bpf_usdt_ip_to_spec_id maps of a program using
    <bpf/usdt.bpf.h>, and which spec ids this process handed out."""

    _used: dict[int, set[int]] = {}  # specs map id -> ids in use

    def __init__(self, specs_map: Any, ip_map: Any):
        self.specs = specs_map
        self.ip_map = ip_map
        self.key = int(specs_map.id)
        self._ips: dict[int, int] = {}

    @classmethod
    def for_program(cls, prog: Any) -> _USDTSpecs | None:
        from .info import prog_info_from_fd
        from .maps import open_map_by_id

        specs = ip_map = None
        for map_id in prog_info_from_fd(int(prog.fd)).map_ids:
            m = open_map_by_id(map_id)
            # kernel map names keep 15 characters: "__bpf_usdt_spec", "__bpf_usdt_ip_t"
            if m.name.startswith("__bpf_usdt_spec") and specs is None:
                specs = m
            elif m.name.startswith("__bpf_usdt_ip_t") and ip_map is None:
                ip_map = m
            else:
                m.close()
        if specs is None:
            if ip_map is not None:
                ip_map.close()
            return None
        return cls(specs, ip_map)

    def add(self, spec: bytes, ip: int | None) -> int:
        used = self._used.setdefault(self.key, set())
        free = next((i for i in range(self.specs.max_entries) if i not in used), None)
        if free is None:
            raise AttachError(f"USDT: all {self.specs.max_entries} argument specs of "
                              f"{self.specs.name} are in use (raise BPF_USDT_MAX_SPEC_CNT)")
        if len(spec) != self.specs.value_size:
            raise AttachError(f"USDT: {self.specs.name} has {self.specs.value_size}-byte "
                              f"values, not the {len(spec)} bytes of struct __bpf_usdt_spec")
        self.specs.update_bytes(free.to_bytes(4, "little"), spec)
        used.add(free)
        if ip is not None and self.ip_map is not None:
            self.ip_map.update_bytes(ip.to_bytes(8, "little"), free.to_bytes(4, "little"))
            self._ips[free] = ip
        return free

    def release(self, ids: list[int]) -> None:
        used = self._used.get(self.key, set())
        for i in ids:
            used.discard(i)
            ip = self._ips.pop(i, None)
            if ip is not None and self.ip_map is not None:
                try:
                    self.ip_map.delete_bytes(ip.to_bytes(8, "little"))
                except Exception as e:  # noqa: BLE001 - the map may be gone already
                    log.debug("USDT: dropping ip %#x: %s", ip, e)


def _attach_uprobe_multi(prog, attach_to, atype, retprobe, target):
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
    _no_extra("uprobe.multi", prog, target)
    if binary is None and attach_to:
        sec_bin, sec_pat = uprobe.parse_target(attach_to)
        binary = sec_bin or None
        if symbols is None and offsets is None and pattern is None:
            pattern = sec_pat or None
    kind = "uretprobe.multi" if retprobe else "uprobe.multi"
    if not binary:
        raise AttachError(f"{kind} program {_name(prog)} needs binary= and symbols=, "
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
        raise AttachError(f"{kind} program {_name(prog)}: nothing to probe in {path} "
                          f"(symbols={symbols!r} pattern={pattern!r} offsets={offsets!r})")
    if cookies is not None and len(cookies) != len(offs):
        raise AttachError(f"{kind} program {_name(prog)}: {len(cookies)} cookies for "
                          f"{len(offs)} probes")
    cpath = bsys.c_string(path)
    off_arr = (ctypes.c_uint64 * len(offs))(*offs)
    cookie_arr = (ctypes.c_uint64 * len(offs))(*cookies) if cookies is not None else None

    def setup(attr):
        um = attr.tail.uprobe_multi
        um.path = ctypes.addressof(cpath)
        um.offsets = ctypes.addressof(off_arr)
        um.cookies = ctypes.addressof(cookie_arr) if cookie_arr is not None else 0
        um.cnt = len(offs)
        um.flags = bsys.BPF_F_UPROBE_MULTI_RETURN if retprobe else 0
        um.pid = int(pid or 0)
    try:
        fd = link_fd_create(prog, 0, _attach_number("TRACE_UPROBE_MULTI"), setup=setup,
                            what=f"attaching {kind} {_name(prog)} to {len(offs)} places in {path}")
    except AttachError as e:
        if e.errno in (_errno.EOPNOTSUPP, 524):
            raise NotSupportedError("uprobe.multi links", min_kernel="6.6") from None
        if e.errno == _errno.EINVAL:
            raise AttachError(f"attaching {kind} {_name(prog)}: the kernel refused (was it "
                              "loaded with expected_attach_type TRACE_UPROBE_MULTI, from a "
                              "uprobe.multi section?)", e.errno) from None
        raise
    return FDLink(prog, fd, f"{kind} {path} ({len(offs)} probes)")


def _attach_kprobe(prog, attach_to, atype, retprobe, target):
    func = target.pop("function", None) or target.pop("symbol", None) or attach_to
    offset = int(target.pop("offset", 0))
    cookie = int(target.pop("cookie", 0))
    _no_extra("kprobe", prog, target)
    kind = "kretprobe" if retprobe else "kprobe"
    tracefs.require_kprobes(kind)
    if not func:
        raise AttachError(f"{kind} program {_name(prog)} needs function=")
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
    return _perf_link(prog, fd, f"{kind} {func}", cookie)


def _attach_kprobe_multi(prog, attach_to, atype, retprobe, target):
    """Many kernel functions, one bpf_link (Linux 5.18+, needs fprobe): ``symbols=[...]``
    or ``pattern="glob*"`` (matched against tracefs available_filter_functions), or a
    ``kprobe.multi/GLOB`` section."""
    import fnmatch

    symbols = target.pop("symbols", None)
    pattern = target.pop("pattern", None)
    cookies = target.pop("cookies", None)
    _no_extra("kprobe.multi", prog, target)
    kind = "kretprobe.multi" if retprobe else "kprobe.multi"
    tracefs.require_kprobes(kind)
    if symbols is None and pattern is None:
        pattern = attach_to or None
    if symbols is None and pattern is None:
        raise AttachError(f"{kind} program {_name(prog)} needs symbols= or pattern=")
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
        raise AttachError(f"{kind} program {_name(prog)}: no kernel function matches "
                          f"{pattern!r}")
    if cookies is not None and len(cookies) != len(names):
        raise AttachError(f"{kind} program {_name(prog)}: {len(cookies)} cookies for "
                          f"{len(names)} functions")
    cstrings = [bsys.c_string(n) for n in names]
    syms = (ctypes.c_uint64 * len(names))(*[ctypes.addressof(c) for c in cstrings])
    cookie_arr = (ctypes.c_uint64 * len(names))(*cookies) if cookies is not None else None

    def setup(attr):
        km = attr.tail.kprobe_multi
        km.flags = bsys.BPF_F_KPROBE_MULTI_RETURN if retprobe else 0
        km.cnt = len(names)
        km.syms = ctypes.addressof(syms)
        km.cookies = ctypes.addressof(cookie_arr) if cookie_arr is not None else 0
    try:
        fd = link_fd_create(prog, 0, int(AttachType.TRACE_KPROBE_MULTI), setup=setup,
                            what=f"attaching {kind} {_name(prog)} to {len(names)} functions")
    except AttachError as e:
        if e.errno in (_errno.EOPNOTSUPP, 524):
            raise NotSupportedError("kprobe.multi links", min_kernel="5.18",
                                    detail="the kernel needs CONFIG_FPROBE") from None
        raise
    return FDLink(prog, fd, f"{kind} ({len(names)} functions)")


def _attach_perf_event(prog, attach_to, atype, retprobe, target):
    ev = target.pop("perf_event", None)
    cpu = target.pop("cpu", None)
    pid = target.pop("pid", None)
    cookie = int(target.pop("cookie", 0))
    _no_extra("perf_event", prog, target)
    if not isinstance(ev, dict):
        raise AttachError(f"perf_event program {_name(prog)} needs perf_event=dict(type=..., "
                          "config=..., sample_period=N or sample_freq=F)")
    ev = dict(ev)
    etype = perf.parse_event_type(ev.pop("type", perf.TYPE_SOFTWARE))
    config = perf.parse_event_config(etype, ev.pop("config", 0))
    attr = perf.PerfEventAttr(type=etype, config=config)
    attr.set_sampling(int(ev.pop("sample_period", 0)), int(ev.pop("sample_freq", 0)))
    if not attr.sample_period:
        raise AttachError(f"perf_event program {_name(prog)}: give sample_period= or "
                          "sample_freq= (a zero period never fires)")
    for key in ("exclude_kernel", "exclude_user", "exclude_hv", "inherit"):
        if ev.pop(key, False):
            attr.flags |= getattr(perf, "FLAG_" + key.upper())
    if "config1" in ev:
        attr.config1 = int(ev.pop("config1"))
    if ev:
        raise AttachError(f"perf_event program {_name(prog)}: unknown perf_event keys "
                          f"{', '.join(sorted(ev))}")
    if cpu is None:
        cpus = perf.online_cpus() if pid is None else [-1]
    elif isinstance(cpu, (list, tuple, set)):
        cpus = sorted(cpu)
    else:
        cpus = [int(cpu)]
    links: list[Link] = []
    try:
        for c in cpus:
            fd = perf.perf_event_open(attr, pid=-1 if pid is None else int(pid), cpu=c,
                                      what=f"perf event type={etype} config={config}")
            links.append(_perf_link(prog, fd, f"perf_event {etype}:{config} cpu {c}", cookie))
    except BaseException:
        for link in links:
            link.close()
        raise
    if len(links) == 1:
        return links[0]
    return MultiLink(prog, links, f"perf_event {etype}:{config} on {len(links)} CPUs")


def _attach_struct_ops(prog, attach_to, atype, retprobe, target):
    raise NotSupportedError("attaching struct_ops programs one by one",
                            detail="register the struct_ops map instead")


_HANDLERS = {
    "xdp": _attach_xdp,
    "tc": _attach_tc,
    "tcx": _attach_tc,
    "socket": _attach_socket,
    "sk_reuseport": _attach_reuseport,
    "cgroup": _attach_cgroup,
    "lsm_cgroup": _attach_cgroup,
    "sk_lookup": _attach_netns("sk_lookup", "SK_LOOKUP"),
    "flow_dissector": _attach_netns("flow_dissector", "FLOW_DISSECTOR"),
    "sk_skb": _attach_sockmap("sk_skb"),
    "sk_msg": _attach_sockmap("sk_msg"),
    "netfilter": _attach_netfilter,
    "tracepoint": _attach_tracepoint,
    "raw_tracepoint": _attach_raw_tracepoint,
    "tracing": _attach_tracing,
    "lsm": _attach_tracing,
    "freplace": _attach_tracing,
    "iter": _attach_iter,
    "uprobe": _attach_uprobe,
    "uprobe_multi": _attach_uprobe_multi,
    "usdt": _attach_usdt,
    "kprobe": _attach_kprobe,
    "ksyscall": _attach_kprobe,
    "kprobe_multi": _attach_kprobe_multi,
    "kprobe_session": _attach_kprobe_multi,
    "perf_event": _attach_perf_event,
    "struct_ops": _attach_struct_ops,
}


__all__ = ["attach_program"]
