"""Conventional ELF section names → program type, attach type and attach target.

libbpf-style objects say what each program is through the name of the section it
lives in: ``SEC("xdp")``, ``SEC("tracepoint/syscalls/sys_enter_openat")``,
``SEC("uprobe//usr/lib/libc.so.6:malloc")``... :func:`classify` reads such a name.

>>> from ebpf.spec.sections import classify
>>> info = classify("tracepoint/syscalls/sys_enter_openat")
>>> info.program_type.name, info.attach_to, info.attach_kind
('TRACEPOINT', 'syscalls/sys_enter_openat', 'tracepoint')
>>> classify("fentry.s/do_unlinkat").sleepable
True
>>> classify("xdp").needs_target
True

Program and attach types are looked up by name in the generated ``ebpf.uapi``
enums (``program_type_value`` / ``attach_type_value`` are their kernel numbers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..uapi import AttachType, ProgramType
from ..uapi.consts import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS

log = logging.getLogger(__name__)

# How attaching proceeds, by attach_kind: True when the user must give a target
# (an interface, a socket, a cgroup, a binary, an event...) whatever the section says.
_KIND_NEEDS_USER_TARGET = {
    "xdp": True, "tc": True, "tcx": True, "netkit": True, "tc_action": True,
    "socket": True, "sk_skb": True, "sk_msg": True, "sk_reuseport": True,
    "cgroup": True, "lsm_cgroup": True, "sk_lookup": True, "flow_dissector": True,
    "perf_event": True, "lwt": True, "lirc_mode2": True, "netfilter": True,
    "freplace": True, "syscall": True, "struct_ops": True,
    # these are fully specified when the section names a target
    "tracepoint": False, "raw_tracepoint": False, "tracing": False, "lsm": False,
    "kprobe": False, "kprobe_multi": False, "kprobe_session": False, "ksyscall": False,
    "uprobe": False, "uprobe_multi": False, "usdt": False, "iter": False,
}


#: iterators over a map's elements: attaching needs the map
_MAP_ITERATORS = frozenset({"bpf_map_elem", "bpf_sk_storage_map", "sockmap"})


@dataclass(frozen=True)
class SectionInfo:
    """What a section name says about the programs in it.

    ``known`` is False for names no convention covers (type UNSPEC).
    ``attach_to`` is the target the name carries ("" when none): a tracepoint's
    "category/name", a kernel function, a uprobe's "path:symbol[+off]", a
    kprobe.multi pattern, an iterator name, an LSM hook...
    """

    section: str
    program_type: ProgramType
    attach_type: AttachType | None
    attach_kind: str
    attach_to: str = ""
    flags: int = 0
    retprobe: bool = False
    known: bool = True
    #: the convention that matched ("xdp.frags", "uprobe+", ...), "" when unknown
    pattern: str = ""
    #: the kernel's numbers, also for enum members ebpf.uapi does not know yet
    program_type_value: int = 0
    attach_type_value: int | None = None

    @property
    def sleepable(self) -> bool:
        return bool(self.flags & BPF_F_SLEEPABLE)

    @property
    def needs_target(self) -> bool:
        """True when attaching needs a target from the user (see :func:`needs_target`)."""
        return _needs_target(self.attach_kind, self.attach_to, self.attach_type)


# ---------------------------------------------------------------------------
# The table. Each entry: (pattern, program type, attach type, kind, options)
#   pattern ending in "+": matches NAME exactly or NAME/TARGET (TARGET -> attach_to)
#   otherwise the name must match exactly.
#   options: "s" sleepable, "f" XDP frags, "r" retprobe
_TABLE: list[tuple[str, str, str | None, str, str]] = [
    ("socket", "SOCKET_FILTER", None, "socket", ""),
    ("sk_reuseport/migrate", "SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE", "sk_reuseport", ""),
    ("sk_reuseport", "SK_REUSEPORT", "SK_REUSEPORT_SELECT", "sk_reuseport", ""),
    ("kprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", "kprobe_multi", ""),
    ("kretprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", "kprobe_multi", "r"),
    ("kprobe.session+", "KPROBE", "TRACE_KPROBE_SESSION", "kprobe_session", ""),
    ("kprobe+", "KPROBE", None, "kprobe", ""),
    ("kretprobe+", "KPROBE", None, "kprobe", "r"),
    ("uprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", "uprobe_multi", "s"),
    ("uretprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", "uprobe_multi", "sr"),
    ("uprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", "uprobe_multi", ""),
    ("uretprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", "uprobe_multi", "r"),
    ("uprobe.session.s+", "KPROBE", "TRACE_UPROBE_SESSION", "uprobe_multi", "s"),
    ("uprobe.session+", "KPROBE", "TRACE_UPROBE_SESSION", "uprobe_multi", ""),
    ("uprobe.s+", "KPROBE", None, "uprobe", "s"),
    ("uretprobe.s+", "KPROBE", None, "uprobe", "sr"),
    ("uprobe+", "KPROBE", None, "uprobe", ""),
    ("uretprobe+", "KPROBE", None, "uprobe", "r"),
    ("ksyscall+", "KPROBE", None, "ksyscall", ""),
    ("kretsyscall+", "KPROBE", None, "ksyscall", "r"),
    ("usdt.s+", "KPROBE", None, "usdt", "s"),
    ("usdt+", "KPROBE", None, "usdt", ""),
    ("tc/ingress", "SCHED_CLS", "TCX_INGRESS", "tcx", ""),
    ("tc/egress", "SCHED_CLS", "TCX_EGRESS", "tcx", ""),
    ("tcx/ingress", "SCHED_CLS", "TCX_INGRESS", "tcx", ""),
    ("tcx/egress", "SCHED_CLS", "TCX_EGRESS", "tcx", ""),
    ("tc+", "SCHED_CLS", None, "tc", ""),
    ("classifier+", "SCHED_CLS", None, "tc", ""),
    ("action+", "SCHED_ACT", None, "tc_action", ""),
    ("netkit/primary", "SCHED_CLS", "NETKIT_PRIMARY", "netkit", ""),
    ("netkit/peer", "SCHED_CLS", "NETKIT_PEER", "netkit", ""),
    ("tracepoint+", "TRACEPOINT", None, "tracepoint", ""),
    ("tp+", "TRACEPOINT", None, "tracepoint", ""),
    ("raw_tracepoint.w+", "RAW_TRACEPOINT_WRITABLE", None, "raw_tracepoint", ""),
    ("raw_tp.w+", "RAW_TRACEPOINT_WRITABLE", None, "raw_tracepoint", ""),
    ("raw_tracepoint+", "RAW_TRACEPOINT", None, "raw_tracepoint", ""),
    ("raw_tp+", "RAW_TRACEPOINT", None, "raw_tracepoint", ""),
    ("tp_btf+", "TRACING", "TRACE_RAW_TP", "tracing", ""),
    ("fentry.s+", "TRACING", "TRACE_FENTRY", "tracing", "s"),
    ("fmod_ret.s+", "TRACING", "MODIFY_RETURN", "tracing", "s"),
    ("fexit.s+", "TRACING", "TRACE_FEXIT", "tracing", "s"),
    ("fentry+", "TRACING", "TRACE_FENTRY", "tracing", ""),
    ("fmod_ret+", "TRACING", "MODIFY_RETURN", "tracing", ""),
    ("fexit+", "TRACING", "TRACE_FEXIT", "tracing", ""),
    ("freplace+", "EXT", None, "freplace", ""),
    ("lsm.s+", "LSM", "LSM_MAC", "lsm", "s"),
    ("lsm_cgroup+", "LSM", "LSM_CGROUP", "lsm_cgroup", ""),
    ("lsm+", "LSM", "LSM_MAC", "lsm", ""),
    ("iter.s+", "TRACING", "TRACE_ITER", "iter", "s"),
    ("iter+", "TRACING", "TRACE_ITER", "iter", ""),
    ("syscall", "SYSCALL", None, "syscall", "s"),
    ("xdp.frags/devmap", "XDP", "XDP_DEVMAP", "xdp", "f"),
    ("xdp/devmap", "XDP", "XDP_DEVMAP", "xdp", ""),
    ("xdp.frags/cpumap", "XDP", "XDP_CPUMAP", "xdp", "f"),
    ("xdp/cpumap", "XDP", "XDP_CPUMAP", "xdp", ""),
    ("xdp.frags", "XDP", "XDP", "xdp", "f"),
    ("xdp+", "XDP", "XDP", "xdp", ""),
    ("perf_event", "PERF_EVENT", None, "perf_event", ""),
    ("lwt_in", "LWT_IN", None, "lwt", ""),
    ("lwt_out", "LWT_OUT", None, "lwt", ""),
    ("lwt_xmit", "LWT_XMIT", None, "lwt", ""),
    ("lwt_seg6local", "LWT_SEG6LOCAL", None, "lwt", ""),
    ("sockops", "SOCK_OPS", "CGROUP_SOCK_OPS", "cgroup", ""),
    ("sk_skb/stream_parser", "SK_SKB", "SK_SKB_STREAM_PARSER", "sk_skb", ""),
    ("sk_skb/stream_verdict", "SK_SKB", "SK_SKB_STREAM_VERDICT", "sk_skb", ""),
    ("sk_skb/verdict", "SK_SKB", "SK_SKB_VERDICT", "sk_skb", ""),
    ("sk_skb", "SK_SKB", None, "sk_skb", ""),
    ("sk_msg", "SK_MSG", "SK_MSG_VERDICT", "sk_msg", ""),
    ("lirc_mode2", "LIRC_MODE2", "LIRC_MODE2", "lirc_mode2", ""),
    ("flow_dissector", "FLOW_DISSECTOR", "FLOW_DISSECTOR", "flow_dissector", ""),
    ("cgroup_skb/ingress", "CGROUP_SKB", "CGROUP_INET_INGRESS", "cgroup", ""),
    ("cgroup_skb/egress", "CGROUP_SKB", "CGROUP_INET_EGRESS", "cgroup", ""),
    ("cgroup/skb", "CGROUP_SKB", None, "cgroup", ""),
    ("cgroup/sock_create", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", "cgroup", ""),
    ("cgroup/sock_release", "CGROUP_SOCK", "CGROUP_INET_SOCK_RELEASE", "cgroup", ""),
    ("cgroup/sock", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", "cgroup", ""),
    ("cgroup/post_bind4", "CGROUP_SOCK", "CGROUP_INET4_POST_BIND", "cgroup", ""),
    ("cgroup/post_bind6", "CGROUP_SOCK", "CGROUP_INET6_POST_BIND", "cgroup", ""),
    ("cgroup/bind4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_BIND", "cgroup", ""),
    ("cgroup/bind6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_BIND", "cgroup", ""),
    ("cgroup/connect4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT", "cgroup", ""),
    ("cgroup/connect6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_CONNECT", "cgroup", ""),
    ("cgroup/connect_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT", "cgroup", ""),
    ("cgroup/sendmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_SENDMSG", "cgroup", ""),
    ("cgroup/sendmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_SENDMSG", "cgroup", ""),
    ("cgroup/sendmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_SENDMSG", "cgroup", ""),
    ("cgroup/recvmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_RECVMSG", "cgroup", ""),
    ("cgroup/recvmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_RECVMSG", "cgroup", ""),
    ("cgroup/recvmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_RECVMSG", "cgroup", ""),
    ("cgroup/getpeername4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETPEERNAME", "cgroup", ""),
    ("cgroup/getpeername6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETPEERNAME", "cgroup", ""),
    ("cgroup/getpeername_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETPEERNAME", "cgroup", ""),
    ("cgroup/getsockname4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETSOCKNAME", "cgroup", ""),
    ("cgroup/getsockname6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETSOCKNAME", "cgroup", ""),
    ("cgroup/getsockname_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETSOCKNAME", "cgroup", ""),
    ("cgroup/sysctl", "CGROUP_SYSCTL", "CGROUP_SYSCTL", "cgroup", ""),
    ("cgroup/getsockopt", "CGROUP_SOCKOPT", "CGROUP_GETSOCKOPT", "cgroup", ""),
    ("cgroup/setsockopt", "CGROUP_SOCKOPT", "CGROUP_SETSOCKOPT", "cgroup", ""),
    ("cgroup/dev", "CGROUP_DEVICE", "CGROUP_DEVICE", "cgroup", ""),
    ("struct_ops.s+", "STRUCT_OPS", None, "struct_ops", "s"),
    ("struct_ops+", "STRUCT_OPS", None, "struct_ops", ""),
    ("sk_lookup", "SK_LOOKUP", "SK_LOOKUP", "sk_lookup", ""),
    ("netfilter", "NETFILTER", "NETFILTER", "netfilter", ""),
]

# Old libbpf (< 1.0) and other loaders matched some names by prefix only
# ("xdp_prog", "socket1", "classifier_ingress"). Tried after the strict table.
_LEGACY_PREFIXES: list[tuple[str, str]] = [
    ("xdp", "xdp+"),
    ("socket", "socket"),
    ("classifier", "classifier+"),
    ("action", "action+"),
    ("sockops", "sockops"),
    ("sk_skb", "sk_skb"),
    ("sk_msg", "sk_msg"),
    ("perf_event", "perf_event"),
    ("flow_dissector", "flow_dissector"),
    ("cgroup_skb", "cgroup/skb"),
]

_BY_PATTERN = {entry[0]: entry for entry in _TABLE}


def program_type_by_name(name: str) -> tuple[ProgramType, int]:
    """The ProgramType member called ``name`` and its kernel number ((UNSPEC, 0)
    when ebpf.uapi has none)."""
    member = ProgramType.__members__.get(name)
    if member is not None:
        return member, int(member)
    return ProgramType.UNSPEC, 0


def attach_type_by_name(name: str | None) -> tuple[AttachType | None, int | None]:
    """The AttachType member called ``name`` and its kernel number ((None, None)
    when ebpf.uapi has none)."""
    member = AttachType.__members__.get(name) if name is not None else None
    if member is not None:
        return member, int(member)
    return None, None


def _build(section: str, entry: tuple[str, str, str | None, str, str], target: str) -> SectionInfo:
    pattern, ptype_name, atype_name, kind, opts = entry
    ptype, ptype_value = program_type_by_name(ptype_name)
    atype, atype_value = attach_type_by_name(atype_name)
    flags = 0
    if "s" in opts:
        flags |= BPF_F_SLEEPABLE
    if "f" in opts:
        flags |= BPF_F_XDP_HAS_FRAGS
    if ptype is ProgramType.UNSPEC and ptype_value:
        log.debug("section %r: program type %s unknown to ebpf.uapi (kernel number %d)",
                  section, ptype_name, ptype_value)
    return SectionInfo(section=section, program_type=ptype, attach_type=atype,
                       attach_kind=kind, attach_to=target, flags=flags, retprobe="r" in opts,
                       known=True, pattern=pattern, program_type_value=ptype_value,
                       attach_type_value=atype_value)


def classify(section_name: str) -> SectionInfo:
    """What the section name ``section_name`` says (see the module docs).

    Unknown names give ``known=False`` and type UNSPEC rather than an error.

    >>> classify("uretprobe//lib/libc.so.6:free").retprobe
    True
    >>> classify("cgroup/connect4").attach_type.name
    'CGROUP_INET4_CONNECT'
    >>> classify("my_custom_section").known
    False
    >>> classify("?fentry/do_unlinkat").attach_to
    'do_unlinkat'
    """
    name = section_name
    if name.startswith("?"):
        # SEC("?...") only says "do not load by default" (ProgramSpec.autoload)
        inner = classify(name[1:])
        return SectionInfo(**{**inner.__dict__, "section": section_name})
    entry = _BY_PATTERN.get(name)
    if entry is not None:
        return _build(name, entry, "")
    # "prefix+" patterns: NAME or NAME/TARGET; the longest pattern wins.
    best: tuple[str, str, str | None, str, str] | None = None
    for candidate in _TABLE:
        pattern = candidate[0]
        if not pattern.endswith("+"):
            continue
        base = pattern[:-1]
        if name == base or name.startswith(base + "/"):
            if best is None or len(pattern) > len(best[0]):
                best = candidate
    if best is not None:
        base = best[0][:-1]
        return _build(name, best, name[len(base) + 1:])
    # "sk_lookup/anything": an exact name followed by a label some loaders accept
    for candidate in _TABLE:
        if not candidate[0].endswith("+") and name.startswith(candidate[0] + "/"):
            log.debug("section %r: matched %r with a trailing label", name, candidate[0])
            return _build(name, candidate, "")
    for prefix, pattern in _LEGACY_PREFIXES:
        if name.startswith(prefix):
            log.debug("section %r: matched by legacy prefix %r", name, prefix)
            return _build(name, _BY_PATTERN[pattern], "")
    return SectionInfo(section=name, program_type=ProgramType.UNSPEC, attach_type=None,
                       attach_kind="", known=False)


def _needs_target(kind: str, attach_to: str, attach_type: AttachType | None) -> bool:
    if kind not in _KIND_NEEDS_USER_TARGET:
        return True  # unknown section: we cannot attach it on our own
    if _KIND_NEEDS_USER_TARGET[kind]:
        return True
    if kind == "iter":
        # map element iterators need the map to walk
        return not attach_to or attach_to in _MAP_ITERATORS
    if kind == "tracepoint":
        return attach_to.count("/") != 1 or attach_to.startswith("/") or attach_to.endswith("/")
    if kind in ("uprobe", "uprobe_multi"):
        # "path:symbol[+off]" (a pattern for uprobe.multi) or "path:0xoffset" is
        # complete; "" or a bare path is not
        path, sep, func = attach_to.rpartition(":")
        return not (sep and path and func)
    if kind == "usdt":
        # path:provider:name
        return attach_to.count(":") < 2
    return not attach_to


def section_for_type(ptype: ProgramType) -> SectionInfo:
    """What the plainest section of program type ``ptype`` says (``XDP`` → ``xdp``,
    ``SCHED_CLS`` → ``tc``): how a program whose section names no type is loaded
    when the caller gives the type.

    >>> section_for_type(ProgramType.SCHED_CLS).attach_kind
    'tc'
    """
    for pattern in sorted((e[0] for e in _TABLE if e[1] == ptype.name), key=len):
        info = classify(pattern.rstrip("+"))  # the shortest name: "xdp", not "xdp/devmap"
        if info.known and info.program_type == ptype:
            return info
    return SectionInfo(section="", program_type=ptype, attach_type=None, attach_kind="",
                       known=True, program_type_value=int(ptype))


def needs_target(program_spec: Any) -> bool:
    """True when attaching ``program_spec`` needs a target from the user (an
    interface for XDP/tc, a socket, a cgroup, a binary/symbol for a bare uprobe,
    a perf event...), False when the section says everything (``tracepoint/x/y``,
    ``raw_tp/x``, ``tp_btf/x``, ``fentry/fn``, ``lsm/hook``, ``kprobe/fn``,
    ``uprobe/path:sym``, ``iter/task``...).

    Accepts a ProgramSpec (uses ``attach_kind``/``attach_to``, falling back to its
    section name) or a section name.

    >>> needs_target("tp/sched/sched_switch"), needs_target("cgroup_skb/egress")
    (False, True)
    """
    if isinstance(program_spec, str):
        return classify(program_spec).needs_target
    kind = getattr(program_spec, "attach_kind", "") or ""
    attach_to = getattr(program_spec, "attach_to", "") or ""
    attach_type = getattr(program_spec, "attach_type", None)
    if not kind:
        info = getattr(program_spec, "section_info", None)
        if info is None:
            section = getattr(program_spec, "section", "") or ""
            if not section:
                return True
            info = classify(section)
        return _needs_target(info.attach_kind, attach_to or info.attach_to, attach_type)
    return _needs_target(kind, attach_to, attach_type)


__all__ = ["SectionInfo", "attach_type_by_name", "classify", "needs_target", "section_for_type",
           "program_type_by_name"]
