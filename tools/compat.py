#!/usr/bin/env python3
"""`make compat`: run our tools side by side with Debian's bpftrace tools
(/usr/sbin/NAME.bt) on the same workloads and report what each saw.

Each case starts the bpftrace script, then our tool (in this process), waits until
both are attached, drives a workload that leaves recognisable marks (its own pids,
paths with a random marker), stops both and compares the events each reported for
the workload. A bpftrace script that cannot start on this kernel (many need kprobes)
is reported with its own error. Not part of CI: it needs root and bpftrace.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.tools.workloads import direct_io, loop_device, memory_cgroup, python_child  # noqa: E402

from ebpf.tools import run as run_tool  # noqa: E402

BT_DIR = Path("/usr/sbin")


@dataclass
class Case:
    tool: str
    argv: list[str]
    script: str
    workload: Callable[[dict], None]
    ours: Callable[[str, dict], Counter]
    theirs: Callable[[str, dict], Counter]


class Bpftrace:
    """A bpftrace script running in the background until stop()."""

    def __init__(self, script: str):
        self.p = subprocess.Popen(["bpftrace", "-B", "line", str(BT_DIR / f"{script}.bt")],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  bufsize=1)
        self.lines: list[str] = []
        self.attached = threading.Event()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for ln in self.p.stdout:
            self.lines.append(ln.rstrip("\n"))
            if ln.startswith("Attaching"):
                threading.Timer(0.5, self.attached.set).start()
        self.attached.set()

    def stop(self) -> str:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
        self.t.join(timeout=5)
        return "\n".join(self.lines)

    @property
    def errors(self) -> list[str]:
        """bpftrace's ERROR lines, leaving out its RLIMIT_MEMLOCK warning."""
        return [ln for ln in self.lines if "ERROR" in ln and "RLIMIT_MEMLOCK" not in ln]

    @property
    def failed(self) -> bool:
        return bool(self.errors) or not any(ln.startswith("Attaching") for ln in self.lines)


def side_by_side(case: Case) -> tuple[Counter | None, Counter | None, str]:
    ctx: dict = {"marker": "compat-" + uuid.uuid4().hex[:8]}
    bt = Bpftrace(case.script)
    bt.attached.wait(timeout=60)
    attached, done = threading.Event(), threading.Event()
    buf = io.StringIO()
    errors: list[BaseException] = []

    def ours() -> None:
        try:
            run_tool(case.tool, [*case.argv, "--duration", "1"],
                     ready=lambda: (attached.set(), done.wait()))
        except BaseException as e:  # reported below
            errors.append(e)
            attached.set()

    with contextlib.redirect_stdout(buf):
        t = threading.Thread(target=ours)
        t.start()
        attached.wait(timeout=120)
        time.sleep(0.3)
        try:
            case.workload(ctx)
        finally:
            time.sleep(0.5)
            done.set()
            t.join()
    their_out = bt.stop()
    note = ""
    ours_c = None if errors else case.ours(buf.getvalue(), ctx)
    if errors:
        note += f"ours failed: {errors[0]}; "
    theirs_c = None
    if bt.failed:
        err = bt.errors[-1] if bt.errors else their_out[-200:]
        note += f"{case.script}.bt cannot run here: {err}"
    else:
        theirs_c = case.theirs(their_out, ctx)
    return ours_c, theirs_c, note


# ---- workloads and extractors ------------------------------------------------------
def execs(ctx: dict) -> None:
    ctx["pids"] = []
    for i in range(5):
        p = subprocess.Popen(["/bin/echo", ctx["marker"], str(i)], stdout=subprocess.DEVNULL)
        p.wait()
        ctx["pids"].append(p.pid)


def opens(ctx: dict) -> None:
    d = Path(tempfile.mkdtemp())
    ctx["paths"] = []
    for i in range(5):
        f = d / f"{ctx['marker']}-{i}"
        f.write_text("x")
        ctx["paths"].append(str(f))
    with contextlib.suppress(FileNotFoundError):
        open(d / f"{ctx['marker']}-missing")
    ctx["paths"].append(str(d / f"{ctx['marker']}-missing"))
    for f in ctx["paths"][:-1]:
        os.stat(f)


def kills(ctx: dict) -> None:
    kids = [subprocess.Popen(["sleep", "30"]) for _ in range(4)]
    ctx["pids"] = [k.pid for k in kids]
    for k, sig in zip(kids, (15, 9, 15, 2), strict=True):
        os.kill(k.pid, sig)
        k.wait()


def syncs(ctx: dict) -> None:
    child = python_child("import os\nf = os.open('/tmp', os.O_RDONLY)\n"
                         "for _ in range(3): os.fsync(f)\nos.sync()\n")
    ctx["pid"] = child.pid
    child.go()


def syscalls(ctx: dict) -> None:
    child = python_child("import os\nfor _ in range(20000): os.getppid()\n")
    ctx["pid"] = child.pid
    child.go()


def block_io(ctx: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp, loop_device(Path(tmp)) as disk:
        direct_io(disk, 1, 0)
        time.sleep(0.2)
        direct_io(disk, 20, 10)


def wakeups(ctx: dict) -> None:
    child = python_child("import time\nfor _ in range(100): time.sleep(0.001)\n")
    ctx["pid"] = child.pid
    child.go()


def tcp_session(ctx: dict) -> None:
    from tests.tools.test_tcp_tools import SESSION

    child = python_child(SESSION)
    ctx["pid"] = child.pid
    child.go()


def oom(ctx: dict) -> None:
    with memory_cgroup(48 << 20) as procs:
        hog = python_child(f"open({str(procs)!r}, 'w').write(str(os.getpid()))\n"
                           "b = []\nwhile True:\n    b.append(b'x' * (8 << 20))\n")
        ctx["pid"] = hog.pid
        hog.go()


def count_lines(pattern: str, group: int = 1) -> Callable[[str, dict], Counter]:
    def extract(out: str, ctx: dict) -> Counter:
        rx = re.compile(pattern.format(**{k: re.escape(str(v)) for k, v in ctx.items()
                                          if isinstance(v, (str, int))}))
        return Counter(m.group(group) for m in map(rx.search, out.splitlines()) if m)
    return extract


def pid_lines(col: int) -> Callable[[str, dict], Counter]:
    def extract(out: str, ctx: dict) -> Counter:
        pids = {str(p) for p in ctx.get("pids", [])}
        return Counter(ln.split()[col] for ln in out.splitlines()
                       if len(ln.split()) > col and ln.split()[col] in pids)
    return extract


def hist_total(out: str, ctx: dict) -> Counter:
    return Counter({"values": sum(int(n) for n in re.findall(r"\]\s+(\d+)\s+\|", out) +
                                  re.findall(r"-> \d+\s+: (\d+)", out))})


CASES = [
    Case("execsnoop", ["-P", str(os.getpid())], "execsnoop", execs,
         count_lines(r"^\S+\s+(\d+)\s+\d+\s+0 /bin/echo {marker}"),
         count_lines(r"^\d+\s+(\d+)\s+/bin/echo {marker}")),
    Case("opensnoop", ["-p", str(os.getpid())], "opensnoop", opens,
         count_lines(r"\s(\S*{marker}\S*)$"), count_lines(r"\s(\S*{marker}\S*)$")),
    Case("statsnoop", ["-p", str(os.getpid())], "statsnoop", opens,
         count_lines(r"\s(\S*{marker}\S*)$"), count_lines(r"\s(\S*{marker}\S*)$")),
    Case("killsnoop", ["-p", str(os.getpid())], "killsnoop", kills,
         pid_lines(4), pid_lines(4)),
    Case("syncsnoop", [], "syncsnoop", syncs,
         count_lines(r"^\S+\s+{pid}\s+\S+\s+(\w+)$"),
         count_lines(r"^\S+\s+{pid}\s+\S+\s+tracepoint:syscalls:sys_enter_(\w+)$")),
    # system-wide counts: did each see the child's 20000 getppid() calls (x86-64 nr 110)?
    Case("syscount", ["-T", "50"], "syscount", syscalls,
         lambda out, ctx: Counter(f"getppid>={20000}" for m in
                                  re.finditer(r"^getppid\s+(\d+)$", out, re.M)
                                  if int(m.group(1)) >= 20000),
         lambda out, ctx: Counter(f"getppid>={20000}" for m in
                                  re.finditer(r"^@syscall\[110\]: (\d+)$", out, re.M)
                                  if int(m.group(1)) >= 20000)),
    Case("biolatency", [], "biolatency", block_io, hist_total, hist_total),
    Case("runqlat", ["-p", "0"], "runqlat", wakeups, hist_total, hist_total),
    Case("tcplife", [], "tcplife", tcp_session,
         count_lines(r"^{pid}\s+\S+\s+(127\.0\.0\.1\s+\d+\s+127\.0\.0\.1\s+\d+)"),
         count_lines(r"^{pid}\s+\S+\s+(127\.0\.0\.1\s+\d+\s+127\.0\.0\.1\s+\d+)")),
    Case("oomkill", [], "oomkill", oom,
         count_lines(r"OOM kill of PID ({pid})"), count_lines(r"OOM kill of PID ({pid})")),
]


def main(argv: list[str] | None = None) -> int:
    faulthandler.dump_traceback_later(240, exit=True)
    names = argv if argv else None
    if os.geteuid() != 0 or not shutil.which("bpftrace"):
        print("compat: needs root and bpftrace (tools/install-sysdeps.sh installs it)",
              file=sys.stderr)
        return 1
    same = 0
    cases = [c for c in CASES if not names or c.tool in names]
    for case in cases:
        ours, theirs, note = side_by_side(case)
        if ours is not None and theirs is not None:
            verdict = "same" if ours == theirs else "DIFFERENT"
            same += verdict == "same"
        elif ours is not None:
            verdict = "only ours runs"
        else:
            verdict = "ours FAILED"
        print(f"{case.tool:<12} {verdict:<15} ours={dict(ours or {})} "
              f"bpftrace={dict(theirs) if theirs is not None else '-'}"
              + (f"\n{'':<12} {note}" if note else ""), flush=True)
    print(f"\n{same} of {len(cases)} tools saw the same as bpftrace's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
