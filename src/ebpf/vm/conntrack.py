"""The runtime's connection-tracking table: what the conntrack kfuncs
(``bpf_xdp_ct_lookup``, ``bpf_skb_ct_lookup``, ``bpf_*_ct_alloc``,
``bpf_ct_insert_entry``...) look up and insert into.

The vm has no netfilter: its table holds what the user puts in it
(:meth:`ConntrackTable.add`) and what programs insert, in one table for the
process (the kernel keeps one per network namespace; the vm's programs all run in
the calling thread's). Each entry is a :class:`Connection` whose memory *is* the
``struct nf_conn`` a program reads: status, timeout (an absolute jiffies deadline
once confirmed, as the kernel keeps it), mark, zone and both directions' tuples
at the running kernel's offsets (its BTF; this kernel's layout without one). A
program's writes to ``ct->mark`` are the entry's.

As the kernel's, an entry past its deadline is found no more (and leaves the
table), a lookup matches either direction's tuple (``opts->dir`` says which) in
the zone asked for, and an insert whose tuple (either direction) is taken fails.

>>> from ebpf.vm import CONNTRACK
>>> c = CONNTRACK.add("tcp", "10.0.0.1", 40000, "10.0.0.2", 80, timeout=30)
>>> CONNTRACK.find("tcp", "10.0.0.2", 80, "10.0.0.1", 40000) == (c, 1)
True
>>> CONNTRACK.remove(c)
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..errors import MapError
from .memory import GLOBAL, Region

#: status bits (linux/netfilter/nf_conntrack_common.h)
IPS_EXPECTED, IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED = 1, 2, 4, 8
IPS_SRC_NAT, IPS_DST_NAT, IPS_SEQ_ADJUST = 16, 32, 64
IPS_SRC_NAT_DONE, IPS_DST_NAT_DONE, IPS_DYING, IPS_FIXED_TIMEOUT = 128, 256, 512, 1024
IPS_TEMPLATE, IPS_UNTRACKED, IPS_OFFLOAD, IPS_HW_OFFLOAD = 2048, 4096, 16384, 32768
#: bits a status change leaves alone (IPS_UNCHANGEABLE_MASK)
IPS_UNCHANGEABLE_MASK = (IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE | IPS_SRC_NAT | IPS_DST_NAT
                         | IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING | IPS_SEQ_ADJUST
                         | IPS_TEMPLATE | IPS_UNTRACKED | IPS_OFFLOAD | IPS_HW_OFFLOAD)
#: a zone applies to both directions by default (NF_CT_DEFAULT_ZONE_DIR)
ZONE_DIR_DEFAULT = 3
#: the jiffies rate of the runtime (as ``bpf_jiffies64``)
HZ = 250
_INT_MAX = (1 << 31) - 1


def jiffies() -> int:
    """The runtime's jiffies (``bpf_jiffies64``'s clock)."""
    return time.monotonic_ns() * HZ // 1_000_000_000


def msecs_to_jiffies(ms: int) -> int:
    return (ms * HZ + 999) // 1000


class Layout:
    """Offsets of ``struct nf_conn`` members the runtime fills in."""

    def __init__(self) -> None:
        # this kernel's layout (Linux 6.18, x86-64), used without kernel BTF
        self.size, self.timeout, self.zone, self.status, self.mark = 248, 8, 12, 128, 168
        self.tuple = (32, 88)
        self.src_u3, self.src_port, self.l3num = 0, 16, 18
        self.dst_u3, self.dst_port, self.protonum, self.dir = 20, 36, 38, 39
        try:
            self._from_btf()
        except Exception:  # noqa: BLE001 - no kernel BTF (or another shape): the defaults
            pass

    def _from_btf(self) -> None:
        from .. import btf as B

        spec = B.load_kernel_btf()
        conn: Any = spec.type_by_name("nf_conn", "struct")

        def at(t: Any, path: str) -> tuple[int, Any]:
            off = 0
            for name in path.split("."):
                m = t.member(name)
                off += m.offset // 8
                t = B.resolve(m.type)
            return off, t

        th_off, th = at(conn, "tuplehash")
        elem: Any = B.resolve(th.type)
        t_off, tup = at(elem, "tuple")
        self.size = conn.size
        self.timeout = at(conn, "timeout")[0]
        self.zone = at(conn, "zone")[0]
        self.status = at(conn, "status")[0]
        self.mark = at(conn, "mark")[0]
        self.tuple = (th_off + t_off, th_off + elem.size + t_off)
        self.src_u3, self.src_port = at(tup, "src.u3")[0], at(tup, "src.u")[0]
        self.l3num = at(tup, "src.l3num")[0]
        self.dst_u3, self.dst_port = at(tup, "dst.u3")[0], at(tup, "dst.u")[0]
        self.protonum, self.dir = at(tup, "dst.protonum")[0], at(tup, "dst.dir")[0]


_LAYOUT: Layout | None = None


def layout() -> Layout:
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = Layout()
    return _LAYOUT


def _proto(p: str | int) -> int:
    if isinstance(p, str):
        return {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}[p.lower()]
    return int(p)


def _addr(a: str | bytes) -> bytes:
    return a if isinstance(a, bytes) else ipaddress.ip_address(a).packed


#: a tuple: (family, protocol, source address, source port, destination address,
#: destination port); addresses packed (4 or 16 bytes), ports in host order
Tuple = tuple[int, int, bytes, int, bytes, int]


class Connection:
    """One entry: its ``struct nf_conn`` lives at :attr:`address` in the runtime."""

    def __init__(self, orig: Tuple, zone: int = 0, zone_dir: int = ZONE_DIR_DEFAULT) -> None:
        L = layout()
        self.orig = orig
        fam, proto, src, sport, dst, dport = orig
        self.reply: Tuple = (fam, proto, dst, dport, src, sport)
        self.buf = bytearray(L.size)
        self.region: Region | None = GLOBAL.allocate(self.buf, "nf_conn (vm conntrack)", writable=True)
        self.address = self.region.base
        #: references programs hold (lookups, allocations not yet released)
        self.refs = 0
        self.in_table = False
        z = zone.to_bytes(2, "little") + b"\0" + bytes([zone_dir])
        self.buf[L.zone:L.zone + 4] = z
        for d, t in enumerate((self.orig, self.reply)):
            base = L.tuple[d]
            f, p, s, sp, ds, dp = t
            self.buf[base + L.src_u3:base + L.src_u3 + len(s)] = s
            self.buf[base + L.src_port:base + L.src_port + 2] = sp.to_bytes(2, "big")
            self.buf[base + L.l3num:base + L.l3num + 2] = f.to_bytes(2, "little")
            self.buf[base + L.dst_u3:base + L.dst_u3 + len(ds)] = ds
            self.buf[base + L.dst_port:base + L.dst_port + 2] = dp.to_bytes(2, "big")
            self.buf[base + L.protonum] = p
            self.buf[base + L.dir] = d

    def free(self) -> None:
        """Unmap the ``nf_conn`` (no program holds it, the table has it no more)."""
        if self.region is not None:
            GLOBAL.free(self.region)
            self.region = None

    def _get(self, off: int, size: int) -> int:
        return int.from_bytes(self.buf[off:off + size], "little")

    def _set(self, off: int, size: int, v: int) -> None:
        self.buf[off:off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    status = property(lambda self: self._get(layout().status, 8),
                      lambda self, v: self._set(layout().status, 8, v),
                      doc="``IPS_*`` bits")
    mark = property(lambda self: self._get(layout().mark, 4),
                    lambda self, v: self._set(layout().mark, 4, v), doc="``ct->mark``")
    #: the raw ``ct->timeout``: jiffies left while unconfirmed, then a jiffies deadline
    raw_timeout = property(lambda self: self._get(layout().timeout, 4),
                           lambda self, v: self._set(layout().timeout, 4, v))

    @property
    def zone(self) -> tuple[int, int]:
        """(zone id, the directions it applies to)."""
        L = layout()
        return self._get(L.zone, 2), self.buf[L.zone + 3]

    @property
    def confirmed(self) -> bool:
        return bool(self.status & IPS_CONFIRMED)

    @property
    def expires_in(self) -> float:
        """Seconds until the entry expires (negative once it has)."""
        left = self.raw_timeout if not self.confirmed else \
            _s32(self.raw_timeout - jiffies())
        return left / HZ

    def set_timeout(self, ticks: int) -> None:
        """``__nf_ct_set_timeout``: relative until confirmed, then a deadline."""
        ticks = min(ticks, _INT_MAX)
        self.raw_timeout = jiffies() + ticks if self.confirmed else ticks

    def expired(self) -> bool:
        return self.confirmed and _s32(self.raw_timeout - jiffies()) <= 0

    def zone_id(self, direction: int) -> int:
        zid, zdir = self.zone
        return zid if zdir & (1 << direction) else 0

    def __repr__(self) -> str:
        f, p, s, sp, d, dp = self.orig
        return (f"<Connection proto={p} {ipaddress.ip_address(s)}:{sp} -> "
                f"{ipaddress.ip_address(d)}:{dp} status={self.status:#x} mark={self.mark}>")


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v & 0x8000_0000 else v


class ConntrackTable:
    """The table of confirmed entries, keyed by each direction's tuple."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_tuple: dict[Tuple, list[tuple[Connection, int]]] = {}

    def add(self, proto: str | int, src: str | bytes, sport: int, dst: str | bytes,
            dport: int, *, timeout: float = 120.0, status: int = 0, mark: int = 0,
            zone: int = 0, zone_dir: int = ZONE_DIR_DEFAULT) -> Connection:
        """Put a confirmed connection in the table (``timeout`` in seconds), as a
        packet through netfilter would have; raises MapError when its tuple (or
        its reply's) is taken."""
        s, d = _addr(src), _addr(dst)
        if len(s) != len(d):
            raise MapError("conntrack entry: source and destination of different families")
        fam = socket.AF_INET if len(s) == 4 else socket.AF_INET6
        conn = Connection((fam, _proto(proto), s, sport, d, dport), zone, zone_dir)
        conn.status = status & ~IPS_CONFIRMED
        conn.mark = mark
        conn.set_timeout(int(timeout * HZ))
        if self.insert(conn):
            raise MapError(f"conntrack entry {conn!r} exists")
        return conn

    def insert(self, conn: Connection) -> int:
        """Confirm ``conn`` into the table (``nf_conntrack_hash_check_insert``):
        0, or -EEXIST when either direction's tuple is taken in its zone."""
        import errno

        zid, zdir = conn.zone
        with self._lock:
            for t in (conn.orig, conn.reply):
                if self._lookup(t, zid, zdir) is not None:
                    return -errno.EEXIST
            left = conn.raw_timeout
            conn.status |= IPS_CONFIRMED
            conn.raw_timeout = jiffies() + left
            for d, t in enumerate((conn.orig, conn.reply)):
                self._by_tuple.setdefault(t, []).append((conn, d))
            conn.in_table = True
        return 0

    def lookup(self, t: Tuple, zone_id: int = 0, zone_dir: int = ZONE_DIR_DEFAULT
               ) -> tuple[Connection, int] | None:
        """The live entry one of whose directions is ``t`` in the zone, and which
        direction (``nf_conntrack_find_get``)."""
        with self._lock:
            return self._lookup(t, zone_id, zone_dir)

    def _lookup(self, t: Tuple, zone_id: int, zone_dir: int) -> tuple[Connection, int] | None:
        for conn, d in list(self._by_tuple.get(t, ())):
            if conn.expired():
                self._drop(conn)
                continue
            # the zones compare as seen from the direction found (nf_ct_zone_equal)
            if conn.zone_id(d) == (zone_id if zone_dir & (1 << d) else 0):
                return conn, d
        return None

    def find(self, proto: str | int, src: str | bytes, sport: int, dst: str | bytes,
             dport: int, zone: int = 0) -> tuple[Connection, int] | None:
        """:meth:`lookup` with addresses as text."""
        s, d = _addr(src), _addr(dst)
        fam = socket.AF_INET if len(s) == 4 else socket.AF_INET6
        return self.lookup((fam, _proto(proto), s, sport, d, dport), zone)

    def _drop(self, conn: Connection) -> None:
        conn.in_table = False
        if conn.refs <= 0:
            conn.free()
        for t in (conn.orig, conn.reply):
            rows = [x for x in self._by_tuple.get(t, ()) if x[0] is not conn]
            if rows:
                self._by_tuple[t] = rows
            else:
                self._by_tuple.pop(t, None)

    def remove(self, conn: Connection) -> None:
        """Delete an entry (as ``conntrack -D``); programs holding it keep reading it."""
        with self._lock:
            self._drop(conn)

    def clear(self) -> None:
        with self._lock:
            for conn in {id(c): c for rows in self._by_tuple.values() for c, _ in rows}.values():
                conn.in_table = False
                if conn.refs <= 0:
                    conn.free()
            self._by_tuple.clear()

    def __iter__(self) -> Iterator[Connection]:
        with self._lock:
            seen: dict[int, Connection] = {}
            for rows in self._by_tuple.values():
                for conn, _ in rows:
                    if not conn.expired():
                        seen.setdefault(id(conn), conn)
        return iter(list(seen.values()))

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: the runtime's table (one, as the calling thread's network namespace has one)
CONNTRACK = ConntrackTable()

__all__ = ["CONNTRACK", "Connection", "ConntrackTable"]
