"""tcptop: summarize TCP send/recv throughput by host, top-style, every interval.

Tracepoints sock/sock_send_length and sock/sock_recv_length (the classic tool's
kprobes on tcp_sendmsg / tcp_cleanup_rbuf need kprobes).
"""

from __future__ import annotations

import os

from .base import (
    Output,
    Ready,
    ToolParser,
    hms,
    intervals,
    ip_text,
    open_tool,
    require_kernel,
    text,
)

EXAMPLES = """\
    ebpf tool tcptop              # trace TCP send/recv by host, refresh every 1s
    ebpf tool tcptop -C           # don't clear the screen
    ebpf tool tcptop -p 181       # only trace PID 181
    ebpf tool tcptop 5 10         # 5 second summaries, 10 times
"""


def parser() -> ToolParser:
    p = ToolParser("tcptop", "Summarize TCP send/recv throughput by host", EXAMPLES)
    p.add_argument("-C", "--noclear", action="store_true", help="don't clear the screen")
    p.add_argument("-S", "--nosummary", action="store_true", help="skip system summary line")
    p.pid()
    p.add_argument("-r", "--rows", type=int, default=20, help="maximum rows to print")
    p.interval(1.0)
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    require_kernel("tcptop")
    out = Output(args.json)
    with open_tool("tcptop", {"target_pid": args.pid}) as obj:
        obj.attach()
        out.note(f"Tracing... Output every {args.interval:g} secs. Hit Ctrl-C to end")
        if ready:
            ready()
        m = obj.maps["ip_map"]

        def tick(last: bool) -> None:
            rows = list(m.items())
            m.clear()
            if not args.noclear and not args.json and os.isatty(1):
                print("\033[2J\033[H", end="")
            if not args.nosummary:
                out.text(f"{hms()} loadavg: {open('/proc/loadavg').read().strip()}")
            out.text(f"\n{'PID':<7} {'COMM':<12} {'LADDR':<21} {'RADDR':<21} {'RX_KB':>6} "
                     f"{'TX_KB':>6}")
            rows.sort(key=lambda kv: -(kv[1].received + kv[1].sent))
            for k, v in rows[:args.rows]:
                comm = text(k.comm)
                la = f"{ip_text(k.family, k.saddr)}:{k.lport}"
                ra = f"{ip_text(k.family, k.daddr)}:{k.dport}"
                out.row({"pid": k.pid, "comm": comm, "laddr": la, "raddr": ra,
                         "rx_bytes": v.received, "tx_bytes": v.sent},
                        f"{k.pid:<7} {comm:<12.12} {la:<21} {ra:<21} "
                        f"{v.received // 1024:>6} {v.sent // 1024:>6}")
            out.text()

        intervals(args.interval, args.count, args.duration, tick)
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
