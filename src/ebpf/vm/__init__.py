"""The user-space runtime: run eBPF programs in-process, without a kernel.

``ebpf.load(obj, backend="vm")`` gives an :class:`ebpf.Object` whose programs run
here: a reference interpreter (:mod:`.interpreter`) and a translator to Python
(:mod:`.compiler`, the default executor; ``jit=False`` picks the interpreter),
maps with the kernel's semantics (:mod:`.maps`), helpers (:mod:`.helpers`),
program contexts and ``test_run`` (:mod:`.contexts`), and hooks that feed events
(:mod:`.hooks`): pcap files, packet iterables, timers, and events fired from
Python.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o", backend="vm", budget=100_000) as obj:  # doctest: +SKIP
...     obj.programs["xdp_count"].attach(pcap="trace.pcap").results[:3]
[2, 2, 1]

Shortcuts (imported on first use): :func:`fire`, :func:`read_pcap`,
:func:`write_pcap`, :func:`pt_regs`, :data:`TRACE` (recent ``bpf_printk``
lines), :data:`CONNTRACK` (the connection-tracking table of the conntrack
kfuncs), :func:`set_num_cpus`, :func:`run_conformance`, :class:`SeqFile` (the
output of iterator programs), :class:`SysctlRequest` (the context of a
cgroup/sysctl run), :class:`SockOpsRequest` (a sock_ops run on a real socket),
:class:`ReuseportRequest` (an sk_reuseport run for a real reuseport group),
:class:`SockAddrRequest` (a cgroup sock_addr run for a real socket's call).
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {
    "fire": ".hooks", "read_pcap": ".hooks", "write_pcap": ".hooks", "attached": ".hooks",
    "pt_regs": ".contexts", "TRACE": ".helpers", "set_num_cpus": ".maps",
    "possible_cpus": ".maps", "create_map": ".maps", "load_program": ".programs",
    "load_object": ".objects", "run_conformance": ".conformance", "SeqFile": ".seqfile",
    "SysctlRequest": ".sysctl", "SockOpsRequest": ".sockops",
    "ReuseportRequest": ".reuseport", "SockAddrRequest": ".sockaddr", "CONNTRACK": ".conntrack",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'ebpf.vm' has no attribute {name!r}")
    value = getattr(import_module(mod, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(_LAZY)
