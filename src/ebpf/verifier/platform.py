"""Platform facts the verifier checks against, as data: helper prototypes,
which program types may call which helpers, context layouts per program
type, return-value ranges.

Helpers are keyed by :class:`ebpf.HelperId` name, the same ids the vm's helper
table (``ebpf.vm.helpers.HELPERS``) registers implementations under. A helper
with no prototype here falls back to the generated ``bpf_helper_defs.h``
declaration (every argument "any initialised value", integer or nullable
kernel-pointer result).

Argument kinds (``ARG_*`` of the kernel, shortened):

=============  ==================================================================
``any``        any initialised value          ``scalar``   a scalar
``map``        a map pointer (``lddw`` of a map)
``key``        readable memory of the map's key size
``value``      readable memory of the map's value size (``value?``: or NULL)
``value_out``  writable memory of the map's value size
``mem``        readable memory, its size in the next argument (``mem?``: or NULL)
``out``        writable memory, size in the next argument (need not be initialised)
``size``       a bounded scalar > 0 (``size0``: >= 0)
``ctx``        the context pointer         ``func``  a callback (``lddw`` of a function)
``ringbuf``    memory from bpf_ringbuf_reserve (released by the call)
``sock``       a referenced socket (released)   ``sock_common``  any socket pointer
``spin_lock``  a ``struct bpf_spin_lock`` inside a map value
``const_str``  a NUL-terminated string in read-only map memory
``long_out``   8 writable bytes             ``btf``  a kernel object pointer
``alloc``      a constant size (ringbuf reservation)
``kptr_dest``  a referenced kptr field of a map value (``bpf_kptr_xchg``)
``kptr_obj``   NULL or a referenced object of that field's type (released)
=============  ==================================================================
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..uapi import HelperId
from ..uapi import ProgramType as PT
from ..uapi import contexts as uctx


@dataclass(frozen=True)
class Proto:
    ret: str = "int"
    args: tuple[str, ...] = ()
    gpl: bool = False
    #: the call may move packet data: every packet pointer is invalidated
    changes_pkt: bool = False
    #: callback: (argument index of the function, kinds of the callback's R1..)
    callback: tuple[int, tuple[str, ...]] | None = None
    #: which helper group decides the program types allowed (see GROUPS)
    group: str = "base"


_P = Proto
_RD = ("out", "size0", "any")
HELPERS: dict[str, Proto] = {
    "map_lookup_elem": _P("map_value?", ("map", "key")),
    "map_update_elem": _P("int", ("map", "key", "value", "scalar")),
    "get_local_storage": _P("map_value", ("map", "scalar")),
    "map_delete_elem": _P("int", ("map", "key")),
    "map_push_elem": _P("int", ("map", "value", "scalar")),
    "map_pop_elem": _P("int", ("map", "value_out")),
    "map_peek_elem": _P("int", ("map", "value_out")),
    "map_lookup_percpu_elem": _P("map_value?", ("map", "key", "scalar")),
    "probe_read": _P("int", _RD, gpl=True, group="tracing"),
    "probe_read_str": _P("int", _RD, gpl=True, group="tracing"),
    "probe_read_user": _P("int", _RD, gpl=True),
    "probe_read_user_str": _P("int", _RD, gpl=True),
    "probe_read_kernel": _P("int", _RD, gpl=True),
    "probe_read_kernel_str": _P("int", _RD, gpl=True),
    "copy_from_user": _P("int", _RD, gpl=True, group="sleepable"),
    "probe_write_user": _P("int", ("any", "mem", "size"), gpl=True, group="tracing"),
    "ktime_get_ns": _P(), "ktime_get_boot_ns": _P(), "ktime_get_coarse_ns": _P(),
    "ktime_get_tai_ns": _P(), "jiffies64": _P(), "get_prandom_u32": _P(),
    "get_smp_processor_id": _P(), "get_numa_node_id": _P(),
    "get_current_pid_tgid": _P(group="task"), "get_current_uid_gid": _P(group="task"),
    "get_current_cgroup_id": _P(group="task"), "get_current_ancestor_cgroup_id":
        _P("int", ("scalar",), group="task"),
    "get_current_comm": _P("int", ("out", "size"), group="task"),
    "get_current_task": _P(gpl=True), "get_current_task_btf": _P("btf:task_struct", (), gpl=True),
    "task_pt_regs": _P("btf:pt_regs", ("btf",), gpl=True),
    "trace_printk": _P("int", ("mem", "size"), gpl=True),
    "snprintf": _P("int", ("out", "size0", "const_str", "mem?", "size0")),
    "strncmp": _P("int", ("mem", "size", "const_str")),
    "strtol": _P("int", ("mem", "size", "scalar", "long_out"), group="sysctl"),
    "strtoul": _P("int", ("mem", "size", "scalar", "long_out"), group="sysctl"),
    "ringbuf_reserve": _P("ringbuf?", ("map", "alloc", "scalar")),
    "ringbuf_submit": _P("void", ("ringbuf", "scalar")),
    "ringbuf_discard": _P("void", ("ringbuf", "scalar")),
    "ringbuf_output": _P("int", ("map", "mem", "size0", "scalar")),
    "ringbuf_query": _P("int", ("map", "scalar")),
    "perf_event_output": _P("int", ("ctx", "map", "scalar", "mem", "size0"), gpl=True),
    "tail_call": _P("int", ("ctx", "map", "scalar")),
    "loop": _P("int", ("scalar", "func", "any", "scalar"),
               callback=(1, ("scalar", "@2"))),
    "for_each_map_elem": _P("int", ("map", "func", "any", "scalar"),
                            callback=(1, ("map@0", "key@0", "value@0", "@2"))),
    "spin_lock": _P("void", ("spin_lock",)),
    "spin_unlock": _P("void", ("spin_lock",)),
    "get_stackid": _P("int", ("ctx", "map", "scalar"), gpl=True, group="tracing"),
    "get_stack": _P("int", ("ctx", "out", "size0", "scalar"), gpl=True, group="tracing"),
    # in every program type's base set since Linux 6.14 (bpf_base_func_proto)
    "get_task_stack": _P("int", ("btf", "out", "size0", "scalar"), gpl=True),
    "send_signal": _P("int", ("scalar",), gpl=True),
    "send_signal_thread": _P("int", ("scalar",), gpl=True),
    "override_return": _P("int", ("ctx", "scalar"), gpl=True, group="kprobe"),
    "current_task_under_cgroup": _P("int", ("map", "scalar"), group="tracing"),
    "get_ns_current_pid_tgid": _P("int", ("scalar", "scalar", "out", "size"), group="tracing"),
    "get_func_ip": _P("int", ("ctx",), group="tracing"),
    "get_attach_cookie": _P("int", ("ctx",)),
    "task_storage_get": _P("map_value?", ("map", "btf", "value?", "scalar")),
    "task_storage_delete": _P("int", ("map", "btf")),
    # a socket's storage (the socket: a sock_common pointer, or a sock_ops context's sk)
    "sk_storage_get": _P("map_value?", ("map", "any", "value?", "scalar")),
    "sk_storage_delete": _P("int", ("map", "any")),
    "per_cpu_ptr": _P("btf?", ("any", "scalar")),
    "this_cpu_ptr": _P("btf", ("any",)),
    "redirect": _P("int", ("scalar", "scalar"), group="net"),
    "redirect_map": _P("int", ("map", "scalar", "scalar"), group="net"),
    "skb_load_bytes": _P("int", ("ctx", "scalar", "out", "size"), group="skb_read"),
    "skb_load_bytes_relative": _P("int", ("ctx", "scalar", "out", "size", "scalar"),
                                  group="skb_read"),
    "skb_store_bytes": _P("int", ("ctx", "scalar", "mem", "size", "scalar"), changes_pkt=True,
                          group="skb"),
    "l3_csum_replace": _P("int", ("ctx",) + ("scalar",) * 4, changes_pkt=True, group="skb"),
    "l4_csum_replace": _P("int", ("ctx",) + ("scalar",) * 4, changes_pkt=True, group="skb"),
    "csum_diff": _P("int", ("mem?", "size0", "mem?", "size0", "scalar"), group="net"),
    "skb_change_tail": _P("int", ("ctx", "scalar", "scalar"), changes_pkt=True, group="skb"),
    "skb_change_head": _P("int", ("ctx", "scalar", "scalar"), changes_pkt=True, group="skb"),
    "skb_adjust_room": _P("int", ("ctx", "scalar", "scalar", "scalar"), changes_pkt=True,
                          group="skb"),
    "skb_change_proto": _P("int", ("ctx", "scalar", "scalar"), changes_pkt=True, group="skb"),
    "skb_pull_data": _P("int", ("ctx", "scalar"), changes_pkt=True, group="skb"),
    "skb_vlan_push": _P("int", ("ctx", "scalar", "scalar"), changes_pkt=True, group="skb"),
    "skb_vlan_pop": _P("int", ("ctx",), changes_pkt=True, group="skb"),
    "clone_redirect": _P("int", ("ctx", "scalar", "scalar"), changes_pkt=True, group="skb"),
    "skb_under_cgroup": _P("int", ("ctx", "map", "scalar"), group="skb"),
    "set_hash_invalid": _P("void", ("ctx",), group="skb"),
    "set_hash": _P("int", ("ctx", "scalar"), group="skb"),
    "get_hash_recalc": _P("int", ("ctx",), group="skb"),
    "skb_ecn_set_ce": _P("int", ("ctx",), group="skb"),
    "get_socket_cookie": _P("int", ("any",)),
    "get_socket_uid": _P("int", ("ctx",), group="skb_read"),
    "fib_lookup": _P("int", ("ctx", "mem", "size", "scalar"), group="net"),
    "xdp_adjust_head": _P("int", ("ctx", "scalar"), changes_pkt=True, group="xdp"),
    "xdp_adjust_tail": _P("int", ("ctx", "scalar"), changes_pkt=True, group="xdp"),
    "xdp_adjust_meta": _P("int", ("ctx", "scalar"), changes_pkt=True, group="xdp"),
    "xdp_load_bytes": _P("int", ("ctx", "scalar", "out", "size"), group="xdp"),
    "xdp_store_bytes": _P("int", ("ctx", "scalar", "mem", "size"), group="xdp"),
    "xdp_get_buff_len": _P("int", ("ctx",), group="xdp"),
    "sk_lookup_tcp": _P("sock?", ("ctx", "mem", "size", "scalar", "scalar"), group="net"),
    "sk_lookup_udp": _P("sock?", ("ctx", "mem", "size", "scalar", "scalar"), group="net"),
    "skc_lookup_tcp": _P("sock?", ("ctx", "mem", "size", "scalar", "scalar"), group="net"),
    "sk_release": _P("int", ("sock",), group="net"),
    "kptr_xchg": _P("kptr?", ("kptr_dest", "kptr_obj")),
    # SYN cookies without a listener (the header pointers are fixed-size memory)
    "tcp_raw_gen_syncookie_ipv4": _P("int", ("any", "mem", "size"), gpl=True, group="xdp_tc"),
    "tcp_raw_gen_syncookie_ipv6": _P("int", ("any", "mem", "size"), gpl=True, group="xdp_tc"),
    "tcp_raw_check_syncookie_ipv4": _P("int", ("any", "any"), gpl=True, group="xdp_tc"),
    "tcp_raw_check_syncookie_ipv6": _P("int", ("any", "any"), gpl=True, group="xdp_tc"),
    "tcp_gen_syncookie": _P("int", ("sock_common", "mem", "size", "mem", "size"), gpl=True,
                            group="xdp_tc"),
    "tcp_check_syncookie": _P("int", ("sock_common", "mem", "size", "mem", "size"),
                              gpl=True, group="xdp_tc"),
    # sk_msg (the pull/push/pop helpers rebuild the scatterlist data points into)
    "msg_apply_bytes": _P("int", ("ctx", "scalar"), group="sk_msg"),
    "msg_cork_bytes": _P("int", ("ctx", "scalar"), group="sk_msg"),
    "msg_pull_data": _P("int", ("ctx", "scalar", "scalar", "scalar"), changes_pkt=True,
                        group="sk_msg"),
    "msg_push_data": _P("int", ("ctx", "scalar", "scalar", "scalar"), changes_pkt=True,
                        group="sk_msg"),
    "msg_pop_data": _P("int", ("ctx", "scalar", "scalar", "scalar"), changes_pkt=True,
                       group="sk_msg"),
    # a sock_ops program's socket (and the other hooks with a locked socket)
    "setsockopt": _P("int", ("ctx", "scalar", "scalar", "mem", "size"), group="sockopt"),
    "getsockopt": _P("int", ("ctx", "scalar", "scalar", "out", "size"), group="sockopt"),
    "sock_map_update": _P("int", ("ctx", "map", "key", "scalar"), group="sock_ops"),
    "sock_hash_update": _P("int", ("ctx", "map", "key", "scalar"), group="sock_ops"),
    "load_hdr_opt": _P("int", ("ctx", "out", "size", "scalar"), group="sock_ops"),
    "store_hdr_opt": _P("int", ("ctx", "mem", "size", "scalar"), changes_pkt=True,
                        group="sock_ops"),
    "reserve_hdr_opt": _P("int", ("ctx", "scalar", "scalar"), group="sock_ops"),
    "sk_select_reuseport": _P("int", ("ctx", "map", "key", "scalar"), group="sk_reuseport"),
    # what a program learns of a socket (the casts are in every type's base set)
    **{f"skc_to_{t}": _P(f"btf?:{t}", ("sock_common",)) for t in (
        "tcp6_sock", "tcp_sock", "tcp_timewait_sock", "tcp_request_sock", "udp6_sock",
        "unix_sock", "mptcp_sock")},
    "tcp_sock": _P("tcp_sock?", ("sock_common",), group="tcp_sock"),
    "sk_assign": _P("int", ("ctx", "any", "scalar"), group="sk_assign"),
    "tcp_send_ack": _P("int", ("btf", "scalar"), group="struct_ops"),
    # connect hooks only, in the kernel (this table goes by program type)
    "bind": _P("int", ("ctx", "mem", "size"), group="sock_addr"),
    "sk_cgroup_id": _P("int", ("sock_common",), group="sk_cgroup"),
    "sk_ancestor_cgroup_id": _P("int", ("sock_common", "scalar"), group="sk_cgroup"),
    # cgroup hooks (kernel/bpf/cgroup.c)
    "get_retval": _P("int", (), group="cgroup_retval"),
    "set_retval": _P("int", ("scalar",), group="cgroup_retval"),
    "sysctl_get_name": _P("int", ("ctx", "out", "size", "scalar"), group="cgroup_sysctl"),
    "sysctl_get_current_value": _P("int", ("ctx", "out", "size"), group="cgroup_sysctl"),
    "sysctl_get_new_value": _P("int", ("ctx", "out", "size"), group="cgroup_sysctl"),
    "sysctl_set_new_value": _P("int", ("ctx", "mem", "size"), group="cgroup_sysctl"),
}

#: helper group -> program types that may call it (absent group: every type)
_SKB = {PT.SOCKET_FILTER, PT.SCHED_CLS, PT.SCHED_ACT, PT.CGROUP_SKB, PT.LWT_IN, PT.LWT_OUT,
        PT.LWT_XMIT, PT.LWT_SEG6LOCAL, PT.SK_SKB, PT.SK_REUSEPORT, PT.FLOW_DISSECTOR}
_TRACING = {PT.KPROBE, PT.TRACEPOINT, PT.PERF_EVENT, PT.RAW_TRACEPOINT,
            PT.RAW_TRACEPOINT_WRITABLE, PT.TRACING, PT.LSM, PT.SYSCALL, PT.STRUCT_OPS, PT.EXT}
_CGROUP = {PT.CGROUP_SKB, PT.CGROUP_SOCK, PT.CGROUP_SOCK_ADDR, PT.CGROUP_SOCKOPT,
           PT.CGROUP_SYSCTL, PT.CGROUP_DEVICE, PT.SOCK_OPS}
GROUPS: dict[str, set[PT]] = {
    "skb_read": _SKB,
    "skb": _SKB - {PT.SOCKET_FILTER, PT.CGROUP_SKB, PT.FLOW_DISSECTOR, PT.SK_REUSEPORT},
    "xdp": {PT.XDP},
    "net": _SKB | {PT.XDP, PT.SK_MSG, PT.SOCK_OPS, PT.CGROUP_SOCK_ADDR, PT.SK_LOOKUP},
    "tracing": _TRACING,
    "kprobe": {PT.KPROBE},
    "sysctl": _TRACING | {PT.CGROUP_SYSCTL},
    "sleepable": _TRACING,
    "cgroup_sysctl": {PT.CGROUP_SYSCTL},
    "xdp_tc": {PT.XDP, PT.SCHED_CLS, PT.SCHED_ACT},
    "sk_msg": {PT.SK_MSG},
    "sock_ops": {PT.SOCK_OPS},
    "tcp_sock": {PT.SCHED_CLS, PT.SCHED_ACT, PT.CGROUP_SKB, PT.CGROUP_SOCKOPT},
    "sk_cgroup": {PT.CGROUP_SKB},
    "sk_assign": {PT.SCHED_CLS, PT.SCHED_ACT, PT.SK_LOOKUP},
    "struct_ops": {PT.STRUCT_OPS},
    "sock_addr": {PT.CGROUP_SOCK_ADDR},
    "sk_reuseport": {PT.SK_REUSEPORT},
    "sockopt": {PT.SOCK_OPS, PT.CGROUP_SOCK_ADDR, PT.CGROUP_SOCKOPT, PT.STRUCT_OPS},
    # the hooks returning an errno to the process (cgroup_common_func_proto; by
    # program type: inet ingress/egress and sock_ops have none, so CGROUP_SKB and
    # SOCK_OPS cannot; the recvmsg/getpeername/getsockname attach types of
    # CGROUP_SOCK_ADDR cannot either, which this table does not tell apart)
    "cgroup_retval": {PT.CGROUP_SOCK, PT.CGROUP_SOCK_ADDR, PT.CGROUP_SOCKOPT,
                      PT.CGROUP_SYSCTL, PT.CGROUP_DEVICE, PT.LSM},
}


@functools.cache
def _header_protos() -> dict[str, Proto]:
    path = Path(__file__).resolve().parents[1] / "toolchain" / "include" / "bpf" / \
        "bpf_helper_defs.h"
    out: dict[str, Proto] = {}
    try:
        text = path.read_text()
    except OSError:
        return out
    for m in re.finditer(r"static (.+?)\(\* const bpf_(\w+)\)\((.*?)\) = \(void \*\) \d+;", text):
        ret, name, params = m.groups()
        n = 0 if params.strip() in ("", "void") else params.count(",") + 1
        out[name] = Proto("btf?" if "*" in ret else ("void" if ret.strip() == "void" else "int"),
                          ("any",) * n)
    return out


def helper_proto(hid: int) -> tuple[str, Proto] | None:
    """(name, prototype) of a helper id, or None for an id the kernel lacks."""
    try:
        name = HelperId(hid).name
    except ValueError:
        return None
    proto = HELPERS.get(name) or _header_protos().get(name)
    if proto is None:
        return name, Proto("int", ())
    return name, proto


#: licenses the kernel counts as GPL-compatible (license_is_gpl_compatible)
GPL_LICENSES = frozenset({"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                          "Dual MIT/GPL", "Dual MPL/GPL"})


def helper_allowed(proto: Proto, prog_type: PT) -> bool:
    allowed = GROUPS.get(proto.group)
    return allowed is None or prog_type in allowed


# ---- kfuncs ------------------------------------------------------------------------
@dataclass(frozen=True)
class KfuncProto:
    ret: str = "int"
    args: tuple[str, ...] = ()
    acquire: bool = False
    release: int = -1          # argument index released
    iter: str = ""             # "new" / "next" / "destroy"
    #: program types that may call it (the kernel registers kfunc sets per
    #: type); empty: every type
    types: frozenset[PT] = frozenset()


#: argument kinds of kfuncs: ``ctx`` the context; ``mem`` memory whose size is the
#: next argument (``size0``: may be 0, as a ``__sz`` parameter); ``btf`` a trusted
#: kernel object, ``btf:NAME`` one of struct NAME; ``iter`` an iterator on the stack
_CT = frozenset({PT.XDP, PT.SCHED_CLS})
_CT_LOOKUP = ("ctx", "mem", "size0", "mem", "size0")


KFUNCS: dict[str, KfuncProto] = {
    "bpf_task_from_pid": KfuncProto("btf?:task_struct", ("scalar",), acquire=True),
    "bpf_task_acquire": KfuncProto("btf?:task_struct", ("btf",), acquire=True),
    "bpf_task_release": KfuncProto("void", ("btf",), release=0),
    "bpf_cgroup_acquire": KfuncProto("btf?:cgroup", ("btf",), acquire=True),
    "bpf_cgroup_release": KfuncProto("void", ("btf",), release=0),
    "bpf_rcu_read_lock": KfuncProto("void", ()),
    "bpf_rdonly_cast": KfuncProto("btf", ("any", "scalar")),
    "bpf_cast_to_kern_ctx": KfuncProto("btf", ("any",)),
    "bpf_rcu_read_unlock": KfuncProto("void", ()),
    # arena pages come back as address-space-1 pointers: scalars until addr_space_cast
    "bpf_arena_alloc_pages": KfuncProto("int", ("map", "any", "scalar", "scalar", "scalar")),
    "bpf_arena_free_pages": KfuncProto("void", ("map", "any", "scalar")),
    "bpf_arena_reserve_pages": KfuncProto("int", ("map", "any", "scalar")),
    "bpf_iter_num_new": KfuncProto("int", ("iter", "scalar", "scalar"), iter="new"),
    "bpf_iter_num_next": KfuncProto("mem?:4", ("iter",), iter="next"),
    "bpf_iter_num_destroy": KfuncProto("void", ("iter",), iter="destroy"),
    # connection tracking (net/netfilter/nf_conntrack_bpf.c): XDP and tc only
    "bpf_xdp_ct_lookup": KfuncProto("btf?:nf_conn", _CT_LOOKUP, acquire=True, types=_CT),
    "bpf_skb_ct_lookup": KfuncProto("btf?:nf_conn", _CT_LOOKUP, acquire=True, types=_CT),
    "bpf_xdp_ct_alloc": KfuncProto("btf?:nf_conn___init", _CT_LOOKUP, acquire=True, types=_CT),
    "bpf_skb_ct_alloc": KfuncProto("btf?:nf_conn___init", _CT_LOOKUP, acquire=True, types=_CT),
    "bpf_ct_insert_entry": KfuncProto("btf?:nf_conn", ("btf:nf_conn___init",), acquire=True,
                                      release=0, types=_CT),
    "bpf_ct_release": KfuncProto("void", ("btf:nf_conn",), release=0, types=_CT),
    "bpf_ct_set_timeout": KfuncProto("void", ("btf:nf_conn___init", "scalar"), types=_CT),
    "bpf_ct_change_timeout": KfuncProto("int", ("btf:nf_conn", "scalar"), types=_CT),
    "bpf_ct_set_status": KfuncProto("int", ("btf:nf_conn___init", "scalar"), types=_CT),
    "bpf_ct_change_status": KfuncProto("int", ("btf:nf_conn", "scalar"), types=_CT),
}

#: kernel structs whose members a program may write through a pointer to them,
#: by struct: (member, ...) (the kernel's btf_struct_access callbacks)
BTF_WRITABLE: dict[str, tuple[str, ...]] = {
    "nf_conn": ("mark",),
    "nf_conn___init": ("mark",),
}


# ---- contexts ------------------------------------------------------------------------
@dataclass(frozen=True)
class CtxField:
    off: int
    size: int
    kind: str = ""            # "" scalar, "pkt", "pkt_end", "pkt_meta", "sock?", "btf"
    write: bool = False
    narrow: bool = True       # smaller loads allowed


@dataclass(frozen=True)
class CtxLayout:
    name: str
    size: int
    fields: tuple[CtxField, ...] = ()
    #: no field list: any aligned read of 1-8 bytes inside ``size`` (raw records)
    raw: bool = False
    writable: bool = False
    #: reads produce BTF-typed values (tracing programs' u64 args)
    btf_args: bool = False
    max_read: int = 8
    sizes: tuple[int, ...] = field(default=(1, 2, 4, 8))


def _words(layout: uctx.Layout, *names: str) -> list[int]:
    """Offsets of the 4-byte words of the named fields (arrays word by word; a field
    narrower than a word, such as ``tstamp_type``, is read through its word)."""
    out = []
    for name in names:
        f = layout.fields[name]
        out += [f.offset + 4 * i for i in range(max(1, f.size // 4))]
    return out


_SKBUF = uctx.SK_BUFF
#: __sk_buff fields read as 4-byte scalars (pointers and 8-byte fields separately)
_SKB_SCALARS = [n for n, f in _SKBUF.fields.items() if not f.pointer and f.size != 8
                and n not in ("data", "data_end", "data_meta")]


def _skb_fields(writable: set[int], meta: bool, sk: bool, pkt: bool = True
                ) -> tuple[CtxField, ...]:
    f = []
    for off in _words(_SKBUF, *_SKB_SCALARS):
        f.append(CtxField(off, 4, write=off in writable))
    if pkt:
        f.append(CtxField(_SKBUF.offset("data"), 4, "pkt", narrow=False))
        f.append(CtxField(_SKBUF.offset("data_end"), 4, "pkt_end", narrow=False))
    if meta:
        f.append(CtxField(_SKBUF.offset("data_meta"), 4, "pkt_meta", narrow=False))
    f.append(CtxField(_SKBUF.offset("tstamp"), 8, write=_SKBUF.offset("tstamp") in writable))
    f.append(CtxField(_SKBUF.offset("hwtstamp"), 8))
    if sk:
        f.append(CtxField(_SKBUF.offset("sk"), 8, "sock?", narrow=False))
    return tuple(f)


_CB = set(_words(_SKBUF, "cb"))
SKB_TC = CtxLayout("__sk_buff", _SKBUF.size, _skb_fields(
    set(_words(_SKBUF, "mark", "queue_mapping", "priority", "tc_index", "tc_classid", "tstamp"))
    | _CB, True, True))
#: socket filters have no direct packet access (data/data_end)
SKB_SOCK = CtxLayout("__sk_buff", _SKBUF.size, _skb_fields(_CB, False, True, pkt=False))
SKB_LWT = CtxLayout("__sk_buff", _SKBUF.size, _skb_fields(_CB, False, True))
SKB_CG = CtxLayout("__sk_buff", _SKBUF.size, _skb_fields(
    set(_words(_SKBUF, "mark", "priority", "tstamp")) | _CB, False, True))
_XDP = uctx.XDP_MD
XDP_MD = CtxLayout("xdp_md", _XDP.size, (
    CtxField(_XDP.offset("data"), 4, "pkt", narrow=False),
    CtxField(_XDP.offset("data_end"), 4, "pkt_end", narrow=False),
    CtxField(_XDP.offset("data_meta"), 4, "pkt_meta", narrow=False),
    *(CtxField(o, 4) for o in _words(_XDP, "ingress_ifindex", "rx_queue_index",
                                      "egress_ifindex"))))
_MSG = uctx.SK_MSG_MD
SK_MSG = CtxLayout("sk_msg_md", _MSG.size, (
    CtxField(_MSG.offset("data"), 8, "pkt", narrow=False),
    CtxField(_MSG.offset("data_end"), 8, "pkt_end", narrow=False),
    *(CtxField(o, 4) for o in _words(_MSG, "family", "remote_ip4", "local_ip4", "remote_ip6",
                                      "local_ip6", "remote_port", "local_port", "size")),
    CtxField(_MSG.offset("sk"), 8, "sock?", narrow=False)))
_SOCKOPT = uctx.BPF_SOCKOPT
SOCKOPT = CtxLayout("bpf_sockopt", _SOCKOPT.size, (
    CtxField(_SOCKOPT.offset("sk"), 8, "btf", narrow=False),
    CtxField(_SOCKOPT.offset("optval"), 8, "pkt", narrow=False),
    CtxField(_SOCKOPT.offset("optval_end"), 8, "pkt_end", narrow=False),
    *(CtxField(o, 4) for o in _words(_SOCKOPT, "level", "optname")),
    *(CtxField(o, 4, write=True) for o in _words(_SOCKOPT, "optlen", "retval"))))
_SA = uctx.BPF_SOCK_ADDR
SOCK_ADDR = CtxLayout("bpf_sock_addr", _SA.size, (
    *(CtxField(o, 4) for o in _words(_SA, "user_family")),
    *(CtxField(o, 4, write=True) for o in _words(_SA, "user_ip4", "user_ip6", "user_port")),
    *(CtxField(o, 4) for o in _words(_SA, "family", "type", "protocol")),
    *(CtxField(o, 4, write=True) for o in _words(_SA, "msg_src_ip4", "msg_src_ip6")),
    CtxField(_SA.offset("sk"), 8, "sock?", narrow=False)))
_RP = uctx.SK_REUSEPORT_MD
SK_REUSEPORT = CtxLayout("sk_reuseport_md", _RP.size, (
    CtxField(_RP.offset("data"), 8, "pkt", narrow=False),
    CtxField(_RP.offset("data_end"), 8, "pkt_end", narrow=False),
    *(CtxField(o, 4) for o in _words(_RP, "len", "eth_protocol", "ip_protocol", "bind_inany",
                                      "hash")),
    CtxField(_RP.offset("sk"), 8, "sock?", narrow=False),
    CtxField(_RP.offset("migrating_sk"), 8, "sock?", narrow=False)))
PT_REGS = CtxLayout("pt_regs", uctx.PT_REGS.size, raw=True)
_SYSCTL = uctx.BPF_SYSCTL

CONTEXTS: dict[PT, CtxLayout] = {
    PT.SOCKET_FILTER: SKB_SOCK,
    PT.SCHED_CLS: SKB_TC, PT.SCHED_ACT: SKB_TC,
    PT.CGROUP_SKB: SKB_CG,
    PT.LWT_IN: SKB_LWT, PT.LWT_OUT: SKB_LWT, PT.LWT_XMIT: SKB_TC, PT.SK_SKB: SKB_TC,
    PT.FLOW_DISSECTOR: CtxLayout("__sk_buff", _SKBUF.size, SKB_LWT.fields + (
        CtxField(_SKBUF.offset("flow_keys"), 8, "flow_keys", narrow=False),)),
    PT.XDP: XDP_MD,
    PT.SK_MSG: SK_MSG,
    PT.CGROUP_SOCKOPT: SOCKOPT,
    PT.CGROUP_SOCK_ADDR: SOCK_ADDR,
    PT.SK_REUSEPORT: SK_REUSEPORT,
    PT.KPROBE: PT_REGS,
    PT.PERF_EVENT: CtxLayout("bpf_perf_event_data", uctx.BPF_PERF_EVENT_DATA.size, raw=True),
    PT.TRACEPOINT: CtxLayout("tracepoint record", 4096, raw=True),
    PT.RAW_TRACEPOINT: CtxLayout("bpf_raw_tracepoint_args", 8 * 12, raw=True, sizes=(8,)),
    PT.RAW_TRACEPOINT_WRITABLE: CtxLayout("bpf_raw_tracepoint_args", 8 * 12, raw=True,
                                          sizes=(8,)),
    PT.TRACING: CtxLayout("tracing args", 8 * 12, raw=True, btf_args=True, sizes=(8,)),
    PT.LSM: CtxLayout("lsm args", 8 * 12, raw=True, btf_args=True, sizes=(8,)),
    PT.STRUCT_OPS: CtxLayout("struct_ops args", 8 * 12, raw=True, btf_args=True, sizes=(8,)),
    PT.EXT: CtxLayout("ext args", 8 * 12, raw=True, btf_args=True, sizes=(8,)),
    PT.SYSCALL: CtxLayout("syscall ctx", 4096, raw=True, writable=True),
    PT.CGROUP_SYSCTL: CtxLayout("bpf_sysctl", _SYSCTL.size, (
        CtxField(_SYSCTL.offset("write"), 4), CtxField(_SYSCTL.offset("file_pos"), 4, write=True))),
}
DEFAULT_CONTEXT = CtxLayout("context", 256, raw=True)


def context(prog_type: PT) -> CtxLayout:
    return CONTEXTS.get(prog_type, DEFAULT_CONTEXT)


def return_range(prog_type: PT, attach_type: object = None) -> tuple[int, int] | None:
    """The values R0 may hold at exit, when the program type restricts them."""
    name = getattr(attach_type, "name", "")
    if prog_type == PT.CGROUP_SKB:
        return (0, 1) if name == "CGROUP_INET_INGRESS" else (0, 3)
    if prog_type in (PT.CGROUP_SOCK, PT.CGROUP_DEVICE, PT.CGROUP_SYSCTL, PT.CGROUP_SOCKOPT):
        return 0, 1
    if prog_type == PT.CGROUP_SOCK_ADDR:
        return (1, 1) if "RECVMSG" in name else (0, 1) if name else (0, 3)
    return None


#: program types whose packet is readable through LD_ABS / LD_IND
LD_ABS_TYPES = {PT.SOCKET_FILTER, PT.SCHED_CLS, PT.SCHED_ACT}
#: program types with direct packet access and their packet writability
PACKET_WRITE = {PT.SCHED_CLS: True, PT.SCHED_ACT: True, PT.XDP: True, PT.LWT_XMIT: True,
                PT.SK_SKB: True, PT.SK_MSG: True, PT.CGROUP_SOCKOPT: True}
