"""tcplife: trace the lifespan of TCP sessions and summarize, one line per session.

Tracepoint sock/inet_sock_set_state (as the classic tool on newer kernels); byte
counts are ``tcp_sock.bytes_received`` / ``bytes_acked`` read with CO-RE.
"""

from __future__ import annotations

from .base import Ready, ToolParser, family_wanted, flow_addrs, hms, ports_wanted, stream, text

EXAMPLES = """\
    ebpf tool tcplife             # trace all TCP connect()s and accept()s
    ebpf tool tcplife -T          # include time column (HH:MM:SS)
    ebpf tool tcplife -w          # wider columns (fit IPv6)
    ebpf tool tcplife -p 181      # only trace PID 181
    ebpf tool tcplife -L 80       # only trace local port 80
    ebpf tool tcplife -D 80       # only trace remote port 80
"""


def parser() -> ToolParser:
    p = ToolParser("tcplife", "Trace the lifespan of TCP sessions and summarize", EXAMPLES)
    p.add_argument("-T", "--time", action="store_true", help="include time column (HH:MM:SS)")
    p.add_argument("-w", "--wide", action="store_true", help="wide column output (fits IPv6)")
    p.pid()
    p.ports()
    p.families()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    wanted = ports_wanted(args)
    w = 39 if args.wide else 15

    def fmt(ev):
        f = ev.flow
        if not wanted(f.sport, f.dport) or not family_wanted(args, f.family):
            return None
        comm = text(ev.comm)
        laddr, raddr = flow_addrs(f)
        ms = ev.span_us / 1000
        line = (f"{hms():<8} " if args.time else "") + (
            f"{ev.pid:<7} {comm:<10.10} {laddr:<{w}} {f.sport:<5} {raddr:<{w}} "
            f"{f.dport:<5} {ev.tx_b // 1024:>5} {ev.rx_b // 1024:>5} {ms:.2f}")
        return ({"pid": ev.pid, "comm": comm, "family": f.family, "laddr": laddr,
                 "lport": f.sport, "raddr": raddr, "rport": f.dport, "tx_bytes": ev.tx_b,
                 "rx_bytes": ev.rx_b, "ms": ms}, line)

    head = (f"{'TIME':<8} " if args.time else "") + (
        f"{'PID':<7} {'COMM':<10} {'LADDR':<{w}} {'LPORT':<5} {'RADDR':<{w}} {'RPORT':<5} "
        f"{'TX_KB':>5} {'RX_KB':>5} MS")
    return stream("tcplife", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
