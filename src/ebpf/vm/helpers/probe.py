"""Memory reads and writes outside the program's own regions (probe_read, user copies)."""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ..run import Run
from .table import HELPERS, helper, neg

# ---- memory reads ---------------------------------------------------------------
#: the kernel refuses kernel-memory reads from the user half with -ERANGE (x86-64)
USER_HALF_END = 1 << 47


def _fault_errno(src: int, kernel: bool) -> int:
    return neg(errno.ERANGE if kernel and src < USER_HALF_END else errno.EFAULT)


def _probe_read(run: Run, dst: int, size: int, src: int, kernel: bool = False) -> int:
    if size == 0:
        return 0
    region = run.mem.find(src, size)
    if region is None:
        run.mem.zero(dst, size)
        return _fault_errno(src, kernel)
    i = src - region.delta
    run.mem.write(dst, bytes(region.buf[i:i + size]))
    return 0


def _probe_read_str(run: Run, dst: int, size: int, src: int, kernel: bool = False) -> int:
    if size == 0:
        return 0
    if run.mem.find(src, 1) is None:
        run.mem.zero(dst, size)
        return _fault_errno(src, kernel)
    s = run.mem.read_str(src, size - 1)
    run.mem.write(dst, s + b"\0")
    return len(s) + 1


for _hid in (H.probe_read, H.probe_read_user):
    HELPERS[int(_hid)] = lambda run, dst, size, src, *_: _probe_read(run, dst, size, src)
for _hid in (H.probe_read_str, H.probe_read_user_str):
    HELPERS[int(_hid)] = lambda run, dst, size, src, *_: _probe_read_str(run, dst, size, src)
HELPERS[int(H.probe_read_kernel)] = \
    lambda run, dst, size, src, *_: _probe_read(run, dst, size, src, True)
HELPERS[int(H.probe_read_kernel_str)] = \
    lambda run, dst, size, src, *_: _probe_read_str(run, dst, size, src, True)


@helper(H.copy_from_user)
def copy_from_user(run: Run, dst, size, src, *_):
    return _probe_read(run, dst, size, src)


@helper(H.probe_write_user)
def probe_write_user(run: Run, dst, src, size, *_):
    """Write to "user" memory: in the runtime, its own writable memory (where
    uprobe and syscall arguments point); -EFAULT anywhere else."""
    size &= 0xFFFF_FFFF
    data = run.mem.read(src, size)
    region = run.mem.find(dst, size)
    if region is None or not region.writable or region.on_write is not None:
        return neg(errno.EFAULT)
    i = dst - region.delta
    region.buf[i:i + size] = data
    return 0
