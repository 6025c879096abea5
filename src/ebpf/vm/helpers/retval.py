"""``bpf_get_retval`` / ``bpf_set_retval``: the value a cgroup hook's system call
returns to the process, as the kernel keeps it for the programs of one hook.

A run starts with 0 (the call succeeds); ``bpf_set_retval`` replaces it (any int:
the kernel does not check it) and returns 0; ``bpf_get_retval`` reads it. When
the program returns 0 (rejects) and the value is not an error (-4095..-1), the
call fails with ``-EPERM``; an error set with a program returning 1 still fails
the call. :func:`hook_result` gives that final value, which a vm run reports as
``VMRunResult.cgroup_retval``. A ``cgroup/getsockopt`` program's value is the
``retval`` field of its ``struct bpf_sockopt`` context (the kernel's own result
of the getsockopt): the helpers read and write that field there.
"""

from __future__ import annotations

import errno
import struct

from ...uapi import HelperId as H
from ...uapi import ProgramType
from ...uapi.contexts import BPF_SOCKOPT
from ...verifier.platform import GROUPS
from ..run import Run
from .table import M64, helper

_SOCKOPT_RETVAL = BPF_SOCKOPT.offset("retval")
#: the largest errno IS_ERR_VALUE counts
MAX_ERRNO = 4095
#: program types whose hook returns a value to the process (the helpers' allow-list)
CG_RETVAL_TYPES = frozenset(GROUPS["cgroup_retval"])


def _in_ctx(run: Run) -> bool:
    return (getattr(run.program, "type", None) == ProgramType.CGROUP_SOCKOPT
            and run.mem.find(run.ctx + _SOCKOPT_RETVAL, 4) is not None)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v & 0x8000_0000 else v


@helper(H.get_retval)
def get_retval(run: Run, *_):
    if _in_ctx(run):
        return struct.unpack("<i", run.mem.read(run.ctx + _SOCKOPT_RETVAL, 4))[0] & M64
    return run.cg_retval & M64


@helper(H.set_retval)
def set_retval(run: Run, retval, *_):
    if _in_ctx(run):
        run.mem.write(run.ctx + _SOCKOPT_RETVAL, struct.pack("<i", _s32(retval)))
    else:
        run.cg_retval = _s32(retval)
    return 0


def hook_result(run: Run, r0: int) -> int:
    """What the hook's system call returns after a program returned ``r0``."""
    v = run.cg_retval
    if not r0 & 0xFFFF_FFFF and not -MAX_ERRNO <= v < 0:
        v = -errno.EPERM
    return v
