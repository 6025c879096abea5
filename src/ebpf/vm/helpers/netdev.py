"""What a packet's device and tunnel say: ``bpf_check_mtu``, ``bpf_clone_redirect``
and tunnel metadata (``bpf_skb_get/set_tunnel_key``/``_opt``).

The runtime has one device, the loopback a ``BPF_PROG_TEST_RUN`` uses (ifindex 1,
MTU 65536, a 14-byte link header); ``bpf_check_mtu`` measures against it (ifindex 0
or 1) and finds no other (``-ENODEV``).

A packet a program runs on in the runtime (a test run, a capture, bytes from
Python) arrived on no tunnel device, so it carries no tunnel metadata, as a
``BPF_PROG_TEST_RUN`` skb on the kernel carries none: the getters fail as the
kernel's do then, and clear the buffer they were given. A program can attach
metadata for transmit (``bpf_skb_set_tunnel_key``/``_opt``, as an encapsulating
program does before redirecting to a tunnel device); the getters then read it back
as the kernel's do (the key seen from the receiving side: its remote address is the
metadata's source, the local one its destination), and it stays for the test run's
later repetitions.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

from ..._internal.ints import s32
from ...uapi import HelperId as H
from ...uapi import ProgramType
from ...uapi.consts import (
    BPF_F_DONT_FRAGMENT,
    BPF_F_NO_TUNNEL_KEY,
    BPF_F_SEQ_NUMBER,
    BPF_F_TUNINFO_FLAGS,
    BPF_F_TUNINFO_IPV6,
    BPF_F_ZERO_CSUM_TX,
    BPF_MTU_CHK_RET_FRAG_NEEDED,
    BPF_MTU_CHK_RET_SUCCESS,
    BPF_MTU_CHK_SEGS,
)
from ...uapi.contexts import BPF_TUNNEL_KEY
from ..contexts import LOOPBACK_IFINDEX
from ..run import Run
from .packets import _packet
from .table import BPF_F_INGRESS, helper, neg

#: the runtime's one device (the loopback): its MTU and link-layer header length
LOOPBACK_MTU = 65536
LOOPBACK_HARD_HEADER_LEN = 14


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

@helper(H.clone_redirect)
def clone_redirect(run: Run, skb, ifindex, flags, *_):
    """A copy of the packet out of (or, with BPF_F_INGRESS, into) a device; the
    program's own packet goes on. The runtime's one device is the loopback, up: the
    copy is delivered (0), as the kernel's on a test run's ``lo``; another ifindex
    is no device (-EINVAL); a packet without a link-layer header before its network
    header cannot be redirected (-ERANGE)."""
    p = _packet(run, "bpf_clone_redirect")
    if flags & ~BPF_F_INGRESS:
        return neg(errno.EINVAL)
    if ifindex & 0xFFFF_FFFF != LOOPBACK_IFINDEX:
        return neg(errno.EINVAL)
    if p.mac >= p.net or p.end == p.data:
        return neg(errno.ERANGE)
    return 0


# ---- tunnel metadata -----------------------------------------------------------------
# struct bpf_tunnel_key (generated layout: ebpf.uapi.contexts.BPF_TUNNEL_KEY)
_K = BPF_TUNNEL_KEY.fields
TUNNEL_KEY_SIZE = BPF_TUNNEL_KEY.size
#: the shorter layouts older programs pass (offsets of local_ipv4, tunnel_label,
#: tunnel_ext, remote_ipv6[1])
_SET_COMPAT = (_K["local_ipv4"].offset, _K["tunnel_label"].offset, _K["tunnel_ext"].offset,
               _K["remote_ipv6"].offset + 4)
_GET_COMPAT = _SET_COMPAT[:3]


def _u(key: bytes | bytearray, name: str) -> int:
    f = _K[name]
    return int.from_bytes(key[f.offset:f.offset + f.size], "little")


def _put(key: bytearray, name: str, value: int) -> None:
    f = _K[name]
    key[f.offset:f.offset + f.size] = (value & ((1 << 8 * f.size) - 1)).to_bytes(f.size, "little")


def _span(name: str) -> slice:
    f = _K[name]
    return slice(f.offset, f.offset + f.size)
_SET_KEY_FLAGS = (BPF_F_TUNINFO_IPV6 | BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT
                  | BPF_F_SEQ_NUMBER | BPF_F_NO_TUNNEL_KEY)
_GET_KEY_FLAGS = BPF_F_TUNINFO_IPV6 | BPF_F_TUNINFO_FLAGS
#: IP_TUNNEL_*_BIT numbers of the key's flags
TUN_CSUM, TUN_KEY, TUN_SEQ, TUN_DONT_FRAGMENT, TUN_NOCACHE = 0, 2, 3, 8, 13
#: the option-present bits (GENEVE, VXLAN, ERSPAN, GTP, PFCP)
TUN_OPTIONS = (1 << 11) | (1 << 12) | (1 << 14) | (1 << 15) | (1 << 16)
#: IP_TUNNEL_OPTS_MAX
TUNNEL_OPTS_MAX = 255
IPV6_FLOWLABEL_MASK = 0x000F_FFFF


@dataclass
class TunnelInfo:
    """The ``ip_tunnel_info`` a program attached to its packet (for transmit)."""

    tun_id: int = 0
    tos: int = 0
    ttl: int = 0
    flags: int = 0
    ipv6: bool = False
    src: bytes = bytes(16)
    dst: bytes = bytes(16)
    label: int = 0
    opts: bytes = b""


def _tunnel(run: Run, what: str) -> TunnelInfo | None:
    """The tunnel info the program set on its packet (bpf_skb_set_tunnel_key), or None."""
    info = _packet(run, what).tunnel
    return info if isinstance(info, TunnelInfo) else None


@helper(H.skb_set_tunnel_key)
def skb_set_tunnel_key(run: Run, skb, frm, size, flags, *_):
    p = _packet(run, "bpf_skb_set_tunnel_key")
    size &= 0xFFFF_FFFF
    if flags & ~_SET_KEY_FLAGS:
        return neg(errno.EINVAL)
    if size != TUNNEL_KEY_SIZE and size not in _SET_COMPAT:
        return neg(errno.EINVAL)
    key = run.mem.read(frm, size).ljust(TUNNEL_KEY_SIZE, b"\0")
    tun_id = _u(key, "tunnel_id")
    tos, ttl = _u(key, "tunnel_tos"), _u(key, "tunnel_ttl")
    ext, label = _u(key, "tunnel_ext"), _u(key, "tunnel_label")
    v6 = bool(flags & BPF_F_TUNINFO_IPV6)
    if (not v6 and label) or ext:
        return neg(errno.EINVAL)
    bits = (1 << TUN_NOCACHE) | (0 if flags & BPF_F_ZERO_CSUM_TX else 1 << TUN_CSUM)
    bits |= (1 << TUN_DONT_FRAGMENT if flags & BPF_F_DONT_FRAGMENT else 0)
    bits |= (1 << TUN_SEQ if flags & BPF_F_SEQ_NUMBER else 0)
    bits |= (0 if flags & BPF_F_NO_TUNNEL_KEY else 1 << TUN_KEY)
    if v6:  # addresses as the program's byte arrays
        dst, src = key[_span("remote_ipv6")], key[_span("local_ipv6")]
        lab = label & IPV6_FLOWLABEL_MASK
    else:   # u32s in host order, kept in network order
        dst = struct.pack(">I", _u(key, "remote_ipv4")).ljust(16, b"\0")
        src = struct.pack(">I", _u(key, "local_ipv4")).ljust(16, b"\0")
        lab = 0
    p.tunnel = TunnelInfo(tun_id, tos, ttl, bits, v6, src, dst, lab)
    return 0


@helper(H.skb_set_tunnel_opt)
def skb_set_tunnel_opt(run: Run, skb, frm, size, *_):
    info = _tunnel(run, "bpf_skb_set_tunnel_opt")
    size &= 0xFFFF_FFFF
    if info is None or size & 3:
        return neg(errno.EINVAL)
    if size > TUNNEL_OPTS_MAX:
        return neg(errno.ENOMEM)
    info.opts = run.mem.read(frm, size)
    info.flags = info.flags | TUN_OPTIONS if size else info.flags & ~TUN_OPTIONS
    return 0


def _be16_flags(bits: int) -> int:
    """ip_tunnel_flags_to_be16: the low 16 flag bits, as a __be16 read on little endian."""
    return int.from_bytes((bits & 0xFFFF).to_bytes(2, "big"), "little")


@helper(H.skb_get_tunnel_key)
def skb_get_tunnel_key(run: Run, skb, to, size, flags, *_):
    info = _tunnel(run, "bpf_skb_get_tunnel_key")
    size &= 0xFFFF_FFFF
    err = 0
    if info is None or flags & ~_GET_KEY_FLAGS:
        err = errno.EINVAL
    elif info.ipv6 != bool(flags & BPF_F_TUNINFO_IPV6):
        err = errno.EPROTO
    elif size != TUNNEL_KEY_SIZE and (size not in (*_GET_COMPAT, 8) or size == 8 and info.ipv6):
        err = errno.EINVAL
    if err:
        run.mem.zero(to, size)
        return neg(err)
    assert info is not None
    key = bytearray(TUNNEL_KEY_SIZE)
    _put(key, "tunnel_id", info.tun_id)
    _put(key, "tunnel_tos", info.tos)
    _put(key, "tunnel_ttl", info.ttl)
    if flags & BPF_F_TUNINFO_FLAGS:
        _put(key, "tunnel_flags", _be16_flags(info.flags))
    # received-side view: the remote end is the source, the local one the destination
    if info.ipv6:
        key[_span("remote_ipv6")], key[_span("local_ipv6")] = info.src, info.dst
        _put(key, "tunnel_label", info.label)
    else:
        _put(key, "remote_ipv4", int.from_bytes(info.src[:4], "big"))
        _put(key, "local_ipv4", int.from_bytes(info.dst[:4], "big"))
    run.mem.write(to, bytes(key[:size]))
    return 0


@helper(H.skb_get_tunnel_opt)
def skb_get_tunnel_opt(run: Run, skb, to, size, *_):
    info = _tunnel(run, "bpf_skb_get_tunnel_opt")
    size &= 0xFFFF_FFFF
    if info is None or not info.flags & TUN_OPTIONS:
        err = errno.ENOENT
    elif size < len(info.opts):
        err = errno.ENOMEM
    else:
        run.mem.write(to, info.opts.ljust(size, b"\0"))
        return len(info.opts)
    run.mem.zero(to, size)
    return neg(err)
