"""Redirects to the sockets of a SOCKMAP/SOCKHASH: ``bpf_sk_redirect_map/hash``
(SK_SKB) and ``bpf_msg_redirect_map/hash`` (SK_MSG), with the kernel's checks:
unknown flags, an empty slot, or a socket that cannot take a redirect (a listening
TCP socket, an unconnected UDP or unix one) give SK_DROP; otherwise the choice is
recorded on the run (``RunResult.redirect``: the map and the socket's cookie) and
the program gets SK_PASS."""

from __future__ import annotations

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..maps.sockets import TCP_ESTABLISHED, TCP_LISTEN
from ..run import Redirect, Run
from .table import BPF_F_INGRESS, get_map, helper

SK_DROP, SK_PASS = 0, 1


def _redirect(run: Run, map_: int, key: bytes | None, key_addr: int, flags: int,
              what: str) -> int:
    from ..maps import SockHashMap, SockMapMap

    m = get_map(run, map_)
    if not isinstance(m, (SockMapMap, SockHashMap)):
        raise RuntimeFault(f"{what} on map {m.name} ({m.type.name}), which is not a "
                           "SOCKMAP/SOCKHASH")
    if flags & ~BPF_F_INGRESS:
        return SK_DROP
    if key is None:
        key = run.mem.read(key_addr, m.key_size)
    ref = m.sock(key)
    if ref is None:
        return SK_DROP
    state = ref.state()
    if (state == TCP_LISTEN) if ref.tcp else (state != TCP_ESTABLISHED):
        return SK_DROP
    run.redirect = Redirect(0, flags, m.name, socket=ref.cookie)
    return SK_PASS


@helper(H.sk_redirect_map)
def sk_redirect_map(run: Run, skb, map_, key, flags, *_):
    return _redirect(run, map_, (key & 0xFFFF_FFFF).to_bytes(4, "little"), 0, flags,
                     "bpf_sk_redirect_map")


@helper(H.msg_redirect_map)
def msg_redirect_map(run: Run, msg, map_, key, flags, *_):
    return _redirect(run, map_, (key & 0xFFFF_FFFF).to_bytes(4, "little"), 0, flags,
                     "bpf_msg_redirect_map")


@helper(H.sk_redirect_hash)
def sk_redirect_hash(run: Run, skb, map_, key, flags, *_):
    return _redirect(run, map_, None, key, flags, "bpf_sk_redirect_hash")


@helper(H.msg_redirect_hash)
def msg_redirect_hash(run: Run, msg, map_, key, flags, *_):
    return _redirect(run, map_, None, key, flags, "bpf_msg_redirect_hash")


def sock_from_map(run: Run, m, key: bytes) -> int:
    """bpf_map_lookup_elem on a SOCKMAP/SOCKHASH from a program: the socket at
    ``key`` as a referenced ``struct bpf_sock`` (released by bpf_sk_release), or
    NULL for an empty slot (or a socket that went)."""
    import os
    import socket

    from .sk_lookup import hold_sock

    ref = m.sock(key)
    if ref is None:
        return 0
    with socket.socket(fileno=os.dup(ref.fd)) as s:
        family, type_ = s.family, s.type
        proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        if family not in (socket.AF_INET, socket.AF_INET6):
            return hold_sock(run, family, type_, proto, b"", 0, b"", 0, ref.state(), ref)
        local = s.getsockname()
        try:
            remote = s.getpeername()
        except OSError:
            remote = ("::" if family == socket.AF_INET6 else "0.0.0.0", 0)
    state = ref.state() if ref.tcp else (1 if remote[1] else 7)  # UDP: connected or not
    return hold_sock(run, family, type_, proto, socket.inet_pton(family, local[0]), local[1],
                     socket.inet_pton(family, remote[0]), remote[1], state, ref)
