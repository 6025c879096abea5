"""tcpretrans: trace TCP retransmits, with endpoints and the connection state.

Tracepoint tcp/tcp_retransmit_skb (as the classic tool on newer kernels). The
classic tool's tail loss probe events (``-l``) need a kprobe on tcp_send_loss_probe:
this kernel has no kprobes, so ``-l`` is refused.
"""

from __future__ import annotations

from .base import (
    TCP_STATES,
    Output,
    Ready,
    ToolParser,
    announce,
    attached,
    family_wanted,
    flow_addrs,
    hms,
    sleep_for,
    stream,
)

EXAMPLES = """\
    ebpf tool tcpretrans          # trace TCP retransmits
    ebpf tool tcpretrans -c       # count retransmits per flow
    ebpf tool tcpretrans -4       # trace IPv4 family only
"""


def parser() -> ToolParser:
    p = ToolParser("tcpretrans", "Trace TCP retransmits", EXAMPLES)
    p.add_argument("-l", "--lossprobe", action="store_true",
                   help="include tail loss probe attempts (needs kprobes)")
    p.add_argument("-c", "--count", action="store_true", help="count occurred retransmits per flow")
    p.families()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    if args.lossprobe:
        from ..errors import NotSupportedError

        raise NotSupportedError("tail loss probe tracing (tcpretrans -l)",
                                detail="no tracepoint covers tcp_send_loss_probe; the classic "
                                "hook is a kprobe and this kernel has no kprobes "
                                "(CONFIG_KPROBES)")

    if args.count:
        out = Output(args.json)
        with attached("tcpretrans", {"count_only": True}) as obj:
            announce(out, "Tracing retransmits ... Hit Ctrl-C to end", ready)
            sleep_for(args.duration)
            rows = list(obj.maps["counts"].items())
        out.text(f"{'LADDR:LPORT':<25} {'RADDR:RPORT':<25} RETRANSMITS")
        for k, n in sorted(rows, key=lambda kv: -kv[1]):
            if not family_wanted(args, k.family):
                continue
            la, ra = flow_addrs(k)
            out.row({"laddr": la, "lport": k.sport, "raddr": ra, "rport": k.dport,
                     "retransmits": n},
                    f"{la + ':' + str(k.sport):<25} {ra + ':' + str(k.dport):<25} {n}")
        return 0

    def fmt(ev):
        f = ev.flow
        if not family_wanted(args, f.family):
            return None
        la, ra = flow_addrs(f)
        state = TCP_STATES.get(ev.state, str(ev.state))
        ip = 4 if f.family == 2 else 6
        line = (f"{hms():<8} {ev.pid:<7} {ip:<2} {la + ':' + str(f.sport):<20} R> "
                f"{ra + ':' + str(f.dport):<20} {state}")
        return ({"pid": ev.pid, "ip": ip, "laddr": la, "lport": f.sport, "raddr": ra,
                 "rport": f.dport, "type": "R", "state": state}, line)

    head = (f"{'TIME':<8} {'PID':<7} {'IP':<2} {'LADDR:LPORT':<20} T> {'RADDR:RPORT':<20} "
            "STATE")
    return stream("tcpretrans", args, {}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
