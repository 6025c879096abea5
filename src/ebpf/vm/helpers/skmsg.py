"""The data helpers of SK_MSG programs: ``bpf_msg_apply_bytes``,
``bpf_msg_cork_bytes``, ``bpf_msg_pull_data``, ``bpf_msg_push_data`` and
``bpf_msg_pop_data``, on the message of :class:`~ebpf.vm.skmsg.SkMsgContext`
with the kernel's checks (net/core/filter.c):

* apply and cork only record the byte count (0);
* pull: ``-EINVAL`` for flags, an empty or backward range, a start past the
  message or an end past it;
* push: ``-EINVAL`` for flags or a start past the message's end; 0 bytes is a
  no-op;
* pop: ``-EINVAL`` for flags, a start at or past the end, or a range running
  past it; 0 bytes is a no-op (Linux 6.x; older kernels said ``-EINVAL``).
"""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ..run import Run
from ..skmsg import SkMsgContext
from .table import helper, neg, run_context

M32 = 0xFFFF_FFFF


def _msg(run: Run, what: str) -> SkMsgContext:
    return run_context(run, SkMsgContext, what, " needs an sk_msg context")


@helper(H.msg_apply_bytes)
def msg_apply_bytes(run: Run, msg, nbytes, *_):
    _msg(run, "bpf_msg_apply_bytes").apply_bytes = nbytes & M32
    return 0


@helper(H.msg_cork_bytes)
def msg_cork_bytes(run: Run, msg, nbytes, *_):
    _msg(run, "bpf_msg_cork_bytes").cork_bytes = nbytes & M32
    return 0


@helper(H.msg_pull_data)
def msg_pull_data(run: Run, msg, start, end, flags, *_):
    c = _msg(run, "bpf_msg_pull_data")
    start, end = start & M32, end & M32
    if flags or end <= start:
        return neg(errno.EINVAL)
    return 0 if c.pull(start, end) else neg(errno.EINVAL)


def _resize(run: Run, start: int, length: int, flags: int, push: bool) -> int:
    """bpf_msg_push_data (``push``: ``length`` bytes inserted at ``start``) or
    bpf_msg_pop_data (removed): flags must be 0, a length of 0 does nothing."""
    c = _msg(run, "bpf_msg_push_data" if push else "bpf_msg_pop_data")
    start, length = start & M32, length & M32
    if flags:
        return neg(errno.EINVAL)
    if not length:
        return 0
    return 0 if (c.push if push else c.pop)(start, length) else neg(errno.EINVAL)


@helper(H.msg_push_data)
def msg_push_data(run: Run, msg, start, length, flags, *_):
    return _resize(run, start, length, flags, push=True)


@helper(H.msg_pop_data)
def msg_pop_data(run: Run, msg, start, length, flags, *_):
    return _resize(run, start, length, flags, push=False)
