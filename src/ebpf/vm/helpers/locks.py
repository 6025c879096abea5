"""bpf_spin_lock / bpf_spin_unlock."""

from __future__ import annotations

import threading

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..run import Run
from .table import helper

# ---- spin locks ------------------------------------------------------------------
_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@helper(H.spin_lock)
def spin_lock(run: Run, lock, *_):
    run.mem.region(lock, 4, what="bpf_spin_lock")
    if lock in run.locks:
        raise RuntimeFault(f"bpf_spin_lock at {lock:#x} taken twice")
    with _LOCKS_GUARD:
        lk = _LOCKS.setdefault(lock, threading.Lock())
    lk.acquire()
    run.locks.add(lock)
    return 0


@helper(H.spin_unlock)
def spin_unlock(run: Run, lock, *_):
    if lock not in run.locks:
        raise RuntimeFault(f"bpf_spin_unlock at {lock:#x} without bpf_spin_lock")
    run.locks.discard(lock)
    _LOCKS[lock].release()
    return 0


def release_locks(run: Run) -> None:
    """Release every spin lock a run still holds (after a fault)."""
    for lock in list(run.locks):
        run.locks.discard(lock)
        _LOCKS[lock].release()
