"""BPF iterators (Linux 5.8+): a link to read from."""

from __future__ import annotations

import ctypes
from typing import Any

from ...errors import AttachError
from ...links import Link
from ...uapi import AttachType
from ...uapi.consts import (
    BPF_CGROUP_ITER_ANCESTORS_UP,
    BPF_CGROUP_ITER_DESCENDANTS_POST,
    BPF_CGROUP_ITER_DESCENDANTS_PRE,
    BPF_CGROUP_ITER_ORDER_UNSPEC,
    BPF_CGROUP_ITER_SELF_ONLY,
)
from ...uapi.structs import IterLinkInfo
from ..links import IterLink, link_fd_create
from .common import no_extra, open_dir_fd, prog_name

_MAP_ITERS = frozenset({"bpf_map_elem", "bpf_sk_storage_map", "sockmap"})
_ITER_ORDER = {"default": BPF_CGROUP_ITER_ORDER_UNSPEC, "self_only": BPF_CGROUP_ITER_SELF_ONLY,
               "descendants_pre": BPF_CGROUP_ITER_DESCENDANTS_PRE,
               "descendants_post": BPF_CGROUP_ITER_DESCENDANTS_POST,
               "ancestors_up": BPF_CGROUP_ITER_ANCESTORS_UP}


def attach_iter(prog: Any, attach_to: str, atype: int | None, retprobe: bool,
                target: dict[str, Any]) -> Link:
    m = target.pop("map", None)
    cg = target.pop("cgroup", None)
    order = target.pop("order", "default")
    tid = target.pop("tid", None)
    pid = target.pop("pid", None)
    no_extra("iterator", prog, target)
    if m is None and attach_to in _MAP_ITERS:
        raise AttachError(f"iterator {prog_name(prog)} (iter/{attach_to}) needs map= (the map "
                          "to walk)")
    info = IterLinkInfo()
    keep: list[Any] = []
    if m is not None:
        info.map.map_fd = m if isinstance(m, int) else int(m.fd)
    elif cg is not None:
        cgfd, _where = open_dir_fd(cg, "cgroup")
        keep.append(cgfd)
        info.cgroup.order = _ITER_ORDER.get(order, order) if isinstance(order, str) else int(order)
        info.cgroup.cgroup_fd = cgfd.fd
    elif tid is not None or pid is not None:
        info.task.tid = int(tid or 0)
        info.task.pid = int(pid or 0)
    use_info = m is not None or cg is not None or tid is not None or pid is not None

    def setup(attr):
        if use_info:
            attr.iter_info = ctypes.addressof(info)
            attr.iter_info_len = ctypes.sizeof(info)
    try:
        fd = link_fd_create(prog, 0, int(AttachType.TRACE_ITER), setup=setup,
                            what=f"creating iterator link for {prog_name(prog)} ({attach_to})")
    finally:
        for k in keep:
            k.close()
    return IterLink(prog, fd, f"iter/{attach_to}")
