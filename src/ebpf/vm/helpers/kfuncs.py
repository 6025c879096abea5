"""Generic kfuncs: open-coded numeric iterators, RCU read locks."""

from __future__ import annotations

import errno

from ..._internal.ints import s32
from ..run import Run
from .table import kfunc, neg

# ---- kfuncs -----------------------------------------------------------------------
#: most iterations an open-coded numeric iterator may cover (BPF_MAX_LOOPS)
BPF_MAX_LOOPS = 8 * 1024 * 1024


def _iter_num_set(run: Run, it: int, cur: int, end: int) -> None:
    run.mem.write(it, (cur & 0xFFFF_FFFF).to_bytes(4, "little")
                  + (end & 0xFFFF_FFFF).to_bytes(4, "little"))


@kfunc("bpf_iter_num_new")
def iter_num_new(run: Run, it, start, end, *_):
    """``bpf_for``/``bpf_repeat``: start an iterator over [start, end) (ints).
    The 8-byte state is {int cur; int end}, as the kernel keeps it."""
    start, end = s32(start), s32(end)
    if start > end:
        _iter_num_set(run, it, 0, 0)
        return neg(errno.EINVAL)
    if end - start > BPF_MAX_LOOPS:
        _iter_num_set(run, it, 0, 0)
        return neg(errno.E2BIG)
    _iter_num_set(run, it, start - 1, end)  # next() increments first
    return 0


@kfunc("bpf_iter_num_next")
def iter_num_next(run: Run, it, *_):
    """Pointer to the next value (the iterator's own ``cur``), or NULL at the end."""
    raw = run.mem.read(it, 8)
    cur = s32(int.from_bytes(raw[:4], "little"))
    end = s32(int.from_bytes(raw[4:], "little"))
    if s32(cur + 1) >= end:
        _iter_num_set(run, it, 0, 0)
        return 0
    _iter_num_set(run, it, cur + 1, end)
    return it


@kfunc("bpf_iter_num_destroy")
def iter_num_destroy(run: Run, it, *_):
    _iter_num_set(run, it, 0, 0)
    return 0


@kfunc("bpf_rcu_read_lock")
def rcu_read_lock(run: Run, *_):
    """No-op: the runtime frees nothing a program can still see."""
    return 0


@kfunc("bpf_rcu_read_unlock")
def rcu_read_unlock(run: Run, *_):
    return 0
