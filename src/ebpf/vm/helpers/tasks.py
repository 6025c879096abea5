"""task_struct stand-ins, pid namespaces, socket cookies, cgroups, task kfuncs."""

from __future__ import annotations

import collections
import errno
import itertools
import os
import threading
import weakref

from ..._internal.ints import s32
from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.contexts import BPF_PIDNS_INFO
from ..run import Run
from .system import _comm
from .table import get_map, helper, kfunc, neg

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
    from ...errors import BTFError

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
    from ..memory import GLOBAL

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
                GLOBAL.free(*regions)
        return task.base


#: sizeof(struct bpf_pidns_info)
PIDNS_INFO_SIZE = BPF_PIDNS_INFO.size


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
    from ..cgroups import current_cgroup_id

    return current_cgroup_id()


@helper(H.get_current_cgroup_id)
def get_current_cgroup_id(run: Run, *_):
    return _cgroup_id()


def _under_cgroup(run: Run, map_: int, index: int, what: str) -> int:
    from ..cgroups import current_under
    from ..maps import CgroupArrayMap

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


@kfunc("bpf_task_from_pid")
def task_from_pid(run: Run, pid, *_):
    """A task_struct stand-in for thread ``pid`` (as /proc shows it), NULL when
    there is none. The reference needs no release in the runtime."""
    pid = s32(pid)
    return _task(run, pid) if pid > 0 else 0


@kfunc("bpf_task_acquire")
def task_acquire(run: Run, task, *_):
    return task


@kfunc("bpf_task_release")
def task_release(run: Run, task, *_):
    return 0
