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

from .dispatch import attach_program

__all__ = ["attach_program"]
