"""``/tmp/perf-PID.map`` files: symbols for code a JIT wrote (Python 3.12's perf
trampolines with ``-X perf``, Node's ``--perf-basic-prof``, JVM agents).

Each line is ``START SIZE NAME`` with hex START and SIZE. A process in a
container writes the file in its own ``/tmp`` under its namespace pid; it is
read through ``/proc/PID/root``.
"""

from __future__ import annotations

import os

from .procmaps import namespace_pid
from .table import SymbolTable


class PerfMap(SymbolTable):
    """The symbols of one perf map file, looked up by address."""

    def __init__(self, text: str, path: str = ""):
        self.path = path
        rows: list[tuple[int, int, str]] = []
        for line in text.splitlines():
            parts = line.split(None, 2)
            if len(parts) < 3:
                continue
            try:
                rows.append((int(parts[0], 16), int(parts[1], 16), parts[2].strip()))
            except ValueError:
                continue
        rows.sort(key=lambda r: r[0])
        super().__init__(rows, unsized=1)

    def lookup(self, address: int) -> tuple[str, int] | None:
        """(name, offset into it) for ``address``, or None."""
        return self.containing(address)


def perf_map_path(pid: int, tmpdir: str = "/tmp") -> str | None:
    """Where ``pid``'s perf map is, as the tracer can open it, or None."""
    nspid = namespace_pid(pid)
    for path in (f"/proc/{pid}/root{tmpdir}/perf-{nspid}.map", f"{tmpdir}/perf-{pid}.map"):
        if os.path.isfile(path):
            return path
    return None


def read_perf_map(pid: int, tmpdir: str = "/tmp") -> PerfMap | None:
    """``pid``'s perf map, or None when it has none."""
    path = perf_map_path(pid, tmpdir)
    if path is None:
        return None
    try:
        with open(path, errors="replace") as f:
            return PerfMap(f.read(), path)
    except OSError:
        return None


__all__ = ["PerfMap", "perf_map_path", "read_perf_map"]
