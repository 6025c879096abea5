"""The section-name table: program type, attach type/target, flags, needs_target."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf import AttachType, ProgramType
from ebpf.spec import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ProgramSpec
from ebpf.spec.sections import classify, needs_target

CASES = [
    # section, program type, attach type (name or None), kind, attach_to
    ("xdp", "XDP", "XDP", "xdp", ""),
    ("xdp.frags", "XDP", "XDP", "xdp", ""),
    ("xdp/devmap", "XDP", "XDP_DEVMAP", "xdp", ""),
    ("xdp/cpumap", "XDP", "XDP_CPUMAP", "xdp", ""),
    ("xdp.frags/devmap", "XDP", "XDP_DEVMAP", "xdp", ""),
    ("tc", "SCHED_CLS", None, "tc", ""),
    ("classifier", "SCHED_CLS", None, "tc", ""),
    ("action", "SCHED_ACT", None, "tc_action", ""),
    ("socket", "SOCKET_FILTER", None, "socket", ""),
    ("sk_skb", "SK_SKB", None, "sk_skb", ""),
    ("sk_skb/stream_parser", "SK_SKB", "SK_SKB_STREAM_PARSER", "sk_skb", ""),
    ("sk_skb/stream_verdict", "SK_SKB", "SK_SKB_STREAM_VERDICT", "sk_skb", ""),
    ("sk_msg", "SK_MSG", "SK_MSG_VERDICT", "sk_msg", ""),
    ("tracepoint/syscalls/sys_enter_openat", "TRACEPOINT", None, "tracepoint",
     "syscalls/sys_enter_openat"),
    ("tp/sched/sched_switch", "TRACEPOINT", None, "tracepoint", "sched/sched_switch"),
    ("raw_tracepoint/sys_enter", "RAW_TRACEPOINT", None, "raw_tracepoint", "sys_enter"),
    ("raw_tp/sched_switch", "RAW_TRACEPOINT", None, "raw_tracepoint", "sched_switch"),
    ("raw_tracepoint.w/bpf_test_finish", "RAW_TRACEPOINT_WRITABLE", None, "raw_tracepoint",
     "bpf_test_finish"),
    ("tp_btf/sched_switch", "TRACING", "TRACE_RAW_TP", "tracing", "sched_switch"),
    ("kprobe/do_unlinkat", "KPROBE", None, "kprobe", "do_unlinkat"),
    ("kretprobe/do_unlinkat", "KPROBE", None, "kprobe", "do_unlinkat"),
    ("kprobe.multi/tcp_*", "KPROBE", "TRACE_KPROBE_MULTI", "kprobe_multi", "tcp_*"),
    ("kretprobe.multi/tcp_*", "KPROBE", "TRACE_KPROBE_MULTI", "kprobe_multi", "tcp_*"),
    ("ksyscall/openat", "KPROBE", None, "ksyscall", "openat"),
    ("kretsyscall/openat", "KPROBE", None, "ksyscall", "openat"),
    ("fentry/do_unlinkat", "TRACING", "TRACE_FENTRY", "tracing", "do_unlinkat"),
    ("fexit/do_unlinkat", "TRACING", "TRACE_FEXIT", "tracing", "do_unlinkat"),
    ("fmod_ret/security_file_open", "TRACING", "MODIFY_RETURN", "tracing",
     "security_file_open"),
    ("fentry.s/do_sys_openat2", "TRACING", "TRACE_FENTRY", "tracing", "do_sys_openat2"),
    ("uprobe", "KPROBE", None, "uprobe", ""),
    ("uprobe//usr/lib/libc.so.6:malloc", "KPROBE", None, "uprobe", "/usr/lib/libc.so.6:malloc"),
    ("uretprobe/libc.so.6:free+4", "KPROBE", None, "uprobe", "libc.so.6:free+4"),
    ("uprobe.s//bin/bash:readline", "KPROBE", None, "uprobe", "/bin/bash:readline"),
    ("usdt/libc.so.6:libc:setjmp", "KPROBE", None, "usdt", "libc.so.6:libc:setjmp"),
    ("lsm/file_open", "LSM", "LSM_MAC", "lsm", "file_open"),
    ("lsm.s/bprm_committed_creds", "LSM", "LSM_MAC", "lsm", "bprm_committed_creds"),
    ("lsm_cgroup/socket_bind", "LSM", "LSM_CGROUP", "lsm_cgroup", "socket_bind"),
    ("cgroup_skb/ingress", "CGROUP_SKB", "CGROUP_INET_INGRESS", "cgroup", ""),
    ("cgroup_skb/egress", "CGROUP_SKB", "CGROUP_INET_EGRESS", "cgroup", ""),
    ("cgroup/skb", "CGROUP_SKB", None, "cgroup", ""),
    ("cgroup/sock", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", "cgroup", ""),
    ("cgroup/sock_create", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", "cgroup", ""),
    ("cgroup/sock_release", "CGROUP_SOCK", "CGROUP_INET_SOCK_RELEASE", "cgroup", ""),
    ("cgroup/post_bind4", "CGROUP_SOCK", "CGROUP_INET4_POST_BIND", "cgroup", ""),
    ("cgroup/post_bind6", "CGROUP_SOCK", "CGROUP_INET6_POST_BIND", "cgroup", ""),
    ("cgroup/bind4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_BIND", "cgroup", ""),
    ("cgroup/bind6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_BIND", "cgroup", ""),
    ("cgroup/connect4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT", "cgroup", ""),
    ("cgroup/connect6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_CONNECT", "cgroup", ""),
    ("cgroup/sendmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_SENDMSG", "cgroup", ""),
    ("cgroup/sendmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_SENDMSG", "cgroup", ""),
    ("cgroup/recvmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_RECVMSG", "cgroup", ""),
    ("cgroup/recvmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_RECVMSG", "cgroup", ""),
    ("cgroup/getpeername4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETPEERNAME", "cgroup", ""),
    ("cgroup/getsockname6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETSOCKNAME", "cgroup", ""),
    ("cgroup/sysctl", "CGROUP_SYSCTL", "CGROUP_SYSCTL", "cgroup", ""),
    ("cgroup/getsockopt", "CGROUP_SOCKOPT", "CGROUP_GETSOCKOPT", "cgroup", ""),
    ("cgroup/setsockopt", "CGROUP_SOCKOPT", "CGROUP_SETSOCKOPT", "cgroup", ""),
    ("cgroup/dev", "CGROUP_DEVICE", "CGROUP_DEVICE", "cgroup", ""),
    ("sockops", "SOCK_OPS", "CGROUP_SOCK_OPS", "cgroup", ""),
    ("sk_lookup", "SK_LOOKUP", "SK_LOOKUP", "sk_lookup", ""),
    ("perf_event", "PERF_EVENT", None, "perf_event", ""),
    ("iter/task", "TRACING", "TRACE_ITER", "iter", "task"),
    ("iter.s/task_vma", "TRACING", "TRACE_ITER", "iter", "task_vma"),
    ("struct_ops/tcp_init", "STRUCT_OPS", None, "struct_ops", "tcp_init"),
    ("struct_ops.s/test", "STRUCT_OPS", None, "struct_ops", "test"),
    ("syscall", "SYSCALL", None, "syscall", ""),
    ("flow_dissector", "FLOW_DISSECTOR", "FLOW_DISSECTOR", "flow_dissector", ""),
    ("lwt_in", "LWT_IN", None, "lwt", ""),
    ("lwt_out", "LWT_OUT", None, "lwt", ""),
    ("lwt_xmit", "LWT_XMIT", None, "lwt", ""),
    ("lwt_seg6local", "LWT_SEG6LOCAL", None, "lwt", ""),
    ("sk_reuseport", "SK_REUSEPORT", "SK_REUSEPORT_SELECT", "sk_reuseport", ""),
    ("sk_reuseport/migrate", "SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE", "sk_reuseport",
     ""),
    ("freplace/handler", "EXT", None, "freplace", "handler"),
]


@pytest.mark.parametrize("section,ptype,atype,kind,attach_to", CASES)
def test_classify(section, ptype, atype, kind, attach_to):
    info = classify(section)
    assert info.known
    assert info.program_type is ProgramType[ptype]
    assert info.program_type_value == ProgramType[ptype]
    if atype is None:
        assert info.attach_type is None
    else:
        assert info.attach_type is AttachType[atype]
        assert info.attach_type_value == AttachType[atype]
    assert info.attach_kind == kind
    assert info.attach_to == attach_to


@pytest.mark.parametrize("section,retprobe", [
    ("kprobe/x", False), ("kretprobe/x", True), ("uretprobe/b:s", True),
    ("uprobe/b:s", False), ("kretsyscall/openat", True), ("kretprobe.multi/x*", True),
])
def test_retprobe(section, retprobe):
    assert classify(section).retprobe is retprobe


@pytest.mark.parametrize("section,flags", [
    ("xdp", 0), ("xdp.frags", BPF_F_XDP_HAS_FRAGS), ("xdp.frags/cpumap", BPF_F_XDP_HAS_FRAGS),
    ("fentry.s/x", BPF_F_SLEEPABLE), ("lsm.s/x", BPF_F_SLEEPABLE), ("uprobe.s/b:s",
                                                                   BPF_F_SLEEPABLE),
    ("iter.s/task", BPF_F_SLEEPABLE), ("syscall", BPF_F_SLEEPABLE), ("fentry/x", 0),
])
def test_flags(section, flags):
    assert classify(section).flags == flags


@pytest.mark.parametrize("section", ["tcx/ingress", "tcx/egress", "tc/ingress", "tc/egress",
                                     "netkit/primary", "netkit/peer", "netfilter",
                                     "cgroup/connect_unix", "uprobe.multi/bin:f*"])
def test_newer_types_known_even_when_uapi_lacks_them(section):
    info = classify(section)
    assert info.known
    # the kernel number is there even if ebpf.uapi has no member for it yet
    assert info.attach_type_value is not None and info.attach_type_value >= 45
    if info.attach_type is not None:
        assert int(info.attach_type) == info.attach_type_value
    assert info.program_type_value in (2, 3, 18, 32)


def test_netfilter_program_type_number():
    info = classify("netfilter")
    assert info.program_type_value == 32
    assert info.attach_type_value == 45


@pytest.mark.parametrize("section", ["license", ".text", "my_custom", "2/7", "from-container",
                                     "kprobes/x", "xd", ""])
def test_unknown_sections(section):
    info = classify(section)
    assert not info.known
    assert info.program_type is ProgramType.UNSPEC
    assert info.needs_target


@pytest.mark.parametrize("section,ptype", [("xdp_prog", "XDP"), ("socket1", "SOCKET_FILTER"),
                                           ("classifier_ingress", "SCHED_CLS")])
def test_legacy_prefixes(section, ptype):
    info = classify(section)
    assert info.known and info.program_type is ProgramType[ptype]


def test_longest_pattern_wins():
    assert classify("raw_tp.w/foo").program_type is ProgramType.RAW_TRACEPOINT_WRITABLE
    assert classify("kprobe.multi/foo").attach_kind == "kprobe_multi"
    assert classify("fentry.s/foo").sleepable and not classify("fentry/foo").sleepable
    assert classify("lsm_cgroup/x").attach_kind == "lsm_cgroup"


@pytest.mark.parametrize("section,needs", [
    ("xdp", True), ("xdp.frags", True), ("tc", True), ("tcx/ingress", True), ("socket", True),
    ("sk_skb/stream_parser", True), ("sk_msg", True), ("cgroup_skb/ingress", True),
    ("cgroup/connect4", True), ("sockops", True), ("perf_event", True), ("sk_lookup", True),
    ("lsm_cgroup/socket_bind", True), ("struct_ops/x", True), ("syscall", True),
    ("uprobe", True), ("uprobe//bin/true", True), ("uprobe//bin/true:main", False),
    ("uretprobe//lib/libc.so.6:free+4", False), ("usdt/libc.so.6:libc:setjmp", False),
    ("usdt", True), ("tracepoint/sched/sched_switch", False), ("tracepoint", True),
    ("tp/sched", True), ("raw_tp/sys_enter", False), ("raw_tp", True),
    ("tp_btf/sched_switch", False), ("fentry/do_unlinkat", False), ("fentry", True),
    ("fexit/x", False), ("lsm/file_open", False), ("kprobe/do_unlinkat", False),
    ("kprobe", True), ("kprobe.multi/tcp_*", False), ("ksyscall/openat", False),
    ("iter/task", False), ("iter/bpf_map_elem", True), ("iter/sockmap", True),
    ("freplace/x", True), ("nonsense", True),
])
def test_needs_target(section, needs):
    assert needs_target(section) is needs
    info = classify(section)
    spec = ProgramSpec(name="p", type=info.program_type, section=section,
                       attach_kind=info.attach_kind, attach_to=info.attach_to,
                       attach_type=info.attach_type)
    assert needs_target(spec) is needs


def test_needs_target_uses_spec_overrides():
    # a user who fills in attach_to on a bare kprobe makes it fully specified
    spec = ProgramSpec(name="p", type=ProgramType.KPROBE, section="kprobe",
                       attach_kind="kprobe", attach_to="do_sys_openat2")
    assert needs_target(spec) is False
    # a spec without attach_kind falls back to its section name
    spec = ProgramSpec(name="p", type=ProgramType.TRACEPOINT, section="tp/a/b")
    assert needs_target(spec) is False
    assert needs_target(ProgramSpec(name="p", type=ProgramType.XDP)) is True


@given(st.text(max_size=80))
def test_classify_never_fails(name):
    info = classify(name)
    assert info.section == name
    assert isinstance(needs_target(name), bool)
    if not info.known:
        assert info.program_type is ProgramType.UNSPEC and info.attach_kind == ""


@given(st.sampled_from([c[0].split("/")[0] for c in CASES if "/" in c[0]]),
       st.text(alphabet=st.characters(blacklist_characters="\0"), min_size=1, max_size=30))
def test_targets_are_kept_verbatim(prefix, target):
    info = classify(f"{prefix}/{target}")
    if info.pattern.endswith("+") and info.pattern[:-1] == prefix:
        assert info.attach_to == target


def test_question_mark_prefix_means_no_autoload():
    info = classify("?tp_btf/sched_switch")
    assert info.known and info.program_type is ProgramType.TRACING
    assert info.section == "?tp_btf/sched_switch" and info.attach_to == "sched_switch"
    assert not needs_target("?fentry/do_unlinkat") and needs_target("?xdp")
