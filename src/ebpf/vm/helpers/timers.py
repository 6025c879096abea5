"""BPF timers: ``bpf_timer_init``, ``bpf_timer_set_callback``, ``bpf_timer_start``,
``bpf_timer_cancel``.

A ``struct bpf_timer`` lives in a map value (array or hash). Once started, the
runtime calls the callback on a background thread when the time is up, as the
kernel's hrtimer does in softirq context: ``callback(map, key, value)`` with the
element the timer sits in, the program's own function in a frame of its own.
The kernel's checks: an unknown clock or flags (``-EINVAL``), a second init
(``-EBUSY``), a start or callback before init or a start without a callback
(``-EINVAL``), cancelling from the timer's own callback (``-EDEADLK``); cancel
answers 1 when it stopped a pending timer. Closing the map cancels its timers;
user space never sees a timer's bytes (they read as zeros, as the kernel hides them).
"""

from __future__ import annotations

import errno
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..memory import GLOBAL, SCRATCH_BASE, Memory, Region
from ..run import Run
from .maps import _callback_slot
from .table import get_map, helper, neg

log = logging.getLogger("ebpf.vm")

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
MAX_CLOCKS = 16
BPF_F_TIMER_ABS, BPF_F_TIMER_CPU_PIN = 1, 2
_CLOCKS = {CLOCK_REALTIME: time.CLOCK_REALTIME, CLOCK_MONOTONIC: time.CLOCK_MONOTONIC,
           CLOCK_BOOTTIME: getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)}
#: where a callback's key lives
_KEY_BASE = SCRATCH_BASE - 0x3000
_running = threading.local()
#: initialised timers by the address of their struct bpf_timer (the maps hold them)
_BY_ADDR: weakref.WeakValueDictionary[int, VMTimer] = weakref.WeakValueDictionary()


@dataclass
class VMTimer:
    """One initialised ``struct bpf_timer``."""

    map: Any
    addr: int
    clock: int
    program: Any = None
    slot: int = -1
    pending: threading.Timer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def element(self) -> tuple[bytes, int] | None:
        """(key, value address) of the element holding the timer, None if gone."""
        from ..maps import ArrayMap

        m = self.map
        if isinstance(m, ArrayMap):
            base = m.regions[0].base
            i = (self.addr - base) // m.stride
            return i.to_bytes(4, "little"), base + i * m.stride
        for key, vaddr in m.for_each():
            if vaddr <= self.addr < vaddr + m.value_size:
                return key, vaddr
        return None

    def cancel(self) -> int:
        with self.lock:
            pending, self.pending = self.pending, None
        if pending is None:
            return 0
        pending.cancel()
        return 1

    def fire(self) -> None:
        with self.lock:
            self.pending = None
            prog, slot = self.program, self.slot
        where = self.element()
        if prog is None or where is None or self.map._closed or getattr(prog, "_closed", False):
            return
        key, vaddr = where
        mem = Memory()
        mem.globals_ = getattr(prog, "space", mem.globals_)
        keyreg = mem.add_local(Region(_KEY_BASE, bytearray(key), "timer callback key",
                                      writable=False))
        run = Run(mem, program=prog, budget=prog.budget)
        _running.timer = self
        GLOBAL.enter()
        try:
            prog.executor.call(run, prog.code, slot, (self.map.handle, keyreg.base, vaddr), 0)
        except Exception as e:  # noqa: BLE001 - a callback's fault must not kill the thread
            log.warning("bpf timer callback of %s faulted: %s", getattr(prog, "name", "?"), e)
        finally:
            GLOBAL.leave()
            _running.timer = None


def _timers(m: Any) -> dict[int, VMTimer]:
    timers = getattr(m, "_bpf_timers", None)
    if timers is None:
        timers = m._bpf_timers = {}
        hooks = getattr(m, "_close_hooks", None)
        if hooks is not None:
            def cancel_all() -> None:
                for t in list(timers.values()):
                    t.cancel()
                timers.clear()
            hooks.append(cancel_all)
    return timers


def _find(run: Run, timer: int) -> VMTimer | None:
    if run.mem.find(timer, 16) is None:
        raise RuntimeFault(f"bpf_timer at {timer:#x} is not in a map value")
    return _BY_ADDR.get(timer)


@helper(H.timer_init)
def timer_init(run: Run, timer, map_, flags, *_):
    clock = flags & (MAX_CLOCKS - 1)
    if flags >= MAX_CLOCKS or clock not in _CLOCKS:
        return neg(errno.EINVAL)
    m = get_map(run, map_)
    timers = _timers(m)
    if timer in timers:
        return neg(errno.EBUSY)
    timers[timer] = _BY_ADDR[timer] = VMTimer(m, timer, clock)
    return 0


@helper(H.timer_set_callback)
def timer_set_callback(run: Run, timer, callback, *_):
    t = _find(run, timer)
    if t is None:
        return neg(errno.EINVAL)
    slot = _callback_slot(run, callback)
    with t.lock:
        t.program, t.slot = run.program, slot
    return 0


@helper(H.timer_start)
def timer_start(run: Run, timer, nsecs, flags, *_):
    if flags & ~(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN):
        return neg(errno.EINVAL)
    t = _find(run, timer)
    if t is None or t.program is None:
        return neg(errno.EINVAL)
    delay = nsecs & ((1 << 64) - 1)
    if flags & BPF_F_TIMER_ABS:
        delay = max(0, delay - time.clock_gettime_ns(_CLOCKS[t.clock]))
    t.cancel()
    pending = threading.Timer(delay / 1e9, t.fire)
    pending.daemon = True
    with t.lock:
        t.pending = pending
    pending.start()
    return 0


@helper(H.timer_cancel)
def timer_cancel(run: Run, timer, *_):
    t = _find(run, timer)
    if t is None:
        return neg(errno.EINVAL)
    if getattr(_running, "timer", None) is t:
        return neg(errno.EDEADLK)
    return t.cancel()
