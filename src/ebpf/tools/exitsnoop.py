"""exitsnoop: trace process termination: age, exit code or terminating signal.

Tracepoint sched/sched_process_exit; ``task->exit_code``, ``start_time`` and the
parent by CO-RE reads of the exiting task.
"""

from __future__ import annotations

import signal

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool exitsnoop           # trace all process termination
    ebpf tool exitsnoop -x        # only show non-zero exit codes and signals
    ebpf tool exitsnoop -t        # include timestamps (local time)
    ebpf tool exitsnoop -p 181    # only trace PID 181
    ebpf tool exitsnoop --per-thread   # trace per thread termination
"""


def parser() -> ToolParser:
    p = ToolParser("exitsnoop", "Trace all process termination (exit, fatal signal)", EXAMPLES)
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp")
    p.add_argument("-x", "--failed", action="store_true", help="trace error exits only")
    p.pid()
    p.add_argument("--per-thread", action="store_true", help="trace per thread termination")
    p.duration()
    return p


def describe(code: int) -> tuple[str, int | None, int | None]:
    """The classic EXIT_CODE text, the exit status and the signal."""
    sig, status = code & 0x7F, (code >> 8) & 0xFF
    if sig:
        try:
            name = signal.Signals(sig).name.removeprefix("SIG")
        except ValueError:
            name = str(sig)
        core = ", core dumped" if code & 0x80 else ""
        return f"signal {sig} ({name}){core}", None, sig
    return ("0" if status == 0 else f"code {status}"), status, None


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def fmt(ev):
        comm = text(ev.comm)
        what, status, sig = describe(ev.exit_code)
        age = ev.age_ns / 1e9
        line = (f"{hms() + ' ' if args.timestamp else ''}{comm:<16} {ev.pid:<7} {ev.ppid:<7} "
                f"{ev.tid:<7} {age:<7.2f} {what}")
        return ({"comm": comm, "pid": ev.pid, "ppid": ev.ppid, "tid": ev.tid,
                 "age": round(age, 6), "exit_code": status, "signal": sig,
                 "exit": what}, line)

    head = ((f"{'TIME':<8} " if args.timestamp else "") +
            f"{'PCOMM':<16} {'PID':<7} {'PPID':<7} {'TID':<7} {'AGE(s)':<7} EXIT_CODE")
    return stream("exitsnoop", args, {"target_pid": args.pid, "trace_threads": args.per_thread,
                                      "failed_only": args.failed}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
