"""REUSEPORT_SOCKARRAY: the sockets of SO_REUSEPORT groups, for SK_REUSEPORT
programs to pick from (``bpf_sk_select_reuseport``).

As the kernel's (kernel/bpf/reuseport_array.c): an array of 4-byte indexes whose
values are socket fds of 4 or 8 bytes on update (``EINVAL`` otherwise at creation);
a slot takes a TCP or UDP socket of IPv4 or IPv6 (``ENOTSUPP`` for others) that
is in a reuseport group, that is, has ``SO_REUSEPORT`` and is hashed: a listening
TCP socket, a bound UDP one (``EINVAL`` otherwise); ``E2BIG`` past the end,
``EEXIST``/``ENOENT`` for the update flags. A lookup from user space gives the
socket's cookie (8-byte values only: ``ENOSPC``), a delete of an empty slot
``ENOENT``; a socket leaves the array when it closes.

A socket's group is, as the kernel forms it, the sockets of one protocol and
family bound to the same address and port with ``SO_REUSEPORT``
(:func:`reuseport_group`); the runtime sees the sockets of this process.
"""

from __future__ import annotations

import errno
import os
import socket

from ...errors import MapError
from ...maps import BPF_EXIST, BPF_NOEXIST
from ...spec import MapSpec
from .base import ENOTSUPP
from .sockets import TCP_LISTEN, SocketValues, SockRef, socket_ref

#: a reuseport group: (family, protocol, bound address, port)
Group = tuple[int, int, str, int]


def reuseport_group(fd: int) -> Group | None:
    """The reuseport group of the socket at ``fd``, None when it is in none."""
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if not s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
            return None
        proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        addr = s.getsockname()
        if s.family not in (socket.AF_INET, socket.AF_INET6) or not addr[1]:
            return None
        if proto == socket.IPPROTO_TCP and \
                s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_LISTEN:
            return None  # a TCP socket is hashed (in its group's lookup) once listening
        return s.family, proto, addr[0], addr[1]
    except OSError:
        return None
    finally:
        s.close()


class ReuseportArrayMap(SocketValues):
    """REUSEPORT_SOCKARRAY: reuseport sockets by index."""

    def __init__(self, spec: MapSpec):
        if spec.value_size not in (4, 8) or spec.key_size != 4 or spec.max_entries == 0:
            raise MapError(f"creating map {spec.name!r}: a REUSEPORT_SOCKARRAY has 4-byte "
                           "keys, socket fds of 4 or 8 bytes as values and at least one "
                           "entry", errno.EINVAL)
        super().__init__(spec)
        self._socks: dict[int, SockRef] = {}

    def _index(self, key: bytes) -> int:
        return int.from_bytes(key[:4], "little")

    def sock(self, key: bytes) -> SockRef | None:
        """The socket at ``key`` (None when empty or closed)."""
        i = self._index(key)
        ref = self._socks.get(i)
        if ref is not None and not ref.alive():
            del self._socks[i]
            return None
        return ref

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        if flags > BPF_EXIST:
            return -errno.EINVAL
        i = self._index(key)
        if i >= self.max_entries:
            return -errno.E2BIG
        fd = int.from_bytes(value, "little")
        if fd >= 1 << 31:
            return -errno.EINVAL
        ref = socket_ref(fd)
        if isinstance(ref, int) and ref in (-errno.EBADF, -errno.ENOTSOCK):
            return ref
        there = self.sock(key)
        if there is not None and flags == BPF_NOEXIST:
            return -errno.EEXIST
        if there is None and flags == BPF_EXIST:
            return -errno.ENOENT
        s = socket.socket(fileno=os.dup(fd))
        try:
            proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
            if proto not in (socket.IPPROTO_TCP, socket.IPPROTO_UDP) or \
                    s.family not in (socket.AF_INET, socket.AF_INET6) or \
                    s.type not in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                return -ENOTSUPP
            cookie = int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 57, 8), "little")
            family, type_ = s.family, s.type
        finally:
            s.close()
        if reuseport_group(fd) is None:
            return -errno.EINVAL
        self._socks[i] = SockRef(fd, os.fstat(fd).st_ino, cookie, family, type_,
                                 proto == socket.IPPROTO_TCP)
        return 0

    def prog_delete(self, key: bytes) -> int:
        if self._index(key) >= self.max_entries:
            return -errno.E2BIG
        if self.sock(key) is None:
            return -errno.ENOENT
        del self._socks[self._index(key)]
        return 0

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        i = 0 if key is None or self._index(key) >= self.max_entries else self._index(key) + 1
        return i.to_bytes(4, "little") if i < self.max_entries else None


__all__ = ["Group", "ReuseportArrayMap", "reuseport_group"]
