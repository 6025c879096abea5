"""A SOCK_OPS program's run on a real socket: :class:`SockOpsRequest` names the
socket (one of this process's, by Python socket or fd) and the callback
(``op``, ``args``); the runtime builds the ``struct bpf_sock_ops`` the kernel
would show for it and the socket helpers act on that socket.

What the context holds, as the kernel's: ``family``, the addresses, ``local_port``
(host order) and ``remote_port`` (network order in the upper half, as the kernel
loads it), ``is_fullsock`` 1, and from the socket's ``TCP_INFO``: ``state``,
``snd_cwnd``, ``srtt_us`` (8 times the smoothed RTT, as the kernel keeps it),
``rtt_min``, ``snd_ssthresh``, ``mss_cache``, ``packets_out``, ``retrans_out``,
``total_retrans``, ``segs_in``/``out``, ``data_segs_in``/``out``, ``lost_out``,
``sacked_out``, ``bytes_received``, ``bytes_acked``. What ``TCP_INFO`` does not
tell is 0: the sequence numbers ``rcv_nxt``/``snd_nxt``/``snd_una``, ``ecn_flags``,
the delivery rate fields, ``sk_txhash``, the callback flags (the kernel's are per
socket, set by earlier programs) and ``sk`` (NULL). ``reply`` is the program's.

``bpf_setsockopt``/``bpf_getsockopt`` then reach the socket through its fd (see
:mod:`ebpf.vm.helpers.sockopts`), and ``bpf_sock_map_update``/
``bpf_sock_hash_update`` store it in a SOCKMAP/SOCKHASH.

The header option callbacks have a packet: the request's ``skb`` is its TCP
header (options included; for ``BPF_SOCK_OPS_WRITE_HDR_OPT_CB`` the options the
kernel wrote so far), shown as ``skb_data``..``skb_data_end`` with ``skb_len`` and
``skb_tcp_flags``, and ``remaining_opt_len`` the option space left to the program
(the kernel's 40 bytes less its own options in ``HDR_OPT_LEN_CB``, what the
program reserved in ``WRITE_HDR_OPT_CB``). ``bpf_store_hdr_opt`` writes after
``skb_data_end`` and moves it; the test run's data out is the header then.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass, field

from ..uapi.contexts import BPF_SOCK_OPS, TCP_INFO, Layout
from .contexts import Context, _ctx_region
from .memory import PACKET_BASE, Memory, Region

_F = BPF_SOCK_OPS.fields
#: the TCP state bpf_sock_ops and bpf_tcp_sock share with TCP_INFO: (their field,
#: tcp_info's, shift left: the kernel keeps srtt_us 8 times the smoothed RTT)
FROM_TCP_INFO = (
    ("state", "tcpi_state", 0), ("snd_cwnd", "tcpi_snd_cwnd", 0), ("srtt_us", "tcpi_rtt", 3),
    ("rtt_min", "tcpi_min_rtt", 0), ("snd_ssthresh", "tcpi_snd_ssthresh", 0),
    ("mss_cache", "tcpi_snd_mss", 0), ("packets_out", "tcpi_unacked", 0),
    ("retrans_out", "tcpi_retrans", 0), ("total_retrans", "tcpi_total_retrans", 0),
    ("segs_in", "tcpi_segs_in", 0), ("data_segs_in", "tcpi_data_segs_in", 0),
    ("segs_out", "tcpi_segs_out", 0), ("data_segs_out", "tcpi_data_segs_out", 0),
    ("lost_out", "tcpi_lost", 0), ("sacked_out", "tcpi_sacked", 0),
    ("bytes_received", "tcpi_bytes_received", 0), ("bytes_acked", "tcpi_bytes_acked", 0),
    ("dsack_dups", "tcpi_dsack_dups", 0), ("delivered", "tcpi_delivered", 0),
    ("delivered_ce", "tcpi_delivered_ce", 0), ("icsk_retransmits", "tcpi_retransmits", 0),
)


def fill_from_tcp_info(buf: bytearray, layout: Layout, info: bytes) -> None:
    """Write the fields of ``layout`` that TCP_INFO ``info`` tells into ``buf``."""
    info = info.ljust(TCP_INFO.size, b"\0")
    for name, info_name, shift in FROM_TCP_INFO:
        f = layout.fields.get(name)
        if f is None:
            continue
        t = TCP_INFO.fields[info_name]
        value = int.from_bytes(info[t.offset:t.offset + t.size], "little") << shift
        buf[f.offset:f.offset + f.size] = (value & ((1 << 8 * f.size) - 1)).to_bytes(
            f.size, "little")


@dataclass(frozen=True)
class SockOpsRequest:
    """Callback ``op`` (``BPF_SOCK_OPS_*_CB``) with ``args`` on socket ``sock``."""

    sock: socket.socket | int
    op: int
    args: tuple[int, ...] = field(default_factory=tuple)
    #: the TCP header of the packet the callback is about (None: no packet)
    skb: bytes | None = None
    #: the option space left to the program (header option callbacks)
    remaining_opt_len: int = 0

    def fd(self) -> int:
        return self.sock if isinstance(self.sock, int) else self.sock.fileno()


def _put(buf: bytearray, name: str, value: int) -> None:
    f = _F[name]
    buf[f.offset:f.offset + f.size] = (value & ((1 << 8 * f.size) - 1)).to_bytes(f.size, "little")


class SockOpsContext(Context):
    """``struct bpf_sock_ops`` of a :class:`SockOpsRequest`, and its socket."""

    def __init__(self, mem: Memory, request: SockOpsRequest):
        self.request = request
        self.buf = bytearray(BPF_SOCK_OPS.size)
        self.region = _ctx_region(mem, self.buf, "bpf_sock_ops")
        self.addr = self.region.base
        self.mem = mem
        #: the packet: header bytes, then the room the program may store options in
        self.skb: bytearray | None = None
        self.skb_end = 0
        self.remaining_opt_len = 0
        self.skb_region: Region | None = None

    def socket(self) -> socket.socket:
        """A socket object on a duplicate of the request's fd (the caller closes it)."""
        return socket.socket(fileno=os.dup(self.request.fd()))

    def show_skb(self) -> None:
        """Point ``skb_data``/``skb_data_end`` at the packet header as it is now."""
        if self.skb is None:
            return
        if self.skb_region is not None:
            self.mem.remove_local(self.skb_region)
        self.skb_region = self.mem.add_local(Region(PACKET_BASE, self.skb, "sock_ops skb",
                                                    size=self.skb_end, writable=False))
        struct.pack_into("<QQ", self.buf, _F["skb_data"].offset, PACKET_BASE,
                         PACKET_BASE + self.skb_end)

    def begin(self) -> None:
        r, buf = self.request, self.buf
        buf[:] = bytes(len(buf))
        self.remaining_opt_len = r.remaining_opt_len
        if r.skb is not None:
            self.skb = bytearray(r.skb) + bytearray(max(r.remaining_opt_len, 0))
            self.skb_end = len(r.skb)
            _put(buf, "skb_len", len(r.skb))
            _put(buf, "skb_tcp_flags", r.skb[13] if len(r.skb) > 13 else 0)
            self.show_skb()
        _put(buf, "op", r.op)
        args = _F["args"]
        for i, a in enumerate(r.args[:args.elems]):
            struct.pack_into("<I", buf, args.offset + 4 * i, a & 0xFFFF_FFFF)
        with self.socket() as s:
            fam = s.family
            _put(buf, "family", fam)
            _put(buf, "is_fullsock", 1)
            local = s.getsockname()
            try:
                remote = s.getpeername()
            except OSError:
                remote = None
            if fam in (socket.AF_INET, socket.AF_INET6):
                a4, a6 = ("local_ip4", "remote_ip4"), ("local_ip6", "remote_ip6")
                names = a4 if fam == socket.AF_INET else a6
                for name, addr in zip(names, (local, remote), strict=True):
                    if addr is not None:
                        raw = socket.inet_pton(fam, addr[0])
                        off = _F[name].offset
                        buf[off:off + len(raw)] = raw
                _put(buf, "local_port", local[1])
                if remote is not None:
                    _put(buf, "remote_port", socket.htons(remote[1]) << 16)
            if s.type == socket.SOCK_STREAM and fam != socket.AF_UNIX:
                fill_from_tcp_info(buf, BPF_SOCK_OPS, s.getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO.size))

    def finish(self) -> tuple[bytes, bytes | None]:
        return (bytes(self.skb[:self.skb_end]) if self.skb is not None else b""), bytes(self.buf)


__all__ = ["FROM_TCP_INFO", "SockOpsContext", "SockOpsRequest", "fill_from_tcp_info"]
