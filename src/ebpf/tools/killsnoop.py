"""killsnoop: trace signals issued by the kill(), tkill() and tgkill() syscalls.

Tracepoints syscalls/sys_enter_kill, sys_exit_kill (and tkill, tgkill).
"""

from __future__ import annotations

import signal

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool killsnoop           # trace all kill() signals
    ebpf tool killsnoop -x        # only show failed kills
    ebpf tool killsnoop -p 181    # only trace PID 181
    ebpf tool killsnoop -s 9      # only trace signal 9
"""
CALLS = ("kill", "tkill", "tgkill")


def parser() -> ToolParser:
    p = ToolParser("killsnoop", "Trace signals issued by the kill() syscall", EXAMPLES)
    p.pid()
    p.add_argument("-x", "--failed", action="store_true", help="only show failed kill syscalls")
    p.add_argument("-s", "--signal", type=int, default=0, help="trace this signal only")
    p.duration()
    return p


def signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def fmt(ev):
        comm = text(ev.comm)
        line = f"{hms():<9} {ev.pid:<7} {comm:<16} {ev.sig:<4} {ev.tpid:<7} {ev.ret}"
        return ({"pid": ev.pid, "comm": comm, "sig": ev.sig, "signal": signame(ev.sig),
                 "tpid": ev.tpid, "ret": ev.ret, "call": CALLS[ev.call]}, line)

    head = f"{'TIME':<9} {'PID':<7} {'COMM':<16} {'SIG':<4} {'TPID':<7} RESULT"
    return stream("killsnoop", args, {"target_pid": args.pid, "target_signal": args.signal,
                                      "failed_only": args.failed}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
