"""bpf_spin_lock / bpf_spin_unlock, built so that no program can deadlock the host.

The kernel's verifier guarantees a program holds at most one spin lock and calls
nothing (no helper, no tail call) while holding it, and releases it before it
exits. The runtime enforces the same rules as it runs (a program loaded with
``verify=False`` gets an :class:`ebpf.RuntimeFault` instead of a hang):

* a second ``bpf_spin_lock`` while one is held faults (two runs taking two locks
  in opposite orders cannot wait for each other);
* a helper call other than ``bpf_spin_unlock`` under a lock faults (checked by
  every executor's helper dispatch, :func:`ebpf.vm.run.call_under_lock`);
* the lock of a run that ends in any way (exit, fault, budget) is released;
* the wait for a lock another thread holds is bounded (:data:`LOCK_WAIT`
  seconds): a holder is itself bounded by its instruction budget, so only a
  budget raised by hand can make a waiter give up, with a fault naming the lock.

Locks live in a fixed table of stripes chosen by address, so a program passing
arbitrary addresses creates nothing; with one lock per run, two locks sharing a
stripe only serialise.
"""

from __future__ import annotations

import threading

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..run import Run
from .table import helper

#: seconds a run waits for a spin lock another run holds
LOCK_WAIT = 10.0
_STRIPES = tuple(threading.Lock() for _ in range(64))


def _stripe(lock: int) -> threading.Lock:
    return _STRIPES[(lock >> 2) % len(_STRIPES)]


@helper(H.spin_lock)
def spin_lock(run: Run, lock, *_):
    run.mem.region(lock, 4, what="bpf_spin_lock")
    if lock in run.locks:
        raise RuntimeFault(f"bpf_spin_lock at {lock:#x} taken twice")
    if run.locks:
        held = ", ".join(f"{a:#x}" for a in run.locks)
        raise RuntimeFault(f"bpf_spin_lock at {lock:#x} while holding the lock at {held}: "
                           "nested locks are not allowed (they could deadlock)")
    if not _stripe(lock).acquire(timeout=LOCK_WAIT):
        raise RuntimeFault(f"bpf_spin_lock at {lock:#x}: another run held it for more than "
                           f"{LOCK_WAIT:g} s")
    run.locks.add(lock)
    return 0


@helper(H.spin_unlock)
def spin_unlock(run: Run, lock, *_):
    if lock not in run.locks:
        raise RuntimeFault(f"bpf_spin_unlock at {lock:#x} without bpf_spin_lock")
    run.locks.discard(lock)
    _stripe(lock).release()
    return 0


def release_locks(run: Run) -> None:
    """Release every spin lock a run still holds (after a fault)."""
    for lock in list(run.locks):
        run.locks.discard(lock)
        _stripe(lock).release()

