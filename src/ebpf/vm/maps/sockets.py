"""SOCKMAP and SOCKHASH: sockets of this process, for programs to redirect to.

User space stores a socket by its fd (a 4- or 8-byte value); the map then holds
the socket, not the fd: a lookup gives its cookie (``SO_COOKIE``, 8-byte values
only: ``ENOSPC`` otherwise), and the entry goes when the socket closes. The
kernel's rules for what may go in: a socket at all (``ENOTSOCK``, ``EBADF``), of a
kind with a sockmap protocol (TCP, UDP, unix stream and datagram; else
``EOPNOTSUPP``), in a state it allows (TCP established or listening, UDP bound,
unix stream connected). A SOCKMAP is an array (every index a key, ``E2BIG`` past
the end, ``EINVAL`` to delete an empty slot); a SOCKHASH a hash (``E2BIG`` when
full, ``ENOENT`` to delete a missing key).

The runtime sees the sockets from the outside: one closed while only another
process holds it stays in the map.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import struct
from dataclasses import dataclass

from ...errors import MapError
from ...maps import BPF_EXIST, BPF_NOEXIST
from ...spec import MapSpec
from .base import VMMap, next_key_after

SO_COOKIE = 57
TCP_ESTABLISHED, TCP_LISTEN = 1, 10


@dataclass
class SockRef:
    """A socket the map holds: an fd of this process on it, its inode and cookie."""

    fd: int
    ino: int
    cookie: int
    family: int
    type: int
    tcp: bool

    def alive(self) -> bool:
        """Whether the socket is still open in this process (its fd may have moved)."""
        try:
            if os.fstat(self.fd).st_ino == self.ino:
                return True
        except OSError:
            pass
        want = f"socket:[{self.ino}]"
        try:
            for name in os.listdir("/proc/self/fd"):
                try:
                    if os.readlink(f"/proc/self/fd/{name}") == want:
                        self.fd = int(name)
                        return True
                except OSError:
                    continue
        except OSError:
            pass
        return False

    def state(self) -> int:
        """The socket's TCP-style state (sk_state) as the redirect checks need it."""
        return _state(self.fd, self.family, self.type, self.tcp)


def _state(fd: int, family: int, type_: int, tcp: bool) -> int:
    s = socket.socket(fileno=os.dup(fd))
    try:
        if tcp:
            return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            return TCP_LISTEN
        try:
            s.getpeername()
            return TCP_ESTABLISHED
        except OSError:
            return 7  # TCP_CLOSE
    finally:
        s.close()


def socket_ref(fd: int) -> SockRef | int:
    """The socket behind ``fd`` if a sockmap may hold it, else -errno."""
    try:
        st = os.fstat(fd)
    except OSError:
        return -errno.EBADF
    if not stat.S_ISSOCK(st.st_mode):
        return -errno.ENOTSOCK
    s = socket.socket(fileno=os.dup(fd))
    try:
        family, type_ = s.family, s.type
        proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        cookie = struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]
        inet = family in (socket.AF_INET, socket.AF_INET6)
        tcp = inet and type_ == socket.SOCK_STREAM and proto == socket.IPPROTO_TCP
        udp = inet and type_ == socket.SOCK_DGRAM and proto == socket.IPPROTO_UDP
        unix = family == socket.AF_UNIX and type_ in (socket.SOCK_STREAM, socket.SOCK_DGRAM)
        if not (tcp or udp or unix):
            return -errno.EOPNOTSUPP
        if udp and s.getsockname()[1] == 0:
            return -errno.EOPNOTSUPP  # an unbound UDP socket is not hashed yet
    finally:
        s.close()
    state = _state(fd, family, type_, tcp)
    if tcp and state not in (TCP_ESTABLISHED, TCP_LISTEN):
        return -errno.EOPNOTSUPP
    if unix and type_ == socket.SOCK_STREAM and state != TCP_ESTABLISHED:
        return -errno.EOPNOTSUPP
    return SockRef(fd, st.st_ino, cookie, family, type_, tcp)


class SocketValues(VMMap):
    """A map whose values are sockets (sockmap, sockhash, reuseport array): user
    space looks one up as the socket's cookie."""

    def sock(self, key: bytes) -> SockRef | None:
        """The socket at ``key`` (None when empty or closed)."""
        raise NotImplementedError

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        if self.value_size != 8:
            raise MapError(f"lookup in map {self.name}: only 8-byte values can hold the "
                           "socket's cookie", errno.ENOSPC)
        ref = self.sock(key)
        return None if ref is None else ref.cookie.to_bytes(8, "little")


class _SockMapBase(SocketValues):
    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self._socks: dict[bytes, SockRef] = {}

    def _check_spec(self, spec: MapSpec) -> None:
        if spec.value_size not in (4, 8):
            raise MapError(f"creating map {spec.name!r}: a {spec.type.name} value is a socket "
                           f"fd of 4 or 8 bytes (is {spec.value_size})", errno.EINVAL)

    def _prune(self) -> None:
        for k in [k for k, ref in self._socks.items() if not ref.alive()]:
            del self._socks[k]

    def sock(self, key: bytes) -> SockRef | None:
        """The socket at ``key`` (None when empty or closed)."""
        ref = self._socks.get(bytes(key))
        if ref is not None and not ref.alive():
            del self._socks[bytes(key)]
            return None
        return ref

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        fd = int.from_bytes(value, "little")
        ref = socket_ref(fd if fd < 1 << 31 else -1)
        if isinstance(ref, int):
            return ref
        return self.store_socket(key, ref, flags)

    def store_socket(self, key: bytes, ref: SockRef, flags: int) -> int:
        """Store ``ref`` at ``key`` for a program (bpf_sock_map/hash_update): 0 or -errno."""
        if flags > BPF_EXIST:
            return -errno.EINVAL
        rc = self._place(bytes(key), flags)
        if rc:
            return rc
        self._socks[bytes(key)] = ref
        return 0

    def _place(self, key: bytes, flags: int) -> int:
        raise NotImplementedError


class SockMapMap(_SockMapBase):
    """SOCKMAP: sockets by index (4-byte keys)."""

    def __init__(self, spec: MapSpec):
        self._check_spec(spec)
        if spec.key_size != 4:
            raise MapError(f"creating map {spec.name!r}: SOCKMAP keys are 4-byte indexes",
                           errno.EINVAL)
        super().__init__(spec)

    def _index(self, key: bytes) -> int:
        return int.from_bytes(key[:4], "little")

    def _place(self, key: bytes, flags: int) -> int:
        if self._index(key) >= self.max_entries:
            return -errno.E2BIG
        there = self.sock(key)
        if there is not None and flags == BPF_NOEXIST:
            return -errno.EEXIST
        if there is None and flags == BPF_EXIST:
            return -errno.ENOENT
        return 0

    def prog_delete(self, key: bytes) -> int:
        if self._index(key) >= self.max_entries or self.sock(key) is None:
            return -errno.EINVAL
        del self._socks[bytes(key)]
        return 0

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        i = 0 if key is None or self._index(key) >= self.max_entries else self._index(key) + 1
        return i.to_bytes(4, "little") if i < self.max_entries else None


class SockHashMap(_SockMapBase):
    """SOCKHASH: sockets by key."""

    def __init__(self, spec: MapSpec):
        self._check_spec(spec)
        if spec.key_size <= 0 or spec.key_size > 512:
            raise MapError(f"creating map {spec.name!r}: SOCKHASH keys are 1 to 512 bytes "
                           f"(is {spec.key_size})",
                           errno.E2BIG if spec.key_size > 512 else errno.EINVAL)
        super().__init__(spec)

    def _place(self, key: bytes, flags: int) -> int:
        there = self.sock(key)
        if there is not None and flags == BPF_NOEXIST:
            return -errno.EEXIST
        if there is None and flags == BPF_EXIST:
            return -errno.ENOENT
        if there is None:
            self._prune()
            if len(self._socks) >= self.max_entries:
                return -errno.E2BIG
        return 0

    def prog_delete(self, key: bytes) -> int:
        if self.sock(key) is None:
            return -errno.ENOENT
        del self._socks[bytes(key)]
        return 0

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        self._prune()
        return next_key_after(list(self._socks), key)


__all__ = ["SockHashMap", "SockMapMap", "SockRef", "SocketValues", "socket_ref"]
