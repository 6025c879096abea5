"""Stack helpers (no call chain to walk in the runtime)."""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ..run import Run
from .table import get_map, helper, neg


@helper(H.get_stackid)
def get_stackid(run: Run, ctx, map_, flags, *_):
    get_map(run, map_)
    return neg(errno.EFAULT)  # no call chain to walk in the runtime


BPF_F_SKIP_FIELD_MASK = 0xFF
BPF_F_USER_STACK = 1 << 8
BPF_F_USER_BUILD_ID = 1 << 11
#: sizeof(struct bpf_stack_build_id)
STACK_BUILD_ID_SIZE = 32


def _stack_into(run: Run, buf: int, size: int, flags: int) -> int:
    """bpf_get_stack / bpf_get_task_stack: the kernel's argument checks (-EINVAL
    with the buffer cleared), then an empty stack: the runtime has no call
    chain to walk, so 0 bytes are written (and the buffer is zeroed)."""
    size &= 0xFFFF_FFFF
    bad = (flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID)
           or (flags & BPF_F_USER_BUILD_ID and not flags & BPF_F_USER_STACK)
           or size % (STACK_BUILD_ID_SIZE if flags & BPF_F_USER_BUILD_ID else 8))
    if size:
        run.mem.zero(buf, size)
    return neg(errno.EINVAL) if bad else 0


@helper(H.get_stack)
def get_stack(run: Run, ctx, buf, size, flags, *_):
    return _stack_into(run, buf, size, flags)


@helper(H.get_task_stack)
def get_task_stack(run: Run, task, buf, size, flags, *_):
    """As bpf_get_stack for ``task`` (any task: the runtime has no stacks)."""
    return _stack_into(run, buf, size, flags)
