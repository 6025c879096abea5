"""Stack helpers: the running BPF program's own call frames.

The runtime has no kernel or user stack to walk; what it has is the program's
chain of BPF-to-BPF calls. ``bpf_get_stack`` and ``bpf_get_stackid`` return that
chain, innermost first: the address of the helper call, then of each
``call`` instruction that led to it, as addresses in the runtime's code space
(``CODE_BASE + 8 * slot``, the same addresses ``callx`` takes). Kernel and user
requests (``BPF_F_USER_STACK``) see the same frames; build-id requests get
``BPF_STACK_BUILD_ID_IP`` entries (no file to name). Every executor records
the call sites (``Run.call_pcs``) and the helper call (``Run.helper_pc``).
"""

from __future__ import annotations

import errno
import struct
import zlib

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import (
    BPF_F_FAST_STACK_CMP,
    BPF_F_REUSE_STACKID,
    BPF_F_SKIP_FIELD_MASK,
    BPF_F_STACK_BUILD_ID,
    BPF_F_USER_BUILD_ID,
    BPF_F_USER_STACK,
    BPF_STACK_BUILD_ID_IP,
)
from ...uapi.contexts import BPF_STACK_BUILD_ID
from ..code import CODE_BASE
from ..run import Run
from .table import get_map, helper, neg

#: sizeof(struct bpf_stack_build_id)
STACK_BUILD_ID_SIZE = BPF_STACK_BUILD_ID.size


def call_frames(run: Run) -> list[int]:
    """The program's call chain at the helper call being made, innermost first,
    as code addresses."""
    pcs = [run.helper_pc] + [run.call_pcs[d] for d in range(run.depth - 1, -1, -1)]
    return [CODE_BASE + 8 * pc for pc in pcs if pc >= 0]


def _entries(frames: list[int], build_id: bool) -> bytes:
    if build_id:
        return b"".join(struct.pack("<i20sQ", BPF_STACK_BUILD_ID_IP, b"", a) for a in frames)
    return b"".join(struct.pack("<Q", a) for a in frames)


@helper(H.get_stackid)
def get_stackid(run: Run, ctx, map_, flags, *_):
    """bpf_get_stackid: store the call chain in a STACK_TRACE map; its id is the
    chain's hash bucket (``-EEXIST`` when another chain holds it, unless
    ``BPF_F_REUSE_STACKID``), as in the kernel."""
    from ..maps.devices import StackTraceMap

    m = get_map(run, map_)
    if not isinstance(m, StackTraceMap):
        raise RuntimeFault(f"bpf_get_stackid: map {m.name} is a {m.type.name} map, "
                           "not STACK_TRACE")
    if flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP
                 | BPF_F_REUSE_STACKID):
        return neg(errno.EINVAL)
    build_id = bool(m.flags & BPF_F_STACK_BUILD_ID)
    entry = STACK_BUILD_ID_SIZE if build_id else 8
    frames = call_frames(run)[flags & BPF_F_SKIP_FIELD_MASK:][:m.value_size // entry]
    if not frames:
        return neg(errno.EFAULT)
    bucket = zlib.crc32(struct.pack(f"<{len(frames)}Q", *frames)) % m.max_entries
    rc = m.store_stack(bucket, _entries(frames, build_id), bool(flags & BPF_F_REUSE_STACKID))
    return neg(-rc) if rc else bucket


def _stack_into(run: Run, buf: int, size: int, flags: int) -> int:
    """bpf_get_stack / bpf_get_task_stack: the kernel's argument checks (-EINVAL
    with the buffer cleared), then the call chain: the bytes written (the rest of
    the buffer zeroed)."""
    size &= 0xFFFF_FFFF
    bad = (flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID)
           or (flags & BPF_F_USER_BUILD_ID and not flags & BPF_F_USER_STACK)
           or size % (STACK_BUILD_ID_SIZE if flags & BPF_F_USER_BUILD_ID else 8))
    if size:
        run.mem.zero(buf, size)
    if bad:
        return neg(errno.EINVAL)
    build_id = bool(flags & BPF_F_USER_BUILD_ID)
    entry = STACK_BUILD_ID_SIZE if build_id else 8
    frames = call_frames(run)[flags & BPF_F_SKIP_FIELD_MASK:][:size // entry]
    data = _entries(frames, build_id)
    if data:
        run.mem.write(buf, data)
    return len(data)


@helper(H.get_stack)
def get_stack(run: Run, ctx, buf, size, flags, *_):
    return _stack_into(run, buf, size, flags)


@helper(H.get_task_stack)
def get_task_stack(run: Run, task, buf, size, flags, *_):
    """As bpf_get_stack: the runtime's one task is the program's own."""
    return _stack_into(run, buf, size, flags)
