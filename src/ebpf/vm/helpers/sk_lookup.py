"""Socket lookups from packet programs: ``bpf_sk_lookup_tcp``, ``bpf_skc_lookup_tcp``,
``bpf_sk_lookup_udp`` and ``bpf_sk_release``; ``bpf_sk_fullsock`` and
``bpf_get_listener_sock`` on what they found.

The runtime's packets arrive in the calling thread's network namespace, so a
lookup searches that namespace's sockets (its /proc/net tables) as the kernel's
does: an established TCP socket matching the tuple first, else a listener on the
destination address (or the wildcard) and port; for UDP, a connected socket
matching the tuple, else one bound to the destination. The program gets a
``struct bpf_sock`` of what the table says (family, type, protocol, local and
remote addresses and ports, state; mark and priority 0, no rx queue). The kernel's
checks: flags or a tuple size other than an IPv4 or IPv6 tuple's give NULL, and so
does a network namespace id other than the current one (``BPF_F_CURRENT_NETNS``).
Not modelled: IPv6 dual-stack listeners answering IPv4 lookups, SO_REUSEPORT
selection.
"""

from __future__ import annotations

import errno
import socket
import struct

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import (
    BPF_SK_LOOKUP_F_NO_REUSEPORT,
    BPF_SK_LOOKUP_F_REPLACE,
    BPF_TCP_CLOSE,
    BPF_TCP_ESTABLISHED,
    BPF_TCP_LISTEN,
    BPF_TCP_NEW_SYN_RECV,
    BPF_TCP_TIME_WAIT,
)
from ...uapi.contexts import BPF_SOCK, BPF_SOCK_TUPLE
from ..memory import SCRATCH_BASE, Region
from ..run import Run
from .packets import _packet
from .table import helper, neg

#: sizes of struct bpf_sock_tuple's ipv4 and ipv6 halves
TUPLE4, TUPLE6 = BPF_SOCK_TUPLE.fields["ipv4"].size, BPF_SOCK_TUPLE.fields["ipv6"].size
BPF_SOCK_SIZE = BPF_SOCK.size
TCP_ESTABLISHED, TCP_LISTEN, TCP_CLOSE = BPF_TCP_ESTABLISHED, BPF_TCP_LISTEN, BPF_TCP_CLOSE
TCP_TIME_WAIT, TCP_NEW_SYN_RECV = BPF_TCP_TIME_WAIT, BPF_TCP_NEW_SYN_RECV
_F = BPF_SOCK.fields
_SOCK_BASE = SCRATCH_BASE - 0x10_0000


def _table(name: str) -> list[tuple[bytes, int, bytes, int, int]]:
    """(local address, local port, remote address, remote port, state) of every
    socket in /proc/thread-self/net/NAME (addresses in network order)."""
    out = []
    try:
        with open(f"/proc/thread-self/net/{name}") as f:
            next(f)
            for line in f:
                parts = line.split()
                (la, lp), (ra, rp) = (p.split(":") for p in parts[1:3])
                out.append((_addr(la), int(lp, 16), _addr(ra), int(rp, 16), int(parts[3], 16)))
    except OSError:
        pass
    return out


def _addr(hexed: str) -> bytes:
    return b"".join(int(hexed[i:i + 8], 16).to_bytes(4, "little") for i in range(0, len(hexed), 8))


def _find(tcp: bool, v6: bool, saddr: bytes, sport: int, daddr: bytes, dport: int):
    rows = _table(("tcp" if tcp else "udp") + ("6" if v6 else ""))
    wild = bytes(len(daddr))
    for la, lp, ra, rp, st in rows:  # a connection with exactly this tuple
        if (la, lp, ra, rp) == (daddr, dport, saddr, sport) and (not tcp or st != TCP_LISTEN):
            return la, lp, ra, rp, st
    for la, lp, ra, rp, st in rows:  # else a listener / bound socket for the destination
        if lp == dport and la in (daddr, wild) and (st == TCP_LISTEN if tcp else rp == 0):
            return la, lp, ra, rp, st
    return None


def _lookup(run: Run, tuple_addr: int, size: int, netns: int, flags: int, tcp: bool,
            what: str, full: bool = True) -> int:
    _packet(run, what)
    size &= 0xFFFF_FFFF
    netns &= 0xFFFF_FFFF
    if flags or size not in (TUPLE4, TUPLE6) or not netns >> 31:
        return 0  # NULL: unknown flags, a bad tuple, another network namespace
    raw = run.mem.read(tuple_addr, size)
    n = 4 if size == TUPLE4 else 16
    saddr, daddr = raw[:n], raw[n:2 * n]
    sport, dport = struct.unpack_from(">HH", raw, 2 * n)
    found = _find(tcp, n == 16, saddr, sport, daddr, dport)
    if found is None:
        return 0
    la, lp, ra, rp, st = found
    if full and tcp and st == TCP_TIME_WAIT:
        return 0  # a time-wait socket is no full socket: only bpf_skc_lookup_tcp gives it
    family = socket.AF_INET6 if n == 16 else socket.AF_INET
    return hold_sock(run, family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM,
                     socket.IPPROTO_TCP if tcp else socket.IPPROTO_UDP, la, lp, ra, rp, st)


def hold_sock(run: Run, family: int, type_: int, protocol: int, la: bytes, lp: int, ra: bytes,
              rp: int, state: int, ref: object = None) -> int:
    """A ``struct bpf_sock`` of these facts, held by the run as a referenced socket
    (released by bpf_sk_release): its address. ``ref`` is the map's SockRef for a
    socket a SOCKMAP/SOCKHASH lookup gave (``run.extra["sock_refs"]``)."""
    sk = bytearray(BPF_SOCK_SIZE)
    struct.pack_into("<I", sk, _F["family"].offset, family)
    struct.pack_into("<I", sk, _F["type"].offset, type_)
    struct.pack_into("<I", sk, _F["protocol"].offset, protocol)
    six = family == socket.AF_INET6
    src, dst = (_F["src_ip6"], _F["dst_ip6"]) if six else (_F["src_ip4"], _F["dst_ip4"])
    sk[src.offset:src.offset + len(la)], sk[dst.offset:dst.offset + len(ra)] = la, ra
    struct.pack_into("<I", sk, _F["src_port"].offset, lp)
    dport_off = _F["dst_port"].offset
    sk[dport_off:dport_off + 2] = rp.to_bytes(2, "big")
    struct.pack_into("<I", sk, _F["state"].offset, state)
    struct.pack_into("<i", sk, _F["rx_queue_mapping"].offset, -1)
    held = run.extra.setdefault("socks", {})
    base = _SOCK_BASE + 0x100 * len(held)
    while base in held:
        base += 0x100
    held[base] = run.mem.add_local(Region(base, sk, "struct bpf_sock", writable=False))
    if ref is not None:
        run.extra.setdefault("sock_refs", {})[base] = ref
    return base


@helper(H.sk_lookup_tcp)
def sk_lookup_tcp(run: Run, ctx, tuple_, size, netns, flags):
    return _lookup(run, tuple_, size, netns, flags, True, "bpf_sk_lookup_tcp")


@helper(H.skc_lookup_tcp)
def skc_lookup_tcp(run: Run, ctx, tuple_, size, netns, flags):
    return _lookup(run, tuple_, size, netns, flags, True, "bpf_skc_lookup_tcp", full=False)


@helper(H.sk_lookup_udp)
def sk_lookup_udp(run: Run, ctx, tuple_, size, netns, flags):
    return _lookup(run, tuple_, size, netns, flags, False, "bpf_sk_lookup_udp")


@helper(H.sk_release)
def sk_release(run: Run, sk, *_):
    region = run.extra.get("socks", {}).pop(sk, None)
    run.extra.get("sock_refs", {}).pop(sk, None)
    if region is None:
        raise RuntimeFault(f"bpf_sk_release of {sk:#x}, which no lookup returned")
    run.mem.remove_local(region)
    return 0


def _state(run: Run, sk: int, what: str) -> int:
    region = run.extra.get("socks", {}).get(sk)
    if region is None:
        raise RuntimeFault(f"{what} of {sk:#x}, which no lookup returned")
    return struct.unpack_from("<I", region.buf, _F["state"].offset)[0]


@helper(H.sk_fullsock)
def sk_fullsock(run: Run, sk, *_):
    """The socket itself, unless it is a time-wait or request mini socket (NULL)."""
    return 0 if _state(run, sk, "bpf_sk_fullsock") in (TCP_TIME_WAIT, TCP_NEW_SYN_RECV) else sk


@helper(H.get_listener_sock)
def get_listener_sock(run: Run, sk, *_):
    """The socket when it is a TCP listener, else NULL (the runtime's lookups give
    no request sockets whose listener this would be)."""
    return sk if _state(run, sk, "bpf_get_listener_sock") == TCP_LISTEN else 0


@helper(H.sk_assign)
def sk_assign(run: Run, ctx, sk, flags, *_):
    """tc: assign the socket to the packet. Flags must be 0 (``-EINVAL``); then the
    kernel wants the packet on the tc ingress path, which a runtime packet, as a
    test-run one, is not (``-EOPNOTSUPP``). sk_lookup: see :func:`_lookup_assign`."""
    from ..sklookup import SkLookupContext

    if isinstance(run.context, SkLookupContext):
        return _lookup_assign(run, run.context, sk, flags)
    _state(run, sk, "bpf_sk_assign")
    return neg(errno.EINVAL) if flags else neg(errno.EOPNOTSUPP)


def _lookup_assign(run: Run, c, sk: int, flags: int) -> int:
    """An sk_lookup program's choice, with the kernel's checks: unknown flags
    ``-EINVAL``; a TCP socket not listening or a connected UDP one (the kernel takes
    only sockets freed by RCU) ``-ESOCKTNOSUPPORT``; another protocol
    ``-EPROTOTYPE``; another family ``-EAFNOSUPPORT`` (an IPv6 socket that is not
    v6-only may take IPv4); a choice made already, without
    ``BPF_SK_LOOKUP_F_REPLACE``, ``-EEXIST``. NULL clears the choice."""
    if flags & ~(BPF_SK_LOOKUP_F_REPLACE | BPF_SK_LOOKUP_F_NO_REUSEPORT):
        return neg(errno.EINVAL)
    ref = None
    if sk:
        ref = run.extra.get("sock_refs", {}).get(sk)
        if ref is None:
            raise RuntimeFault(f"bpf_sk_assign of {sk:#x}, which no SOCKMAP/SOCKHASH lookup "
                               "returned")
        region = run.extra["socks"][sk]
        family, _, protocol = (struct.unpack_from("<I", region.buf, _F[n].offset)[0]
                               for n in ("family", "type", "protocol"))
        state = struct.unpack_from("<I", region.buf, _F["state"].offset)[0]
        if (protocol == socket.IPPROTO_TCP and state != TCP_LISTEN) or \
                (protocol == socket.IPPROTO_UDP and state != TCP_CLOSE):
            return neg(errno.ESOCKTNOSUPPORT)
        if protocol != c.protocol:
            return neg(errno.EPROTOTYPE)
        if family != c.family and (family == socket.AF_INET or _v6only(ref)):
            return neg(errno.EAFNOSUPPORT)
    if c.selected is not None and not flags & BPF_SK_LOOKUP_F_REPLACE:
        return neg(errno.EEXIST)
    c.select(sk, ref, bool(flags & BPF_SK_LOOKUP_F_NO_REUSEPORT))
    return 0


def _v6only(ref) -> bool:
    import os

    with socket.socket(fileno=os.dup(ref.fd)) as s:
        return bool(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
