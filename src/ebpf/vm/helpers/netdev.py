"""What a packet's device and tunnel say: ``bpf_check_mtu`` and tunnel metadata
(``bpf_skb_get_tunnel_key``/``_opt``).

The runtime has one device, the loopback a ``BPF_PROG_TEST_RUN`` uses (ifindex 1,
MTU 65536, a 14-byte link header); ``bpf_check_mtu`` measures against it (ifindex 0
or 1) and finds no other (``-ENODEV``).

A packet a program runs on in the runtime (a test run, a capture, bytes from
Python) arrived on no tunnel device, so it carries no tunnel metadata, as a
``BPF_PROG_TEST_RUN`` skb on the kernel carries none: the getters fail as the
kernel's do then, and clear the buffer they were given.
"""

from __future__ import annotations

import errno

from ...uapi import HelperId as H
from ...uapi import ProgramType
from ..contexts import LOOPBACK_IFINDEX
from ..run import Run
from .packets import _packet, s32
from .table import helper, neg

#: the runtime's one device (the loopback): its MTU and link-layer header length
LOOPBACK_MTU = 65536
LOOPBACK_HARD_HEADER_LEN = 14
BPF_MTU_CHK_SEGS = 1
BPF_MTU_CHK_RET_SUCCESS, BPF_MTU_CHK_RET_FRAG_NEEDED = 0, 1


@helper(H.check_mtu)
def check_mtu(run: Run, ctx, ifindex, mtu_len, len_diff, flags):
    """The XDP and skb variants, as the kernel has them: the device's MTU written
    back when the device is found, nothing written on an error."""
    p = _packet(run, "bpf_check_mtu")
    ifindex &= 0xFFFF_FFFF
    diff = s32(len_diff)
    want = int.from_bytes(run.mem.read(mtu_len, 4), "little")
    found = ifindex in (0, LOOPBACK_IFINDEX)
    if getattr(run.program, "type", None) == ProgramType.XDP:
        if flags:
            return neg(errno.EINVAL)
        if not found:
            return neg(errno.ENODEV)
        length = (want + LOOPBACK_HARD_HEADER_LEN if want else p.end - p.data) + diff
        ret = BPF_MTU_CHK_RET_FRAG_NEEDED if length > LOOPBACK_MTU + LOOPBACK_HARD_HEADER_LEN \
            else BPF_MTU_CHK_RET_SUCCESS
        run.mem.write(mtu_len, LOOPBACK_MTU.to_bytes(4, "little"))
        return ret
    if flags & ~BPF_MTU_CHK_SEGS or (flags & BPF_MTU_CHK_SEGS and (diff or want)):
        return neg(errno.EINVAL)
    if not found:
        return neg(errno.ENODEV)
    skb_len = int.from_bytes(run.mem.read(run.ctx, 4), "little")  # __sk_buff.len
    length = (want + LOOPBACK_HARD_HEADER_LEN if want else skb_len) + diff
    # test-run skbs are not GSO: too long is "fragmentation needed"
    ret = BPF_MTU_CHK_RET_SUCCESS if length <= LOOPBACK_MTU + LOOPBACK_HARD_HEADER_LEN \
        else BPF_MTU_CHK_RET_FRAG_NEEDED
    run.mem.write(mtu_len, LOOPBACK_MTU.to_bytes(4, "little"))
    return ret

#: the flags bpf_skb_get_tunnel_key accepts (BPF_F_TUNINFO_IPV6, BPF_F_TUNINFO_FLAGS)
_GET_KEY_FLAGS = (1 << 0) | (1 << 4)


@helper(H.skb_get_tunnel_key)
def skb_get_tunnel_key(run: Run, skb, to, size, flags, *_):
    # no tunnel info (or flags it does not know): -EINVAL, the key cleared
    del flags  # both outcomes are -EINVAL without tunnel metadata
    run.mem.zero(to, size & 0xFFFF_FFFF)
    return neg(errno.EINVAL)


@helper(H.skb_get_tunnel_opt)
def skb_get_tunnel_opt(run: Run, skb, to, size, *_):
    # no tunnel info, so no options: -ENOENT, the buffer cleared
    run.mem.zero(to, size & 0xFFFF_FFFF)
    return neg(errno.ENOENT)
