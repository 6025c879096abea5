"""tcptop: summarize TCP send/recv throughput by host, top-style, every interval.

Tracepoints sock/sock_send_length and sock/sock_recv_length (the classic tool's
kprobes on tcp_sendmsg / tcp_cleanup_rbuf need kprobes).
"""

from __future__ import annotations

from .base import (
    Output,
    Ready,
    ToolParser,
    attached,
    drain,
    flow_addrs,
    text,
    top,
)

EXAMPLES = """\
    ebpf tool tcptop              # trace TCP send/recv by host, refresh every 1s
    ebpf tool tcptop -C           # don't clear the screen
    ebpf tool tcptop -p 181       # only trace PID 181
    ebpf tool tcptop 5 10         # 5 second summaries, 10 times
"""


def parser() -> ToolParser:
    p = ToolParser("tcptop", "Summarize TCP send/recv throughput by host", EXAMPLES)
    p.noclear()
    p.add_argument("-S", "--nosummary", action="store_true", help="skip system summary line")
    p.pid()
    p.add_argument("-r", "--rows", type=int, default=20, help="maximum rows to print")
    p.interval(1.0)
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    with attached("tcptop", {"target_pid": args.pid}) as obj:
        m = obj.maps["ip_map"]

        def table() -> None:
            rows = drain(m)
            out.text(f"{'PID':<7} {'COMM':<12} {'LADDR':<21} {'RADDR':<21} {'RX_KB':>6} "
                     f"{'TX_KB':>6}")
            rows.sort(key=lambda kv: -(kv[1].received + kv[1].sent))
            for k, v in rows[:args.rows]:
                comm = text(k.comm)
                la, ra = flow_addrs(k.flow)
                la, ra = f"{la}:{k.flow.sport}", f"{ra}:{k.flow.dport}"
                out.row({"pid": k.pid, "comm": comm, "laddr": la, "raddr": ra,
                         "rx_bytes": v.received, "tx_bytes": v.sent},
                        f"{k.pid:<7} {comm:<12.12} {la:<21} {ra:<21} "
                        f"{v.received // 1024:>6} {v.sent // 1024:>6}")

        return top(out, args, table, ready, summary=not args.nosummary)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
