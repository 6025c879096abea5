"""The helpers of CGROUP_SYSCTL programs: ``bpf_sysctl_get_name``,
``bpf_sysctl_get_current_value``, ``bpf_sysctl_get_new_value`` and
``bpf_sysctl_set_new_value``, answered from the run's
:class:`~ebpf.vm.sysctl.SysctlRequest` with the kernel's results:

* a name is copied as ``strscpy`` copies: as much as fits with its NUL, the
  number of characters copied, ``-E2BIG`` when it was cut;
* a value is copied whole with the rest of the buffer zeroed (its length), or cut
  with a NUL in the buffer's last byte (``-E2BIG``); no value (an unreadable
  sysctl, or a read asking for the new value) clears the buffer, ``-EINVAL``;
* a new value can be set on a write only, up to 4095 bytes (``-E2BIG`` past).
"""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ...uapi.consts import BPF_F_SYSCTL_BASE_NAME
from ..run import Run
from ..sysctl import PAGE_SIZE, SysctlContext
from .table import helper, neg, run_context


def _ctx(run: Run, what: str) -> SysctlContext:
    return run_context(run, SysctlContext, what, ": the run has no sysctl request (run a "
                       "cgroup/sysctl program with ctx=ebpf.vm.SysctlRequest(...))")


def _strscpy(run: Run, buf: int, size: int, text: bytes) -> int:
    if size == 0:
        return neg(errno.E2BIG)
    n = min(len(text), size - 1)
    run.mem.write(buf, text[:n] + b"\0")
    return n if n == len(text) else neg(errno.E2BIG)


def _copy_value(run: Run, buf: int, size: int, value: bytes) -> int:
    if size == 0:
        return neg(errno.E2BIG)
    if not value:
        run.mem.write(buf, bytes(size))
        return neg(errno.EINVAL)
    if size > len(value):
        run.mem.write(buf, value + bytes(size - len(value)))
        return len(value)
    run.mem.write(buf, value[:size - 1] + b"\0")
    return neg(errno.E2BIG)


@helper(H.sysctl_get_name)
def sysctl_get_name(run: Run, ctx, buf, buf_len, flags, *_):
    c = _ctx(run, "bpf_sysctl_get_name")
    name = c.name.rsplit("/", 1)[-1] if flags & BPF_F_SYSCTL_BASE_NAME else c.name
    return _strscpy(run, buf, buf_len & 0xFFFF_FFFF, name.encode())


@helper(H.sysctl_get_current_value)
def sysctl_get_current_value(run: Run, ctx, buf, buf_len, *_):
    c = _ctx(run, "bpf_sysctl_get_current_value")
    return _copy_value(run, buf, buf_len & 0xFFFF_FFFF, c.current)


@helper(H.sysctl_get_new_value)
def sysctl_get_new_value(run: Run, ctx, buf, buf_len, *_):
    c = _ctx(run, "bpf_sysctl_get_new_value")
    size = buf_len & 0xFFFF_FFFF
    if not c.write:
        if size:
            run.mem.write(buf, bytes(size))
        return neg(errno.EINVAL)
    return _copy_value(run, buf, size, c.new)


@helper(H.sysctl_set_new_value)
def sysctl_set_new_value(run: Run, ctx, buf, buf_len, *_):
    c = _ctx(run, "bpf_sysctl_set_new_value")
    size = buf_len & 0xFFFF_FFFF
    if not c.write or not c.new or not size:
        return neg(errno.EINVAL)
    if size > PAGE_SIZE - 1:
        return neg(errno.E2BIG)
    c.new = run.mem.read(buf, size)
    c.new_updated = True
    return 0
