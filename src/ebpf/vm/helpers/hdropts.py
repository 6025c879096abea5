"""TCP header options of a sock_ops program's own: ``bpf_reserve_hdr_opt`` (room in
the packet being built, from ``BPF_SOCK_OPS_HDR_OPT_LEN_CB``),
``bpf_store_hdr_opt`` (an option written into it, from
``BPF_SOCK_OPS_WRITE_HDR_OPT_CB``) and ``bpf_load_hdr_opt`` (an option found in the
packet's header), on the packet of a :class:`~ebpf.vm.sockops.SockOpsRequest`,
with the kernel's checks (net/core/filter.c):

* every one: ``-EOPNOTSUPP`` in a callback without the socket lock;
* reserve: another callback ``-EPERM``; flags, or under 2 bytes ``-EINVAL``; more
  than the space left ``-ENOSPC``;
* store: another callback ``-EPERM``; flags, under 2 bytes, a length byte other
  than the length, a NOP or EOL ``-EINVAL``; more than the space left
  ``-ENOSPC``; an option of that kind (and magic, for the experimental kinds 254
  and 253) in the header already ``-EEXIST``; a header whose options end (EOL)
  ``-ENOSPC``;
* load: flags other than ``BPF_LOAD_HDR_OPT_TCP_SYN``, under 2 bytes, a search
  length past the buffer, NOP/EOL, a magic of other than 2 or 4 bytes (or one for
  another kind) ``-EINVAL``; no packet, or the length callback, ``-EPERM``; not
  found ``-ENOMSG``; else the option's length, or ``-ENOSPC`` with as much as fits.

The runtime keeps no SYN of the connection: a load from it
(``BPF_LOAD_HDR_OPT_TCP_SYN``) finds none (``-ENOENT``).
"""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import (
    BPF_SOCK_OPS_HDR_OPT_LEN_CB,
    BPF_SOCK_OPS_WRITE_HDR_OPT_CB,
)
from ..run import Run
from ..sockops import SockOpsContext
from .table import helper, neg

TCP_HLEN = 20
TCPOPT_EOL, TCPOPT_NOP, TCPOPT_EXP = 0, 1, 254
BPF_LOAD_HDR_OPT_TCP_SYN = 1
M32 = 0xFFFF_FFFF


def _ops(run: Run, what: str) -> SockOpsContext:
    c = run.context
    if not isinstance(c, SockOpsContext):
        raise RuntimeFault(f"{what}: no packet stands behind this run's context (run a "
                           "sock_ops program with ctx=ebpf.vm.SockOpsRequest(sock, op, skb=...))")
    return c


def _experimental(kind: int) -> bool:
    return kind in (TCPOPT_EXP, 253)


def search(opts: bytes, kind: int, magic: bytes) -> tuple[int | None, bool]:
    """(offset of the option of ``kind`` and ``magic`` in ``opts`` or None, whether the
    options ended with EOL), walking them as the kernel's bpf_search_tcp_opt."""
    i = 0
    while i < len(opts):
        k = opts[i]
        if k == TCPOPT_EOL:
            return None, True
        if k == TCPOPT_NOP:
            i += 1
            continue
        if len(opts) - i < 2 or len(opts) - i < opts[i + 1] or opts[i + 1] < 2:
            break  # a broken header: stop as the TCP stack does
        size = opts[i + 1]
        if k == kind:
            if not magic:
                return i, False
            if len(magic) > size - 2:
                return None, False
            if opts[i + 2:i + 2 + len(magic)] == magic:
                return i, False
        i += size
    return None, False


@helper(H.reserve_hdr_opt)
def reserve_hdr_opt(run: Run, ctx, length, flags, *_):
    c = _ops(run, "bpf_reserve_hdr_opt")
    length &= M32
    if c.request.op > BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
        return neg(errno.EOPNOTSUPP)
    if c.request.op != BPF_SOCK_OPS_HDR_OPT_LEN_CB:
        return neg(errno.EPERM)
    if flags or length < 2:
        return neg(errno.EINVAL)
    if length > c.remaining_opt_len:
        return neg(errno.ENOSPC)
    c.remaining_opt_len -= length
    return 0


@helper(H.store_hdr_opt)
def store_hdr_opt(run: Run, ctx, from_, length, flags, *_):
    c = _ops(run, "bpf_store_hdr_opt")
    length &= M32
    if c.request.op > BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
        return neg(errno.EOPNOTSUPP)
    if c.request.op != BPF_SOCK_OPS_WRITE_HDR_OPT_CB or c.skb is None:
        return neg(errno.EPERM)
    if flags or length < 2:
        return neg(errno.EINVAL)
    if length > c.remaining_opt_len:
        return neg(errno.ENOSPC)
    new = run.mem.read(from_, length)
    kind, size = new[0], new[1]
    if size != length or kind in (TCPOPT_NOP, TCPOPT_EOL):
        return neg(errno.EINVAL)
    magic = b""
    if size > 2 and _experimental(kind):
        if size < 4:
            return neg(errno.EINVAL)
        magic = new[2:4]
    found, ended = search(bytes(c.skb[TCP_HLEN:c.skb_end]), kind, magic)
    if found is not None:
        return neg(errno.EEXIST)
    if ended:
        return neg(errno.ENOSPC)
    c.skb[c.skb_end:c.skb_end + length] = new
    c.skb_end += length
    c.remaining_opt_len -= length
    c.show_skb()
    return 0


@helper(H.load_hdr_opt)
def load_hdr_opt(run: Run, ctx, search_res, length, flags, *_):
    c = _ops(run, "bpf_load_hdr_opt")
    length &= M32
    if c.request.op > BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
        return neg(errno.EOPNOTSUPP)
    if length < 2 or flags & ~BPF_LOAD_HDR_OPT_TCP_SYN:
        return neg(errno.EINVAL)
    want = run.mem.read(search_res, length)
    kind, size = want[0], want[1]
    if size > length or kind in (TCPOPT_NOP, TCPOPT_EOL):
        return neg(errno.EINVAL)
    if _experimental(kind):
        if size not in (4, 6):
            return neg(errno.EINVAL)
        magic = want[2:size]
    else:
        if size:
            return neg(errno.EINVAL)
        magic = b""
    if flags & BPF_LOAD_HDR_OPT_TCP_SYN:
        return neg(errno.ENOENT)  # no SYN of this connection kept
    if c.skb is None or c.request.op == BPF_SOCK_OPS_HDR_OPT_LEN_CB:
        return neg(errno.EPERM)
    opts = bytes(c.skb[TCP_HLEN:c.skb_end])
    at = search(opts, kind, magic)[0]
    if at is None:
        return neg(errno.ENOMSG)
    option = opts[at:at + opts[at + 1]]
    ret = len(option)
    if len(option) > length:
        option, ret = option[:length], neg(errno.ENOSPC)
    run.mem.write(search_res, option)
    return ret
