"""What a sock_ops program asks of its socket: ``bpf_sock_ops_cb_flags_set``.

The runtime's sock_ops context is the ``struct bpf_sock_ops`` bytes the caller
gives; the socket behind it is that context. As the kernel's, the helper refuses a
context that is not a full socket (``is_fullsock`` 0: ``-EINVAL``), keeps the
callback flags it knows in ``bpf_sock_ops_cb_flags`` (where the program reads them
back) and returns the bits it does not know (0 when all were known).
"""

from __future__ import annotations

import errno
import struct

from ...uapi import HelperId as H
from ...uapi.consts import BPF_SOCK_OPS_ALL_CB_FLAGS
from ...uapi.contexts import BPF_SOCK_OPS
from ..run import Run
from .table import M64, helper, neg

#: offsets in struct bpf_sock_ops
IS_FULLSOCK_OFF = BPF_SOCK_OPS.offset("is_fullsock")
CB_FLAGS_OFF = BPF_SOCK_OPS.offset("bpf_sock_ops_cb_flags")
#: the callback flags the kernel knows (RTO, RETRANS, STATE, RTT, PARSE_ALL_HDR, ...)
ALL_CB_FLAGS = BPF_SOCK_OPS_ALL_CB_FLAGS


@helper(H.sock_ops_cb_flags_set)
def sock_ops_cb_flags_set(run: Run, bpf_sock, argval, *_):
    (fullsock,) = struct.unpack("<I", run.mem.read(bpf_sock + IS_FULLSOCK_OFF, 4))
    if not fullsock:
        return neg(errno.EINVAL)
    argval &= 0xFFFF_FFFF  # an int
    run.mem.write(bpf_sock + CB_FLAGS_OFF, struct.pack("<I", argval & ALL_CB_FLAGS))
    unknown = argval & ~ALL_CB_FLAGS & 0xFFFF_FFFF
    return (unknown - (1 << 32) if unknown & 0x8000_0000 else unknown) & M64
