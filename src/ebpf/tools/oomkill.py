"""oomkill: trace the out-of-memory killer: who triggered it and who was killed.

Tracepoint oom/mark_victim (the classic tool's kprobe on oom_kill_process needs
kprobes); the running task when the victim is marked is the one whose allocation
triggered the OOM kill.
"""

from __future__ import annotations

import os

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool oomkill             # trace OOM kills
    ebpf tool oomkill -j          # as JSON lines
"""


def parser() -> ToolParser:
    p = ToolParser("oomkill", "Trace OOM killer", EXAMPLES)
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def fmt(ev):
        try:
            load = open("/proc/loadavg").read().strip()
        except OSError:
            load = "?"
        tcomm, vcomm = text(ev.trigger_comm), text(ev.victim_comm)
        pages = ev.rss_kb // page_kb
        line = (f'{hms()} Triggered by PID {ev.trigger_pid} ("{tcomm}"), OOM kill of PID '
                f'{ev.victim_pid} ("{vcomm}"), {pages} pages, loadavg: {load}')
        return ({"trigger_pid": ev.trigger_pid, "trigger_comm": tcomm,
                 "victim_pid": ev.victim_pid, "victim_comm": vcomm, "rss_pages": pages,
                 "total_vm_kb": ev.total_vm_kb, "loadavg": load}, line)

    return stream("oomkill", args, {}, "Tracing OOM kills... Ctrl-C to stop.", fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
