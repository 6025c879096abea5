"""Local storage helpers (task, socket, inode, cgroup)."""

from __future__ import annotations

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.contexts import BPF_SOCK
from ..run import Run
from .table import get_map, helper, neg
from .tasks import _TASK_OWNERS


# ---- local storage ------------------------------------------------------------------
def _storage_map(run: Run, map_: int, what: str):
    from ..maps import LocalStorageMap

    m = get_map(run, map_)
    if not isinstance(m, LocalStorageMap):
        raise RuntimeFault(f"{what} on map {m.name} ({m.type.name}), which is not a local "
                           "storage map")
    return m


def _owner(ptr: int, task: bool, run: Run | None = None):
    if not ptr:
        return None
    if task:
        tid = _TASK_OWNERS.get(ptr)
        return ("task", tid) if tid is not None else ("ptr", ptr)
    region = run.extra.get("socks", {}).get(ptr) if run is not None else None
    if region is not None:
        # a socket a lookup gave: the socket itself (family, addresses and ports,
        # state class), whatever address this run's lookup put it at
        f = BPF_SOCK.fields
        ident = bytes(region.buf[f["family"].offset:f["family"].offset + 12]) + \
            bytes(region.buf[f["src_ip4"].offset:f["state"].offset])
        return ("sock", ident)
    return ("ptr", ptr)


def _storage_helpers(kind: str) -> None:
    """Register ``bpf_<kind>_storage_get`` and ``bpf_<kind>_storage_delete``: the
    calling program's value for the owner (created with
    BPF_LOCAL_STORAGE_GET_F_CREATE from ``value`` or zeros) or NULL, and its removal."""
    task = kind == "task"
    get_name, delete_name = f"{kind}_storage_get", f"{kind}_storage_delete"

    def get(run: Run, map_, owner, value, flags, *_):
        m = _storage_map(run, map_, f"bpf_{get_name}")
        init = run.mem.read(value, m.value_size) if value else None
        return m.storage_get(_owner(owner, task, run), init, flags)

    def delete(run: Run, map_, owner, *_):
        m = _storage_map(run, map_, f"bpf_{delete_name}")
        return neg(-m.storage_delete(_owner(owner, task, run)))

    get.__name__, delete.__name__ = get_name, delete_name
    helper(H[get_name])(get)
    helper(H[delete_name])(delete)


for _kind in ("task", "sk", "inode", "cgrp"):
    _storage_helpers(_kind)


@helper(H.get_local_storage)
def get_local_storage(run: Run, map_, flags, *_):
    """The storage of the running cgroup program in ``map_`` (this CPU's value for
    the per-CPU kind); the verifier has made sure ``flags`` is 0."""
    from ..maps import CgroupStorageMap

    m = get_map(run, map_)
    if not isinstance(m, CgroupStorageMap):
        raise RuntimeFault(f"bpf_get_local_storage on map {m.name} ({m.type.name}), which is "
                           "not a cgroup storage map")
    return m.value_address(m.run_storage(run.mem, run.cgroup_storage), run.cpu)
