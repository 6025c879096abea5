"""Map helpers: lookup/update/delete, queues and stacks, for_each, bpf_loop, tail calls."""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...spec import BPF_F_RDONLY_PROG
from ...uapi import HelperId as H
from ..code import CODE_BASE
from ..memory import SCRATCH_BASE, Region
from ..run import ITERATION_COST, MAX_TAIL_CALLS, Run, TailCall
from .table import get_map, helper, neg


# ---- maps ---------------------------------------------------------------------
def _writable(m):
    """A map the program may change: the kernel's verifier refuses update, delete,
    push and pop on a BPF_F_RDONLY_PROG map ("write into map forbidden"); the vm,
    without a static verifier, stops the program at the call."""
    if m.spec.flags & BPF_F_RDONLY_PROG:
        raise RuntimeFault(f"write into map forbidden: map {m.name} was created with "
                           "BPF_F_RDONLY_PROG (the kernel's verifier refuses this program)")
    return m


@helper(H.map_lookup_elem)
def map_lookup_elem(run: Run, map_, key, *_):
    from ..maps import SockHashMap, SockMapMap

    m = get_map(run, map_)
    if isinstance(m, (SockMapMap, SockHashMap)):  # a socket, referenced
        from .sockets import sock_from_map

        return sock_from_map(run, m, run.mem.read(key, m.key_size))
    return m.prog_lookup(run.mem.read(key, m.key_size), run.cpu)


@helper(H.map_update_elem)
def map_update_elem(run: Run, map_, key, value, flags, *_):
    m = _writable(get_map(run, map_))
    return neg(-m.prog_update(run.mem.read(key, m.key_size), run.mem.read(value, m.value_size),
                              flags, run.cpu))


@helper(H.map_delete_elem)
def map_delete_elem(run: Run, map_, key, *_):
    m = _writable(get_map(run, map_))
    return neg(-m.prog_delete(run.mem.read(key, m.key_size)))


@helper(H.map_push_elem)
def map_push_elem(run: Run, map_, value, flags, *_):
    m = _writable(get_map(run, map_))
    return neg(-m.prog_push(run.mem.read(value, m.value_size), flags))


def _pop(run: Run, map_: int, value: int, peek: bool) -> int:
    from ..maps import BloomFilterMap

    m = get_map(run, map_)
    if not peek:
        _writable(m)
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


def _elements(m, cpu: int):
    """(key, value address) of each element, produced one at a time."""
    from ..maps import ArrayMap

    if isinstance(m, ArrayMap):
        for i in range(m.max_entries):
            key = i.to_bytes(4, "little")
            yield key, m.prog_lookup(key, cpu)
    else:
        with m._lock:
            keys = list(m.entries)
        for k in keys:
            yield k, m.prog_lookup(k, cpu)


@helper(H.for_each_map_elem)
def for_each_map_elem(run: Run, map_, callback, ctx, flags, *_):
    from ..maps import ArrayMap, HashMap

    if flags:
        return neg(errno.EINVAL)
    m = get_map(run, map_)
    slot = _callback_slot(run, callback)
    if not isinstance(m, (ArrayMap, HashMap)):
        return neg(errno.EINVAL)
    count = 0
    keybuf = bytearray(max(m.key_size, 1))
    region = run.mem.add_local(Region(SCRATCH_BASE - 0x1000, keybuf, "for_each key",
                                      writable=False))
    try:
        for key, vaddr in _elements(m, run.cpu):
            run.spend(ITERATION_COST)
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
        run.spend(ITERATION_COST)
        if run.call_function(code, slot, (i, ctx)):
            return i + 1
    return nr_loops


@helper(H.tail_call)
def tail_call(run: Run, ctx, map_, index, *_):
    from ..maps import ProgArrayMap

    m = get_map(run, map_, "prog_array")
    if not isinstance(m, ProgArrayMap):
        raise RuntimeFault(f"bpf_tail_call on map {m.name}, which is not a PROG_ARRAY")
    prog = m.slot(index & 0xFFFF_FFFF)
    if prog is None or run.tail_calls >= MAX_TAIL_CALLS:
        return neg(errno.ENOENT)
    run.tail_calls += 1
    raise TailCall(prog, ctx)


@helper(H.kptr_xchg)
def kptr_xchg(run: Run, dst, ptr, *_):
    """Swap the object pointer in a map value's kptr field for ``ptr`` (or NULL);
    the old one, whose reference passes to the program, is returned."""
    old = int.from_bytes(run.mem.read(dst, 8), "little")
    run.mem.write(dst, (ptr & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))
    return old
