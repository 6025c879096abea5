"""Reading ``bpf_trace_printk`` / ``bpf_printk`` output from tracefs ``trace_pipe``.

Lines of ``trace_pipe`` look like::

    python3-4242    [001] d..31  1523.123456: bpf_trace_printk: hello 7

:class:`TracePipe` reads them without blocking (or waiting up to a timeout) and
parses each into a :class:`TraceEvent`. Reading ``trace_pipe`` consumes lines, so
two readers of the same pipe would each see only part of them: by default a
:class:`TracePipe` reads a tracefs instance of its own (``instances/ebpf-PID-N``)
with the ``bpf_trace/bpf_trace_printk`` event enabled, which gets every
``bpf_printk`` line whoever else reads; the instance is removed on close. Where
that cannot be made (no such event, no permission) it reads the global pipe.

>>> import ebpf.trace  # doctest: +SKIP
>>> with ebpf.trace.TracePipe() as tp:  # doctest: +SKIP
...     for ev in tp.read(timeout=1.0):
...         print(ev.pid, ev.message)
"""

from __future__ import annotations

import errno as _errno
import itertools
import logging
import os
import re
import select
import time
from collections.abc import Iterator
from typing import NamedTuple

from ._internal.closeable import ClosedWhenCollected
from .errors import NotSupportedError, PrivilegeError, SystemCallError

log = logging.getLogger("ebpf.trace")

_LINE_RE = re.compile(
    r"^\s*(?P<task>.*?)-(?P<pid>\d+)\s+"
    r"(?:\(\s*(?:\d+|-+)\)\s+)?"           # optional "( tgid)" column
    r"\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\[\]]{4,6})\s+)?"   # irq/preempt flags, when shown
    r"(?P<ts>\d+\.\d+):\s+"
    r"(?P<func>[^:\s]+):\s?(?P<msg>.*)$")


class TraceEvent(NamedTuple):
    """One parsed trace_pipe line. ``function`` is the event (``bpf_trace_printk``)."""

    task: str
    pid: int
    cpu: int
    timestamp: float
    message: str
    function: str = ""
    flags: str = ""
    raw: str = ""


def parse_line(line: str) -> TraceEvent | None:
    """Parse one trace_pipe line; None for lines that do not look like events
    (such as the "CPU:1 [LOST 5 EVENTS]" markers).

    >>> parse_line("  sh-12  [000] d..31  7.500000: bpf_trace_printk: hi there")
    TraceEvent(task='sh', pid=12, cpu=0, timestamp=7.5, message='hi there', function='bpf_trace_printk', flags='d..31', raw='  sh-12  [000] d..31  7.500000: bpf_trace_printk: hi there')
    """
    line = line.rstrip("\n")
    m = _LINE_RE.match(line)
    if not m:
        return None
    return TraceEvent(m.group("task").strip(), int(m.group("pid")), int(m.group("cpu")),
                      float(m.group("ts")), m.group("msg"), m.group("func"),
                      m.group("flags") or "", line)


class TracePipe(ClosedWhenCollected):
    """A non-blocking reader of tracefs ``trace_pipe`` (mounting tracefs when root).

    ``read(timeout)`` returns the events available now, waiting up to ``timeout``
    seconds for the first one; iterating yields events forever (blocking).
    """

    def __init__(self, path: str | None = None, *, private: bool = True):
        self._fd = -1
        self._instance: str | None = None
        if path is None:
            from .kernel.tracefs import tracefs_path

            base = tracefs_path()
            self._instance = _private_instance(base) if private else None
            if self._instance is None:
                self._enable_tracing(base)
            path = os.path.join(self._instance or base, "trace_pipe")
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as e:
            raise PrivilegeError(f"opening {path}", e.errno, capability="CAP_SYS_ADMIN") from None
        except FileNotFoundError:
            raise NotSupportedError("trace_pipe", detail=f"{path} does not exist") from None
        except OSError as e:
            raise SystemCallError(f"opening {path}", e.errno) from None
        self._buf = b""
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)

    @staticmethod
    def _enable_tracing(base: str) -> None:
        on = os.path.join(base, "tracing_on")
        try:
            with open(on) as f:
                if f.read().strip() == "1":
                    return
            with open(on, "w") as f:
                f.write("1")
        except OSError:
            pass  # not fatal: output simply may not show up

    def fileno(self) -> int:
        if self._fd < 0:
            raise ValueError("TracePipe is closed")
        return self._fd

    def _drain(self) -> list[str]:
        chunks = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == _errno.EINTR:
                    continue
                raise SystemCallError(f"reading {self.path}", e.errno) from None
            if not data:
                break
            chunks.append(data)
            if len(data) < 65536:
                break
        if not chunks:
            return []
        self._buf += b"".join(chunks)
        *lines, self._buf = self._buf.split(b"\n")
        return [ln.decode("utf-8", "replace") for ln in lines]

    def read_lines(self, timeout: float | None = 0.0) -> list[str]:
        """Raw lines available now, waiting up to ``timeout`` s (None: forever) for some."""
        if self._fd < 0:
            raise ValueError("TracePipe is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            lines = self._drain()
            if lines:
                return lines
            if deadline is None:
                wait_ms = -1
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                wait_ms = max(1, int(remaining * 1000))
            # trace_pipe's poll only wakes on new data once something waits; cap the
            # wait so partial pages written meanwhile are picked up too.
            self._poll.poll(wait_ms if wait_ms >= 0 and wait_ms < 200 else 200)

    def read(self, timeout: float | None = 0.0) -> list[TraceEvent]:
        """Parsed events available now, waiting up to ``timeout`` s for some."""
        return [ev for ev in map(parse_line, self.read_lines(timeout)) if ev is not None]

    def __iter__(self) -> Iterator[TraceEvent]:
        while True:
            yield from self.read(timeout=None)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._instance is not None:
            _remove_instance(self._instance)
            self._instance = None


_INSTANCE_PREFIX = "ebpf-"
_PRINTK_EVENT = ("events", "bpf_trace", "bpf_trace_printk", "enable")
_instances = itertools.count()


def _private_instance(base: str) -> str | None:
    """Make a tracefs instance of this process's own that records bpf_printk lines
    (the bpf_trace_printk event); None when it cannot (old kernel, no permission)."""
    root = os.path.join(base, "instances")
    if not os.path.exists(os.path.join(base, *_PRINTK_EVENT)):
        return None
    _remove_stale_instances(root)
    path = os.path.join(root, f"{_INSTANCE_PREFIX}{os.getpid()}-{next(_instances)}")
    try:
        os.mkdir(path)
    except OSError as e:
        log.debug("no private tracefs instance (%s): reading the global trace_pipe", e)
        return None
    try:
        with open(os.path.join(path, *_PRINTK_EVENT), "w") as f:
            f.write("1")
    except OSError as e:
        log.debug("cannot enable bpf_trace_printk in %s (%s)", path, e)
        _remove_instance(path)
        return None
    return path


def _remove_instance(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError as e:
        log.debug("cannot remove tracefs instance %s: %s", path, e)


def _remove_stale_instances(root: str) -> None:
    """Remove instances left by processes of ours that died without closing."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith(_INSTANCE_PREFIX):
            continue
        pid = name[len(_INSTANCE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _remove_instance(os.path.join(root, name))


def trace_lines(timeout: float | None = 1.0, path: str | None = None) -> Iterator[TraceEvent]:
    """Yield trace_pipe events as they come, for ``timeout`` seconds (None: forever)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with TracePipe(path) as tp:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            yield from tp.read(timeout=remaining)


__all__ = ["TraceEvent", "TracePipe", "parse_line", "trace_lines"]
