"""From a tool's maps to a :class:`StackProfile`: rows of (task, user stack id,
kernel stack id, value) joined with STACK_TRACE maps and symbolized.

A row is any object with ``pid``, ``user_stack_id``, ``kernel_stack_id`` and
optionally ``tid`` and ``comm`` attributes (a BTF-decoded key struct is one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..symbols import Frame, Symbolizer
from .profile import Stack, StackProfile
from .trace import BuildIdFrame, StackTraceMap

log = logging.getLogger(__name__)

#: kernel functions that are the tracing machinery calling the BPF program, not
#: the traced code: trimmed from the innermost end of kernel stacks
_GLUE_PREFIXES = ("bpf_prog_", "bpf_trace_run", "__traceiter_", "__bpf_trace_",
                  "trace_call_bpf", "perf_trace_", "perf_tp_event", "perf_swevent_",
                  "__perf_event_overflow", "perf_event_overflow", "bpf_overflow_handler",
                  "uprobe_dispatcher", "handler_chain", "uprobe_notify_resume",
                  "__uprobe_perf_func", "uprobe_perf_func", "perf_syscall_",
                  "trace_event_raw_event_")


def trim_glue(frames: list[Frame]) -> list[Frame]:
    """``frames`` (innermost first) without the BPF/tracing frames at the top."""
    i = 0
    while i < len(frames) and frames[i].kernel and frames[i].name.startswith(_GLUE_PREFIXES):
        i += 1
    return frames[i:]


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(value or "")


def user_frames(symbolizer: Symbolizer, pid: int,
                stack: list[int] | list[BuildIdFrame]) -> list[Frame]:
    """Symbolize a user stack (addresses or build-id frames) of process ``pid``."""
    if stack and isinstance(stack[0], BuildIdFrame):
        out = []
        for i, f in enumerate(stack):
            assert isinstance(f, BuildIdFrame)
            if f.valid:
                out.append(symbolizer.build_id_frame(f.build_id, f.offset, return_address=i > 0))
            else:
                out.append(symbolizer.user_frame(pid, f.offset, return_address=i > 0))
        return out
    return symbolizer.user_stack(pid, stack)  # type: ignore[arg-type]


class StackCollector:
    """Turns rows into stacks, caching symbolized stacks by (pid, stack id)."""

    def __init__(self, symbolizer: Symbolizer, kernel_map: Any | None,
                 user_map: Any | None = None):
        self.symbolizer = symbolizer
        self.kernel = StackTraceMap(kernel_map) if kernel_map is not None else None
        self.user = StackTraceMap(user_map) if user_map is not None else self.kernel
        self._ustacks: dict[tuple[int, int], tuple[Frame, ...]] = {}
        self._kstacks: dict[int, tuple[Frame, ...]] = {}
        self.lost_user = 0
        self.lost_kernel = 0

    def frames(self, pid: int, user_stack_id: int, kernel_stack_id: int) -> tuple[Frame, ...]:
        """Kernel frames (innermost first) followed by user frames."""
        k: tuple[Frame, ...] = ()
        u: tuple[Frame, ...] = ()
        if kernel_stack_id >= 0 and self.kernel is not None:
            k = self._kstacks.get(kernel_stack_id, ())
            if not k:
                k = self._kstacks[kernel_stack_id] = tuple(trim_glue(
                    self.symbolizer.kernel_stack(self.kernel.get(kernel_stack_id))))  # type: ignore[arg-type]
        if user_stack_id >= 0 and self.user is not None:
            u = self._ustacks.get((pid, user_stack_id), ())
            if not u:
                u = self._ustacks[(pid, user_stack_id)] = tuple(user_frames(
                    self.symbolizer, pid, self.user.get(user_stack_id)))
        return k + u

    def profile(self, rows: Iterable[tuple[Any, int]], *, unit: str = "samples",
                per_thread: bool = False, per_process: bool = True) -> StackProfile:
        """A profile of ``(row, value)`` pairs (``per_process`` False: stacks of
        different processes with the same frames merge)."""
        prof = StackProfile(unit=unit)
        for row, value in rows:
            pid = int(getattr(row, "pid", 0))
            uid = int(getattr(row, "user_stack_id", -1))
            kid = int(getattr(row, "kernel_stack_id", -1))
            if uid < 0 and getattr(row, "user_stack_id", None) is not None:
                self.lost_user += 1
            frames = self.frames(pid, uid, kid)
            tid = int(getattr(row, "tid", pid)) if per_thread else 0
            prof.add(Stack(frames, comm=_text(getattr(row, "comm", "")),
                           pid=pid if per_process else 0, tid=tid), int(value))
        return prof


def remember_pids(symbolizer: Symbolizer, rows: Iterable[Any], seen: set[int]) -> None:
    """Snapshot the maps of every process in ``rows`` not seen before, so its
    stacks resolve even if it exits before the report."""
    for row in rows:
        pid = int(getattr(row, "pid", 0))
        if pid and pid not in seen:
            seen.add(pid)
            symbolizer.remember(pid)


__all__ = ["StackCollector", "remember_pids", "trim_glue", "user_frames"]
