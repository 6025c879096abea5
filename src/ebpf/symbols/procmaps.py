"""A process's memory map (``/proc/PID/maps``) and where its files are.

Paths in the map are as the process sees them; a process in another mount
namespace (a container) has its files under ``/proc/PID/root``. A file deleted
or replaced since it was mapped is still readable through
``/proc/PID/map_files/START-END``.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

from ..errors import Error


class ProcessGoneError(Error):
    """The process has exited (its /proc entry is gone)."""


@dataclass(frozen=True)
class MapEntry:
    """One line of /proc/PID/maps."""

    start: int
    end: int
    perms: str
    offset: int  # file offset mapped at ``start``
    dev: str
    inode: int
    path: str  # as the process sees it ("" for anonymous, "[vdso]" ...)

    @property
    def executable(self) -> bool:
        return "x" in self.perms

    @property
    def is_file(self) -> bool:
        return self.path.startswith("/") and self.inode != 0

    @property
    def deleted(self) -> bool:
        return self.path.endswith(" (deleted)")

    def file_offset(self, address: int) -> int:
        """The file offset ``address`` (inside this mapping) comes from."""
        return address - self.start + self.offset


def parse_maps(text: str) -> list[MapEntry]:
    """The entries of a /proc/PID/maps text, in address order."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        try:
            lo, hi = parts[0].split("-")
            out.append(MapEntry(int(lo, 16), int(hi, 16), parts[1], int(parts[2], 16),
                                parts[3], int(parts[4]), parts[5].strip() if len(parts) > 5 else ""))
        except ValueError:
            continue
    out.sort(key=lambda e: e.start)
    return out


class ProcessMaps:
    """A snapshot of one process's executable mappings, with lookup by address."""

    def __init__(self, pid: int, entries: list[MapEntry]):
        self.pid = pid
        self.entries = [e for e in entries if e.executable]
        self._starts = [e.start for e in self.entries]

    @classmethod
    def read(cls, pid: int) -> ProcessMaps:
        try:
            with open(f"/proc/{pid}/maps") as f:
                text = f.read()
        except FileNotFoundError:
            raise ProcessGoneError(f"process {pid} does not exist (no /proc/{pid}/maps)") from None
        except ProcessLookupError:
            raise ProcessGoneError(f"process {pid} has exited") from None
        except OSError as e:
            raise Error(f"reading /proc/{pid}/maps: {e.strerror}") from None
        return cls(pid, parse_maps(text))

    def find(self, address: int) -> MapEntry | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and self.entries[i].start <= address < self.entries[i].end:
            return self.entries[i]
        return None

    def host_path(self, entry: MapEntry) -> str | None:
        """A path this process (the tracer) can open for ``entry``'s file: through
        /proc/PID/map_files (works across mount namespaces and for deleted files),
        else /proc/PID/root + path, else the path itself. None when none opens."""
        path = entry.path.removesuffix(" (deleted)")
        candidates = [f"/proc/{self.pid}/map_files/{entry.start:x}-{entry.end:x}",
                      f"/proc/{self.pid}/root{path}", path]
        for c in candidates:
            if os.access(c, os.R_OK):
                return c
        return None


def namespace_pid(pid: int) -> int:
    """The pid of ``pid`` inside its own pid namespace (``NSpid``'s last field),
    which names a containerised process's perf map file."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return pid


__all__ = ["MapEntry", "ProcessGoneError", "ProcessMaps", "namespace_pid", "parse_maps"]
