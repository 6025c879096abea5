"""tcpconnect: trace TCP active connections (IPv4): who connected where, and
whether the connection was established.

The sock/inet_sock_set_state tracepoint (no kprobes needed): one line per
connection attempt once it is established or has failed.
"""

from __future__ import annotations

from .base import (
    Output,
    Ready,
    Row,
    ToolParser,
    attached,
    hms,
    ipv4,
    port_set,
    print_events,
    text,
)

EXAMPLES = """\
    ebpf tool tcpconnect           # trace all TCP connect()s
    ebpf tool tcpconnect -t        # include timestamps
    ebpf tool tcpconnect -p 181    # only trace PID 181
    ebpf tool tcpconnect -P 80     # only trace port 80
    ebpf tool tcpconnect -c        # count connects per destination port
"""


def parser() -> ToolParser:
    p = ToolParser("tcpconnect", "Trace TCP connects", EXAMPLES)
    p.pid()
    p.add_argument("-t", "--timestamp", action="store_true", help="include a time column")
    p.add_argument("-P", "--port", help="comma-separated list of destination ports to trace")
    p.add_argument("-c", "--count", action="store_true",
                   help="count connects per destination port (printed at the end)")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    ports = port_set(args.port)
    with attached("tcpconnect", {"target_pid": args.pid}) as obj:
        head = ((f"{'TIME':<9}" if args.timestamp else "") +
                f"{'PID':<7} {'COMM':<16} {'SADDR':<15} {'SPORT':>5} {'DADDR':<15} "
                f"{'DPORT':>5} RESULT")

        def fmt(ev) -> Row:
            if ports and ev.dport not in ports:
                return None
            comm = text(ev.comm)
            result = "connected" if ev.established else "failed"
            line = (f"{hms():<9}" if args.timestamp else "") + (
                f"{ev.pid:<7} {comm:<16} {ipv4(ev.saddr):<15} {ev.sport:>5} "
                f"{ipv4(ev.daddr):<15} {ev.dport:>5} {result}")
            return ({"pid": ev.pid, "comm": comm, "saddr": ipv4(ev.saddr), "sport": ev.sport,
                     "daddr": ipv4(ev.daddr), "dport": ev.dport, "result": result}, line)

        print_events(obj, out, head, fmt, args.duration, ready)
        if args.count:
            out.text(f"\n{'DPORT':>5} {'CONNECTS':>9}")
            for port, n in sorted(obj.maps["by_dport"].items(), key=lambda kv: -kv[1]):
                if not ports or port in ports:
                    out.row({"dport": port, "connects": n}, f"{port:>5} {n:>9}")
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
