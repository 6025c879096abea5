"""Helper functions of the runtime, by the kernel's ids (``ebpf.HelperId``).

Each helper is ``fn(run, r1, r2, r3, r4, r5) -> int`` and behaves as its kernel
counterpart: the same return values and negative errnos, faults of
``bpf_probe_read*`` returned as ``-EFAULT`` (never a crash), and so on. Bad
arguments the kernel verifier would have refused (a pointer that is no map, a
buffer outside every region) raise :class:`ebpf.RuntimeFault`.

``HELPERS`` is the table; :func:`supported` answers the load-time check.
"""

from __future__ import annotations

import collections
import errno
import itertools
import logging
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable

from ..errors import RuntimeFault
from ..uapi import HelperId as H
from .code import CODE_BASE
from .memory import M64, MAP_HANDLES, SCRATCH_BASE, Region
from .run import MAX_TAIL_CALLS, Redirect, Run, TailCall

log = logging.getLogger("ebpf.vm")
trace_log = logging.getLogger("ebpf.vm.trace")

#: the last trace_printk lines of every program (``ebpf trace`` on the vm reads it)
TRACE: collections.deque[str] = collections.deque(maxlen=10_000)

HELPERS: dict[int, Callable[..., int]] = {}

BPF_F_CURRENT_CPU = 0xFFFF_FFFF
BPF_F_INGRESS = 1
XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
TC_ACT_SHOT = 2
TC_ACT_REDIRECT = 7
#: jiffies are counted at this rate (CONFIG_HZ of common distribution kernels)
HZ = 250


def helper(hid: H) -> Callable:
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        HELPERS[int(hid)] = fn
        fn.helper_id = int(hid)
        return fn
    return deco


def supported(hid: int) -> bool:
    return hid in HELPERS


#: kfuncs the runtime provides, by name: each runs as a helper with an id of
#: the runtime's own (``KFUNC_BASE`` and up); the loader rewrites kfunc calls
KFUNCS: dict[str, int] = {}
KFUNC_BASE = 0x4000_0000


#: where kfunc "addresses" (an lddw of a kfunc, as bpf_ksym_exists does) point
KFUNC_ADDR_BASE = 0xFFFF_FFFF_8000_0000
#: helper ids standing for calls to missing __weak kfuncs, by name
_MISSING_KFUNCS: dict[str, int] = {}
MISSING_KFUNC_BASE = 0x3000_0000


def missing_kfunc(name: str) -> int:
    """The helper id of a call to ``name``, a ``__weak`` kfunc the runtime does
    not provide: the call faults if reached."""
    hid = _MISSING_KFUNCS.get(name)
    if hid is None:
        hid = _MISSING_KFUNCS.setdefault(name, MISSING_KFUNC_BASE + len(_MISSING_KFUNCS))

        def missing(run: Run, *_):
            raise RuntimeFault(f"called kfunc {name}, which the vm does not provide (a __weak "
                               "ksym: guard the call with bpf_ksym_exists())")
        missing.__name__ = f"missing_{name}"
        HELPERS[hid] = missing
    return hid


def kfunc(name: str) -> Callable:
    """Register a kfunc (``fn(run, r1..r5) -> int`` like a helper)."""
    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        hid = KFUNCS.setdefault(name, KFUNC_BASE + len(KFUNCS))
        HELPERS[hid] = fn
        fn.helper_id = hid
        return fn
    return deco


def neg(e: int) -> int:
    """-errno as the unsigned 64-bit value a program sees in r0."""
    return -e & M64


def s64(x: int) -> int:
    return x - (1 << 64) if x >> 63 else x


def get_map(run: Run, addr: int, what: str = "map"):
    from .maps import VMMap

    m = MAP_HANDLES.get(addr)
    if not isinstance(m, VMMap):
        raise RuntimeFault(f"{what} argument {addr:#x} is not a map pointer")
    if m._closed:
        raise RuntimeFault(f"map {m.name} is closed")
    return m


# ---- maps ---------------------------------------------------------------------
@helper(H.map_lookup_elem)
def map_lookup_elem(run: Run, map_, key, *_):
    m = get_map(run, map_)
    return m.prog_lookup(run.mem.read(key, m.key_size), run.cpu)


@helper(H.map_update_elem)
def map_update_elem(run: Run, map_, key, value, flags, *_):
    m = get_map(run, map_)
    return neg(-m.prog_update(run.mem.read(key, m.key_size), run.mem.read(value, m.value_size),
                              flags, run.cpu))


@helper(H.map_delete_elem)
def map_delete_elem(run: Run, map_, key, *_):
    m = get_map(run, map_)
    return neg(-m.prog_delete(run.mem.read(key, m.key_size)))


@helper(H.map_push_elem)
def map_push_elem(run: Run, map_, value, flags, *_):
    m = get_map(run, map_)
    return neg(-m.prog_push(run.mem.read(value, m.value_size), flags))


def _pop(run: Run, map_: int, value: int, peek: bool) -> int:
    from .maps import BloomFilterMap

    m = get_map(run, map_)
    if isinstance(m, BloomFilterMap):
        if not peek:
            return neg(errno.EOPNOTSUPP)
        return 0 if m.contains(run.mem.read(value, m.value_size)) else neg(errno.ENOENT)
    v = m.prog_pop(peek)
    if isinstance(v, int):
        return neg(-v)
    run.mem.write(value, v)
    return 0


@helper(H.map_pop_elem)
def map_pop_elem(run: Run, map_, value, *_):
    return _pop(run, map_, value, False)


@helper(H.map_peek_elem)
def map_peek_elem(run: Run, map_, value, *_):
    return _pop(run, map_, value, True)


@helper(H.map_lookup_percpu_elem)
def map_lookup_percpu_elem(run: Run, map_, key, cpu, *_):
    m = get_map(run, map_)
    return m.prog_lookup_cpu(run.mem.read(key, m.key_size), cpu)


@helper(H.for_each_map_elem)
def for_each_map_elem(run: Run, map_, callback, ctx, flags, *_):
    from .maps import ArrayMap, HashMap

    if flags:
        return neg(errno.EINVAL)
    m = get_map(run, map_)
    slot = _callback_slot(run, callback)
    if isinstance(m, ArrayMap):
        items = [(i.to_bytes(4, "little"), m.prog_lookup(i.to_bytes(4, "little"), run.cpu))
                 for i in range(m.max_entries)]
    elif isinstance(m, HashMap):
        items = [(k, m.prog_lookup(k, run.cpu)) for k, _ in m.for_each()]
    else:
        return neg(errno.EINVAL)
    count = 0
    keybuf = bytearray(max(m.key_size, 1))
    region = run.mem.add_local(Region(SCRATCH_BASE - 0x1000, keybuf, "for_each key",
                                      writable=False))
    try:
        for key, vaddr in items:
            if not vaddr:
                continue
            keybuf[:len(key)] = key
            count += 1
            rc = run.call_function(run.program.code, slot, (map_, region.base, vaddr, ctx))
            if rc:
                break
    finally:
        run.mem.remove_local(region)
    return count


def _callback_slot(run: Run, addr: int) -> int:
    slot = (addr - CODE_BASE) // 8
    if addr < CODE_BASE or (addr - CODE_BASE) % 8 or slot not in run.program.code.functions:
        raise RuntimeFault(f"callback {addr:#x} is not a function of the program")
    return slot


@helper(H.loop)
def bpf_loop(run: Run, nr_loops, callback, ctx, flags, *_):
    if flags:
        return neg(errno.EINVAL)
    if nr_loops > 1 << 23:
        # the verifier inlines bpf_loop; its inlined code sets a 32-bit -E2BIG
        return -errno.E2BIG & 0xFFFF_FFFF
    slot = _callback_slot(run, callback)
    code = run.program.code
    for i in range(nr_loops):
        if run.budget < 0:
            raise RuntimeFault("instruction budget exhausted in bpf_loop callbacks")
        if run.call_function(code, slot, (i, ctx)):
            return i + 1
    return nr_loops


@helper(H.tail_call)
def tail_call(run: Run, ctx, map_, index, *_):
    from .maps import ProgArrayMap

    m = get_map(run, map_, "prog_array")
    if not isinstance(m, ProgArrayMap):
        raise RuntimeFault(f"bpf_tail_call on map {m.name}, which is not a PROG_ARRAY")
    prog = m.slot(index & 0xFFFF_FFFF)
    if prog is None or run.tail_calls >= MAX_TAIL_CALLS:
        return neg(errno.ENOENT)
    run.tail_calls += 1
    raise TailCall(prog, ctx)


# ---- time, ids, randomness ------------------------------------------------------
@helper(H.ktime_get_ns)
def ktime_get_ns(run: Run, *_):
    return time.monotonic_ns()


@helper(H.ktime_get_boot_ns)
def ktime_get_boot_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


@helper(H.ktime_get_coarse_ns)
def ktime_get_coarse_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_MONOTONIC_COARSE", time.CLOCK_MONOTONIC))


@helper(H.ktime_get_tai_ns)
def ktime_get_tai_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_TAI", time.CLOCK_REALTIME))


@helper(H.jiffies64)
def jiffies64(run: Run, *_):
    return time.monotonic_ns() * HZ // 1_000_000_000


@helper(H.get_prandom_u32)
def get_prandom_u32(run: Run, *_):
    return random.getrandbits(32)


@helper(H.get_smp_processor_id)
def get_smp_processor_id(run: Run, *_):
    return run.cpu


@helper(H.get_numa_node_id)
def get_numa_node_id(run: Run, *_):
    return 0


@helper(H.get_current_pid_tgid)
def get_current_pid_tgid(run: Run, *_):
    return (os.getpid() << 32) | threading.get_native_id()


@helper(H.get_current_uid_gid)
def get_current_uid_gid(run: Run, *_):
    return (os.getgid() << 32) | os.getuid()


def _comm() -> bytes:
    try:
        with open("/proc/self/comm", "rb") as f:
            return f.read().strip()[:15]
    except OSError:
        import sys

        return os.path.basename(sys.argv[0] or "python").encode()[:15]


@helper(H.get_current_comm)
def get_current_comm(run: Run, buf, size, *_):
    if size == 0:
        return neg(errno.EINVAL)
    run.mem.zero(buf, size)
    run.mem.write(buf, _comm()[:size - 1])
    return 0


# ---- memory reads ---------------------------------------------------------------
#: the kernel refuses kernel-memory reads from the user half with -ERANGE (x86-64)
USER_HALF_END = 1 << 47


def _fault_errno(src: int, kernel: bool) -> int:
    return neg(errno.ERANGE if kernel and src < USER_HALF_END else errno.EFAULT)


def _probe_read(run: Run, dst: int, size: int, src: int, kernel: bool = False) -> int:
    if size == 0:
        return 0
    region = run.mem.find(src, size)
    if region is None:
        run.mem.zero(dst, size)
        return _fault_errno(src, kernel)
    i = src - region.delta
    run.mem.write(dst, bytes(region.buf[i:i + size]))
    return 0


def _probe_read_str(run: Run, dst: int, size: int, src: int, kernel: bool = False) -> int:
    if size == 0:
        return 0
    if run.mem.find(src, 1) is None:
        run.mem.zero(dst, size)
        return _fault_errno(src, kernel)
    s = run.mem.read_str(src, size - 1)
    run.mem.write(dst, s + b"\0")
    return len(s) + 1


for _hid in (H.probe_read, H.probe_read_user):
    HELPERS[int(_hid)] = lambda run, dst, size, src, *_: _probe_read(run, dst, size, src)
for _hid in (H.probe_read_str, H.probe_read_user_str):
    HELPERS[int(_hid)] = lambda run, dst, size, src, *_: _probe_read_str(run, dst, size, src)
HELPERS[int(H.probe_read_kernel)] = \
    lambda run, dst, size, src, *_: _probe_read(run, dst, size, src, True)
HELPERS[int(H.probe_read_kernel_str)] = \
    lambda run, dst, size, src, *_: _probe_read_str(run, dst, size, src, True)


# ---- printing -------------------------------------------------------------------
_SPEC = re.compile(rb"%([-+ #0]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXpcs%])(K|s|x|S|B)?")


def format_printk(run: Run, fmt: bytes, args: list[int], limit: int = 3) -> str:
    """Format like the kernel's bpf_trace_printk/bpf_snprintf: %d %i %u %x %X
    %ld %lld %lu %llx %p %s %c %% with flags and width."""
    out = []
    pos = 0
    used = 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()].decode(errors="replace"))
        pos = m.end()
        flags, width, prec, length, conv, ext = (g.decode() if g else "" for g in m.groups())
        if conv == "%":
            out.append("%")
            continue
        if used >= len(args) or used >= limit:
            raise RuntimeFault(f"format {fmt!r} uses more arguments than given")
        arg = args[used] & M64
        used += 1
        if conv == "p":
            text = f"{arg:016x}" if ext == "x" else f"0x{arg:x}"
        elif conv == "s":
            region = run.mem.find(arg, 1)
            # an unreadable string prints as empty, as in the kernel
            text = run.mem.read_str(arg, 1024).decode(errors="replace") if region else ""
        elif conv == "c":
            text = chr(arg & 0xFF)
        else:
            bits = 64 if length in ("l", "ll", "z") else 16 if length == "h" else \
                8 if length == "hh" else 32
            v = arg & ((1 << bits) - 1)
            if conv in "di" and v >> (bits - 1):
                v -= 1 << bits
            base = {"x": "x", "X": "X"}.get(conv, "d")
            text = format(v, ("#" if "#" in flags else "") + base)
        if width:
            w = int(width)
            if "-" in flags:
                text = text.ljust(w)
            elif "0" in flags and conv not in "sc":
                sign = "-" if text.startswith("-") else ""
                text = sign + text[len(sign):].rjust(w - len(sign), "0")
            else:
                text = text.rjust(w)
        out.append(text)
    out.append(fmt[pos:].decode(errors="replace"))
    return "".join(out)


@helper(H.trace_printk)
def trace_printk(run: Run, fmt, fmt_size, a1, a2, a3):
    raw = run.mem.read(fmt, fmt_size)
    raw = raw.split(b"\0", 1)[0]
    text = format_printk(run, raw, [a1, a2, a3])
    name = getattr(run.program, "name", "?")
    line = text.rstrip("\n")
    run.trace.append(line)
    TRACE.append(f"{name}: {line}")
    trace_log.info("%s: %s", name, line)
    return len(text.encode())


@helper(H.snprintf)
def bpf_snprintf(run: Run, out, out_size, fmt, data, data_len):
    if data_len % 8 or data_len > 8 * 12:
        return neg(errno.EINVAL)
    raw = run.mem.read_str(fmt, 4096)
    args = [int.from_bytes(run.mem.read(data + 8 * i, 8), "little") for i in range(data_len // 8)]
    text = format_printk(run, raw, args, limit=12).encode()
    if out_size:
        chunk = text[:out_size - 1] + b"\0"
        run.mem.write(out, chunk)
    return len(text) + 1


def _strto(run: Run, buf: int, buf_len: int, flags: int, res: int, signed: bool) -> int:
    if flags & ~0x1F or flags not in (0, 8, 10, 16) or buf_len == 0:
        return neg(errno.EINVAL)
    raw = run.mem.read(buf, buf_len).split(b"\0", 1)[0].decode("latin-1")
    i = 0
    while i < len(raw) and raw[i].isspace():
        i += 1
    negative = False
    if i < len(raw) and raw[i] == "-":
        if not signed:
            return neg(errno.EINVAL)
        negative = True
        i += 1
    base = flags
    if base in (0, 16) and raw[i:i + 2].lower() == "0x" and i + 2 < len(raw) and \
            raw[i + 2] in "0123456789abcdefABCDEF":
        base, i = 16, i + 2
    elif base == 0 and raw[i:i + 1] == "0":
        base = 8
    elif base == 0:
        base = 10
    digits = "0123456789abcdef"[:base]
    start = i
    while i < len(raw) and raw[i].lower() in digits:
        i += 1
    if i == start:
        return neg(errno.EINVAL)
    value = int(raw[start:i], base)
    if signed:
        if (negative and value > 1 << 63) or (not negative and value >= 1 << 63):
            return neg(errno.ERANGE)
        value = -value if negative else value
    elif value >= 1 << 64:
        return neg(errno.ERANGE)
    run.mem.store(res, 8, value & M64)
    return i


@helper(H.strtol)
def strtol(run: Run, buf, buf_len, flags, res, *_):
    return _strto(run, buf, buf_len, flags, res, True)


@helper(H.strtoul)
def strtoul(run: Run, buf, buf_len, flags, res, *_):
    return _strto(run, buf, buf_len, flags, res, False)


# ---- ring buffer, perf events -------------------------------------------------------
def _ringbuf(run: Run, addr: int):
    from .maps import RingBufMap

    m = get_map(run, addr)
    if not isinstance(m, RingBufMap):
        raise RuntimeFault(f"map {m.name} is not a RINGBUF")
    return m


@helper(H.ringbuf_reserve)
def ringbuf_reserve(run: Run, map_, size, flags, *_):
    m = _ringbuf(run, map_)
    if flags:
        return 0
    slot = m.reserve(size)
    if slot is None:
        return 0
    base = run.extra.get("rb_next", SCRATCH_BASE)
    run.extra["rb_next"] = base + ((size + 4095 + 64) & ~4095)
    region = run.mem.add_local(Region(base, bytearray(max(size, 1)), f"ringbuf {m.name} record",
                                      size=size))
    run.reserved[base] = (m, region, slot)
    return base


def _commit(run: Run, data: int, flags: int, submit: bool) -> int:
    entry = run.reserved.pop(data, None)
    if entry is None:
        raise RuntimeFault(f"{'submit' if submit else 'discard'} of {data:#x}, which is not a "
                           "reserved ring buffer record")
    m, region, slot = entry
    run.mem.remove_local(region)
    m.commit(slot, bytes(region.buf[:region.size]) if submit else None, flags)
    return 0


@helper(H.ringbuf_submit)
def ringbuf_submit(run: Run, data, flags, *_):
    return _commit(run, data, flags, True)


@helper(H.ringbuf_discard)
def ringbuf_discard(run: Run, data, flags, *_):
    return _commit(run, data, flags, False)


@helper(H.ringbuf_output)
def ringbuf_output(run: Run, map_, data, size, flags, *_):
    m = _ringbuf(run, map_)
    payload = run.mem.read(data, size)
    if flags & ~3:
        return neg(errno.EINVAL)
    slot = m.reserve(size)
    if slot is None:
        return neg(errno.EAGAIN)
    m.commit(slot, payload, flags)
    return 0


@helper(H.ringbuf_query)
def ringbuf_query(run: Run, map_, flags, *_):
    m = _ringbuf(run, map_)
    return {0: m.avail_data(), 1: m.max_entries, 2: m.cons_pos, 3: m.prod_pos}.get(flags, 0)


@helper(H.perf_event_output)
def perf_event_output(run: Run, ctx, map_, flags, data, size):
    from .maps import PerfEventArrayMap

    m = get_map(run, map_)
    if not isinstance(m, PerfEventArrayMap):
        raise RuntimeFault(f"map {m.name} is not a PERF_EVENT_ARRAY")
    index = flags & 0xFFFF_FFFF
    if flags >> 32 & ~0xFFFFF:
        return neg(errno.EINVAL)
    cpu = run.cpu if index == BPF_F_CURRENT_CPU else index
    if cpu >= m.max_entries:
        return neg(errno.E2BIG)
    payload = run.mem.read(data, size)
    ctx_len = (flags >> 32) & 0xFFFFF
    if ctx_len and run.packet is not None:
        payload += run.packet.data_bytes()[:ctx_len]
    return neg(-m.output(cpu, payload))


# ---- packets ------------------------------------------------------------------------
def _packet(run: Run, what: str):
    if run.packet is None:
        raise RuntimeFault(f"{what} needs a packet context")
    return run.packet


@helper(H.xdp_adjust_head)
def xdp_adjust_head(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_head").adjust_head(s32(delta)))


@helper(H.xdp_adjust_tail)
def xdp_adjust_tail(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_tail").adjust_tail(s32(delta)))


@helper(H.xdp_adjust_meta)
def xdp_adjust_meta(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_meta").adjust_meta(s32(delta)))


@helper(H.xdp_get_buff_len)
def xdp_get_buff_len(run: Run, ctx, *_):
    p = _packet(run, "bpf_xdp_get_buff_len")
    return p.end - p.data


def s32(x: int) -> int:
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x >> 31 else x


@helper(H.skb_load_bytes)
def skb_load_bytes(run: Run, ctx, offset, to, length, *_):
    p = _packet(run, "bpf_skb_load_bytes")
    offset &= 0xFFFF_FFFF
    chunk = p.read_at(offset, length) if offset <= 0xFFFF and p.has_skb else None
    if chunk is None:
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    run.mem.write(to, chunk)
    return 0


@helper(H.xdp_load_bytes)
def xdp_load_bytes(run: Run, ctx, offset, to, length, *_):
    p = _packet(run, "bpf_xdp_load_bytes")
    chunk = p.read_at(offset & 0xFFFF_FFFF, length)
    if chunk is None:
        return neg(errno.EINVAL)
    run.mem.write(to, chunk)
    return 0


@helper(H.skb_store_bytes)
def skb_store_bytes(run: Run, ctx, offset, frm, length, flags):
    p = _packet(run, "bpf_skb_store_bytes")
    if flags & ~3:
        return neg(errno.EINVAL)
    data = run.mem.read(frm, length)
    return 0 if p.write_at(offset & 0xFFFF_FFFF, data) else neg(errno.EFAULT)


@helper(H.xdp_store_bytes)
def xdp_store_bytes(run: Run, ctx, offset, frm, length, *_):
    p = _packet(run, "bpf_xdp_store_bytes")
    data = run.mem.read(frm, length)
    return 0 if p.write_at(offset & 0xFFFF_FFFF, data) else neg(errno.EINVAL)


def _fold16(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _add_carry(a: int, b: int, bits: int) -> int:
    """Ones'-complement addition with end-around carry on ``bits`` bits."""
    s = a + b
    return (s & ((1 << bits) - 1)) + (s >> bits)


def csum_partial(data: bytes, seed: int) -> int:
    """The kernel's csum_partial on x86-64: 64-bit end-around-carry sum of
    little-endian words (8, then 4, 2, 1 trailing bytes), folded to 32 bits."""
    t = seed & 0xFFFF_FFFF
    n = len(data)
    i = 0
    while n - i >= 8:
        t = _add_carry(t, int.from_bytes(data[i:i + 8], "little"), 64)
        i += 8
    for width in (4, 2, 1):
        if (n - i) & width:
            t = _add_carry(t, int.from_bytes(data[i:i + width], "little"), 64)
            i += width
    return _add_carry(t >> 32, t & 0xFFFF_FFFF, 32)


def _csum_from32to16(s: int) -> int:
    s = (s + (((s >> 16) | (s << 16)) & 0xFFFF_FFFF)) & 0xFFFF_FFFF
    return s >> 16


@helper(H.csum_diff)
def csum_diff(run: Run, frm, from_size, to, to_size, seed):
    """Checksum of ``to`` minus that of ``from`` plus ``seed``, folded to 16
    bits as current kernels return it (any sizes)."""
    a = run.mem.read(frm, from_size) if from_size else b""
    b = run.mem.read(to, to_size) if to_size else b""
    ret = seed & 0xFFFF_FFFF
    if from_size and to_size:
        ret = _add_carry(csum_partial(b, ret), ~csum_partial(a, 0) & 0xFFFF_FFFF, 32)
    elif to_size:
        ret = csum_partial(b, ret)
    elif from_size:
        ret = ~csum_partial(a, ~ret & 0xFFFF_FFFF) & 0xFFFF_FFFF
    return _csum_from32to16(ret)


def _csum_update(p, offset: int, frm: int, to: int, size: int, mangled0: bool) -> int:
    """Incremental update of the 16-bit checksum at packet ``offset`` (RFC 1624)."""
    cur = p.read_at(offset, 2)
    if cur is None:
        return -errno.EFAULT
    csum = int.from_bytes(cur, "little")
    if mangled0 and csum == 0:
        return 0
    s = (~csum) & 0xFFFF
    if size == 0:
        if frm:
            return -errno.EINVAL
        s += _fold16(to & 0xFFFF_FFFF)
    elif size == 2:
        s += (~frm & 0xFFFF) + (to & 0xFFFF)
    elif size == 4:
        s += (~frm & 0xFFFF) + (~frm >> 16 & 0xFFFF) + (to & 0xFFFF) + (to >> 16 & 0xFFFF)
    else:
        return -errno.EINVAL
    new = (~_fold16(s)) & 0xFFFF
    if mangled0 and new == 0:
        new = 0xFFFF
    p.write_at(offset, new.to_bytes(2, "little"))
    return 0


@helper(H.l3_csum_replace)
def l3_csum_replace(run: Run, ctx, offset, frm, to, flags):
    p = _packet(run, "bpf_l3_csum_replace")
    if flags & ~0xF:
        return neg(errno.EINVAL)
    return neg(-_csum_update(p, offset & 0xFFFF_FFFF, frm, to, flags & 0xF, False))


@helper(H.l4_csum_replace)
def l4_csum_replace(run: Run, ctx, offset, frm, to, flags):
    p = _packet(run, "bpf_l4_csum_replace")
    if flags & ~(0xF | 0x10 | 0x20 | 0x40):
        return neg(errno.EINVAL)
    return neg(-_csum_update(p, offset & 0xFFFF_FFFF, frm, to, flags & 0xF, bool(flags & 0x20)))


def _is_xdp(run: Run) -> bool:
    from ..uapi import ProgramType

    return getattr(getattr(run.program, "spec", None), "type", None) == ProgramType.XDP


@helper(H.redirect)
def redirect(run: Run, ifindex, flags, *_):
    xdp = _is_xdp(run)
    if flags & ~BPF_F_INGRESS or (xdp and flags):
        return XDP_ABORTED if xdp else TC_ACT_SHOT
    run.redirect = Redirect(ifindex & 0xFFFF_FFFF, flags)
    return XDP_REDIRECT if xdp else TC_ACT_REDIRECT


# ---- spin locks ------------------------------------------------------------------
_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@helper(H.spin_lock)
def spin_lock(run: Run, lock, *_):
    run.mem.region(lock, 4, what="bpf_spin_lock")
    if lock in run.locks:
        raise RuntimeFault(f"bpf_spin_lock at {lock:#x} taken twice")
    with _LOCKS_GUARD:
        lk = _LOCKS.setdefault(lock, threading.Lock())
    lk.acquire()
    run.locks.add(lock)
    return 0


@helper(H.spin_unlock)
def spin_unlock(run: Run, lock, *_):
    if lock not in run.locks:
        raise RuntimeFault(f"bpf_spin_unlock at {lock:#x} without bpf_spin_lock")
    run.locks.discard(lock)
    _LOCKS[lock].release()
    return 0


def release_locks(run: Run) -> None:
    """Release every spin lock a run still holds (after a fault)."""
    for lock in list(run.locks):
        run.locks.discard(lock)
        _LOCKS[lock].release()


# ---- redirect through maps, stacks, task, misc -----------------------------------------
@helper(H.redirect_map)
def redirect_map(run: Run, map_, key, flags, *_):
    m = get_map(run, map_)
    present = getattr(m, "present", None)
    if present is None:
        raise RuntimeFault(f"bpf_redirect_map on map {m.name} ({m.type.name}), which is not a "
                           "DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP")
    target = present((key & 0xFFFF_FFFF).to_bytes(4, "little")[:m.key_size])
    if target is None:
        return flags & 3  # the lower bits of flags are the action when the key is missing
    run.redirect = Redirect(target, flags, m.name)
    return XDP_REDIRECT


@helper(H.get_stackid)
def get_stackid(run: Run, ctx, map_, flags, *_):
    get_map(run, map_)
    return neg(errno.EFAULT)  # no call chain to walk in the runtime


BPF_F_SKIP_FIELD_MASK = 0xFF
BPF_F_USER_STACK = 1 << 8
BPF_F_USER_BUILD_ID = 1 << 11
#: sizeof(struct bpf_stack_build_id)
STACK_BUILD_ID_SIZE = 32


def _stack_into(run: Run, buf: int, size: int, flags: int) -> int:
    """bpf_get_stack / bpf_get_task_stack: the kernel's argument checks (-EINVAL
    with the buffer cleared), then an empty stack: the runtime has no call
    chain to walk, so 0 bytes are written (and the buffer is zeroed)."""
    size &= 0xFFFF_FFFF
    bad = (flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID)
           or (flags & BPF_F_USER_BUILD_ID and not flags & BPF_F_USER_STACK)
           or size % (STACK_BUILD_ID_SIZE if flags & BPF_F_USER_BUILD_ID else 8))
    if size:
        run.mem.zero(buf, size)
    return neg(errno.EINVAL) if bad else 0


@helper(H.get_stack)
def get_stack(run: Run, ctx, buf, size, flags, *_):
    return _stack_into(run, buf, size, flags)


@helper(H.get_task_stack)
def get_task_stack(run: Run, task, buf, size, flags, *_):
    """As bpf_get_stack for ``task`` (any task: the runtime has no stacks)."""
    return _stack_into(run, buf, size, flags)


#: size of the task_struct stand-in when the program's BTF has no task_struct
FAKE_TASK_SIZE = 16384
_TASKS: dict[tuple[int, int], int] = {}
_TASKS_LOCK = threading.Lock()
#: stand-ins of other threads (bpf_task_from_pid): (btf, tid) -> (comm, regions),
#: least recently used first; the oldest are freed past OTHER_TASKS_MAX
_OTHER_TASKS: collections.OrderedDict = collections.OrderedDict()
OTHER_TASKS_MAX = 64
#: task stand-in address -> thread id (task local storage is per thread)
_TASK_OWNERS: dict[int, int] = {}


def _proc_comm(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().strip()[:15]
    except OSError:
        return b""


def _fill_task(buf: bytearray, st, pid: int, tgid: int, comm: bytes,
               links: dict[str, int]) -> None:
    """Write pid/tgid/comm and pointer members at the offsets of ``st``
    (the program's own view of task_struct, so its compiled offsets match)."""
    from ..errors import BTFError

    def put(name: str, value: bytes) -> None:
        try:
            m = st.member(name)
        except BTFError:
            return
        off = m.offset // 8
        if m.bitfield_size == 0 and off + len(value) <= len(buf):
            buf[off:off + len(value)] = value

    put("pid", pid.to_bytes(4, "little", signed=True))
    put("tgid", tgid.to_bytes(4, "little", signed=True))
    put("comm", comm.ljust(16, b"\0")[:16])
    for name, addr in links.items():
        put(name, addr.to_bytes(8, "little"))


def _proc_status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


def _task(run: Run, tid: int | None = None) -> int:
    """Address of a read-only task_struct stand-in for thread ``tid`` (default:
    the calling thread): pid, tgid, comm, and real_parent/parent/group_leader
    filled in at the offsets of the program's own BTF; everything else reads as
    zero. 0 when no such thread exists."""
    from .memory import GLOBAL

    prog = run.program
    btf = getattr(prog, "layout_btf", getattr(getattr(prog, "spec", None), "btf", None))
    st = None
    if btf is not None:
        try:
            st = btf.type_by_name("task_struct", "struct")
        except Exception:  # noqa: BLE001 - no (unique) task_struct: plain zeros
            st = None
    me = threading.get_native_id()
    tid = me if tid is None else tid
    key = (id(btf) if st is not None else 0, tid)
    with _TASKS_LOCK:
        if tid == me:
            addr = _TASKS.get(key)
            if addr is not None:
                return addr
            tgid, ppid, comm = os.getpid(), os.getppid(), _comm()
        else:
            status = _proc_status(tid)
            if "Tgid" not in status:
                return 0
            tgid, ppid = int(status["Tgid"]), int(status.get("PPid", "0"))
            comm = _proc_comm(tid)
            known = _OTHER_TASKS.get(key)
            if known is not None and known[0] == (tgid, ppid, comm):
                _OTHER_TASKS.move_to_end(key)
                return known[1][0].base
        size = max(getattr(st, "size", 0), 64) if st is not None else FAKE_TASK_SIZE
        parent_buf, task_buf = bytearray(size), bytearray(size)
        parent = GLOBAL.allocate(parent_buf, "parent task_struct (vm stand-in)", writable=False)
        task = GLOBAL.allocate(task_buf, "task_struct (vm stand-in)", writable=False)
        if st is not None:
            _fill_task(parent_buf, st, ppid, ppid, _proc_comm(ppid) if ppid else b"",
                       {"group_leader": parent.base})
            _fill_task(task_buf, st, tid, tgid, comm,
                       {"real_parent": parent.base, "parent": parent.base,
                        "group_leader": task.base})
        _TASK_OWNERS[task.base] = tid
        if tid == me:
            _TASKS[key] = task.base
        else:
            _OTHER_TASKS[key] = ((tgid, ppid, comm), (task, parent))
            _OTHER_TASKS.move_to_end(key)
            while len(_OTHER_TASKS) > OTHER_TASKS_MAX:
                _, (_, regions) = _OTHER_TASKS.popitem(last=False)
                _TASK_OWNERS.pop(regions[0].base, None)
                for r in regions:
                    GLOBAL.free(r)
        return task.base


#: sizeof(struct bpf_pidns_info)
PIDNS_INFO_SIZE = 8


def _pidns_id() -> tuple[int, int] | None:
    """(dev as the kernel encodes dev_t, inode) of the caller's pid namespace."""
    try:
        st = os.stat("/proc/thread-self/ns/pid")
    except OSError:
        try:
            st = os.stat("/proc/self/ns/pid")
        except OSError:
            return None
    return (os.major(st.st_dev) << 20) | os.minor(st.st_dev), st.st_ino


@helper(H.get_ns_current_pid_tgid)
def get_ns_current_pid_tgid(run: Run, dev, ino, nsdata, size, *_):
    """pid and tgid of the caller as its own pid namespace sees them, when
    ``dev``/``ino`` name that namespace (as ``stat /proc/self/ns/pid`` gives
    them); otherwise -EINVAL and ``nsdata`` cleared, as the kernel."""
    size &= 0xFFFF_FFFF
    ns = _pidns_id()
    if size == PIDNS_INFO_SIZE and dev >> 32 == 0 and ns is not None and ns == (dev, ino):
        run.mem.write(nsdata, threading.get_native_id().to_bytes(4, "little")
                      + os.getpid().to_bytes(4, "little"))
        return 0
    if size:
        run.mem.zero(nsdata, size)
    return neg(errno.EINVAL) if ns is not None else neg(errno.ENOENT)


#: socket cookies: a process-wide counter, as the kernel's (never 0)
_cookie_next = itertools.count(1)
_COOKIES_LOCK = threading.Lock()
#: cookies of sockets known by address (tracing programs' struct sock pointers)
_SOCK_COOKIES: collections.OrderedDict[int, int] = collections.OrderedDict()
_CTX_COOKIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _new_cookie() -> int:
    return next(_cookie_next)


@helper(H.get_socket_cookie)
def get_socket_cookie(run: Run, sock, *_):
    """A stable cookie for the socket behind ``sock``: the context's own socket
    when ``sock`` is the context (skb, sock_addr, sock_ops, sk programs), else
    the socket at that address (tracing programs' ``struct sock *``); 0 for a
    NULL socket. As in the kernel's test runs, each test_run's context has a
    socket of its own (repeats share it)."""
    if not sock:
        return 0
    with _COOKIES_LOCK:
        if sock == run.ctx:
            cookie = _CTX_COOKIES.get(run.mem)
            if cookie is None:
                cookie = _CTX_COOKIES[run.mem] = _new_cookie()
            return cookie
        cookie = _SOCK_COOKIES.get(sock)
        if cookie is None:
            cookie = _SOCK_COOKIES[sock] = _new_cookie()
            if len(_SOCK_COOKIES) > 65536:
                _SOCK_COOKIES.popitem(last=False)
        return cookie


@helper(H.get_current_task)
def get_current_task(run: Run, *_):
    """A task_struct stand-in (see :func:`_task`): reads through it succeed."""
    return _task(run)


@helper(H.get_current_task_btf)
def get_current_task_btf(run: Run, *_):
    return _task(run)


def _cgroup_id() -> int:
    from .cgroups import current_cgroup_id

    return current_cgroup_id()


@helper(H.get_current_cgroup_id)
def get_current_cgroup_id(run: Run, *_):
    return _cgroup_id()


def _under_cgroup(run: Run, map_: int, index: int, what: str) -> int:
    from .cgroups import current_under
    from .maps import CgroupArrayMap

    m = get_map(run, map_)
    if not isinstance(m, CgroupArrayMap):
        raise RuntimeFault(f"{what} on map {m.name} ({m.type.name}), which is not a "
                           "CGROUP_ARRAY")
    cg = m.cgroup(index & 0xFFFF_FFFF)
    if isinstance(cg, int):
        return neg(-cg)
    if cg is None:
        return neg(errno.EAGAIN)
    return int(current_under(cg))


@helper(H.current_task_under_cgroup)
def current_task_under_cgroup(run: Run, map_, index, *_):
    """1 when the calling thread's cgroup v2 is the one in slot ``index`` or
    below it, else 0; -E2BIG past the end, -EAGAIN for an empty slot."""
    return _under_cgroup(run, map_, index, "bpf_current_task_under_cgroup")


@helper(H.skb_under_cgroup)
def skb_under_cgroup(run: Run, ctx, map_, index, *_):
    """As bpf_current_task_under_cgroup for the packet's socket. The runtime's
    packets belong to this process (the kernel's test_run gives the skb a socket
    made by the caller, in the caller's cgroup)."""
    _packet(run, "bpf_skb_under_cgroup")
    return _under_cgroup(run, map_, index, "bpf_skb_under_cgroup")


@helper(H.get_attach_cookie)
def get_attach_cookie(run: Run, *_):
    return 0


@helper(H.get_func_ip)
def get_func_ip(run: Run, *_):
    return 0


@helper(H.trace_vprintk)
def trace_vprintk(run: Run, fmt, fmt_size, data, data_len, *_):
    if data_len % 8 or data_len > 8 * 12:
        return neg(errno.EINVAL)
    raw = run.mem.read(fmt, fmt_size).split(b"\0", 1)[0]
    args = [int.from_bytes(run.mem.read(data + 8 * i, 8), "little") for i in range(data_len // 8)]
    text = format_printk(run, raw, args, limit=12)
    name = getattr(run.program, "name", "?")
    line = text.rstrip("\n")
    run.trace.append(line)
    TRACE.append(f"{name}: {line}")
    trace_log.info("%s: %s", name, line)
    return len(text.encode())


@helper(H.skb_load_bytes_relative)
def skb_load_bytes_relative(run: Run, ctx, offset, to, length, start_header):
    p = _packet(run, "bpf_skb_load_bytes_relative")
    if start_header not in (0, 1):
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    base = p.mac if start_header == 0 else p.net
    start = base + (offset & 0xFFFF_FFFF)
    if offset > 0xFFFF or start + length > p.end:
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    run.mem.write(to, bytes(p.buf[start:start + length]))
    return 0


@helper(H.skb_pull_data)
def skb_pull_data(run: Run, ctx, length, *_):
    p = _packet(run, "bpf_skb_pull_data")
    return 0 if length <= p.end - p.data else neg(errno.ENOMEM)


HELPERS[int(H.xdp_output)] = perf_event_output
HELPERS[int(H.skb_output)] = perf_event_output


@helper(H.copy_from_user)
def copy_from_user(run: Run, dst, size, src, *_):
    return _probe_read(run, dst, size, src)


@helper(H.strncmp)
def strncmp(run: Run, s1, s1_sz, s2, *_):
    a = run.mem.read_str(s1, s1_sz)
    b = run.mem.read_str(s2, s1_sz)
    for x, y in zip(a + b"\0", b + b"\0", strict=False):
        if x != y:
            return neg(1) if x < y else 1
        if x == 0:
            break
    return 0


@helper(H.skb_change_tail)
def skb_change_tail(run: Run, ctx, new_len, flags, *_):
    p = _packet(run, "bpf_skb_change_tail")
    if flags:
        return neg(errno.EINVAL)
    return neg(-p.change_tail(new_len & 0xFFFF_FFFF))


@helper(H.skb_change_head)
def skb_change_head(run: Run, ctx, head_room, flags, *_):
    p = _packet(run, "bpf_skb_change_head")
    if flags:
        return neg(errno.EINVAL)
    return neg(-p.change_head(head_room & 0xFFFF_FFFF))


# ---- kfuncs -----------------------------------------------------------------------
#: most iterations an open-coded numeric iterator may cover (BPF_MAX_LOOPS)
BPF_MAX_LOOPS = 8 * 1024 * 1024


def _s32(x: int) -> int:
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x & 0x8000_0000 else x


def _iter_num_set(run: Run, it: int, cur: int, end: int) -> None:
    run.mem.write(it, (cur & 0xFFFF_FFFF).to_bytes(4, "little")
                  + (end & 0xFFFF_FFFF).to_bytes(4, "little"))


@kfunc("bpf_iter_num_new")
def iter_num_new(run: Run, it, start, end, *_):
    """``bpf_for``/``bpf_repeat``: start an iterator over [start, end) (ints).
    The 8-byte state is {int cur; int end}, as the kernel keeps it."""
    start, end = _s32(start), _s32(end)
    if start > end:
        _iter_num_set(run, it, 0, 0)
        return neg(errno.EINVAL)
    if end - start > BPF_MAX_LOOPS:
        _iter_num_set(run, it, 0, 0)
        return neg(errno.E2BIG)
    _iter_num_set(run, it, start - 1, end)  # next() increments first
    return 0


@kfunc("bpf_iter_num_next")
def iter_num_next(run: Run, it, *_):
    """Pointer to the next value (the iterator's own ``cur``), or NULL at the end."""
    raw = run.mem.read(it, 8)
    cur = _s32(int.from_bytes(raw[:4], "little"))
    end = _s32(int.from_bytes(raw[4:], "little"))
    if _s32(cur + 1) >= end:
        _iter_num_set(run, it, 0, 0)
        return 0
    _iter_num_set(run, it, cur + 1, end)
    return it


@kfunc("bpf_iter_num_destroy")
def iter_num_destroy(run: Run, it, *_):
    _iter_num_set(run, it, 0, 0)
    return 0


@kfunc("bpf_rcu_read_lock")
def rcu_read_lock(run: Run, *_):
    """No-op: the runtime frees nothing a program can still see."""
    return 0


@kfunc("bpf_rcu_read_unlock")
def rcu_read_unlock(run: Run, *_):
    return 0


# ---- skb flow hash ------------------------------------------------------------------
#: the flow-hash secret (the kernel's hashrnd): random once per process
_HASH_KEY = os.urandom(16)
#: offset of __sk_buff.hash
SKB_HASH_OFF = 68


def _flow_keys(frame: bytes) -> bytes:
    """What the flow hash covers: (addresses, ports, protocol) of an Ethernet
    frame, ordered so both directions of a flow give the same keys."""
    off, proto = 12, 0
    while off + 2 <= len(frame):
        proto = int.from_bytes(frame[off:off + 2], "big")
        off += 2
        if proto in (0x8100, 0x88A8):  # VLAN tags
            off += 2
            continue
        break
    src = dst = b""
    ip_proto = 0
    l4 = None
    if proto == 0x0800 and off + 20 <= len(frame):
        ihl = (frame[off] & 0xF) * 4
        ip_proto = frame[off + 9]
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        frag = int.from_bytes(frame[off + 6:off + 8], "big") & 0x1FFF
        l4 = off + ihl if not frag else None
    elif proto == 0x86DD and off + 40 <= len(frame):
        ip_proto = frame[off + 6]
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4 = off + 40
    sport = dport = b""
    if l4 is not None and ip_proto in (6, 17, 132, 136) and l4 + 4 <= len(frame):
        sport, dport = frame[l4:l4 + 2], frame[l4 + 2:l4 + 4]
    if (dst, dport) < (src, sport):
        src, dst, sport, dport = dst, src, dport, sport
    return bytes([ip_proto]) + proto.to_bytes(2, "big") + src + dst + sport + dport


def _skb_ctx_set_hash(run: Run, value: int) -> None:
    r = run.mem.find(run.ctx + SKB_HASH_OFF, 4)
    if r is None:
        raise RuntimeFault("skb hash helper without an __sk_buff context")
    at = r.off + run.ctx + SKB_HASH_OFF - r.base
    r.buf[at:at + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "little")


@helper(H.get_hash_recalc)
def get_hash_recalc(run: Run, ctx, *_):
    """The packet's flow hash (stored in ``skb->hash``): a keyed hash of its
    addresses, ports and protocol, the same for both directions of a flow and
    never 0, as the kernel's. The key is random per process (the kernel's is
    random per boot), so values differ from the kernel's."""
    import hashlib

    p = _packet(run, "bpf_get_hash_recalc")
    keys = _flow_keys(bytes(p.buf[p.mac:p.end]))
    value = int.from_bytes(hashlib.blake2b(keys, key=_HASH_KEY, digest_size=4).digest(),
                           "little") or 1
    _skb_ctx_set_hash(run, value)
    return value


@helper(H.set_hash_invalid)
def set_hash_invalid(run: Run, ctx, *_):
    _packet(run, "bpf_set_hash_invalid")
    _skb_ctx_set_hash(run, 0)
    return 0


@helper(H.set_hash)
def set_hash(run: Run, ctx, value, *_):
    _packet(run, "bpf_set_hash")
    _skb_ctx_set_hash(run, value)
    return 0


@kfunc("bpf_task_from_pid")
def task_from_pid(run: Run, pid, *_):
    """A task_struct stand-in for thread ``pid`` (as /proc shows it), NULL when
    there is none. The reference needs no release in the runtime."""
    pid = _s32(pid)
    return _task(run, pid) if pid > 0 else 0


@kfunc("bpf_task_acquire")
def task_acquire(run: Run, task, *_):
    return task


@kfunc("bpf_task_release")
def task_release(run: Run, task, *_):
    return 0


#: the call CO-RE puts where a relocation could not be satisfied (libbpf's number)
CORE_POISON = 0xBAD2310


@helper(CORE_POISON)
def core_poison(run: Run, *_):
    """Reached an instruction whose CO-RE relocation failed: the kernel's verifier
    refuses such a program when the path is reachable; the runtime faults here."""
    reasons = [r.reason for r in getattr(run.program, "core_poisoned", [])]
    detail = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
    raise RuntimeFault("reached an instruction whose CO-RE relocation could not be "
                       f"satisfied{': ' + detail if detail else ''}")


# ---- signals, user memory, ECN ---------------------------------------------------------
def _send_signal(sig: int, thread: bool) -> int:
    import signal

    sig &= 0xFFFF_FFFF
    if not 0 < sig <= signal.SIGRTMAX:
        return neg(errno.EINVAL)
    if os.getpid() == 1:
        return neg(errno.EPERM)  # the kernel never signals init
    # The "current process" is the Python process hosting the runtime. Deliver
    # only signals it handles (a Python handler) or ignores; one whose default
    # action would kill or stop the host is not delivered, only logged, so a
    # program under test can never take the interpreter down.
    try:
        disposition = signal.getsignal(sig)
    except ValueError:  # a number Python cannot name (e.g. glibc-reserved RT)
        disposition = None
    if disposition is signal.SIG_IGN:
        return 0
    if not callable(disposition):
        log.warning("bpf_send_signal(%d): not delivered to the host process "
                    "(no Python handler; its default action would end or stop it)", sig)
        return 0
    if thread:
        signal.pthread_kill(threading.get_ident(), sig)
    else:
        os.kill(os.getpid(), sig)
    return 0


@helper(H.send_signal)
def send_signal(run: Run, sig, *_):
    """Send ``sig`` to the current process: the one running the program, as
    the kernel does in a test run."""
    return _send_signal(sig, thread=False)


@helper(H.send_signal_thread)
def send_signal_thread(run: Run, sig, *_):
    """Send ``sig`` to the current thread."""
    return _send_signal(sig, thread=True)


@helper(H.probe_write_user)
def probe_write_user(run: Run, dst, src, size, *_):
    """Write to "user" memory: in the runtime, its own writable memory (where
    uprobe and syscall arguments point); -EFAULT anywhere else."""
    size &= 0xFFFF_FFFF
    data = run.mem.read(src, size)
    region = run.mem.find(dst, size)
    if region is None or not region.writable or region.on_write is not None:
        return neg(errno.EFAULT)
    i = dst - region.delta
    region.buf[i:i + size] = data
    return 0


@helper(H.skb_ecn_set_ce)
def skb_ecn_set_ce(run: Run, ctx, *_):
    """Mark an ECN-capable IPv4/IPv6 packet Congestion Experienced (fixing the
    IPv4 checksum): 1 when the packet now carries CE, else 0, as the kernel."""
    p = _packet(run, "bpf_skb_ecn_set_ce")
    proto = bytes(p.buf[p.mac + 12:p.mac + 14]) if p.net - p.mac >= 14 else b""
    at = p.net
    if proto == b"\x08\x00":
        if p.end - at < 20:
            return 0
        tos = p.buf[at + 1]
        ecn = (tos + 1) & 3
        if not ecn & 2:
            return int(not ecn)  # already CE: 1; not ECN-capable: 0
        check = int.from_bytes(p.buf[at + 10:at + 12], "big")
        check += 0xFFFB + ecn  # the kernel's incremental update (host order sums)
        check = (check & 0xFFFF) + (check >> 16)
        p.buf[at + 10:at + 12] = (check & 0xFFFF).to_bytes(2, "big")
        p.buf[at + 1] = tos | 3
        return 1
    if proto == b"\x86\xdd":
        if p.end - at < 40:
            return 0
        word = int.from_bytes(p.buf[at:at + 4], "big")
        if not (word >> 20) & 3:
            return 0
        p.buf[at:at + 4] = (word | (3 << 20)).to_bytes(4, "big")
        return 1
    return 0


# ---- local storage ------------------------------------------------------------------
def _storage_map(run: Run, map_: int, what: str):
    from .maps import LocalStorageMap

    m = get_map(run, map_)
    if not isinstance(m, LocalStorageMap):
        raise RuntimeFault(f"{what} on map {m.name} ({m.type.name}), which is not a local "
                           "storage map")
    return m


def _owner(ptr: int, task: bool):
    if not ptr:
        return None
    if task:
        tid = _TASK_OWNERS.get(ptr)
        return ("task", tid) if tid is not None else ("ptr", ptr)
    return ("ptr", ptr)


def _storage_get(run: Run, map_, owner, value, flags, what: str, task: bool = False) -> int:
    m = _storage_map(run, map_, what)
    init = run.mem.read(value, m.value_size) if value else None
    return m.storage_get(_owner(owner, task), init, flags)


def _storage_delete(run: Run, map_, owner, what: str, task: bool = False) -> int:
    m = _storage_map(run, map_, what)
    return neg(-m.storage_delete(_owner(owner, task)))


@helper(H.task_storage_get)
def task_storage_get(run: Run, map_, task, value, flags, *_):
    """The calling program's value for ``task`` (created with
    BPF_LOCAL_STORAGE_GET_F_CREATE from ``value`` or zeros), or NULL."""
    return _storage_get(run, map_, task, value, flags, "bpf_task_storage_get", task=True)


@helper(H.task_storage_delete)
def task_storage_delete(run: Run, map_, task, *_):
    return _storage_delete(run, map_, task, "bpf_task_storage_delete", task=True)


@helper(H.sk_storage_get)
def sk_storage_get(run: Run, map_, sk, value, flags, *_):
    return _storage_get(run, map_, sk, value, flags, "bpf_sk_storage_get")


@helper(H.sk_storage_delete)
def sk_storage_delete(run: Run, map_, sk, *_):
    return _storage_delete(run, map_, sk, "bpf_sk_storage_delete")


@helper(H.inode_storage_get)
def inode_storage_get(run: Run, map_, inode, value, flags, *_):
    return _storage_get(run, map_, inode, value, flags, "bpf_inode_storage_get")


@helper(H.inode_storage_delete)
def inode_storage_delete(run: Run, map_, inode, *_):
    return _storage_delete(run, map_, inode, "bpf_inode_storage_delete")


@helper(H.cgrp_storage_get)
def cgrp_storage_get(run: Run, map_, cgrp, value, flags, *_):
    return _storage_get(run, map_, cgrp, value, flags, "bpf_cgrp_storage_get")


@helper(H.cgrp_storage_delete)
def cgrp_storage_delete(run: Run, map_, cgrp, *_):
    return _storage_delete(run, map_, cgrp, "bpf_cgrp_storage_delete")


# ---- FIB lookup -----------------------------------------------------------------------
#: sizeof(struct bpf_fib_lookup); the flags a current kernel knows (DIRECT, OUTPUT,
#: SKIP_NEIGH, TBID, SRC, MARK)
FIB_LOOKUP_SIZE = 64
FIB_LOOKUP_FLAGS = 0x3F
BPF_FIB_LKUP_RET_FWD_DISABLED = 5
AF_INET, AF_INET6 = 2, 10


@helper(H.fib_lookup)
def fib_lookup(run: Run, ctx, params, plen, flags, *_):
    """bpf_fib_lookup as far as the runtime can answer it honestly: the
    kernel's argument checks (-EINVAL, -EAFNOSUPPORT, -ENODEV for an unknown
    ``params->ifindex``) and BPF_FIB_LKUP_RET_FWD_DISABLED when forwarding is
    off on that device (the host's sysctl, which the kernel checks first). A
    lookup on a forwarding device needs the host's routing and neighbour
    tables, which the runtime does not model: that faults, naming the device."""
    import socket

    _packet(run, "bpf_fib_lookup")
    if _s32(plen) < FIB_LOOKUP_SIZE or flags & 0xFFFF_FFFF & ~FIB_LOOKUP_FLAGS:
        return neg(errno.EINVAL)
    p = run.mem.read(params, FIB_LOOKUP_SIZE)
    family = p[0]
    if family not in (AF_INET, AF_INET6):
        return neg(errno.EAFNOSUPPORT)
    ifindex = int.from_bytes(p[8:12], "little")
    try:
        dev = socket.if_indextoname(ifindex)
    except OSError:
        return neg(errno.ENODEV)
    proto = "ipv4" if family == AF_INET else "ipv6"
    try:
        with open(f"/proc/sys/net/{proto}/conf/{dev}/forwarding") as f:
            forwarding = f.read().strip() != "0"
    except OSError:
        forwarding = False  # no inet config on the device: the kernel says disabled too
    if not forwarding:
        return BPF_FIB_LKUP_RET_FWD_DISABLED
    raise RuntimeFault(f"bpf_fib_lookup on {dev} ({proto} forwarding on): the vm does not "
                       "model the host's routing and neighbour tables")


# ---- bpf_skb_adjust_room ----------------------------------------------------------------
ADJ_ROOM_NET, ADJ_ROOM_MAC = 0, 1
F_ADJ_ENCAP_L3_IPV4, F_ADJ_ENCAP_L3_IPV6 = 1 << 1, 1 << 2
F_ADJ_ENCAP_L4_GRE, F_ADJ_ENCAP_L4_UDP = 1 << 3, 1 << 4
F_ADJ_ENCAP_L2_ETH = 1 << 6
F_ADJ_DECAP_L3_IPV4, F_ADJ_DECAP_L3_IPV6 = 1 << 7, 1 << 8
#: every flag bit a current kernel accepts (BPF_F_ADJ_ROOM_MASK), with the L2 length
F_ADJ_ROOM_MASK = 0x1FF | (0xFF << 56)
ENOTSUPP = 524
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
#: offset of __sk_buff.protocol
SKB_PROTOCOL_OFF = 16


def _skb_protocol(run: Run) -> int:
    r = run.mem.find(run.ctx + SKB_PROTOCOL_OFF, 4)
    at = r.off + run.ctx + SKB_PROTOCOL_OFF - r.base
    return int.from_bytes(r.buf[at:at + 2], "big")


def _skb_set_protocol(run: Run, proto: int) -> None:
    r = run.mem.find(run.ctx + SKB_PROTOCOL_OFF, 4)
    at = r.off + run.ctx + SKB_PROTOCOL_OFF - r.base
    r.buf[at:at + 2] = proto.to_bytes(2, "big")


@helper(H.skb_adjust_room)
def skb_adjust_room(run: Run, ctx, len_diff, mode, flags, *_):
    """Grow (zeros) or shrink the room after the MAC header (BPF_ADJ_ROOM_MAC)
    or after the base IP header (BPF_ADJ_ROOM_NET), with the kernel's checks;
    the encap/decap flags switch ``skb->protocol`` as the kernel does."""
    p = _packet(run, "bpf_skb_adjust_room")
    diff = _s32(len_diff)
    shrink = diff < 0
    n = abs(diff)
    proto = _skb_protocol(run)
    if flags & ~F_ADJ_ROOM_MASK:
        return neg(errno.EINVAL)
    if n > 0xFFF:
        return neg(errno.EFAULT)
    if proto not in (ETH_P_IP, ETH_P_IPV6):
        return neg(ENOTSUPP)
    base = 20 if proto == ETH_P_IP else 40
    off = p.net - p.mac
    mode &= 0xFFFF_FFFF
    if mode == ADJ_ROOM_NET:
        off += base
    elif mode != ADJ_ROOM_MAC:
        return neg(ENOTSUPP)
    decap = flags & (F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6)
    if decap:
        if not shrink or decap == F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6:
            return neg(errno.EINVAL)
    len_cur = p.end - p.net
    # after a decap, the packet must still hold the new (inner) base header
    len_min = {F_ADJ_DECAP_L3_IPV4: 20, F_ADJ_DECAP_L3_IPV6: 40}.get(decap, base)
    if shrink and (n >= len_cur or len_cur - n < len_min):
        return neg(ENOTSUPP)
    if shrink and flags & ~(F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6 | 0x21):
        return neg(errno.EINVAL)  # encap flags make no sense when shrinking
    encap = flags & (F_ADJ_ENCAP_L3_IPV4 | F_ADJ_ENCAP_L3_IPV6)
    if not shrink and encap:
        if encap == F_ADJ_ENCAP_L3_IPV4 | F_ADJ_ENCAP_L3_IPV6:
            return neg(errno.EINVAL)
        if flags & F_ADJ_ENCAP_L4_GRE and flags & F_ADJ_ENCAP_L4_UDP:
            return neg(errno.EINVAL)
        inner_mac = (flags >> 56) & 0xFF
        if flags & F_ADJ_ENCAP_L2_ETH and inner_mac != 14:
            return neg(errno.EINVAL)
        if inner_mac > n:
            return neg(errno.EINVAL)
    pos = p.mac + off
    if pos > p.end:
        return neg(errno.EFAULT)
    if shrink:
        del p.buf[pos:pos + n]
        p.end -= n
        p.max_end -= n
    else:
        p.buf[pos:pos] = bytes(n)
        p.end += n
        p.max_end += n
    if not shrink and encap:
        if proto == ETH_P_IP and encap == F_ADJ_ENCAP_L3_IPV6:
            _skb_set_protocol(run, ETH_P_IPV6)
        elif proto == ETH_P_IPV6 and encap == F_ADJ_ENCAP_L3_IPV4:
            _skb_set_protocol(run, ETH_P_IP)
    if decap:
        _skb_set_protocol(run, ETH_P_IP if decap == F_ADJ_DECAP_L3_IPV4 else ETH_P_IPV6)
    p._changed()
    return 0


@helper(H.skb_change_proto)
def skb_change_proto(run: Run, ctx, proto, flags, *_):
    """NAT64-style IPv4 <-> IPv6 switch: 20 zero bytes inserted (or the first
    20 removed) right after the MAC header and ``skb->protocol`` set; the
    program writes the new header itself, as with the kernel."""
    p = _packet(run, "bpf_skb_change_proto")
    if flags:
        return neg(errno.EINVAL)
    to = int.from_bytes((proto & 0xFFFF).to_bytes(2, "little"), "big")  # a __be16
    cur = _skb_protocol(run)
    pos = p.net
    if cur == ETH_P_IP and to == ETH_P_IPV6:
        p.buf[pos:pos] = bytes(20)
        p.end += 20
        p.max_end += 20
    elif cur == ETH_P_IPV6 and to == ETH_P_IP:
        if p.end - pos < 20:
            return neg(errno.ENOMEM)
        del p.buf[pos:pos + 20]
        p.end -= 20
        p.max_end -= 20
    else:
        return neg(ENOTSUPP)
    _skb_set_protocol(run, to)
    p._changed()
    return 0


# ---- string kfuncs (Linux 6.17+): the kernel's loops, limits and errors -----------------
#: XATTR_SIZE_MAX: the longest string the string kfuncs walk
STR_MAX = 65536


class _StrFault(Exception):
    pass


def _kchar(run: Run, addr: int) -> int:
    """The char at ``addr`` (unsigned: the kernel builds with -funsigned-char),
    or _StrFault."""
    r = run.mem.find(addr & M64, 1)
    if r is None:
        raise _StrFault
    return r.buf[(addr & M64) - r.delta]


def _kstr(fn: Callable[..., int]) -> Callable[..., int]:
    """Wrap a string kfunc: pointers below the kernel half are -ERANGE (the
    kernel refuses user addresses before reading); a fault while reading is
    -EFAULT."""
    def wrapped(run: Run, *args):
        try:
            return fn(run, *args) & M64
        except _StrFault:
            return neg(errno.EFAULT)
    wrapped.__name__ = fn.__name__
    return wrapped


def _str_ptrs_ok(run: Run, *ptrs: int) -> bool:
    return all(run.mem.find(p, 1) is not None or p >= USER_HALF_END for p in ptrs)


def _strnlen(run: Run, s: int, count: int) -> int:
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    i = 0
    while i < count and i < STR_MAX:
        if _kchar(run, s + i) == 0:
            return i
        i += 1
    return -errno.E2BIG if i == STR_MAX else i


def _strcmp(run: Run, a: int, b: int, fold: bool) -> int:
    if not _str_ptrs_ok(run, a, b):
        return -errno.ERANGE
    for i in range(STR_MAX):
        c1, c2 = _kchar(run, a + i), _kchar(run, b + i)
        if fold:
            c1 = c1 + 32 if 65 <= c1 <= 90 else c1
            c2 = c2 + 32 if 65 <= c2 <= 90 else c2
        if c1 != c2:
            return -1 if c1 < c2 else 1
        if c1 == 0:
            return 0
    return -errno.E2BIG


def _strnchr(run: Run, s: int, count: int, c: int) -> int:
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    c = _s8(c)
    i = 0
    while i < count and i < STR_MAX:
        sc = _kchar(run, s + i)
        if sc == c:
            return i
        if sc == 0:
            return -errno.ENOENT
        i += 1
    return -errno.E2BIG if i == STR_MAX else -errno.ENOENT


def _s8(x: int) -> int:
    """A ``char`` argument (unsigned in the kernel)."""
    return x & 0xFF


def _strnstr(run: Run, s1: int, s2: int, length: int) -> int:
    if not _str_ptrs_ok(run, s1, s2):
        return -errno.ERANGE
    for i in range(STR_MAX):
        j = 0
        while i + j <= length and j < STR_MAX:
            c2 = _kchar(run, s2 + j)
            if c2 == 0:
                return i
            if i + j == length:
                return -errno.ENOENT
            c1 = _kchar(run, s1 + i + j)
            if c1 == 0:
                return -errno.ENOENT
            if c1 != c2:
                break
            j += 1
        if j == STR_MAX:
            return -errno.E2BIG
        if i + j == length:
            return -errno.ENOENT
    return -errno.E2BIG


kfunc("bpf_strlen")(_kstr(lambda run, s, *_: _strnlen(run, s, STR_MAX)))
kfunc("bpf_strnlen")(_kstr(lambda run, s, count, *_: _strnlen(run, s, count)))
kfunc("bpf_strcmp")(_kstr(lambda run, a, b, *_: _strcmp(run, a, b, False)))
kfunc("bpf_strcasecmp")(_kstr(lambda run, a, b, *_: _strcmp(run, a, b, True)))
kfunc("bpf_strchr")(_kstr(lambda run, s, c, *_: _strnchr(run, s, STR_MAX, c)))
kfunc("bpf_strnchr")(_kstr(lambda run, s, count, c, *_: _strnchr(run, s, count, c)))
kfunc("bpf_strstr")(_kstr(lambda run, a, b, *_: _strnstr(run, a, b, STR_MAX)))
kfunc("bpf_strnstr")(_kstr(lambda run, a, b, n, *_: _strnstr(run, a, b, n)))


@kfunc("bpf_strrchr")
@_kstr
def strrchr(run: Run, s, c, *_):
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    c, last = _s8(c), -errno.ENOENT
    for i in range(STR_MAX):
        sc = _kchar(run, s + i)
        if sc == c:
            last = i
        if sc == 0:
            return last
    return -errno.E2BIG


@helper(H.per_cpu_ptr)
def per_cpu_ptr(run: Run, ptr, cpu, *_):
    """A per-CPU ksym on ``cpu``: the runtime's typed ksyms are one zero-filled
    stand-in shared by every CPU; NULL past the last possible CPU."""
    from .maps import possible_cpus

    return ptr if (cpu & 0xFFFF_FFFF) < possible_cpus() else 0


@helper(H.this_cpu_ptr)
def this_cpu_ptr(run: Run, ptr, *_):
    return ptr
