"""The live view itself: :class:`LiveView` draws tables and events on a terminal
(redrawn in place), or prints plain lines or JSON, until the time runs out or
Ctrl-C / SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from ..errors import Error
from ..uapi import MapType
from .format import jsonable, text_of
from .snapshot import shown_maps, snapshot
from .sources import Event, EventSource

log = logging.getLogger("ebpf.live")


class LiveView:
    """Shows an object's maps and events until ``duration`` runs out or Ctrl-C.

    ``mode`` is "tty", "plain" or "json" (default: "tty" when ``out`` is a
    terminal, else "plain"). ``interval`` is the refresh period of the tables
    (in plain/json mode tables print every ``interval`` seconds only when
    ``periodic`` is set, and always at the end).
    """

    def __init__(self, obj: Any, *, sources: Iterable[EventSource] = (), out: TextIO | None = None,
                 mode: str | None = None, interval: float = 1.0, title: str = "",
                 periodic: bool = False, unit: str = "value", max_events: int = 500,
                 status: Callable[[], str] | None = None):
        self.obj = obj
        self.sources = list(sources)
        self.out = out or sys.stdout
        if mode is None:
            mode = "tty" if _isatty(self.out) else "plain"
        if mode not in ("tty", "plain", "json"):
            raise ValueError(f"unknown view mode {mode!r} (tty, plain or json)")
        self.mode = mode
        self.interval = interval
        self.title = title
        self.periodic = periodic
        self.unit = unit
        self.events: deque[Event] = deque(maxlen=max_events)
        self.counts: dict[str, int] = {}
        self.started = 0.0
        self.elapsed = 0.0
        self.status = status
        self._screen = False
        #: True once the output's reader has gone away (nothing more is written)
        self.broken = False
        #: symbolizes stack-trace maps (created when the object has one; caches persist)
        self.symbolizer: Any = None
        self._pids_seen: set[int] = set()

    # -- output helpers --
    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # the reader went away (``| head``): stop quietly, like Ctrl-C
            self.broken = True
            if self.out is sys.stdout:
                try:  # no second BrokenPipeError when Python flushes stdout at exit
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                except OSError:
                    pass
            raise KeyboardInterrupt from None

    def _emit_event(self, ev: Event) -> None:
        self.counts[ev.source] = self.counts.get(ev.source, 0) + 1
        self.events.append(ev)
        if self.mode == "plain":
            self._write(ev.text() + "\n")
        elif self.mode == "json":
            self._write(json.dumps(ev.to_json(), default=str) + "\n")

    def snapshots(self) -> list[Any]:
        """Map snapshots, and stacks (STACK_TRACE maps symbolized, joined with the
        maps that count by stack id, which they replace)."""
        views: list[Any] = []
        joined: set[str] = set()
        if self._stacks():
            from ..stacks.maps import stack_views

            views, joined = stack_views(self.obj, self.symbolizer)
        return [snapshot(m, self.unit) for m in shown_maps(self.obj)
                if m.name not in joined] + views

    def _stacks(self) -> bool:
        """Whether the object has stack-trace maps; snapshots the processes seen in
        them so far (their stacks resolve after they exit)."""
        if not any(m.type == MapType.STACK_TRACE for m in self.obj.maps.values()):
            return False
        from ..stacks.maps import remember_processes
        from ..symbols import Symbolizer

        if self.symbolizer is None:
            self.symbolizer = Symbolizer()
        remember_processes(self.obj, self.symbolizer, self._pids_seen)
        return True

    def globals_line(self) -> str:
        """Values of the object's writable globals (.data/.bss) as one line."""
        parts = []
        for name, var in getattr(self.obj, "variables", {}).items():
            if var.readonly or _is_pointer(var):
                continue
            try:
                parts.append(f"{name}={text_of(var.value)}")
            except Error as e:
                parts.append(f"{name}=<{e}>")
        return " ".join(parts)

    def print_tables(self, final: bool = False) -> None:
        snaps = self.snapshots()
        if self.mode == "json":
            for s in snaps:
                self._write(json.dumps(s.to_json(), default=str) + "\n")
            values = {n: jsonable(v.value) for n, v in getattr(self.obj, "variables", {}).items()
                      if not v.readonly and not _is_pointer(v)}
            if values:
                self._write(json.dumps({"type": "globals", "values": values}, default=str) + "\n")
            return
        lines = []
        for s in snaps:
            lines.extend(s.lines(limit=None if final else 20))
        g = self.globals_line()
        if g:
            lines.append(f"globals: {g}")
        if lines:
            self._write("\n".join(lines) + "\n")

    def render_screen(self) -> str:
        """The full TTY screen as text (without escapes)."""
        cols, rows = shutil.get_terminal_size((100, 40))
        head = f"{self.elapsed:5.1f}s (Ctrl-C to stop)  {self.title}"
        if self.status:
            head += f"  {self.status()}"
        lines = [head[:cols], ""]
        budget = max(rows - 8, 6)
        for s in self.snapshots():
            lines.extend(s.lines(limit=max(budget // 2, 3)))
            lines.append("")
        g = self.globals_line()
        if g:
            lines.extend([f"globals: {g}", ""])
        if self.sources:
            counts = ", ".join(f"{n}: {c}" for n, c in sorted(self.counts.items())) or "none yet"
            lines.append(f"events ({counts})")
            room = max(rows - len(lines) - 1, 3)
            lines.extend(ev.text() for ev in list(self.events)[-room:])
        return "\n".join(ln[:cols] for ln in lines[: max(rows - 1, 10)])

    def _draw(self) -> None:
        screen = self.render_screen().replace("\n", "\x1b[K\n")
        self._write("\x1b[H" + screen + "\x1b[K\x1b[J")

    # -- the loop --
    def run(self, duration: float | None = None,
            until: Callable[[], bool] | None = None) -> float:
        """Poll sources and refresh until ``duration`` seconds pass, ``until()``
        says the input is over, or Ctrl-C (or SIGTERM); returns the seconds it ran.
        Always prints the final summary (tables after the stream)."""
        self.started = time.monotonic()
        deadline = None if duration is None else self.started + duration
        next_draw = self.started
        old_term = _install_sigterm()
        if self.mode == "tty":
            self._write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide cursor
            self._screen = True
        try:
            while True:
                now = time.monotonic()
                self.elapsed = now - self.started
                if deadline is not None and now >= deadline:
                    break
                if until is not None and until():
                    break
                if now >= next_draw:
                    if self.mode == "tty":
                        self._draw()
                    elif self.periodic:
                        self._write(f"--- {self.elapsed:.1f}s ---\n")
                        self.print_tables()
                    next_draw = now + self.interval
                    self._stacks()
                wait = next_draw - time.monotonic()
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                wait = max(min(wait, 0.2), 0.0)
                if not self.sources:
                    time.sleep(wait)
                    continue
                per = wait / len(self.sources)
                for src in self.sources:
                    try:
                        for ev in src.poll(per):
                            self._emit_event(ev)
                    except Error as e:
                        log.warning("reading %s: %s", src.name, e)
        except KeyboardInterrupt:
            pass
        finally:
            self.elapsed = time.monotonic() - self.started
            if self._screen:
                self._screen = False
                try:
                    self._write("\x1b[?25h\x1b[?1049l")
                except KeyboardInterrupt:
                    pass
            _restore_sigterm(old_term)
        return self.elapsed

    def drain(self) -> None:
        """Read whatever events are pending (without waiting)."""
        for src in self.sources:
            try:
                for ev in src.poll(0):
                    self._emit_event(ev)
            except Error as e:
                log.warning("reading %s: %s", src.name, e)

    def summary(self) -> None:
        """The final state: event stream tail (tty mode), counts and tables."""
        if self.mode == "tty" and self.events:
            self._write("\n".join(ev.text() for ev in list(self.events)[-20:]) + "\n")
        if self.mode == "json":
            self._write(json.dumps({"type": "summary", "seconds": round(self.elapsed, 3),
                                    "events": self.counts}) + "\n")
        else:
            counts = ", ".join(f"{n}={c}" for n, c in sorted(self.counts.items()))
            self._write(f"--- after {self.elapsed:.1f}s"
                        + (f"; events received: {counts}" if counts else "") + " ---\n")
        self.print_tables(final=True)

    def close(self) -> None:
        for src in self.sources:
            try:
                src.close()
            except Error as e:  # keep closing the rest
                log.warning("closing %s: %s", src.name, e)


def _is_pointer(var: Any) -> bool:
    """Pointer globals (``const struct event *unused``) only carry a type for tools."""
    t = getattr(var.spec, "type", None)
    if t is None:
        return False
    from .. import btf as B

    try:
        return isinstance(B.resolve(t), B.Pointer)
    except Exception:  # noqa: BLE001
        return False


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _install_sigterm() -> Any:
    """Make SIGTERM stop the view like Ctrl-C (so links are closed)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _restore_sigterm(old: Any) -> None:
    if old is not None:
        try:
            signal.signal(signal.SIGTERM, old)
        except ValueError:
            pass
