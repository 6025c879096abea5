"""One typed function per bpf(2) command.

Most functions take the command's generated attr layout (:mod:`ebpf.uapi.structs`);
the generic object commands (pin, get, info, ids, stats) take plain arguments and
build it. Each runs the command through :func:`ebpf.kernel.sys.bpf` and returns
what the command gives back: an owned :class:`~ebpf.kernel.sys.FD` (closed by
``close()``, ``with`` or garbage collection) for commands that make a file
descriptor, ``None`` (or the filled structure) for the rest (their results are
written into ``attr``). Every bpf(2) call of the kernel backend goes through one
of them, except the map fast paths, which call libc's ``syscall`` directly with
the command number. The keyword options are
:func:`~ebpf.kernel.sys.bpf`'s: ``what`` names the operation in errors, ``error``
picks the exception class, ``capability`` the capability a refusal names, ``raw``
raises a plain ``OSError`` for callers that map errnos themselves.

>>> from ebpf.kernel import commands
>>> from ebpf.uapi.structs import MapCreateAttr
>>> with commands.map_create(MapCreateAttr(map_type=2, key_size=4, value_size=8,
...                                        max_entries=1)) as fd:
...     fd.closed
False
"""

from __future__ import annotations

import ctypes
import errno as _errno
from collections.abc import Iterator
from typing import TypeVar

from ..errors import SystemCallError
from ..uapi import Command, structs
from ..uapi.consts import BPF_STATS_RUN_TIME
from .sys import FD, addr, bpf, c_string, error_for

__all__ = [
    "map_create", "map_lookup_elem", "map_update_elem", "map_delete_elem", "map_get_next_key",
    "map_lookup_and_delete_elem", "map_freeze", "map_lookup_batch",
    "map_lookup_and_delete_batch", "map_update_batch", "map_delete_batch", "prog_load",
    "obj_pin", "obj_get", "prog_attach", "prog_detach", "prog_test_run", "get_next_id",
    "iter_ids", "get_fd_by_id", "get_info_by_fd", "prog_query", "raw_tracepoint_open",
    "btf_load", "task_fd_query", "link_create", "link_update", "link_detach", "enable_stats",
    "iter_create", "prog_bind_map", "token_create", "prog_stream_read_by_fd",
]

#: the exception class a failure raises (built as ``error(what, errno)``)
_Err = type[Exception]


# ---- maps --------------------------------------------------------------------------

def map_create(attr: structs.MapCreateAttr, *, what: str = "", error: _Err = SystemCallError,
               capability: str | None = None, raw: bool = False) -> FD:
    """BPF_MAP_CREATE: a new map."""
    return FD(bpf(Command.MAP_CREATE, attr, what=what, error=error, capability=capability,
                  raw=raw))


def map_lookup_elem(attr: structs.MapElemAttr, *, what: str = "", error: _Err = SystemCallError,
                    raw: bool = False) -> None:
    """BPF_MAP_LOOKUP_ELEM: the value of ``key`` into ``value``."""
    bpf(Command.MAP_LOOKUP_ELEM, attr, what=what, error=error, raw=raw)


def map_update_elem(attr: structs.MapElemAttr, *, what: str = "", error: _Err = SystemCallError,
                    raw: bool = False) -> None:
    """BPF_MAP_UPDATE_ELEM."""
    bpf(Command.MAP_UPDATE_ELEM, attr, what=what, error=error, raw=raw)


def map_delete_elem(attr: structs.MapElemAttr, *, what: str = "", error: _Err = SystemCallError,
                    raw: bool = False) -> None:
    """BPF_MAP_DELETE_ELEM."""
    bpf(Command.MAP_DELETE_ELEM, attr, what=what, error=error, raw=raw)


def map_get_next_key(attr: structs.MapElemAttr, *, what: str = "", error: _Err = SystemCallError,
                     raw: bool = False) -> None:
    """BPF_MAP_GET_NEXT_KEY: the key after ``key`` into ``next_key``."""
    bpf(Command.MAP_GET_NEXT_KEY, attr, what=what, error=error, raw=raw)


def map_lookup_and_delete_elem(attr: structs.MapElemAttr, *, what: str = "",
                               error: _Err = SystemCallError, raw: bool = False) -> None:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM (also a queue's or stack's pop)."""
    bpf(Command.MAP_LOOKUP_AND_DELETE_ELEM, attr, what=what, error=error, raw=raw)


def map_freeze(attr: structs.MapElemAttr, *, what: str = "", error: _Err = SystemCallError,
               raw: bool = False) -> None:
    """BPF_MAP_FREEZE: no more writes from user space."""
    bpf(Command.MAP_FREEZE, attr, what=what, error=error, raw=raw)


def map_lookup_batch(attr: structs.MapBatchAttr, *, what: str = "", error: _Err = SystemCallError,
                     raw: bool = False) -> None:
    """BPF_MAP_LOOKUP_BATCH."""
    bpf(Command.MAP_LOOKUP_BATCH, attr, what=what, error=error, raw=raw)


def map_lookup_and_delete_batch(attr: structs.MapBatchAttr, *, what: str = "",
                                error: _Err = SystemCallError, raw: bool = False) -> None:
    """BPF_MAP_LOOKUP_AND_DELETE_BATCH."""
    bpf(Command.MAP_LOOKUP_AND_DELETE_BATCH, attr, what=what, error=error, raw=raw)


def map_update_batch(attr: structs.MapBatchAttr, *, what: str = "", error: _Err = SystemCallError,
                     raw: bool = False) -> None:
    """BPF_MAP_UPDATE_BATCH."""
    bpf(Command.MAP_UPDATE_BATCH, attr, what=what, error=error, raw=raw)


def map_delete_batch(attr: structs.MapBatchAttr, *, what: str = "", error: _Err = SystemCallError,
                     raw: bool = False) -> None:
    """BPF_MAP_DELETE_BATCH."""
    bpf(Command.MAP_DELETE_BATCH, attr, what=what, error=error, raw=raw)


# ---- programs ------------------------------------------------------------------------

def prog_load(attr: structs.ProgLoadAttr, *, what: str = "", error: _Err = SystemCallError,
              capability: str | None = None, raw: bool = False) -> FD:
    """BPF_PROG_LOAD: a verified program."""
    return FD(bpf(Command.PROG_LOAD, attr, what=what, error=error, capability=capability,
                  raw=raw))


def prog_test_run(attr: structs.ProgTestRunAttr, *, what: str = "", error: _Err = SystemCallError,
                  raw: bool = False) -> None:
    """BPF_PROG_TEST_RUN: results in ``retval``, ``duration``, ``data_size_out``..."""
    bpf(Command.PROG_TEST_RUN, attr, what=what, error=error, raw=raw)


def prog_attach(attr: structs.ProgAttachAttr, *, what: str = "", error: _Err = SystemCallError,
                capability: str | None = None, raw: bool = False) -> None:
    """BPF_PROG_ATTACH (cgroups, sockmaps, flow dissector, lirc...)."""
    bpf(Command.PROG_ATTACH, attr, what=what, error=error, capability=capability, raw=raw)


def prog_detach(attr: structs.ProgAttachAttr, *, what: str = "", error: _Err = SystemCallError,
                raw: bool = False) -> None:
    """BPF_PROG_DETACH."""
    bpf(Command.PROG_DETACH, attr, what=what, error=error, raw=raw)


def prog_query(attr: structs.ProgQueryAttr, *, what: str = "", error: _Err = SystemCallError,
               raw: bool = False) -> None:
    """BPF_PROG_QUERY: the programs attached to a hook."""
    bpf(Command.PROG_QUERY, attr, what=what, error=error, raw=raw)


def prog_bind_map(attr: structs.ProgBindMapAttr, *, what: str = "", error: _Err = SystemCallError,
                  raw: bool = False) -> None:
    """BPF_PROG_BIND_MAP: keep a map alive as long as the program."""
    bpf(Command.PROG_BIND_MAP, attr, what=what, error=error, raw=raw)


def raw_tracepoint_open(attr: structs.RawTracepointOpenAttr, *, what: str = "",
                        error: _Err = SystemCallError, raw: bool = False) -> FD:
    """BPF_RAW_TRACEPOINT_OPEN: a raw tracepoint (or tracing program) attachment."""
    return FD(bpf(Command.RAW_TRACEPOINT_OPEN, attr, what=what, error=error, raw=raw))


def prog_stream_read_by_fd(attr: structs.ProgStreamReadAttr, *, what: str = "",
                           error: _Err = SystemCallError, raw: bool = False) -> int:
    """BPF_PROG_STREAM_READ_BY_FD: bytes of a program's stream into ``stream_buf``; returns
    how many."""
    return bpf(Command.PROG_STREAM_READ_BY_FD, attr, what=what, error=error, raw=raw)


def task_fd_query(attr: structs.TaskFdQueryAttr, *, what: str = "", error: _Err = SystemCallError,
                  raw: bool = False) -> None:
    """BPF_TASK_FD_QUERY: what a task's perf event fd has attached."""
    bpf(Command.TASK_FD_QUERY, attr, what=what, error=error, raw=raw)


# ---- objects, ids, info ------------------------------------------------------------------
def obj_pin(fd: int, path: str, *, what: str = "") -> None:
    """BPF_OBJ_PIN: pin the object behind ``fd`` at ``path`` in bpffs."""
    p = c_string(path)
    bpf(Command.OBJ_PIN, structs.ObjPinAttr(pathname=addr(p), bpf_fd=fd),
        what=what or f"pinning to {path}")


def obj_get(path: str, flags: int = 0, *, what: str = "") -> FD:
    """BPF_OBJ_GET: open the object pinned at ``path``."""
    p = c_string(path)
    return FD(bpf(Command.OBJ_GET, structs.ObjPinAttr(pathname=addr(p), file_flags=flags),
                  what=what or f"opening pinned object {path}"))


_Info = TypeVar("_Info", structs.ProgInfo, structs.MapInfo, structs.BtfInfo, structs.LinkInfo)


def get_info_by_fd(fd: int, info: _Info, *, what: str = "") -> _Info:
    """BPF_OBJ_GET_INFO_BY_FD: fill ``info`` (structs.ProgInfo/structs.MapInfo/structs.BtfInfo/structs.LinkInfo, pointer
    fields set by the caller); returns it."""
    attr = structs.InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=addr(info))
    bpf(Command.OBJ_GET_INFO_BY_FD, attr, what=what or f"getting info of fd {fd}")
    return info


#: the *_GET_NEXT_ID commands (one per object kind) and their *_GET_FD_BY_ID
NEXT_ID_COMMANDS = (Command.PROG_GET_NEXT_ID, Command.MAP_GET_NEXT_ID, Command.BTF_GET_NEXT_ID,
                    Command.LINK_GET_NEXT_ID)
FD_BY_ID_COMMANDS = (Command.PROG_GET_FD_BY_ID, Command.MAP_GET_FD_BY_ID,
                     Command.BTF_GET_FD_BY_ID, Command.LINK_GET_FD_BY_ID)


def get_next_id(cmd: int, start: int = 0) -> int | None:
    """BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID: the id after ``start``; None at the end."""
    if cmd not in NEXT_ID_COMMANDS:
        raise ValueError(f"{cmd} is not a *_GET_NEXT_ID command")
    attr = structs.GetIdAttr(start_id=start)
    try:
        bpf(cmd, attr, raw=True)
    except OSError as e:
        if e.errno == _errno.ENOENT:
            return None
        raise error_for(e.errno or 0, f"listing ids ({Command(cmd).name})", cmd) from None
    return int(attr.next_id)


def iter_ids(cmd: int) -> Iterator[int]:
    """All ids a *_GET_NEXT_ID command lists, in order."""
    cur = 0
    while True:
        nxt = get_next_id(cmd, cur)
        if nxt is None:
            return
        yield nxt
        cur = nxt


def get_fd_by_id(cmd: int, obj_id: int, flags: int = 0, *,
                 error: _Err = SystemCallError, kind: str = "") -> FD:
    """BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID: open a program/map/BTF/link by id.
    With ``kind`` ("map", "program"), an id nothing has raises ``error`` "no
    {kind} with id N" (ENOENT)."""
    if cmd not in FD_BY_ID_COMMANDS:
        raise ValueError(f"{cmd} is not a *_GET_FD_BY_ID command")
    attr = structs.GetIdAttr(start_id=obj_id, open_flags=flags)
    try:
        return FD(bpf(cmd, attr, what=f"opening id {obj_id} ({Command(cmd).name})", error=error))
    except SystemCallError as e:
        if kind and e.errno == _errno.ENOENT:
            raise error(f"no {kind} with id {obj_id}", _errno.ENOENT) from None
        raise


def enable_stats(kind: int = BPF_STATS_RUN_TIME) -> FD:
    """BPF_ENABLE_STATS: run-time stats stay on while the returned FD is open."""
    return FD(bpf(Command.ENABLE_STATS, structs.EnableStatsAttr(type=kind),
                  what="enabling BPF run-time stats"))


def btf_load(attr: structs.BtfLoadAttr, *, what: str = "", error: _Err = SystemCallError,
             raw: bool = False) -> FD:
    """BPF_BTF_LOAD: a BTF object."""
    return FD(bpf(Command.BTF_LOAD, attr, what=what, error=error, raw=raw))


def token_create(attr: structs.TokenCreateAttr, *, what: str = "", error: _Err = SystemCallError,
                 raw: bool = False) -> FD:
    """BPF_TOKEN_CREATE: a delegation token from a bpffs mount."""
    return FD(bpf(Command.TOKEN_CREATE, attr, what=what, error=error, raw=raw))


# ---- links -------------------------------------------------------------------------------

def link_create(attr: structs.LinkCreateAttr, *, what: str = "", error: _Err = SystemCallError,
                raw: bool = False) -> FD:
    """BPF_LINK_CREATE: a link (detached when its last FD closes, unless pinned)."""
    return FD(bpf(Command.LINK_CREATE, attr, what=what, error=error, raw=raw))


def link_update(attr: structs.LinkUpdateAttr, *, what: str = "", error: _Err = SystemCallError,
                raw: bool = False) -> None:
    """BPF_LINK_UPDATE: swap the link's program."""
    bpf(Command.LINK_UPDATE, attr, what=what, error=error, raw=raw)


def link_detach(attr: structs.LinkDetachAttr, *, what: str = "", error: _Err = SystemCallError,
                raw: bool = False) -> None:
    """BPF_LINK_DETACH: detach now (the FD stays, defunct)."""
    bpf(Command.LINK_DETACH, attr, what=what, error=error, raw=raw)


def iter_create(attr: structs.IterCreateAttr, *, what: str = "", error: _Err = SystemCallError,
                raw: bool = False) -> FD:
    """BPF_ITER_CREATE: a readable fd running an iterator link's program."""
    return FD(bpf(Command.ITER_CREATE, attr, what=what, error=error, raw=raw))
