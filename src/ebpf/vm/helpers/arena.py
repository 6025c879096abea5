"""Arena kfuncs: ``bpf_arena_alloc_pages``, ``bpf_arena_free_pages`` and
``bpf_arena_reserve_pages``, over the page allocator of :class:`ebpf.vm.maps.ArenaMap`
(the kernel's rules: a NULL result for bad flags, counts, nodes or addresses)."""

from __future__ import annotations

import errno

from ..._internal.ints import s32
from ..run import Run
from .table import get_map, kfunc, neg


def _arena(run: Run, addr: int):
    from ..maps import ArenaMap

    m = get_map(run, addr)
    return m if isinstance(m, ArenaMap) else None


@kfunc("bpf_arena_alloc_pages")
def arena_alloc_pages(run: Run, map_, addr, page_cnt, node_id, flags):
    m = _arena(run, map_)
    if m is None:
        return 0
    return m.alloc_pages(addr, page_cnt & 0xFFFF_FFFF, s32(node_id), flags)


@kfunc("bpf_arena_free_pages")
def arena_free_pages(run: Run, map_, ptr, page_cnt, *_):
    m = _arena(run, map_)
    if m is not None:
        m.free_pages(ptr, page_cnt & 0xFFFF_FFFF)
    return 0


@kfunc("bpf_arena_reserve_pages")
def arena_reserve_pages(run: Run, map_, ptr, page_cnt, *_):
    m = _arena(run, map_)
    if m is None:
        return neg(errno.EINVAL)
    return neg(-m.reserve_pages(ptr, page_cnt & 0xFFFF_FFFF))
