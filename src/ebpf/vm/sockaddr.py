"""A CGROUP_SOCK_ADDR program's run on a real socket: the kernel runs these
programs when a process of the cgroup binds, connects or sends to an address
(the address it gives is ``user_*``, which the program may rewrite), and cannot
test-run them. The runtime runs one on a :class:`SockAddrRequest`: a socket of
this process and the address its call names::

    prog.test_run(ctx=SockAddrRequest(sock, ("10.0.0.1", 80)))

``struct bpf_sock_addr`` then holds ``user_family``, ``user_ip4``/``user_ip6`` and
``user_port`` (network order) of that address, the socket's ``family``, ``type``
and ``protocol``; ``msg_src_*`` are 0 and ``sk`` NULL. Its ctx out is the
structure after the run: where the call goes if the program rewrote it.
``bpf_bind`` binds the socket itself (see :mod:`ebpf.vm.helpers.sockopts`).
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from ..uapi.contexts import BPF_SOCK_ADDR
from .contexts import Context, _ctx_region
from .memory import Memory

_F = BPF_SOCK_ADDR.fields
#: the fields a program may write (the verifier says which, per attach type)
_WRITABLE = [(_F[n].offset, _F[n].size) for n in ("user_ip4", "user_ip6", "user_port",
                                                 "msg_src_ip4", "msg_src_ip6")]


@dataclass(frozen=True)
class SockAddrRequest:
    """The call of socket ``sock`` (this process's) naming ``addr`` ((host, port))."""

    sock: socket.socket | int
    addr: tuple[str, int]

    def fd(self) -> int:
        return self.sock if isinstance(self.sock, int) else self.sock.fileno()


class SockAddrContext(Context):
    """``struct bpf_sock_addr`` of a :class:`SockAddrRequest`, and its socket."""

    def __init__(self, mem: Memory, request: SockAddrRequest):
        self.request = request
        self.buf = bytearray(BPF_SOCK_ADDR.size)
        self.region = _ctx_region(mem, self.buf, "bpf_sock_addr", fields=_WRITABLE)
        self.addr = self.region.base

    def socket(self) -> socket.socket:
        """A socket object on a duplicate of the request's fd (the caller closes it)."""
        return socket.socket(fileno=os.dup(self.request.fd()))

    def begin(self) -> None:
        buf = self.buf
        buf[:] = bytes(len(buf))
        with self.socket() as s:
            family, type_ = s.family, s.type
            proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        host, port = self.request.addr
        ufam = socket.AF_INET6 if ":" in host else socket.AF_INET
        raw = socket.inet_pton(ufam, host)
        field = _F["user_ip6" if ufam == socket.AF_INET6 else "user_ip4"]
        buf[field.offset:field.offset + len(raw)] = raw
        struct.pack_into("<I", buf, _F["user_family"].offset, ufam)
        struct.pack_into("<I", buf, _F["user_port"].offset, socket.htons(port))
        for name, value in (("family", family), ("type", type_), ("protocol", proto)):
            struct.pack_into("<I", buf, _F[name].offset, value)

    def finish(self) -> tuple[bytes, bytes | None]:
        return b"", bytes(self.buf)


__all__ = ["SockAddrContext", "SockAddrRequest"]
