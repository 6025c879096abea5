"""SYN cookies without a listening socket, as XDP and tc SYN proxies use them:
``bpf_tcp_raw_gen_syncookie_ipv4/ipv6`` and ``bpf_tcp_raw_check_syncookie_ipv4/ipv6``.

What a program observes is the kernel's (net/ipv4/syncookies.c and its IPv6
twin): a SYN's TCP header length must be at least 20 bytes and equal the header's
``doff * 4`` (else ``-EINVAL``); the MSS the cookie stands for is the largest entry
of the family's table not above the SYN's MSS option (536 when it has none for
IPv4, 1220 for IPv6), returned in bits 32..47 beside the 32-bit cookie. A cookie
is the SYN's sequence number plus two keyed hashes of the connection's addresses
and ports: one of them alone, and one of them with the current minute count
(jiffies / (60 * HZ)) whose low 24 bits carry the MSS table index; the count goes in
the top 8 bits. An ACK checks when its ``ack_seq - 1`` is such a cookie for its own
addresses, ports and ``seq - 1`` made in this minute or the one before
(``-EACCES`` otherwise).

The kernel's hash keys are random at boot and never seen; the runtime's are
random per process (a keyed BLAKE2b stands for the kernel's SipHash), so a cookie
made here checks here, and cookies differ from the kernel's as two kernels' do.

``bpf_tcp_gen_syncookie`` / ``bpf_tcp_check_syncookie`` do the same on behalf of a
listener a lookup found (``bpf_sk_lookup_tcp``, ``bpf_skc_lookup_tcp``), with the
kernel's further checks: a TCP listener (``-EINVAL``), SYN cookies enabled in the
thread's network namespace (``net.ipv4.tcp_syncookies``: 0 gives ``-ENOENT`` to
gen, ``-EINVAL`` to check), the right flags (gen: a bare SYN, ``-EINVAL``; check:
an ACK without SYN or RST, ``-ENOENT``), IP header lengths and versions. The
kernel makes a cookie for a listener only under SYN flood: with
``tcp_syncookies=2`` always, else when its SYN queue is full, which the runtime
never sees (``-ENOENT``); a listener's own MSS setting (``TCP_MAXSEG``) is not seen
either. A cookie checks only within two minutes of the listener's last cookie
(its "recent overflow"): the runtime remembers when it made one for a listener;
SYN floods the kernel itself answered are not seen.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import struct
import time

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.contexts import BPF_SOCK
from ..run import Run
from .table import HZ, helper, neg

#: the MSS values a cookie can stand for (the kernel's msstab / msstab6)
MSS_TABLE4 = (536, 1300, 1440, 1460)
MSS_TABLE6 = (1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60)
#: TCP_MSS_DEFAULT, and IPv6's minimum MTU less the IPv6 and TCP headers
DEFAULT_MSS4, DEFAULT_MSS6 = 536, 1280 - 40 - 20
COOKIE_BITS = 24
COOKIE_MASK = (1 << COOKIE_BITS) - 1
#: a cookie is good for the minute it was made in and the next one
MAX_AGE = 2
TCP_HLEN, IPV4_HLEN, IPV6_HLEN = 20, 20, 40
TCPOPT_EOL, TCPOPT_NOP, TCPOPT_MSS = 0, 1, 2
_KEYS = (os.urandom(32), os.urandom(32))
M32 = 0xFFFF_FFFF


def _minute() -> int:
    return (time.monotonic_ns() * HZ // 1_000_000_000) // (60 * HZ) & M32


def _hash(addrs: bytes, ports: bytes, count: int, c: int) -> int:
    h = hashlib.blake2b(addrs + ports + struct.pack("<I", count), digest_size=4, key=_KEYS[c])
    return int.from_bytes(h.digest(), "little")


def _mss_option(th: bytes) -> int:
    """The SYN's MSS option (0 when none), read as the kernel's tcp_parse_mss_option."""
    opts, i, mss = th[TCP_HLEN:], 0, 0
    while i < len(opts):
        kind = opts[i]
        if kind == TCPOPT_EOL:
            break
        if kind == TCPOPT_NOP:
            i += 1
            continue
        if len(opts) - i < 2:
            break
        size = opts[i + 1]
        if size < 2 or size > len(opts) - i:
            break
        if kind == TCPOPT_MSS and size == 4:
            mss = int.from_bytes(opts[i + 2:i + 4], "big") or mss
        i += size
    return mss


def _addrs(iph: bytes, v6: bool) -> bytes:
    return iph[8:40] if v6 else iph[12:20]


def _gen(run: Run, iph_addr: int, th_addr: int, th_len: int, v6: bool) -> int:
    th_len &= M32
    iph = run.mem.read(iph_addr, IPV6_HLEN if v6 else IPV4_HLEN)
    head = run.mem.read(th_addr, TCP_HLEN)
    if th_len < TCP_HLEN or th_len != (head[12] >> 4) * 4:
        return neg(errno.EINVAL)
    th = run.mem.read(th_addr, th_len)
    table = MSS_TABLE6 if v6 else MSS_TABLE4
    want = _mss_option(th) or (DEFAULT_MSS6 if v6 else DEFAULT_MSS4)
    index = max((i for i, m in enumerate(table) if want >= m), default=0)
    addrs, ports = _addrs(iph, v6), th[:4]
    seq = struct.unpack_from(">I", th, 4)[0]
    count = _minute()
    cookie = (_hash(addrs, ports, 0, 0) + seq + (count << COOKIE_BITS)
              + ((_hash(addrs, ports, count, 1) + index) & COOKIE_MASK)) & M32
    return cookie | table[index] << 32


def _check(run: Run, iph_addr: int, th_addr: int, v6: bool) -> int:
    iph = run.mem.read(iph_addr, IPV6_HLEN if v6 else IPV4_HLEN)
    th = run.mem.read(th_addr, TCP_HLEN)
    seq, ack = struct.unpack_from(">II", th, 4)
    addrs, ports = _addrs(iph, v6), th[:4]
    cookie = (ack - 1 - _hash(addrs, ports, 0, 0) - (seq - 1)) & M32
    count = _minute()
    age = (count - (cookie >> COOKIE_BITS)) & (M32 >> COOKIE_BITS)
    if age >= MAX_AGE:
        return neg(errno.EACCES)
    index = (cookie - _hash(addrs, ports, (count - age) & M32, 1)) & COOKIE_MASK
    return 0 if index < len(MSS_TABLE6 if v6 else MSS_TABLE4) else neg(errno.EACCES)


@helper(H.tcp_raw_gen_syncookie_ipv4)
def tcp_raw_gen_syncookie_ipv4(run: Run, iph, th, th_len, *_):
    return _gen(run, iph, th, th_len, False)


@helper(H.tcp_raw_gen_syncookie_ipv6)
def tcp_raw_gen_syncookie_ipv6(run: Run, iph, th, th_len, *_):
    return _gen(run, iph, th, th_len, True)


@helper(H.tcp_raw_check_syncookie_ipv4)
def tcp_raw_check_syncookie_ipv4(run: Run, iph, th, *_):
    return _check(run, iph, th, False)


@helper(H.tcp_raw_check_syncookie_ipv6)
def tcp_raw_check_syncookie_ipv6(run: Run, iph, th, *_):
    return _check(run, iph, th, True)


# ---- on behalf of a listener -------------------------------------------------------
_SK = BPF_SOCK.fields
TCP_LISTEN = 10
#: a listener's last cookie, by (family, local address, port): monotonic seconds
_LAST_COOKIE: dict[tuple[int, bytes, int], float] = {}
#: TCP_SYNCOOKIE_VALID: how long after a listener's last cookie an ACK may check
VALID_SECONDS = 120


def _listener(run: Run, sk: int, what: str) -> tuple[int, int, int, tuple[int, bytes, int]]:
    """(family, protocol, state, identity) of a socket a lookup returned."""
    region = run.extra.get("socks", {}).get(sk)
    if region is None:
        raise RuntimeFault(f"{what} of {sk:#x}, which no socket lookup returned")
    family, protocol, state = (struct.unpack_from("<I", region.buf, _SK[n].offset)[0]
                               for n in ("family", "protocol", "state"))
    addr = _SK["src_ip6" if family == socket.AF_INET6 else "src_ip4"]
    port = struct.unpack_from("<I", region.buf, _SK["src_port"].offset)[0]
    return family, protocol, state, (family, bytes(region.buf[addr.offset:addr.offset
                                                                + addr.size]), port)


def _syncookies_sysctl() -> int:
    try:
        with open("/proc/sys/net/ipv4/tcp_syncookies") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _common(run: Run, sk: int, iph: int, iph_len: int, th: int, what: str):
    """The checks gen and check share: (family, identity, header version, flags) or -errno
    for a socket that is no TCP listener."""
    family, protocol, state, ident = _listener(run, sk, what)
    if protocol != socket.IPPROTO_TCP or state != TCP_LISTEN:
        return neg(errno.EINVAL)
    flags = run.mem.read(th + 13, 1)[0]
    version = run.mem.read(iph, 1)[0] >> 4 if iph_len else 0
    return family, ident, version, flags


@helper(H.tcp_gen_syncookie)
def tcp_gen_syncookie(run: Run, sk, iph, iph_len, th, th_len):
    iph_len, th_len = iph_len & M32, th_len & M32
    head = run.mem.read(th, TCP_HLEN) if th_len >= TCP_HLEN else b""
    if th_len < TCP_HLEN or th_len != (head[12] >> 4) * 4:
        return neg(errno.EINVAL)
    got = _common(run, sk, iph, iph_len, th, "bpf_tcp_gen_syncookie")
    if isinstance(got, int):
        return got
    family, ident, version, flags = got
    mode = _syncookies_sysctl()
    if not mode:
        return neg(errno.ENOENT)
    if not flags & 0x02 or flags & (0x10 | 0x01 | 0x04):   # SYN; no ACK, FIN, RST
        return neg(errno.EINVAL)
    if iph_len < IPV4_HLEN:
        return neg(errno.EINVAL)
    if version == 6 and (iph_len < IPV6_HLEN or family != socket.AF_INET6):
        return neg(errno.EINVAL)
    if version not in (4, 6):
        return neg(errno.EPROTONOSUPPORT)
    if mode != 2:
        return neg(errno.ENOENT)  # no SYN flood the runtime can see: no cookie
    _LAST_COOKIE[ident] = time.monotonic()
    return _gen(run, iph, th, th_len, version == 6)


@helper(H.tcp_check_syncookie)
def tcp_check_syncookie(run: Run, sk, iph, iph_len, th, th_len):
    iph_len, th_len = iph_len & M32, th_len & M32
    if th_len < TCP_HLEN:
        return neg(errno.EINVAL)
    got = _common(run, sk, iph, iph_len, th, "bpf_tcp_check_syncookie")
    if isinstance(got, int):
        return got
    family, ident, version, flags = got
    if not _syncookies_sysctl():
        return neg(errno.EINVAL)
    if not flags & 0x10 or flags & (0x04 | 0x02):          # ACK; no RST, SYN
        return neg(errno.ENOENT)
    if iph_len < IPV4_HLEN:
        return neg(errno.EINVAL)
    last = _LAST_COOKIE.get(ident)
    if last is None or time.monotonic() - last > VALID_SECONDS:
        return neg(errno.ENOENT)  # no recent overflow on this listener
    if version == 6 and (iph_len < IPV6_HLEN or family != socket.AF_INET6):
        return neg(errno.EINVAL)
    if version not in (4, 6):
        return neg(errno.EPROTONOSUPPORT)
    return 0 if _check(run, iph, th, version == 6) == 0 else neg(errno.ENOENT)
