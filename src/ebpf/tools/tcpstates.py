"""tcpstates: trace TCP session state changes, with the time spent in each state.

Tracepoint sock/inet_sock_set_state (as the classic tool).
"""

from __future__ import annotations

import time

from .base import TCP_STATES, Ready, ToolParser, flow_addrs, hms, ports_wanted, stream, text

EXAMPLES = """\
    ebpf tool tcpstates           # trace all TCP state changes
    ebpf tool tcpstates -t        # include timestamp column
    ebpf tool tcpstates -T        # include time column (HH:MM:SS)
    ebpf tool tcpstates -L 80     # only trace local port 80
    ebpf tool tcpstates -D 80     # only trace remote port 80
    ebpf tool tcpstates -4        # trace IPv4 family only
"""


def parser() -> ToolParser:
    p = ToolParser("tcpstates", "Trace TCP session state changes and durations", EXAMPLES)
    p.add_argument("-T", "--time", action="store_true", help="include a time column (HH:MM:SS)")
    p.add_argument("-t", "--timestamp", action="store_true",
                   help="include a timestamp column (seconds)")
    p.ports()
    p.families()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    wanted = ports_wanted(args)
    start = time.monotonic()

    def fmt(ev):
        f = ev.flow
        if not wanted(f.sport, f.dport):
            return None
        comm = text(ev.comm)
        saddr, daddr = flow_addrs(f)
        old = TCP_STATES.get(ev.oldstate, str(ev.oldstate))
        new = TCP_STATES.get(ev.newstate, str(ev.newstate))
        ms = ev.delta_us / 1000
        line = (f"{hms():<8} " if args.time else "") + (
            f"{time.monotonic() - start:<9.6f} " if args.timestamp else "") + (
            f"{ev.skaddr:016x} {ev.pid:<7} {comm:<10.10} {saddr:<15} {f.sport:<5} "
            f"{daddr:<15} {f.dport:<5} {old:>11} -> {new:<11} {ms:.3f}")
        return ({"skaddr": ev.skaddr, "pid": ev.pid, "comm": comm, "family": f.family,
                 "saddr": saddr, "lport": f.sport, "daddr": daddr, "dport": f.dport,
                 "oldstate": old, "newstate": new, "ms": ms}, line)

    head = (f"{'TIME':<8} " if args.time else "") + (
        f"{'TIME(s)':<9} " if args.timestamp else "") + (
        f"{'SKADDR':<16} {'C-PID':<7} {'C-COMM':<10} {'LADDR':<15} {'LPORT':<5} "
        f"{'RADDR':<15} {'RPORT':<5} {'OLDSTATE':>11} -> {'NEWSTATE':<11} MS")
    family = 2 if args.ipv4 else 10 if args.ipv6 else 0
    return stream("tcpstates", args, {"target_family": family}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
