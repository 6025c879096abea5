"""One typed function per bpf(2) command.

Most are a table: each command with the generated attr layout it takes
(:mod:`ebpf.uapi.structs`), called with an attr of that layout; the generic
object commands (pin, get, info, ids, stats) are functions that take plain
arguments and build it. Each runs the command through :func:`ebpf.kernel.sys.bpf`
and returns what the command gives back: an owned :class:`~ebpf.kernel.sys.FD`
(closed by ``close()``, ``with`` or garbage collection) for commands that make a
file descriptor, ``None`` (or the filled structure, or a count) for the rest
(their results are written into ``attr``). Every bpf(2) call of the kernel backend
goes through one of them, except the map fast paths, which call libc's
``syscall`` directly with the command number. The keyword options are
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
from typing import Generic, TypeVar

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
_A = TypeVar("_A", bound=ctypes.Structure)


class _Table(Generic[_A]):
    """A command with the attr layout it takes (:attr:`layout`)."""

    def __init__(self, cmd: Command, layout: type[_A], doc: str = "") -> None:
        self.cmd = cmd
        self.layout = layout
        sep = " " if doc.startswith("(") else ": "
        self.__doc__ = f"BPF_{cmd.name}{sep}{doc}" if doc else f"BPF_{cmd.name}."

    def _run(self, attr: _A, what: str, error: _Err, capability: str | None, raw: bool) -> int:
        return bpf(self.cmd, attr, what=what, error=error, capability=capability, raw=raw)

    def __repr__(self) -> str:
        return f"<bpf command {self.cmd.name}({self.layout.__name__})>"


class _Command(_Table[_A]):
    """A command that writes its results into its attr (a call returns None)."""

    def __call__(self, attr: _A, *, what: str = "", error: _Err = SystemCallError,
                 capability: str | None = None, raw: bool = False) -> None:
        self._run(attr, what, error, capability, raw)


class _FDCommand(_Table[_A]):
    """A command that makes a file descriptor: a call returns it, owned."""

    def __call__(self, attr: _A, *, what: str = "", error: _Err = SystemCallError,
                 capability: str | None = None, raw: bool = False) -> FD:
        return FD(self._run(attr, what, error, capability, raw))


# ---- maps --------------------------------------------------------------------------

map_create = _FDCommand(Command.MAP_CREATE, structs.MapCreateAttr,
                        "a new map.")
map_lookup_elem = _Command(Command.MAP_LOOKUP_ELEM, structs.MapElemAttr,
                           "the value of ``key`` into ``value``.")
map_update_elem = _Command(Command.MAP_UPDATE_ELEM, structs.MapElemAttr)
map_delete_elem = _Command(Command.MAP_DELETE_ELEM, structs.MapElemAttr)
map_get_next_key = _Command(Command.MAP_GET_NEXT_KEY, structs.MapElemAttr,
                            "the key after ``key`` into ``next_key``.")
map_lookup_and_delete_elem = _Command(Command.MAP_LOOKUP_AND_DELETE_ELEM, structs.MapElemAttr,
                                      "(also a queue's or stack's pop).")
map_freeze = _Command(Command.MAP_FREEZE, structs.MapElemAttr,
                      "no more writes from user space.")
map_lookup_batch = _Command(Command.MAP_LOOKUP_BATCH, structs.MapBatchAttr)
map_lookup_and_delete_batch = _Command(Command.MAP_LOOKUP_AND_DELETE_BATCH, structs.MapBatchAttr)
map_update_batch = _Command(Command.MAP_UPDATE_BATCH, structs.MapBatchAttr)
map_delete_batch = _Command(Command.MAP_DELETE_BATCH, structs.MapBatchAttr)


# ---- programs ------------------------------------------------------------------------

prog_load = _FDCommand(Command.PROG_LOAD, structs.ProgLoadAttr,
                       "a verified program.")
prog_test_run = _Command(Command.PROG_TEST_RUN, structs.ProgTestRunAttr,
                         "results in ``retval``, ``duration``, ``data_size_out``...")
prog_attach = _Command(Command.PROG_ATTACH, structs.ProgAttachAttr,
                       "(cgroups, sockmaps, flow dissector, lirc...).")
prog_detach = _Command(Command.PROG_DETACH, structs.ProgAttachAttr)
prog_query = _Command(Command.PROG_QUERY, structs.ProgQueryAttr,
                      "the programs attached to a hook.")
prog_bind_map = _Command(Command.PROG_BIND_MAP, structs.ProgBindMapAttr,
                         "keep a map alive as long as the program.")
raw_tracepoint_open = _FDCommand(Command.RAW_TRACEPOINT_OPEN, structs.RawTracepointOpenAttr,
                                 "a raw tracepoint (or tracing program) attachment.")
task_fd_query = _Command(Command.TASK_FD_QUERY, structs.TaskFdQueryAttr,
                         "what a task's perf event fd has attached.")


def prog_stream_read_by_fd(attr: structs.ProgStreamReadAttr, *, what: str = "",
                           error: _Err = SystemCallError, raw: bool = False) -> int:
    """BPF_PROG_STREAM_READ_BY_FD: bytes of a program's stream into ``stream_buf``; returns
    how many."""
    return bpf(Command.PROG_STREAM_READ_BY_FD, attr, what=what, error=error, raw=raw)


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
    """BPF_OBJ_GET_INFO_BY_FD: fill ``info`` (ProgInfo, MapInfo, BtfInfo or LinkInfo of
    :mod:`ebpf.uapi.structs`, pointer fields set by the caller); returns it."""
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


btf_load = _FDCommand(Command.BTF_LOAD, structs.BtfLoadAttr,
                      "a BTF object.")
token_create = _FDCommand(Command.TOKEN_CREATE, structs.TokenCreateAttr,
                          "a delegation token from a bpffs mount.")


# ---- links -------------------------------------------------------------------------------

link_create = _FDCommand(Command.LINK_CREATE, structs.LinkCreateAttr,
                         "a link (detached when its last FD closes, unless pinned).")
link_update = _Command(Command.LINK_UPDATE, structs.LinkUpdateAttr,
                       "swap the link's program.")
link_detach = _Command(Command.LINK_DETACH, structs.LinkDetachAttr,
                       "detach now (the FD stays, defunct).")
iter_create = _FDCommand(Command.ITER_CREATE, structs.IterCreateAttr,
                         "a readable fd running an iterator link's program.")
