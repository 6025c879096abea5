"""capable: trace security capability checks (cap_capable()).

The capability/cap_capable tracepoint (Linux 6.14+; the classic tool uses a kprobe
on cap_capable, which this kernel does not have). The tracepoint does not carry the
audit flag, so every check is shown, with its verdict.
"""

from __future__ import annotations

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool capable             # trace capability checks
    ebpf tool capable -p 181      # only trace PID 181
    ebpf tool capable -c 21       # only CAP_SYS_ADMIN checks
    ebpf tool capable -x          # only checks that were denied
"""
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]


def parser() -> ToolParser:
    p = ToolParser("capable", "Trace security capability checks", EXAMPLES)
    p.pid()
    p.add_argument("-c", "--cap", type=int, action="append",
                   help="only this capability number (repeatable)")
    p.add_argument("-x", "--denied", action="store_true", help="only show denied checks")
    p.add_argument("-u", "--unique", action="store_true",
                   help="don't repeat a (pid, cap) pair already shown")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    seen: set[tuple[int, int]] = set()

    def fmt(ev):
        if args.cap and ev.cap not in args.cap:
            return None
        if args.denied and ev.ret == 0:
            return None
        if args.unique:
            if (ev.pid, ev.cap) in seen:
                return None
            seen.add((ev.pid, ev.cap))
        comm = text(ev.comm)
        name = CAPS[ev.cap] if 0 <= ev.cap < len(CAPS) else f"CAP_{ev.cap}"
        verdict = "allow" if ev.ret == 0 else "deny"
        line = (f"{hms():<9} {ev.uid:<6} {ev.pid:<7} {ev.tid:<7} {comm:<16} {ev.cap:<4} "
                f"{name:<21} {verdict}")
        return ({"uid": ev.uid, "pid": ev.pid, "tid": ev.tid, "comm": comm, "cap": ev.cap,
                 "name": name, "verdict": verdict, "ret": ev.ret}, line)

    head = (f"{'TIME':<9} {'UID':<6} {'PID':<7} {'TID':<7} {'COMM':<16} {'CAP':<4} "
            f"{'NAME':<21} VERDICT")
    return stream("capable", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
