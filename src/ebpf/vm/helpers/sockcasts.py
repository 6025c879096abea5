"""What a program learns of a socket a lookup gave it: the ``bpf_skc_to_*`` casts,
``bpf_tcp_sock``, ``bpf_sk_cgroup_id`` and ``bpf_sk_ancestor_cgroup_id``.

The casts answer as the kernel's from the socket's family, type, protocol and
state: ``tcp_sock`` for a full TCP socket (not time-wait, not a request),
``tcp6_sock`` the same of AF_INET6, ``udp6_sock`` a full UDP datagram socket of
AF_INET6, ``unix_sock`` a full AF_UNIX one, ``tcp_timewait_sock`` /
``tcp_request_sock`` a TCP socket in TIME_WAIT / NEW_SYN_RECV, ``mptcp_sock`` the
MPTCP connection of a subflow (the sockets a lookup finds are plain TCP: NULL).
They return the same pointer or NULL. The runtime's sockets are the
``struct bpf_sock`` a lookup made, not the kernel's ``struct sock``: a pointer the
runtime did not give (a tracing program's kernel address) is no socket it can
read, and the casts give NULL; reading kernel fields through a cast pointer
faults past the ``bpf_sock``.

``bpf_tcp_sock`` gives a ``struct bpf_tcp_sock`` of a full TCP socket (NULL
otherwise) and ``bpf_sk_cgroup_id`` / ``bpf_sk_ancestor_cgroup_id`` the id of its
cgroup (or of the cgroup's ancestor at a level from the root; 0 past its own
level, and for sockets that are not full), all read from the kernel's sock_diag
for that socket (``ss -ti`` tells the same): the cgroup is the one the socket was
created in (the runtime asks sock_diag of TCP sockets only: 0 for a UDP one).
TCP_INFO does not tell ``rcv_nxt``, ``snd_nxt``, ``snd_una``, ``ecn_flags`` and the
delivery rate, nor any counter of a listener: 0.
"""

from __future__ import annotations

import os
import socket
import struct

from ..._internal.sockdiag import find_tcp
from ...uapi import HelperId as H
from ...uapi.contexts import BPF_SOCK, BPF_TCP_SOCK
from ..cgroups import cgroup2_mount
from ..memory import SCRATCH_BASE, Region
from ..run import Run
from ..sockops import fill_from_tcp_info
from .sk_lookup import TCP_LISTEN, TCP_NEW_SYN_RECV, TCP_TIME_WAIT
from .table import helper

_F = BPF_SOCK.fields
AF_UNIX, AF_INET6 = socket.AF_UNIX, socket.AF_INET6
TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP
#: where bpf_tcp_sock views live (below the lookups' bpf_sock regions)
_TCP_SOCK_BASE = SCRATCH_BASE - 0x20_0000


def _sock(run: Run, sk: int) -> dict[str, int] | None:
    region = run.extra.get("socks", {}).get(sk)
    if region is None:
        return None
    return {n: struct.unpack_from("<I", region.buf, _F[n].offset)[0]
            for n in ("family", "type", "protocol", "state")}


def _full(s: dict[str, int]) -> bool:
    return s["state"] not in (TCP_TIME_WAIT, TCP_NEW_SYN_RECV)


def _cast(run: Run, sk: int, test) -> int:
    s = _sock(run, sk)
    return sk if s is not None and test(s) else 0


@helper(H.skc_to_tcp_sock)
def skc_to_tcp_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: _full(s) and s["protocol"] == TCP)


@helper(H.skc_to_tcp6_sock)
def skc_to_tcp6_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: _full(s) and s["protocol"] == TCP and s["family"] == AF_INET6)


@helper(H.skc_to_udp6_sock)
def skc_to_udp6_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: _full(s) and s["protocol"] == UDP
                 and s["type"] == socket.SOCK_DGRAM and s["family"] == AF_INET6)


@helper(H.skc_to_unix_sock)
def skc_to_unix_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: _full(s) and s["family"] == AF_UNIX)


@helper(H.skc_to_tcp_timewait_sock)
def skc_to_tcp_timewait_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: s["protocol"] == TCP and s["state"] == TCP_TIME_WAIT)


@helper(H.skc_to_tcp_request_sock)
def skc_to_tcp_request_sock(run: Run, sk, *_):
    return _cast(run, sk, lambda s: s["protocol"] == TCP and s["state"] == TCP_NEW_SYN_RECV)


@helper(H.skc_to_mptcp_sock)
def skc_to_mptcp_sock(run: Run, sk, *_):
    return 0  # a lookup's sockets are plain TCP: no MPTCP subflow among them


def _diag(run: Run, sk: int):
    """sock_diag's view of a full TCP socket a lookup gave, or None."""
    s = _sock(run, sk)
    if s is None or not _full(s) or s["protocol"] != TCP:
        return None
    region = run.extra["socks"][sk]
    six = s["family"] == AF_INET6
    src, dst = (_F["src_ip6"], _F["dst_ip6"]) if six else (_F["src_ip4"], _F["dst_ip4"])
    buf = region.buf
    lport = struct.unpack_from("<I", buf, _F["src_port"].offset)[0]
    rport = int.from_bytes(buf[_F["dst_port"].offset:_F["dst_port"].offset + 2], "big")
    return find_tcp(s["family"], bytes(buf[src.offset:src.offset + src.size]), lport,
                    bytes(buf[dst.offset:dst.offset + dst.size]), rport)


@helper(H.tcp_sock)
def tcp_sock(run: Run, sk, *_):
    s = _sock(run, sk)
    if s is None or not _full(s) or s["protocol"] != TCP or s["type"] != socket.SOCK_STREAM:
        return 0
    d = _diag(run, sk)
    buf = bytearray(BPF_TCP_SOCK.size)
    if d is not None and s["state"] != TCP_LISTEN:  # a listener's TCP_INFO tells no counters
        fill_from_tcp_info(buf, BPF_TCP_SOCK, d.tcp_info)
    views = run.extra.setdefault("tcp_socks", {})
    if sk in views:
        views[sk].buf[:] = buf
    else:
        base = _TCP_SOCK_BASE + 0x100 * len(views)
        views[sk] = run.mem.add_local(Region(base, buf, "struct bpf_tcp_sock", writable=False))
    return views[sk].base


def _cgroup_path(cgroup_id: int) -> list[str] | None:
    """The path components (from the root) of the cgroup v2 directory with this id."""
    root = cgroup2_mount()
    if root is None:
        return None
    if os.stat(root).st_ino == cgroup_id:
        return []
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            full = os.path.join(dirpath, d)
            try:
                if os.stat(full).st_ino == cgroup_id:
                    return os.path.relpath(full, root).split(os.sep)
            except OSError:
                continue
    return None


@helper(H.sk_cgroup_id)
def sk_cgroup_id(run: Run, sk, *_):
    d = _diag(run, sk)
    return d.cgroup_id if d is not None else 0


@helper(H.sk_ancestor_cgroup_id)
def sk_ancestor_cgroup_id(run: Run, sk, level, *_):
    d = _diag(run, sk)
    level &= 0xFFFF_FFFF
    if d is None or level & 0x8000_0000:
        return 0
    path = _cgroup_path(d.cgroup_id)
    root = cgroup2_mount()
    if path is None or root is None or level > len(path):
        return 0
    return os.stat(os.path.join(root, *path[:level])).st_ino
