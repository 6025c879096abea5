"""Connection-tracking kfuncs of XDP and tc programs, on the runtime's table
(:mod:`ebpf.vm.conntrack`): lookups, allocation and insertion of entries,
their timeout and status, and the references the verifier makes programs release.

The checks and errors are the kernel's (net/netfilter/nf_conntrack_bpf.c): a
lookup or allocation returns NULL and says why in ``opts->error``: ``-EINVAL`` for
an options size other than 12 or 16, non-zero reserved bytes (a zone id in the
12-byte layout), or a netns id below -1; ``-EPROTO`` for a protocol other than TCP
or UDP; ``-EAFNOSUPPORT`` for a tuple that is neither an IPv4 nor an IPv6 one;
``-ENONET`` for a netns id of a peer namespace (the runtime knows none);
``-ENOENT`` when no entry matches. The error is written only when the options
reach past it (the kernel's fix for short options).
"""

from __future__ import annotations

import errno
import socket
import threading

from ..._internal.ints import s32
from ...errors import RuntimeFault
from ..conntrack import (
    CONNTRACK,
    IPS_ASSURED,
    IPS_CONFIRMED,
    IPS_DYING,
    IPS_EXPECTED,
    IPS_FIXED_TIMEOUT,
    IPS_SEEN_REPLY,
    IPS_UNCHANGEABLE_MASK,
    ZONE_DIR_DEFAULT,
    Connection,
    Tuple,
    msecs_to_jiffies,
)
from ..run import Run
from .table import kfunc, neg

#: NF_BPF_CT_OPTS_SZ and the size before zones came
OPTS_SIZE, OPTS_OLD_SIZE = 16, 12
#: sizes of struct bpf_sock_tuple's ipv4 and ipv6 members
TUPLE4, TUPLE6 = 12, 36
#: seconds an allocated entry lives unless the program sets its timeout
ALLOC_TIMEOUT = 10

#: entries programs hold references to, by nf_conn address
_HELD: dict[int, Connection] = {}
_HELD_LOCK = threading.Lock()


def _hold(conn: Connection) -> int:
    with _HELD_LOCK:
        conn.refs += 1
        _HELD[conn.address] = conn
    return conn.address


def _held(addr: int, what: str) -> Connection:
    with _HELD_LOCK:
        conn = _HELD.get(addr)
    if conn is None:
        raise RuntimeFault(f"{what}: {addr:#x} is no nf_conn the program holds")
    return conn


def _put(addr: int) -> None:
    """Drop a reference (``nf_ct_put``): the last one frees an entry the table
    does not have (an allocation never inserted, an entry since expired)."""
    with _HELD_LOCK:
        conn = _HELD.get(addr)
        if conn is None:
            return
        conn.refs -= 1
        if conn.refs > 0:
            return
        del _HELD[addr]
    if not conn.in_table:
        conn.free()


def _parse(run: Run, tuple_addr: int, tuple_size: int, opts: int, opts_size: int,
           alloc: bool) -> tuple[Tuple, int, int] | int:
    """(tuple, zone id, zone directions) from the program's arguments, or -errno."""
    if not tuple_addr:
        return -errno.EINVAL
    if opts_size not in (OPTS_SIZE, OPTS_OLD_SIZE):
        return -errno.EINVAL
    raw = run.mem.read(opts, opts_size)
    netns_id = s32(int.from_bytes(raw[0:4], "little"))
    l4proto = raw[8]
    zone_id = int.from_bytes(raw[10:12], "little")
    if opts_size == OPTS_SIZE and any(raw[13:16]):
        return -errno.EINVAL
    if opts_size == OPTS_OLD_SIZE and zone_id:
        return -errno.EINVAL
    checks = ((netns_id < -1, errno.EINVAL), (l4proto not in (6, 17), errno.EPROTO))
    for bad, e in (checks if alloc else checks[::-1]):
        if bad:
            return -e
    if tuple_size == TUPLE4:
        t = run.mem.read(tuple_addr, TUPLE4)
        fam, src, dst, ports = socket.AF_INET, t[0:4], t[4:8], t[8:12]
    elif tuple_size == TUPLE6:
        t = run.mem.read(tuple_addr, TUPLE6)
        fam, src, dst, ports = socket.AF_INET6, t[0:16], t[16:32], t[32:36]
    else:
        return -errno.EAFNOSUPPORT
    if netns_id >= 0:
        return -errno.ENONET   # no peer namespace has an id the runtime knows
    zone_dir = ZONE_DIR_DEFAULT
    if opts_size == OPTS_SIZE:
        zone_dir = raw[12]
        if zone_dir == 0:
            zone_dir = ZONE_DIR_DEFAULT
            run.mem.write(opts + 12, bytes([zone_dir]))
    sport, dport = int.from_bytes(ports[0:2], "big"), int.from_bytes(ports[2:4], "big")
    return (fam, l4proto, bytes(src), sport, bytes(dst), dport), zone_id, zone_dir


def _fail(run: Run, opts: int, opts_size: int, err: int) -> int:
    if opts and opts_size >= 8:
        run.mem.write(opts + 4, (err & 0xFFFF_FFFF).to_bytes(4, "little"))
    return 0


def _entry(run: Run, tuple_addr, tuple_size, opts, opts_size, alloc: bool) -> int:
    """bpf_*_ct_lookup (the entry one of whose directions is the tuple) or, with
    ``alloc``, bpf_*_ct_alloc (a new entry, not in the table yet): referenced, or
    NULL with ``opts->error`` set."""
    if not opts:
        return 0
    tuple_size, opts_size = tuple_size & 0xFFFF_FFFF, opts_size & 0xFFFF_FFFF
    parsed = _parse(run, tuple_addr, tuple_size, opts, opts_size, alloc=alloc)
    if isinstance(parsed, int):
        return _fail(run, opts, opts_size, parsed)
    t, zone_id, zone_dir = parsed
    if alloc:
        conn = Connection(t, zone_id, zone_dir)
        conn.set_timeout(ALLOC_TIMEOUT * 250)
        return _hold(conn)
    found = CONNTRACK.lookup(t, zone_id, zone_dir)
    if found is None:
        return _fail(run, opts, opts_size, -errno.ENOENT)
    conn, direction = found
    run.mem.write(opts + 9, bytes([direction]))
    return _hold(conn)


@kfunc("bpf_xdp_ct_lookup")
def xdp_ct_lookup(run: Run, ctx, tuple_addr, tuple_size, opts, opts_size):
    """The entry one of whose directions is the tuple, referenced (release it
    with bpf_ct_release), or NULL with ``opts->error`` set."""
    return _entry(run, tuple_addr, tuple_size, opts, opts_size, alloc=False)


@kfunc("bpf_skb_ct_lookup")
def skb_ct_lookup(run: Run, ctx, tuple_addr, tuple_size, opts, opts_size):
    return _entry(run, tuple_addr, tuple_size, opts, opts_size, alloc=False)


@kfunc("bpf_xdp_ct_alloc")
def xdp_ct_alloc(run: Run, ctx, tuple_addr, tuple_size, opts, opts_size):
    """A new, unconfirmed entry for the tuple (10 s timeout), for the program to
    set up and insert (bpf_ct_insert_entry) or release."""
    return _entry(run, tuple_addr, tuple_size, opts, opts_size, alloc=True)


@kfunc("bpf_skb_ct_alloc")
def skb_ct_alloc(run: Run, ctx, tuple_addr, tuple_size, opts, opts_size):
    return _entry(run, tuple_addr, tuple_size, opts, opts_size, alloc=True)


@kfunc("bpf_ct_insert_entry")
def ct_insert_entry(run: Run, ct, *_):
    """Confirm an allocated entry into the table: the entry, still referenced,
    or NULL (the allocation freed) when its tuple is taken."""
    conn = _held(ct, "bpf_ct_insert_entry")
    if CONNTRACK.insert(conn):
        _put(ct)
        return 0
    return ct


@kfunc("bpf_ct_release")
def ct_release(run: Run, ct, *_):
    if ct:
        _put(ct)
    return 0


@kfunc("bpf_ct_set_timeout")
def ct_set_timeout(run: Run, ct, ms, *_):
    """Timeout of an allocated entry, in milliseconds."""
    _held(ct, "bpf_ct_set_timeout").set_timeout(msecs_to_jiffies(ms & 0xFFFF_FFFF))
    return 0


@kfunc("bpf_ct_change_timeout")
def ct_change_timeout(run: Run, ct, ms, *_):
    """New timeout of an entry: -EPERM for a fixed one, -ETIME for a dying one."""
    conn = _held(ct, "bpf_ct_change_timeout")
    if conn.status & IPS_FIXED_TIMEOUT:
        return neg(errno.EPERM)
    conn.set_timeout(msecs_to_jiffies(ms & 0xFFFF_FFFF))
    return neg(errno.ETIME) if conn.status & IPS_DYING else 0


def _change_status(conn: Connection, status: int) -> int:
    """``nf_ct_change_status_common``: EXPECTED, CONFIRMED and DYING cannot
    change, SEEN_REPLY and ASSURED can only be set (-EBUSY); the other bits of
    IPS_UNCHANGEABLE_MASK stay as they are."""
    status &= 0xFFFF_FFFF
    d = conn.status ^ status
    if d & (IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING):
        return neg(errno.EBUSY)
    for bit in (IPS_SEEN_REPLY, IPS_ASSURED):
        if d & bit and not status & bit:
            return neg(errno.EBUSY)
    keep = conn.status & IPS_UNCHANGEABLE_MASK
    conn.status = keep | (status & ~IPS_UNCHANGEABLE_MASK)
    return 0


@kfunc("bpf_ct_set_status")
def ct_set_status(run: Run, ct, status, *_):
    return _change_status(_held(ct, "bpf_ct_set_status"), status)


@kfunc("bpf_ct_change_status")
def ct_change_status(run: Run, ct, status, *_):
    return _change_status(_held(ct, "bpf_ct_change_status"), status)
