"""The classic BPF tools, installed with the package: ``ebpf tool NAME [options]``.

Each tool is a module here (``python -m ebpf.tools.NAME`` runs it) with a
``main(argv=None, ready=None) -> int``; its BPF C source is package data in
``bpf/NAME.bpf.c``, compiled on first use and cached (see :mod:`ebpf.tools.base`).
Output reads like the classic BCC / libbpf-tools tool of the same name;
``-j/--json`` prints one JSON object a line instead.

>>> "execsnoop" in TOOLS and TOOLS["execsnoop"].startswith("Trace")
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from ..errors import Error

#: tool name -> one-line summary (the registry; `ebpf tool list` prints it).
#: A tool is the module ebpf.tools.<name> with main(argv, ready) -> int.
TOOLS: dict[str, str] = {
    # the first eight (formerly examples/)
    "execsnoop": "Trace new processes via exec() syscalls",
    "opensnoop": "Trace open() syscalls: who opened which file, and the result",
    "tcpconnect": "Trace TCP active connections (connect())",
    "syscount": "Summarize syscall counts (per syscall or per process)",
    "sleeplat": "Summarize clock_nanosleep() latency as a histogram",
    "xdpfw": "XDP firewall: drop TCP/UDP to blocked ports, count per port",
    "sockfilter": "Socket filter on a UDP socket: count per source, drop short or blocked",
    "mallocsize": "Summarize malloc() request sizes (uprobe on libc)",
    # processes, files, signals
    "killsnoop": "Trace signals issued by the kill() syscalls",
    "exitsnoop": "Trace process termination (exit code, fatal signal, age)",
    "statsnoop": "Trace stat() syscalls",
    "syncsnoop": "Trace sync()-family syscalls",
    "filelife": "Trace the lifespan of short-lived files",
    "mountsnoop": "Trace mount() and umount() syscalls",
    "capable": "Trace security capability checks",
    "oomkill": "Trace the out-of-memory killer",
    # scheduler
    "runqlat": "Summarize run queue (scheduler) latency as a histogram",
    "runqlen": "Summarize scheduler run queue length as a histogram (sampled)",
    "cpudist": "Summarize on- and off-CPU time per task as a histogram",
    # user functions (uprobes)
    "funccount": "Count function calls (uprobes) and tracepoint hits",
    "funclatency": "Time user functions and print latency as a histogram",
    "memleak": "Trace outstanding memory allocations of a process, by stack",
    "gethostlatency": "Show latency of host name lookups (getaddrinfo, gethostbyname)",
    "bashreadline": "Print bash commands entered, system-wide",
    "trace": "Trace functions and tracepoints, printing printf-style messages",
    # interrupts, memory
    "hardirqs": "Summarize hard irq event time (or counts, histograms)",
    "softirqs": "Summarize soft irq event time (or counts, histograms)",
    "drsnoop": "Trace direct (and memory cgroup) reclaim",
    "llcstat": "Summarize last level cache references and misses (hardware counters)",
    # block I/O
    "biolatency": "Summarize block device I/O latency as a histogram",
    "biosnoop": "Trace block device I/O with PID and latency",
    "biotop": "Block device (disk) I/O by process, top-style",
    # networking
    "tcpstates": "Trace TCP session state changes and durations",
    "tcplife": "Trace the lifespan of TCP sessions and summarize",
    "tcpretrans": "Trace TCP retransmits",
    "tcptop": "Summarize TCP send/recv throughput by host",
    "bindsnoop": "Trace bind() calls: address, port, protocol, options, result",
    # stacks (docs/stacks.md)
    "profile": "Profile CPU usage by sampling stack traces (perf events)",
    "offcputime": "Summarize off-CPU (blocked) time by stack trace",
    "stackcount": "Count events (tracepoint or uprobe hits) by stack trace",
}


def names() -> list[str]:
    """Every registered tool, sorted."""
    return sorted(TOOLS)


def load_tool(name: str) -> ModuleType:
    """The module of tool ``name``."""
    if name not in TOOLS:
        raise Error(f"no tool named {name!r} (`ebpf tool list` shows {len(TOOLS)} tools)")
    return importlib.import_module(f"{__name__}.{name}")


def run(name: str, argv: list[str] | None = None,
        ready: Callable[[], None] | None = None) -> int:
    """Run tool ``name`` with command-line ``argv``; ``ready`` is called once its
    programs are attached. Returns the exit code."""
    return int(load_tool(name).main(argv, ready=ready) or 0)


__all__ = ["TOOLS", "load_tool", "names", "run"]
