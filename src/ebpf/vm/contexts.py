"""Program contexts and BPF_PROG_TEST_RUN semantics, per program type.

A context is a region of simulated memory at :data:`~ebpf.vm.memory.CTX_BASE`.
Packet programs get a :class:`Packet` at :data:`~ebpf.vm.memory.PACKET_BASE`
(below 4 GiB), so the 32-bit pointer fields of ``xdp_md`` and ``__sk_buff``
(``data``, ``data_end``, ``data_meta``) hold real addresses: a program's
``ctx->data`` load yields a pointer it can dereference, as after the kernel's
context rewriting.

Mirrored kernel facts (checked against BPF_PROG_TEST_RUN in tests/vm):

* XDP: the frame is one page with 256 bytes of headroom (XDP_PACKET_HEADROOM)
  and room for ``skb_shared_info`` at the end; ``bpf_xdp_adjust_head`` may move
  ``data`` down to just past a ``struct xdp_frame`` (40 bytes) and up to
  ``data_end - 14``; data out starts at ``data_meta``; an input ``xdp_md``
  gives metadata length in ``data``. Data past the linear frame (past
  ``xdp_md.data_end`` when given) goes in page-sized fragments, at most 17: a
  multi-buffer frame, whatever the program's ``xdp.frags`` flag, as the kernel's.
* tc (SCHED_CLS/SCHED_ACT): ``skb->data`` is the Ethernet header, ``len`` the
  frame length, ``protocol`` the frame's ethertype (network order).
* socket filters: the program sees the packet without its 14-byte Ethernet
  header (``len`` = frame length - 14); data out is the frame with the Ethernet
  header zeroed, as the kernel pushes back an empty one.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from typing import Any

from ..errors import SystemCallError
from ..uapi import ProgramType as PT
from ..uapi.consts import XDP_PACKET_HEADROOM
from ..uapi.contexts import BPF_FLOW_KEYS, PT_REGS, SK_BUFF, SKB_SHARED_INFO, XDP_FRAME, XDP_MD
from .memory import CTX_BASE, PACKET_BASE, Memory, Region

ETH_HLEN = 14
PAGE_SIZE = 4096
#: SMP_CACHE_BYTES on x86-64 (SKB_DATA_ALIGN's alignment)
SMP_CACHE_BYTES = 64
#: SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) (the size from the kernel's BTF)
SKB_SHINFO_SIZE = -(-SKB_SHARED_INFO.size // SMP_CACHE_BYTES) * SMP_CACHE_BYTES
#: sizeof(struct xdp_frame) (kernel BTF)
XDP_FRAME_SIZE = XDP_FRAME.size
#: NET_SKB_PAD on x86-64 (the headroom of a test_run skb)
NET_SKB_PAD = 64
#: SKB_MAX_ALLOC: the longest skb bpf_skb_change_tail/head may make (x86-64)
SKB_MAX_ALLOC = (PAGE_SIZE << 2) - SKB_SHINFO_SIZE
SKF_NET_OFF = -0x100000
SKF_LL_OFF = -0x200000
LOOPBACK_IFINDEX = 1
#: the most fragments a multi-buffer frame has (MAX_SKB_FRAGS)
MAX_SKB_FRAGS = 17

SK_BUFF_SIZE = SK_BUFF.size
XDP_MD_SIZE = XDP_MD.size
PT_REGS_SIZE = PT_REGS.size

#: __sk_buff field offsets (generated from the kernel's BTF: ebpf.uapi.contexts)
SKB = {name: f.offset for name, f in SK_BUFF.fields.items()}


def _spans(*names: str) -> list[tuple[int, int]]:
    """(offset, size) of the named __sk_buff fields."""
    return [(SK_BUFF.fields[n].offset, SK_BUFF.fields[n].size) for n in names]


#: (offset, size) a test_run's input __sk_buff may set; everything else must be zero
SKB_CTX_IN = _spans("mark", "priority", "ingress_ifindex", "ifindex", "cb", "tstamp",
                    "wire_len", "gso_segs", "gso_size", "hwtstamp")
#: fields a tc program may write
SKB_TC_WRITABLE = _spans("mark", "queue_mapping", "priority", "tc_index", "cb", "tc_classid",
                         "tstamp")
#: fields a socket filter may write
SKB_SOCK_WRITABLE = _spans("cb")


def _get(layout_fields: dict, buf: bytes | bytearray, name: str) -> int:
    f = layout_fields[name]
    return int.from_bytes(buf[f.offset:f.offset + f.size], "little")


def _put(layout_fields: dict, buf: bytearray, name: str, value: int) -> None:
    f = layout_fields[name]
    buf[f.offset:f.offset + f.size] = (value & ((1 << 8 * f.size) - 1)).to_bytes(f.size, "little")

PACKET_SKB_TYPES = {PT.SOCKET_FILTER, PT.SCHED_CLS, PT.SCHED_ACT, PT.CGROUP_SKB, PT.LWT_IN,
                    PT.LWT_OUT, PT.LWT_XMIT, PT.SK_SKB}
L2_TYPES = {PT.SCHED_CLS, PT.SCHED_ACT}


def _einval(msg: str) -> SystemCallError:
    return SystemCallError(f"test_run: {msg}", errno.EINVAL)


#: the most XDP metadata a frame carries: skb_shared_info.meta_len is a u8 (Linux
#: 6.6+; 32 before); lengths must also be multiples of 4
XDP_META_MAX = 255


def xdp_metalen_invalid(metalen: int) -> bool:
    return bool(metalen & 3) or metalen > XDP_META_MAX


class Packet:
    """A packet buffer with head/tail room; offsets are into ``buf``.

    ``meta <= data <= end`` delimit metadata and packet data; the region the
    program may touch is ``[meta, end)``, at ``PACKET_BASE + offset``.
    """

    #: whether an sk_buff stands behind the packet (not in a flow dissector's
    #: test run, where bpf_skb_load_bytes fails with -EFAULT as in the kernel)
    has_skb = True

    def __init__(self, mem: Memory, frame: bytes, headroom: int, size: int, *,
                 min_head: int = 0, max_end: int | None = None, meta_len: int = 0,
                 mac_off: int = 0, net_off: int = ETH_HLEN):
        if headroom + len(frame) > size:
            raise _einval(f"packet of {len(frame)} bytes does not fit")
        self.buf = bytearray(size)
        self.buf[headroom:headroom + len(frame)] = frame
        self.meta = headroom
        self.data = headroom + meta_len
        self.end = headroom + len(frame)
        self.min_head = min_head
        self.max_end = size if max_end is None else max_end
        #: offsets from the frame start (``meta``... the mac header) of L2/L3 headers
        self.mac = headroom + meta_len + mac_off
        self.net = headroom + meta_len + net_off
        self.region = mem.add_local(Region(PACKET_BASE + self.meta, self.buf, "packet",
                                           size=self.end - self.meta, off=self.meta))
        self.on_change: list = []
        #: an XDP multi-buffer frame's fragments (one page at most each), after ``end``
        self.frags: list[bytearray] = []
        #: tunnel metadata a program attached (bpf_skb_set_tunnel_key): it stays on
        #: the skb for the test run's later repetitions, as the kernel's dst does
        self.tunnel: object | None = None
        #: the skb's checksum state: ip_summed (CHECKSUM_NONE 0, UNNECESSARY 1) and
        #: csum_level, which bpf_csum_level reads and moves
        self.ip_summed = 0
        self.csum_level = 0
        #: the skb's out-of-band VLAN tag (vlan_proto, vlan_tci), None when untagged
        self.vlan: tuple[int, int] | None = None

    def addr(self, off: int) -> int:
        return PACKET_BASE + off

    def _changed(self) -> None:
        r = self.region
        r.base = PACKET_BASE + self.meta
        r.off = self.meta
        r.size = self.end - self.meta
        r.end = PACKET_BASE + self.end
        r.delta = PACKET_BASE
        for fn in self.on_change:
            fn(self)

    def data_bytes(self) -> bytes:
        return bytes(self.buf[self.data:self.end])

    def read_at(self, offset: int, n: int) -> bytes | None:
        """``n`` bytes at ``offset`` from data, or None when out of bounds."""
        start = self.data + offset
        if offset < 0 or n < 0 or start + n > self.end:
            return None
        return bytes(self.buf[start:start + n])

    def write_at(self, offset: int, chunk: bytes) -> bool:
        start = self.data + offset
        if offset < 0 or start + len(chunk) > self.end:
            return False
        self.buf[start:start + len(chunk)] = chunk
        return True

    def read_abs(self, offset: int, n: int) -> bytes | None:
        """LD_ABS/LD_IND addressing: from data, or SKF_NET_OFF / SKF_LL_OFF bases."""
        if offset >= 0:
            start = self.data + offset
        elif offset >= SKF_NET_OFF:
            start = self.net + offset - SKF_NET_OFF
        elif offset >= SKF_LL_OFF:
            start = self.mac + offset - SKF_LL_OFF
        else:
            return None
        if start < min(self.meta, self.mac) or start + n > self.end:
            return None
        return bytes(self.buf[start:start + n])

    # ---- skb length changes (tc) -------------------------------------------------
    def change_tail(self, new_len: int) -> int:
        """bpf_skb_change_tail: trim, or grow with zeros, to ``new_len`` bytes
        (at least up to the network header, at most SKB_MAX_ALLOC)."""
        min_len = max(self.net - self.data, 0)
        if new_len > SKB_MAX_ALLOC or new_len < min_len:
            return -errno.EINVAL
        end = self.data + new_len
        if end > len(self.buf):
            self.buf.extend(bytes(end - len(self.buf)))
        if end > self.end:
            self.buf[self.end:end] = bytes(end - self.end)
        self.end = self.max_end = end
        self._changed()
        return 0

    def change_head(self, head_room: int) -> int:
        """bpf_skb_change_head: push ``head_room`` zero bytes in front of the
        data (a new mac header); the buffer grows when the headroom is short."""
        if self.end - self.data + head_room > SKB_MAX_ALLOC:
            return -errno.EINVAL
        if head_room > self.data:
            grow = head_room - self.data + NET_SKB_PAD
            self.buf[0:0] = bytes(grow)
            self.meta += grow
            self.data += grow
            self.end += grow
            self.max_end += grow
            self.mac += grow
            self.net += grow
        self.data -= head_room
        self.buf[self.data:self.data + head_room] = bytes(head_room)
        self.meta = self.data
        self.mac = self.data
        self._changed()
        return 0

    # ---- XDP adjustments (return 0 or -errno, like the kernel) ---------------------
    def adjust_head(self, delta: int) -> int:
        data = self.data + delta
        metalen = self.data - self.meta
        if data < self.min_head + metalen or data > self.end - ETH_HLEN:
            return -errno.EINVAL
        if metalen:
            self.buf[self.meta + delta:self.meta + delta + metalen] = \
                self.buf[self.meta:self.meta + metalen]
        self.meta += delta
        self.data = data
        self._changed()
        return 0

    def adjust_tail(self, delta: int) -> int:
        end = self.end + delta
        if end > self.max_end or end < self.data + ETH_HLEN:
            return -errno.EINVAL
        if delta > 0:
            self.buf[self.end:end] = bytes(delta)
        self.end = end
        self._changed()
        return 0

    def adjust_meta(self, delta: int) -> int:
        meta = self.meta + delta
        metalen = self.data - meta
        if meta < self.min_head or meta > self.data:
            return -errno.EINVAL
        if xdp_metalen_invalid(metalen):
            return -errno.EACCES
        self.meta = meta
        self._changed()
        return 0


class Context:
    """The context of one run: ``addr`` goes in r1; :meth:`finish` gives
    (data out, ctx out) after the run."""

    packet: Packet | None = None
    addr: int = 0
    #: a ctx shorter than the context struct: the kernel runs the program, then
    #: fails with ENOSPC as the context does not fit back (ctx out = ctx in size)
    short_ctx: bool = False

    def finish(self) -> tuple[bytes, bytes | None]:
        return b"", None

    def begin(self) -> None:
        """Called before each run (test_run repeats share one context)."""

    def end(self) -> None:
        """Called after each run."""

    def returned(self, r0: int) -> None:
        """Called after each run with what the program returned."""


def _ctx_region(mem: Memory, buf: bytearray, name: str, writable: bool = True,
                fields: list[tuple[int, int]] | None = None) -> Region:
    on_write = None
    if fields is not None:
        def on_write(offset: int, size: int, _f=fields, _n=name) -> None:
            for start, length in _f:
                if start <= offset and offset + size <= start + length:
                    return
            from ..errors import RuntimeFault

            raise RuntimeFault(f"write of {size} bytes at offset {offset} of {_n}: "
                               "the field is read-only")
    return mem.add_local(Region(CTX_BASE, buf, name, writable=writable, on_write=on_write))


class XdpContext(Context):
    """``struct xdp_md`` over a one-page frame."""

    packet: Packet  # always made by __init__

    def __init__(self, mem: Memory, data: bytes, ctx_in: bytes | None):
        meta_len = 0
        ingress = rxq = 0
        if ctx_in is not None:
            md = ctx_in.ljust(XDP_MD_SIZE, b"\0")
            if any(md[XDP_MD_SIZE:]):
                raise _einval("xdp_md has non-zero bytes past its end")
            md_f = XDP_MD.fields
            d, d_end, d_meta = _get(md_f, md, "data"), _get(md_f, md, "data_end"), \
                _get(md_f, md, "data_meta")
            ingress, rxq = _get(md_f, md, "ingress_ifindex"), _get(md_f, md, "rx_queue_index")
            egress = _get(md_f, md, "egress_ifindex")
            # the metadata is taken from the headroom, which must keep an xdp_frame
            meta_max = min(XDP_META_MAX, XDP_PACKET_HEADROOM - XDP_FRAME_SIZE)
            if d_meta or d_end > len(data) or d > d_end or xdp_metalen_invalid(d) or \
                    d > meta_max or egress:
                raise _einval("xdp_md: data_meta and egress_ifindex must be 0, data_end at most "
                              "the data size, data the metadata length (multiple of 4, "
                              f"<= {meta_max})")
            if rxq:
                raise _einval(f"xdp_md.rx_queue_index {rxq}: the device has one rx queue")
            meta_len = d
            linear = d_end
        else:
            linear = len(data)
        # what does not fit the linear frame (or lies past xdp_md.data_end) goes in
        # page-sized fragments, as the kernel builds a multi-buffer frame
        linear = min(linear, PAGE_SIZE - (XDP_PACKET_HEADROOM - meta_len) - SKB_SHINFO_SIZE)
        if linear < ETH_HLEN:
            raise _einval(f"XDP data must be at least {ETH_HLEN} bytes in the linear frame "
                          f"(got {linear})")
        frags = [bytearray(data[i:i + PAGE_SIZE]) for i in range(linear, len(data), PAGE_SIZE)]
        if len(frags) > MAX_SKB_FRAGS:
            raise SystemCallError(f"test run: {len(data)} bytes need {len(frags)} fragments, "
                                  f"more than MAX_SKB_FRAGS ({MAX_SKB_FRAGS})", errno.ENOMEM)
        data = data[:linear]
        self.ingress, self.rxq = ingress, rxq
        self.has_ctx = ctx_in is not None
        self.short_ctx = ctx_in is not None and len(ctx_in) < XDP_MD_SIZE
        headroom = XDP_PACKET_HEADROOM - meta_len
        self.packet = Packet(mem, data, headroom, PAGE_SIZE, min_head=XDP_FRAME_SIZE,
                             max_end=PAGE_SIZE - SKB_SHINFO_SIZE, meta_len=meta_len,
                             mac_off=0, net_off=ETH_HLEN)
        self.packet.frags = frags
        self.buf = bytearray(XDP_MD_SIZE)
        self.region = _ctx_region(mem, self.buf, "xdp_md", writable=False)
        self.addr = self.region.base
        self.packet.on_change.append(self._sync)
        self._sync(self.packet)

    def _sync(self, p: Packet) -> None:
        # the test run's packet arrives on the loopback device unless told otherwise
        self._fill(self.buf, p.addr(p.data), p.addr(p.end), p.addr(p.meta),
                   self.ingress or LOOPBACK_IFINDEX)

    def _fill(self, buf: bytearray, data: int, data_end: int, data_meta: int,
              ingress: int) -> None:
        f = XDP_MD.fields
        _put(f, buf, "data", data)
        _put(f, buf, "data_end", data_end)
        _put(f, buf, "data_meta", data_meta)
        _put(f, buf, "ingress_ifindex", ingress)
        _put(f, buf, "rx_queue_index", self.rxq)
        _put(f, buf, "egress_ifindex", 0)

    def finish(self) -> tuple[bytes, bytes | None]:
        p = self.packet
        assert p is not None
        out = bytes(p.buf[p.meta:p.end]) + b"".join(p.frags)
        ctx = None
        if self.has_ctx:
            out_ctx = bytearray(XDP_MD_SIZE)
            self._fill(out_ctx, p.data - p.meta, p.end - p.meta, 0, self.ingress)
            ctx = bytes(out_ctx)
        return out, ctx


def _pkt_type(frame: bytes) -> int:
    dst = frame[:6]
    if dst[0] & 1:
        # lo's broadcast address is all zeros, so even ff:ff:ff:ff:ff:ff is multicast
        return 2  # PACKET_MULTICAST
    return 0 if dst == bytes(6) else 3  # PACKET_HOST (lo's address is zero) / OTHERHOST


def _eth_protocol(frame: bytes) -> int:
    proto = int.from_bytes(frame[12:14], "big")
    if proto >= 0x600:
        return proto
    if frame[14:16] == b"\xff\xff":
        return 0x0001  # ETH_P_802_3
    return 0x0004  # ETH_P_802_2


class SkbContext(Context):
    """``struct __sk_buff`` over an skb built from an Ethernet frame."""

    packet: Packet  # always made by __init__

    def __init__(self, mem: Memory, prog_type: PT, data: bytes, ctx_in: bytes | None):
        if len(data) < ETH_HLEN:
            raise _einval(f"skb data must be at least {ETH_HLEN} bytes (got {len(data)})")
        max_data = PAGE_SIZE - NET_SKB_PAD - SKB_SHINFO_SIZE
        if len(data) > max_data:
            raise _einval(f"skb data must be at most {max_data} bytes (got {len(data)})")
        ethertype = int.from_bytes(data[12:14], "big")
        need = {0x0800: 20, 0x86DD: 40}.get(ethertype, 0)
        if len(data) < ETH_HLEN + need:  # the kernel pulls the whole IP header
            raise _einval(f"skb data holds an {'IPv4' if need == 20 else 'IPv6'} frame "
                          f"too short for its {need}-byte header ({len(data)} bytes)")
        self.l2 = prog_type in L2_TYPES
        self.has_ctx = ctx_in is not None
        self.short_ctx = ctx_in is not None and len(ctx_in) < SK_BUFF_SIZE
        ctx = bytearray(SK_BUFF_SIZE)
        if ctx_in is not None:
            if len(ctx_in) > SK_BUFF_SIZE and any(ctx_in[SK_BUFF_SIZE:]):
                raise _einval("__sk_buff has non-zero bytes past its end")
            given = bytearray(ctx_in[:SK_BUFF_SIZE].ljust(SK_BUFF_SIZE, b"\0"))
            check = bytearray(given)
            for off, size in SKB_CTX_IN:
                check[off:off + size] = bytes(size)
            if any(check):
                raise _einval("__sk_buff may only set mark, priority, ingress_ifindex, ifindex, "
                              "cb, tstamp, wire_len, gso_segs, gso_size, hwtstamp")
            for off, size in SKB_CTX_IN:
                ctx[off:off + size] = given[off:off + size]
            ifindex = _get(SK_BUFF.fields, given, "ifindex")
            if ifindex > LOOPBACK_IFINDEX:
                raise SystemCallError(f"test_run: __sk_buff.ifindex {ifindex}: the vm has only "
                                      "the loopback device", errno.ENODEV)
        size = NET_SKB_PAD + len(data) + SKB_SHINFO_SIZE
        self.packet = Packet(mem, data, NET_SKB_PAD, size, min_head=0,
                             max_end=NET_SKB_PAD + len(data),
                             mac_off=0, net_off=ETH_HLEN)
        p = self.packet
        if not self.l2:  # the program sees the packet from its network header
            p.data += ETH_HLEN
            p.meta = p.data
            p._changed()
            p.mac = p.data - ETH_HLEN
            p.net = p.data
        skb_len = p.end - p.data
        struct.pack_into("<I", ctx, SKB["len"], skb_len)
        struct.pack_into("<I", ctx, SKB["pkt_type"], _pkt_type(data))
        ctx[SKB["protocol"]:SKB["protocol"] + 2] = _eth_protocol(data).to_bytes(2, "big")
        struct.pack_into("<I", ctx, SKB["ifindex"], LOOPBACK_IFINDEX)
        if self.has_ctx:
            if not struct.unpack_from("<I", ctx, SKB["wire_len"])[0]:
                struct.pack_into("<I", ctx, SKB["wire_len"], skb_len)
            elif struct.unpack_from("<I", ctx, SKB["wire_len"])[0] < skb_len:
                raise _einval("__sk_buff.wire_len is smaller than the packet")
        self.buf = ctx
        fields = SKB_TC_WRITABLE if self.l2 else SKB_SOCK_WRITABLE
        self.region = _ctx_region(mem, ctx, "__sk_buff", fields=fields)
        self.addr = self.region.base
        p.on_change.append(self._sync)
        self._sync(p)

    def _sync(self, p: Packet) -> None:
        struct.pack_into("<I", self.buf, SKB["data"], p.addr(p.data))
        struct.pack_into("<I", self.buf, SKB["data_end"], p.addr(p.end))
        struct.pack_into("<I", self.buf, SKB["data_meta"], p.addr(p.data))
        struct.pack_into("<I", self.buf, SKB["len"], p.end - p.data)

    def finish(self) -> tuple[bytes, bytes | None]:
        p = self.packet
        if self.l2:
            out = bytes(p.buf[p.data:p.end])
        else:
            out = bytes(ETH_HLEN) + bytes(p.buf[p.data:p.end])
        ctx = None
        if self.has_ctx:
            c = bytearray(SK_BUFF_SIZE)
            for off, size in SKB_CTX_IN:
                c[off:off + size] = self.buf[off:off + size]
            ctx = bytes(c)
        return out, ctx


class RawContext(Context):
    """A context that is plain bytes: tracepoint records, pt_regs, raw
    tracepoint arguments (u64 array), syscall program arguments."""

    def __init__(self, mem: Memory, ctx_in: bytes | None, name: str, *, writable: bool,
                 min_size: int = 0):
        self.buf = bytearray((ctx_in or b"").ljust(min_size, b"\0"))
        self.has_ctx = ctx_in is not None
        self.region = _ctx_region(mem, self.buf if self.buf else bytearray(8), name,
                                  writable=writable)
        if not self.buf:
            self.region.size = 0
            self.region.end = self.region.base
        self.addr = self.region.base

    def finish(self) -> tuple[bytes, bytes | None]:
        return b"", bytes(self.buf) if self.has_ctx else None


#: sizeof(struct bpf_flow_keys); offset of its ``flags``
FLOW_KEYS_SIZE = BPF_FLOW_KEYS.size
FLOW_KEYS_FLAGS = BPF_FLOW_KEYS.offset("flags")
#: where a flow dissector's ``struct bpf_flow_keys`` lives (beside its context)
FLOW_KEYS_ADDR = CTX_BASE + 0x1000


class FlowDissectorContext(Context):
    """A flow dissector's ``__sk_buff``: only ``data``/``data_end`` (the frame,
    from its Ethernet header, read-only) and ``flow_keys`` mean something, as
    in the kernel. Each run starts with the keys cleared but for ``n_proto``
    (the frame's ethertype), ``nhoff = thoff = 14`` and ``flags`` (from an
    input ``bpf_flow_keys``); afterwards ``nhoff``/``thoff`` are clamped into the
    frame. Data out is the ``bpf_flow_keys``; ctx out is the ctx in."""

    def __init__(self, mem: Memory, data: bytes, ctx_in: bytes | None):
        if len(data) < ETH_HLEN:
            raise _einval(f"flow dissector data must be at least {ETH_HLEN} bytes "
                          f"(got {len(data)})")
        self.flags = 0
        self.ctx_in = ctx_in
        if ctx_in is not None:
            keys = ctx_in.ljust(FLOW_KEYS_SIZE, b"\0")
            if any(keys[:FLOW_KEYS_FLAGS]) or any(keys[FLOW_KEYS_FLAGS + 4:]):
                raise _einval("bpf_flow_keys may only set flags")
            self.flags = int.from_bytes(keys[FLOW_KEYS_FLAGS:FLOW_KEYS_FLAGS + 4], "little")
            self.short_ctx = len(ctx_in) < FLOW_KEYS_SIZE
        self.proto = data[12:14]
        self.hlen = len(data)
        self.packet = Packet(mem, data, 0, len(data), max_end=len(data))
        self.packet.region.writable = False
        self.packet.has_skb = False  # the kernel's test run dissects a bare buffer
        self.keys = bytearray(FLOW_KEYS_SIZE)
        mem.add_local(Region(FLOW_KEYS_ADDR, self.keys, "bpf_flow_keys"))
        ctx = bytearray(SK_BUFF_SIZE)
        struct.pack_into("<I", ctx, SKB["data"], self.packet.addr(0))
        struct.pack_into("<I", ctx, SKB["data_end"], self.packet.addr(len(data)))
        struct.pack_into("<Q", ctx, SKB["flow_keys"], FLOW_KEYS_ADDR)
        self.region = _ctx_region(mem, ctx, "__sk_buff (flow dissector)", writable=False)
        self.addr = self.region.base

    def begin(self) -> None:
        k = self.keys
        k[:] = bytes(FLOW_KEYS_SIZE)
        struct.pack_into("<HH", k, 0, ETH_HLEN, ETH_HLEN)
        n_proto = BPF_FLOW_KEYS.offset("n_proto")
        k[n_proto:n_proto + 2] = self.proto
        struct.pack_into("<I", k, FLOW_KEYS_FLAGS, self.flags)

    def end(self) -> None:
        nhoff, thoff = struct.unpack_from("<HH", self.keys, 0)
        nhoff = min(max(nhoff, ETH_HLEN), self.hlen)
        thoff = min(max(thoff, nhoff), self.hlen)
        struct.pack_into("<HH", self.keys, 0, nhoff, thoff)

    def finish(self) -> tuple[bytes, bytes | None]:
        return bytes(self.keys), self.ctx_in


#: what :func:`make_context` gives a program of each type (other types: bytes given)
_CONTEXT_KINDS: dict[PT, str] = {
    PT.XDP: "`xdp_md`: packet data (XDP test_run semantics)",
    **dict.fromkeys(PACKET_SKB_TYPES, "`__sk_buff`: packet data (skb test_run semantics)"),
    PT.FLOW_DISSECTOR: "`__sk_buff` + `bpf_flow_keys`: packet data",
    **dict.fromkeys((PT.RAW_TRACEPOINT, PT.RAW_TRACEPOINT_WRITABLE, PT.TRACING, PT.LSM),
                    "raw u64 arguments given by the caller"),
    PT.KPROBE: "`pt_regs` given by the caller",
    PT.PERF_EVENT: "`bpf_perf_event_data` given by the caller (or a timer)",
    PT.TRACEPOINT: "the tracepoint record given by the caller",
    PT.CGROUP_SYSCTL: "`bpf_sysctl` of the `SysctlRequest` given by the caller",
    PT.SK_MSG: "`sk_msg_md`: the message (data) in a scatterlist, addresses from ctx",
    PT.SOCK_OPS: "`bpf_sock_ops` of a real socket (`SockOpsRequest`), or bytes given",
    PT.SK_REUSEPORT: "`sk_reuseport_md` of a packet for a real reuseport group "
                     "(`ReuseportRequest`)",
    PT.CGROUP_SOCK_ADDR: "`bpf_sock_addr` of a real socket's call (`SockAddrRequest`), "
                         "or bytes given",
    PT.SK_LOOKUP: "`bpf_sk_lookup` given by the caller (sk_lookup test_run semantics)",
}


def context_kind(prog_type: PT) -> str:
    """What :func:`make_context` gives a program of ``prog_type`` (for the parity
    table): the context it sees and where its data comes from."""
    return _CONTEXT_KINDS.get(prog_type, "context bytes given by the caller")


def make_context(mem: Memory, prog_type: PT, data: bytes = b"", ctx: Any = None,
                 args: Sequence[int] | None = None) -> Context:
    """Build the context a program of ``prog_type`` gets for a run: ``ctx`` is the
    context's bytes, or for a CGROUP_SYSCTL program a :class:`~ebpf.vm.sysctl.SysctlRequest`,
    for a SOCK_OPS one a :class:`~ebpf.vm.sockops.SockOpsRequest`, for a
    CGROUP_SOCK_ADDR one a :class:`~ebpf.vm.sockaddr.SockAddrRequest`, for an SK_REUSEPORT
    one a :class:`~ebpf.vm.reuseport.ReuseportRequest`."""
    from .reuseport import ReuseportContext, ReuseportRequest
    from .skmsg import SkMsgContext
    from .sockaddr import SockAddrContext, SockAddrRequest
    from .sockops import SockOpsContext, SockOpsRequest
    from .sysctl import SysctlContext, SysctlRequest

    if prog_type == PT.SK_MSG:
        return SkMsgContext(mem, data, ctx)
    if prog_type == PT.SK_LOOKUP and not isinstance(ctx, (SockAddrRequest, SockOpsRequest,
                                                          ReuseportRequest, SysctlRequest)):
        from .sklookup import SkLookupContext

        return SkLookupContext(mem, data, ctx)
    if isinstance(ctx, SockAddrRequest):
        if prog_type != PT.CGROUP_SOCK_ADDR:
            raise _einval(f"a SockAddrRequest is the context of cgroup sock_addr programs, not "
                          f"of {prog_type.name.lower()} ones")
        return SockAddrContext(mem, ctx)
    if isinstance(ctx, ReuseportRequest):
        if prog_type != PT.SK_REUSEPORT:
            raise _einval(f"a ReuseportRequest is the context of sk_reuseport programs, not "
                          f"of {prog_type.name.lower()} ones")
        return ReuseportContext(mem, ctx)
    if isinstance(ctx, SockOpsRequest):
        if prog_type != PT.SOCK_OPS:
            raise _einval(f"a SockOpsRequest is the context of sock_ops programs, not "
                          f"of {prog_type.name.lower()} ones")
        return SockOpsContext(mem, ctx)
    if isinstance(ctx, SysctlRequest):
        if prog_type != PT.CGROUP_SYSCTL:
            raise _einval(f"a SysctlRequest is the context of cgroup/sysctl programs, not "
                          f"of {prog_type.name.lower()} ones")
        return SysctlContext(mem, ctx)
    if args is not None:
        ctx = b"".join((a & (1 << 64) - 1).to_bytes(8, "little") for a in args)
    if prog_type == PT.XDP:
        return XdpContext(mem, data, ctx)
    if prog_type in PACKET_SKB_TYPES:
        return SkbContext(mem, prog_type, data, ctx)
    if prog_type == PT.FLOW_DISSECTOR:
        return FlowDissectorContext(mem, data, ctx)
    if prog_type in (PT.RAW_TRACEPOINT, PT.RAW_TRACEPOINT_WRITABLE, PT.TRACING, PT.LSM):
        return RawContext(mem, ctx, "raw tracepoint args",
                          writable=prog_type == PT.RAW_TRACEPOINT_WRITABLE)
    if prog_type == PT.KPROBE:
        return RawContext(mem, ctx, "pt_regs", writable=False, min_size=PT_REGS_SIZE)
    if prog_type == PT.PERF_EVENT:
        return RawContext(mem, ctx, "bpf_perf_event_data", writable=False,
                          min_size=PT_REGS_SIZE + 16)
    if prog_type == PT.TRACEPOINT:
        return RawContext(mem, ctx, "tracepoint record", writable=False)
    return RawContext(mem, ctx, "context", writable=True)


def pt_regs(**regs: int) -> bytes:
    """An x86-64 ``struct pt_regs`` (168 bytes) with the named registers set:
    r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ip cs flags sp ss.

    >>> len(pt_regs(di=1, si=2))
    168
    """
    unknown = set(regs) - set(PT_REGS.fields)
    if unknown:
        raise ValueError(f"unknown pt_regs fields: {sorted(unknown)}")
    buf = bytearray(PT_REGS.size)
    for name, value in regs.items():  # every register has an 8-byte slot (kernel BTF layout)
        off = PT_REGS.fields[name].offset
        buf[off:off + 8] = (value & (1 << 64) - 1).to_bytes(8, "little")
    return bytes(buf)


__all__ = ["Context", "FlowDissectorContext", "Packet", "RawContext", "SkbContext", "XdpContext",
           "context_kind", "make_context", "pt_regs"]
