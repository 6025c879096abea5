"""Local storage helpers (task, socket, inode, cgroup)."""

from __future__ import annotations

from ...errors import RuntimeFault
from ...uapi import HelperId as H
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
