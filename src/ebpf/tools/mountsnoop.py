"""mountsnoop: trace mount() and umount() syscalls system-wide.

Tracepoints syscalls/sys_{enter,exit}_{mount,umount}; the mount namespace is a
CO-RE read of ``task->nsproxy->mnt_ns->ns.inum``.
"""

from __future__ import annotations

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool mountsnoop          # trace mount() and umount() syscalls
    ebpf tool mountsnoop -d       # detailed output (one line per column value)
    ebpf tool mountsnoop -p 181   # only trace PID 181
    ebpf tool mountsnoop -t       # include timestamps
"""
MS_FLAGS = [(1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"),
            (16, "MS_SYNCHRONOUS"), (32, "MS_REMOUNT"), (64, "MS_MANDLOCK"),
            (128, "MS_DIRSYNC"), (256, "MS_NOSYMFOLLOW"), (1024, "MS_NOATIME"),
            (2048, "MS_NODIRATIME"), (4096, "MS_BIND"), (8192, "MS_MOVE"), (16384, "MS_REC"),
            (32768, "MS_SILENT"), (1 << 16, "MS_POSIXACL"), (1 << 17, "MS_UNBINDABLE"),
            (1 << 18, "MS_PRIVATE"), (1 << 19, "MS_SLAVE"), (1 << 20, "MS_SHARED"),
            (1 << 21, "MS_RELATIME"), (1 << 22, "MS_KERNMOUNT"), (1 << 23, "MS_I_VERSION"),
            (1 << 24, "MS_STRICTATIME"), (1 << 25, "MS_LAZYTIME")]
UMOUNT_FLAGS = [(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                (8, "UMOUNT_NOFOLLOW")]


def flag_names(value: int, table: list[tuple[int, str]]) -> str:
    names = [n for bit, n in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"


def parser() -> ToolParser:
    p = ToolParser("mountsnoop", "Trace mount and umount syscalls.", EXAMPLES)
    p.pid()
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-d", "--detailed", action="store_true", help="output result in detail mode")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def fmt(ev):
        comm = text(ev.comm)
        src, dest, fs, data = (text(ev.src), text(ev.dest), text(ev.fs), text(ev.data))
        if ev.call == 0:
            flags = flag_names(ev.flags, MS_FLAGS)
            call = f'mount("{src}", "{dest}", "{fs}", {flags}, "{data}") = {ev.ret}'
        else:
            flags = flag_names(ev.flags, UMOUNT_FLAGS)
            call = f'umount("{dest}", {flags}) = {ev.ret}'
        rec = {"comm": comm, "pid": ev.pid, "tid": ev.tid, "mnt_ns": ev.mnt_ns,
               "call": "mount" if ev.call == 0 else "umount", "source": src, "target": dest,
               "fstype": fs, "flags": flags, "data": data, "ret": ev.ret}
        if args.detailed:
            line = "\n".join(f"{k.upper():<7}: {v}" for k, v in rec.items()) + "\n"
        else:
            line = (f"{hms():<8} " if args.timestamp else "") + (
                f"{comm:<16} {ev.pid:<7} {ev.tid:<7} {ev.mnt_ns:<11} {call}")
        return rec, line

    head = "" if args.detailed else (f"{'TIME':<8} " if args.timestamp else "") + (
        f"{'COMM':<16} {'PID':<7} {'TID':<7} {'MNT_NS':<11} CALL")
    return stream("mountsnoop", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
