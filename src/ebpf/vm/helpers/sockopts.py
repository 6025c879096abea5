"""What a sock_ops program does to its socket: ``bpf_setsockopt``,
``bpf_getsockopt``, ``bpf_sock_map_update`` and ``bpf_sock_hash_update``, on the
real socket of a :class:`~ebpf.vm.sockops.SockOpsRequest`; the first two also on
that of a sock_addr run (:class:`~ebpf.vm.sockaddr.SockAddrRequest`), and
``bpf_bind`` there.

The kernel's checks come first (net/core/filter.c): a callback that does not hold
the socket lock (past ``BPF_SOCK_OPS_WRITE_HDR_OPT_CB``) gets ``-EOPNOTSUPP``; a
context that is no full socket ``-EINVAL``; then only the options the kernel lets
a program use, with the lengths it wants (``-EINVAL`` otherwise): SOL_SOCKET's
buffer sizes, keepalive, priority, reuse, lowat, mark, pacing rate, device
binding and txrehash; SOL_TCP's nodelay, maxseg, keepalive timers, syncnt,
window clamp, thin timeouts, user timeout, notsent lowat, save_syn and congestion
control (``"cdg"`` refused with ``-ENOTSUPP``); IP_TOS on IPv4 sockets,
IPV6_TCLASS / IPV6_AUTOFLOWLABEL on IPv6 ones. An option that passes is set or
read with the socket system call on the socket itself, so its result (and
errno) is the kernel's own. The BPF-only TCP options are checked as the kernel
checks them (``TCP_BPF_IW``, ``TCP_BPF_SNDCWND_CLAMP``: a positive value;
``TCP_BPF_DELACK_MAX``/``RTO_MIN``: positive and within the kernel's bounds) but
not applied: user space cannot reach that TCP state. ``TCP_BPF_SYN*`` find no SYN
(``-ENOENT``). A getsockopt buffer is zeroed past what the option filled, and
wholly on an error.

A socket goes in a SOCKMAP/SOCKHASH from the established and listen callbacks
only (``-EOPNOTSUPP`` from any other), with the map's flag, index and capacity
checks.
"""

from __future__ import annotations

import errno
import socket
import struct

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import (
    BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
    BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
    BPF_SOCK_OPS_TCP_LISTEN_CB,
    BPF_SOCK_OPS_WRITE_HDR_OPT_CB,
)
from ...uapi.contexts import BPF_SOCK_OPS, TCP_INFO
from ..run import Run
from ..sockaddr import SockAddrContext
from ..sockops import SockOpsContext
from .table import get_map, helper, neg, run_context

SOL_IP, SOL_SOCKET, SOL_TCP, SOL_IPV6 = 0, 1, 6, 41
#: SOL_SOCKET options a program may set and read (int-sized), and the one it may only set
SOCKET_INT = frozenset({2, 7, 8, 9, 12, 15, 18, 36, 47, 62, 74})
SO_BINDTODEVICE = 25
#: SOL_TCP options (int-sized)
TCP_INT = frozenset({1, 2, 4, 5, 6, 7, 10, 16, 18, 25, 27, 44})
TCP_CONGESTION, TCP_SAVED_SYN = 13, 28
TCP_BPF_IW, TCP_BPF_SNDCWND_CLAMP, TCP_BPF_DELACK_MAX, TCP_BPF_RTO_MIN = 1001, 1002, 1003, 1004
TCP_BPF_SYN, TCP_BPF_SYN_MAC = 1005, 1007
IP_TOS, IPV6_TCLASS, IPV6_AUTOFLOWLABEL = 1, 67, 70
#: the kernel's TCP_DELACK_MAX (HZ / 5) and TCP_RTO_MIN (HZ / 5), in microseconds
DELACK_MAX_US = RTO_MIN_US = 200_000
ENOTSUPP = 524
BPF_EXIST = 2
_FULLSOCK = BPF_SOCK_OPS.offset("is_fullsock")


def _ops(run: Run, what: str) -> SockOpsContext:
    return run_context(run, SockOpsContext, what, ": no socket stands behind this run's "
                       "context (run a sock_ops program with ctx=ebpf.vm.SockOpsRequest(sock, op))")


def _socket_run(run: Run, what: str) -> SockOpsContext | SockAddrContext:
    """The context of a run with a socket behind it: a sock_ops or a sock_addr one."""
    c = run.context
    if not isinstance(c, (SockOpsContext, SockAddrContext)):
        raise RuntimeFault(f"{what}: no socket stands behind this run's context (run a sock_ops "
                           "program with ctx=ebpf.vm.SockOpsRequest(sock, op), a sock_addr one "
                           "with ctx=ebpf.vm.SockAddrRequest(sock, addr))")
    return c


def _unlocked(c: SockOpsContext | SockAddrContext) -> bool:
    """A sock_ops callback that does not hold the socket lock (sock_addr hooks do)."""
    return isinstance(c, SockOpsContext) and c.request.op > BPF_SOCK_OPS_WRITE_HDR_OPT_CB


def _check(c: SockOpsContext | SockAddrContext, level: int, optname: int, optlen: int,
           getopt: bool, s: socket.socket) -> int:
    """0 when the kernel would pass the option on, else -errno."""
    if _unlocked(c):
        return -errno.EOPNOTSUPP
    if isinstance(c, SockOpsContext) and not struct.unpack_from("<I", c.buf, _FULLSOCK)[0]:
        return -errno.EINVAL
    family = s.family
    if level == SOL_SOCKET:
        if optname == SO_BINDTODEVICE:
            return -errno.EINVAL if getopt else 0
        return 0 if optname in SOCKET_INT and optlen == 4 else -errno.EINVAL
    if level == SOL_IP:
        ok = family == socket.AF_INET and optname == IP_TOS and optlen == 4
        return 0 if ok else -errno.EINVAL
    if level == SOL_IPV6:
        ok = family == socket.AF_INET6 and optname in (IPV6_TCLASS, IPV6_AUTOFLOWLABEL) \
            and optlen == 4
        return 0 if ok else -errno.EINVAL
    if level == SOL_TCP:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) != socket.IPPROTO_TCP:
            return -errno.EINVAL
        if optname in TCP_INT:
            return 0 if optlen == 4 else -errno.EINVAL
        if optname == TCP_CONGESTION:
            return 0 if optlen >= 2 else -errno.EINVAL
        if optname == TCP_SAVED_SYN:
            return 0 if optlen >= 1 else -errno.EINVAL
        return 0 if not getopt and optlen == 4 and TCP_BPF_IW <= optname <= TCP_BPF_RTO_MIN \
            else -errno.EINVAL
    return -errno.EINVAL


def _bpf_tcp_option(s: socket.socket, optname: int, value: int) -> int:
    """The kernel's checks of the BPF-only TCP options (not applied here)."""
    if value <= 0:
        return neg(errno.EINVAL)
    if optname == TCP_BPF_IW:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO.size)
        f = TCP_INFO.fields["tcpi_data_segs_out"]
        sent = int.from_bytes(info[f.offset:f.offset + f.size], "little")
        return neg(errno.EINVAL) if sent > 0 else 0
    if optname == TCP_BPF_DELACK_MAX and value > DELACK_MAX_US:
        return neg(errno.EINVAL)
    if optname == TCP_BPF_RTO_MIN and value > RTO_MIN_US:
        return neg(errno.EINVAL)
    return 0


@helper(H.setsockopt)
def setsockopt(run: Run, ctx, level, optname, optval, optlen, *_):
    c = _socket_run(run, "bpf_setsockopt")
    level, optname, optlen = (v & 0xFFFF_FFFF for v in (level, optname, optlen))
    data = run.mem.read(optval, optlen)
    with c.socket() as s:
        rc = _check(c, level, optname, optlen, False, s)
        if rc:
            return neg(-rc)
        if level == SOL_TCP and TCP_BPF_IW <= optname <= TCP_BPF_RTO_MIN:
            return _bpf_tcp_option(s, optname, struct.unpack("<i", data)[0])
        if level == SOL_TCP and optname == TCP_CONGESTION and data[:3] == b"cdg" and \
                (optlen == 3 or data[3] == 0):
            return neg(ENOTSUPP)  # the one algorithm that allocates in the socket
        try:
            s.setsockopt(level, optname, data)
        except OSError as e:
            return neg(e.errno or errno.EINVAL)
    return 0


@helper(H.getsockopt)
def getsockopt(run: Run, ctx, level, optname, optval, optlen, *_):
    c = _socket_run(run, "bpf_getsockopt")
    level, optname, optlen = (v & 0xFFFF_FFFF for v in (level, optname, optlen))
    if _unlocked(c):
        return neg(errno.EOPNOTSUPP)
    if isinstance(c, SockOpsContext) and level == SOL_TCP and \
            TCP_BPF_SYN <= optname <= TCP_BPF_SYN_MAC:
        run.mem.write(optval, bytes(optlen))
        return neg(errno.ENOENT)  # no SYN packet at hand, none saved
    with c.socket() as s:
        rc = _check(c, level, optname, optlen, True, s)
        got = b""
        if not rc:
            want = optlen - 1 if (level, optname) == (SOL_TCP, TCP_CONGESTION) else optlen
            try:  # (no option the checks let through is longer than Python's 1024 bytes)
                got = s.getsockopt(level, optname, min(want, 1024))
            except OSError as e:
                rc = -(e.errno or errno.EINVAL)
    if rc:
        got = b""
    run.mem.write(optval, got[:optlen] + bytes(optlen - len(got[:optlen])))
    return neg(-rc) if rc else 0


def _update(run: Run, ctx, map_, key_addr: int, flags: int, what: str, hashed: bool) -> int:
    from ..maps import SockHashMap, SockMapMap
    from ..maps.sockets import socket_ref

    c = _ops(run, what)
    m = get_map(run, map_)
    want = SockHashMap if hashed else SockMapMap
    if not isinstance(m, want):
        raise RuntimeFault(f"{what} on map {m.name} ({m.type.name}), which is not a "
                           f"{'SOCKHASH' if hashed else 'SOCKMAP'}")
    ref = socket_ref(c.request.fd())
    if isinstance(ref, int) or c.request.op not in (
            BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
            BPF_SOCK_OPS_TCP_LISTEN_CB):
        return neg(errno.EOPNOTSUPP)
    key = run.mem.read(key_addr, m.key_size)
    rc = m.store_socket(key, ref, flags)
    return neg(-rc) if rc else 0


@helper(H.sock_map_update)
def sock_map_update(run: Run, ctx, map_, key, flags, *_):
    return _update(run, ctx, map_, key, flags, "bpf_sock_map_update", False)


@helper(H.sock_hash_update)
def sock_hash_update(run: Run, ctx, map_, key, flags, *_):
    return _update(run, ctx, map_, key, flags, "bpf_sock_hash_update", True)


@helper(H.tcp_send_ack)
def tcp_send_ack(run: Run, tp, rcv_nxt, *_):
    """A BPF congestion control asks its socket to send an ACK now: the kernel sends
    it and returns 0 (the program sees nothing else). The runtime's struct_ops
    programs run on arguments Python gives, with no TCP connection behind them:
    the request is kept on the run (``run.extra["acks"]``: (socket, rcv_nxt)) and
    0 returned."""
    run.extra.setdefault("acks", []).append((tp, rcv_nxt & 0xFFFF_FFFF))
    return 0


IP_BIND_ADDRESS_NO_PORT = 24


@helper(H.bind)
def bind(run: Run, ctx, addr, addr_len, *_):
    """A connect hook binds its socket to ``addr`` first (a source address), as the
    kernel's bpf_bind: ``-EINVAL`` for a length short of the family's sockaddr (16
    bytes for AF_INET, 24 for AF_INET6), ``-EAFNOSUPPORT`` for another family; port
    0 binds the address only (no port taken, as IP_BIND_ADDRESS_NO_PORT); then the
    bind system call on the socket decides (``-EADDRNOTAVAIL``, ``-EINVAL`` when
    already bound...)."""
    from ..sockaddr import SockAddrContext

    c = run.context
    if not isinstance(c, SockAddrContext):
        raise RuntimeFault("bpf_bind: no socket stands behind this run's context (run a "
                           "cgroup/connect program with ctx=ebpf.vm.SockAddrRequest(sock, addr))")
    addr_len = addr_len & 0xFFFF_FFFF
    if addr_len < 2 or addr_len & 0x8000_0000:
        return neg(errno.EINVAL)
    family = struct.unpack("<H", run.mem.read(addr, 2))[0]
    if family == socket.AF_INET:
        if addr_len < 16:
            return neg(errno.EINVAL)
        raw = run.mem.read(addr, 16)
        port = int.from_bytes(raw[2:4], "big")
        where: tuple = (socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
        level = socket.IPPROTO_IP
    elif family == socket.AF_INET6:
        if addr_len < 24:  # SIN6_LEN_RFC2133
            return neg(errno.EINVAL)
        raw = run.mem.read(addr, min(addr_len, 28)).ljust(28, b"\0")
        port = int.from_bytes(raw[2:4], "big")
        flow, scope = struct.unpack_from("<II", raw, 4)[0], struct.unpack_from("<I", raw, 24)[0]
        where = (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port, flow, scope)
        level = socket.IPPROTO_IP
    else:
        return neg(errno.EAFNOSUPPORT)
    with c.socket() as s:
        before = s.getsockopt(level, IP_BIND_ADDRESS_NO_PORT)
        try:
            if port == 0:
                s.setsockopt(level, IP_BIND_ADDRESS_NO_PORT, 1)
            s.bind(where)
        except OSError as e:
            return neg(e.errno or errno.EINVAL)
        finally:
            if port == 0 and not before:
                s.setsockopt(level, IP_BIND_ADDRESS_NO_PORT, 0)
    return 0
