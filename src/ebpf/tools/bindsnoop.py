"""bindsnoop: trace bind() calls: the address and port asked for, the socket's
protocol and options, and the result.

Tracepoints syscalls/sys_{enter,exit}_bind (the classic tool's kprobes on
inet_bind/inet6_bind need kprobes); the socket comes from the fd through
``task->files`` (CO-RE).
"""

from __future__ import annotations

import socket

from .base import Ready, ToolParser, hms, ip_text, port_set, stream, text

EXAMPLES = """\
    ebpf tool bindsnoop           # trace all bind() calls
    ebpf tool bindsnoop -t        # include timestamps
    ebpf tool bindsnoop -x        # include errors on output
    ebpf tool bindsnoop -p 181    # only trace PID 181
    ebpf tool bindsnoop -P 80,81  # only trace ports 80 and 81
"""
PROTOS = {6: "TCP", 17: "UDP", 132: "SCTP", 262: "MPTCP", 1: "ICMP", 58: "ICMPv6"}


def parser() -> ToolParser:
    p = ToolParser("bindsnoop", "Trace bind() syscalls", EXAMPLES)
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-x", "--failed", action="store_true", help="only show failed binds")
    p.pid()
    p.add_argument("-P", "--port", help="comma-separated list of ports to trace")
    p.duration()
    return p


def opts_text(opts: int) -> str:
    return "".join(c if opts & (1 << i) else "." for i, c in enumerate("RrFT"))


def ifname(index: int) -> str:
    if not index:
        return "0"
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    ports = port_set(args.port)

    def fmt(ev):
        if ports and ev.port not in ports:
            return None
        comm = text(ev.comm)
        family = ev.family
        addr = ip_text(family, ev.addr) if family in (2, 10) else "-"
        proto = PROTOS.get(ev.proto, str(ev.proto))
        opts = opts_text(ev.opts)
        line = (f"{hms():<9}" if args.timestamp else "") + (
            f"{ev.pid:<7} {comm:<16} {ev.ret:>4} {proto:<5} {opts:<5} "
            f"{ifname(ev.bound_dev_if):<3} {ev.port:>5} {addr}")
        return ({"pid": ev.pid, "comm": comm, "ret": ev.ret, "proto": proto, "opts": opts,
                 "if": ev.bound_dev_if, "port": ev.port, "addr": addr, "family": family},
                line)

    head = (f"{'TIME':<9}" if args.timestamp else "") + (
        f"{'PID':<7} {'COMM':<16} {'RET':>4} {'PROTO':<5} {'OPTS':<5} {'IF':<3} "
        f"{'PORT':>5} ADDR")
    return stream("bindsnoop", args, {"target_pid": args.pid, "failed_only": args.failed},
                  head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
