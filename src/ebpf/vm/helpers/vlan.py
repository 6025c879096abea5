"""VLAN tags: ``bpf_skb_vlan_push`` and ``bpf_skb_vlan_pop``, as the kernel's
skb_vlan_push/pop do them. A pushed tag goes out of band first (the skb's
accelerated tag: ``__sk_buff.vlan_present/vlan_tci/vlan_proto``); pushing another
moves the one there into the frame, after the MAC addresses. Popping drops the
out-of-band tag, then brings the frame's outermost tag out of band if it has one.
The packet's protocol follows, as ``skb->protocol`` does."""

from __future__ import annotations

import struct

from ...uapi import HelperId as H
from ..contexts import SKB
from ..run import Run
from .packets import _packet
from .skb_meta import _ctx
from .table import helper

ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8
VLAN_HLEN = 4
#: ETH_P_802_3_MIN: smaller type fields are lengths
ETH_P_802_3_MIN = 0x600


def _protocol(ctx: bytearray) -> int:
    return int.from_bytes(ctx[SKB["protocol"]:SKB["protocol"] + 2], "big")


def _set_protocol(ctx: bytearray, proto: int) -> None:
    ctx[SKB["protocol"]:SKB["protocol"] + 2] = proto.to_bytes(2, "big")


def _sync(ctx: bytearray, p) -> None:
    proto, tci = p.vlan if p.vlan is not None else (0, 0)
    struct.pack_into("<I", ctx, SKB["vlan_present"], int(p.vlan is not None))
    struct.pack_into("<I", ctx, SKB["vlan_tci"], tci)
    struct.pack_into("<I", ctx, SKB["vlan_proto"], int.from_bytes(proto.to_bytes(2, "big"),
                                                                    "little"))


def _insert(p, proto: int, tci: int) -> None:
    """Put a tag in the frame after its MAC addresses (__vlan_insert_tag)."""
    if p.data < VLAN_HLEN:
        grow = VLAN_HLEN - p.data + 64
        p.buf[0:0] = bytes(grow)
        for name in ("meta", "data", "end", "max_end", "mac", "net"):
            setattr(p, name, getattr(p, name) + grow)
    macs = bytes(p.buf[p.data:p.data + 12])
    p.data -= VLAN_HLEN
    p.buf[p.data:p.data + 12] = macs
    p.buf[p.data + 12:p.data + 16] = proto.to_bytes(2, "big") + tci.to_bytes(2, "big")
    p.meta = p.mac = p.data
    p._changed()


def _remove(p, ctx: bytearray) -> int:
    """Take the outermost tag out of the frame (__skb_vlan_pop); its TCI."""
    tci = int.from_bytes(p.buf[p.data + 14:p.data + 16], "big")
    inner = int.from_bytes(p.buf[p.data + 16:p.data + 18], "big")
    p.buf[p.data + VLAN_HLEN:p.data + VLAN_HLEN + 12] = bytes(p.buf[p.data:p.data + 12])
    p.data += VLAN_HLEN
    p.meta = p.mac = p.data
    if p.net < p.data + 14:
        p.net = p.data + 14
    if inner >= ETH_P_802_3_MIN:
        _set_protocol(ctx, inner)
    else:  # a length: 802.3 raw (0xffff) or 802.2 LLC, as vlan_set_encap_proto
        raw = p.buf[p.data + 14:p.data + 16] == b"\xff\xff"
        _set_protocol(ctx, 0x0001 if raw else 0x0004)
    p._changed()
    return tci


@helper(H.skb_vlan_push)
def skb_vlan_push(run: Run, skb, vlan_proto, vlan_tci, *_):
    p = _packet(run, "bpf_skb_vlan_push")
    ctx = _ctx(run)
    proto = int.from_bytes((vlan_proto & 0xFFFF).to_bytes(2, "little"), "big")  # __be16
    if proto not in (ETH_P_8021Q, ETH_P_8021AD):
        proto = ETH_P_8021Q
    if p.vlan is not None:
        old_proto, old_tci = p.vlan
        _insert(p, old_proto, old_tci)
        _set_protocol(ctx, old_proto)
    p.vlan = (proto, vlan_tci & 0xFFFF)
    _sync(ctx, p)
    return 0


@helper(H.skb_vlan_pop)
def skb_vlan_pop(run: Run, skb, *_):
    p = _packet(run, "bpf_skb_vlan_pop")
    ctx = _ctx(run)
    if p.vlan is not None:
        p.vlan = None
    elif _protocol(ctx) in (ETH_P_8021Q, ETH_P_8021AD):
        _remove(p, ctx)
    else:
        return 0
    # the next tag in the frame, if any, goes out of band
    proto = _protocol(ctx)
    if proto in (ETH_P_8021Q, ETH_P_8021AD):
        tci = _remove(p, ctx)
        p.vlan = (proto, tci)
    _sync(ctx, p)
    return 0
