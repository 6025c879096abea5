"""An SK_LOOKUP program's test run, as the kernel's (BPF_PROG_TEST_RUN for
sk_lookup): the ctx is the ``struct bpf_sk_lookup`` of a lookup (family,
protocol, remote and local address and port); no data; ``sk`` must be 0, nothing
past ``local_port`` may be set (``EINVAL``), ports are 16-bit (``ERANGE``), the
family IPv4 or IPv6 (``EAFNOSUPPORT``).

The program picks a socket with ``bpf_sk_assign`` (one it took from a SOCKMAP or
SOCKHASH), which ``ctx->sk`` then shows; the selection holds when the program
returns SK_PASS. The ctx out carries the chosen socket's cookie (0 for none); a
socket of a SO_REUSEPORT group chosen without ``BPF_SK_LOOKUP_F_NO_REUSEPORT``
fails the run as the kernel's test run does (its ``EOPNOTSUPP``, which both backends
report as :class:`ebpf.NotSupportedError`).
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from ..errors import NotSupportedError, SystemCallError
from ..uapi.contexts import BPF_SK_LOOKUP
from .contexts import Context, _ctx_region
from .memory import Memory

_F = BPF_SK_LOOKUP.fields
_END = _F["local_port"].offset + _F["local_port"].size


def _einval(msg: str, err: int = errno.EINVAL) -> SystemCallError:
    return SystemCallError(f"test_run: {msg}", err)


class SkLookupContext(Context):
    """``struct bpf_sk_lookup`` of a test run, and the socket the program chose."""

    def __init__(self, mem: Memory, data: bytes, ctx_in: bytes | None):
        if data:
            raise _einval("sk_lookup programs take no data")
        if ctx_in is None:
            raise _einval("sk_lookup programs need a ctx (struct bpf_sk_lookup)")
        given = bytes(ctx_in[:BPF_SK_LOOKUP.size]).ljust(BPF_SK_LOOKUP.size, b"\0")
        if any(given[:8]) or any(given[_END:]):
            raise _einval("bpf_sk_lookup may set only family, protocol, addresses and ports")
        lport = struct.unpack_from("<I", given, _F["local_port"].offset)[0]
        rport = struct.unpack_from("<I", given, _F["remote_port"].offset)[0]
        if lport > 0xFFFF or rport > 0xFFFF:
            raise _einval("a port past 65535", errno.ERANGE)
        self.family, self.protocol = struct.unpack_from("<II", given, _F["family"].offset)
        self.family &= 0xFFFF
        self.protocol &= 0xFFFF
        if self.family not in (socket.AF_INET, socket.AF_INET6):
            raise _einval(f"family {self.family}", errno.EAFNOSUPPORT)
        self.given = given
        self.buf = bytearray(given)
        self.region = _ctx_region(mem, self.buf, "bpf_sk_lookup", fields=[])
        self.addr = self.region.base
        self.ctx_len = len(ctx_in)
        #: (bpf_sock address, the map's SockRef, no_reuseport) of the selection
        self.selected: tuple[int, object, bool] | None = None
        self.chosen: tuple[object, bool] | None = None

    def select(self, sk: int, ref: object, no_reuseport: bool) -> None:
        self.selected = (sk, ref, no_reuseport) if sk else None
        struct.pack_into("<Q", self.buf, 0, sk)

    def begin(self) -> None:
        self.buf[:] = self.given
        self.selected = None

    def returned(self, r0: int) -> None:
        """After a run: the selection holds when the program passed."""
        sel = self.selected
        self.chosen = (sel[1], sel[2]) if sel is not None and r0 & 0xFFFF_FFFF == 1 else None

    def finish(self) -> tuple[bytes, bytes | None]:
        out = bytearray(self.given)
        if self.chosen is not None:
            ref, no_reuseport = self.chosen
            fd = getattr(ref, "fd", -1)
            with socket.socket(fileno=os.dup(fd)) as s:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) and not no_reuseport:
                    # the kernel's EOPNOTSUPP, as the kernel backend reports it
                    raise NotSupportedError("BPF_PROG_TEST_RUN for SK_LOOKUP programs",
                                            detail="the chosen socket is in a reuseport "
                                            "group (select it with BPF_SK_LOOKUP_F_NO_REUSEPORT)")
            struct.pack_into("<Q", out, 0, getattr(ref, "cookie", 0))
        return b"", bytes(out[:self.ctx_len])


__all__ = ["SkLookupContext"]
