"""Kernel links: what :func:`ebpf.kernel.attach.attach_program` returns.

Every attachment is owned by this process so that it cannot outlive it by
accident:

* :class:`FDLink` — a bpf_link (BPF_LINK_CREATE / BPF_RAW_TRACEPOINT_OPEN): the
  kernel detaches the program when the last fd to the link closes, including
  when the process dies (even SIGKILL). ``pin(path)`` keeps it alive in bpffs.
* :class:`PerfEventLink` — a perf event (tracepoint, uprobe, perf_event) with
  the program on it, through a bpf_link when the kernel has BPF_PERF_EVENT links
  (5.15+), else PERF_EVENT_IOC_SET_BPF; closing the perf fd detaches either way.
* :class:`MultiLink` — several links as one (a perf_event program on every CPU,
  a USDT probe with several call sites).
* Legacy attachments the kernel does not tie to an fd (:class:`SocketFilterLink`
  via SO_ATTACH_BPF, :class:`ProgAttachLink` via BPF_PROG_ATTACH,
  netlink XDP, clsact/cls_bpf) are detached on ``close()``, when garbage
  collected, and at interpreter exit (an atexit hook walks a weak registry).

Keep a reference to the link for as long as the program should stay attached:
a link that is garbage collected detaches (``obj.attach()`` keeps its links on
the object; ``prog.attach()`` leaves that to the caller).
"""

from __future__ import annotations

import atexit
import errno as _errno
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .._internal.closeable import ClosedWhenCollected
from ..errors import AttachError, NotSupportedError, SystemCallError
from ..links import Link
from ..uapi import Command, LinkType, consts, structs
from . import commands, perf
from . import sys as bsys

log = logging.getLogger("ebpf.kernel.links")

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27
SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68

# ---- the registry of legacy attachments ------------------------------------------

_legacy: weakref.WeakSet = weakref.WeakSet()
_legacy_lock = threading.Lock()
_atexit_installed = False


def _register_legacy(link: Link) -> None:
    global _atexit_installed
    with _legacy_lock:
        _legacy.add(link)
        if not _atexit_installed:
            atexit.register(detach_all_legacy)
            _atexit_installed = True


def detach_all_legacy() -> int:
    """Detach every legacy (not fd-owned) attachment still in place; returns how
    many. Runs at interpreter exit."""
    with _legacy_lock:
        links = list(_legacy)
    n = 0
    for link in links:
        if not link.closed:
            try:
                link.close()
                n += 1
            except Exception as e:  # noqa: BLE001 - keep going at exit
                log.warning("detaching %r at exit: %s", link, e)
    return n


def _prog_fd(prog: Any) -> int:
    if isinstance(prog, int):
        return prog
    try:
        return int(prog.fd)
    except (AttributeError, ValueError, NotSupportedError) as e:
        raise AttachError(f"{prog!r} is not a loaded kernel program (no fd): {e}") from None


class KernelLink(ClosedWhenCollected, Link):
    """Base of the kernel backend's links."""

    backend = "kernel"

    def update(self, new_prog: Any) -> None:
        """Swap the attached program for ``new_prog`` without a gap (where the
        kernel allows it)."""
        raise NotSupportedError("updating this kind of link",
                                detail=f"{type(self).__name__} cannot swap programs")


class FDLink(KernelLink):
    """A bpf_link file descriptor. Closing it detaches (unless pinned)."""

    def __init__(self, program: Any, fd: bsys.FD | int, description: str = ""):
        super().__init__(program, description)
        self._fd = fd if isinstance(fd, bsys.FD) else bsys.FD(fd)
        self.pinned_path: str | None = None

    @property
    def fd(self) -> int:
        if self._fd.closed:
            raise AttachError(f"link {self.description} is closed")
        return self._fd.fd

    def fileno(self) -> int:
        return self.fd

    def info(self) -> structs.LinkInfo:
        """struct bpf_link_info of this link (``.id``, ``.prog_id``, ``.type``...)."""
        info = structs.LinkInfo()
        commands.get_info_by_fd(self.fd, info, what=f"link info of {self.description}")
        return info

    @property
    def id(self) -> int:
        return self.info().id

    @property
    def type(self) -> LinkType | int:
        t = self.info().type
        try:
            return LinkType(t)
        except ValueError:
            return t

    def pin(self, path: str) -> None:
        """Pin the link at ``path`` in bpffs: it stays attached after we exit."""
        from .tracefs import ensure_bpffs

        parent = os.path.dirname(os.path.abspath(path)) or "/"
        if parent.startswith("/sys/fs/bpf"):
            ensure_bpffs("/sys/fs/bpf")
        commands.obj_pin(self.fd, path, what=f"pinning link {self.description} at {path}")
        self.pinned_path = path

    def unpin(self) -> None:
        """Remove the pin (the link then lives as long as our fd)."""
        if self.pinned_path:
            try:
                os.unlink(self.pinned_path)
            except FileNotFoundError:
                pass
            self.pinned_path = None

    def update(self, new_prog: Any, old_prog: Any = None) -> None:
        attr = structs.LinkUpdateAttr(link_fd=self.fd, new_prog_fd=_prog_fd(new_prog))
        if old_prog is not None:
            attr.old_prog_fd = _prog_fd(old_prog)
            attr.flags = consts.BPF_F_REPLACE
        try:
            commands.link_update(attr, raw=True)
        except OSError as e:
            if e.errno in (_errno.EOPNOTSUPP, _errno.ENOTSUPP if hasattr(_errno, "ENOTSUPP") else 524):
                raise NotSupportedError(f"updating a {self.description} link",
                                        detail="the kernel cannot swap programs on this link type") from None
            raise bsys.error_for(e.errno or 0, f"updating link {self.description} to "
                                 f"{getattr(new_prog, 'name', new_prog)}", Command.LINK_UPDATE,
                                 error=AttachError) from None
        self.program = new_prog if not isinstance(new_prog, int) else self.program

    def detach(self) -> None:
        """Detach now, even if the link is pinned or its fd shared (BPF_LINK_DETACH),
        then close our fd."""
        if not self._fd.closed:
            try:
                commands.link_detach(structs.LinkDetachAttr(link_fd=self._fd.fd), raw=True)
            except OSError as e:
                if e.errno not in (_errno.EOPNOTSUPP, _errno.EINVAL):
                    raise AttachError(f"detaching link {self.description}", e.errno) from None
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fd.close()


class IterLink(FDLink):
    """A BPF iterator link: each :meth:`read` makes a new iterator (BPF_ITER_CREATE)
    and reads everything the program writes with bpf_seq_printf & co."""

    def open(self) -> int:
        """A new iterator fd (the caller closes it)."""
        return commands.iter_create(structs.IterCreateAttr(link_fd=self.fd),
                                    what=f"creating iterator for {self.description}",
                                    error=AttachError).detach()

    def read(self) -> bytes:
        fd = self.open()
        chunks = []
        try:
            while True:
                try:
                    data = os.read(fd, 65536)
                except InterruptedError:
                    continue
                except OSError as e:
                    raise AttachError(f"reading iterator {self.description}", e.errno) from None
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(fd)
        return b"".join(chunks)

    def read_text(self) -> str:
        return self.read().decode("utf-8", "replace")


class PerfEventLink(KernelLink):
    """A program on a perf event. ``link_fd`` is the bpf_link when one was made."""

    def __init__(self, program: Any, perf_fd: int, link_fd: bsys.FD | int | None,
                 description: str = ""):
        super().__init__(program, description)
        self._perf = bsys.FD(perf_fd)
        self._link = link_fd if isinstance(link_fd, bsys.FD) or link_fd is None \
            else bsys.FD(link_fd)

    @property
    def perf_fd(self) -> int:
        return self._perf.fd

    @property
    def fd(self) -> int:
        """The bpf_link fd (or the perf event fd when attached the legacy way)."""
        return self._link.fd if self._link is not None else self._perf.fd

    def pin(self, path: str) -> None:
        if self._link is None:
            raise NotSupportedError("pinning perf event attachments",
                                    detail="this kernel has no BPF_PERF_EVENT links", min_kernel="5.15")
        commands.obj_pin(self._link.fd, path, what=f"pinning link {self.description} at {path}")

    def update(self, new_prog: Any) -> None:
        raise NotSupportedError("updating perf event links",
                                detail="close it and attach the new program")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._link is None and not self._perf.closed:
                perf.disable(self._perf.fd)
        except AttachError:
            pass
        if self._link is not None:
            self._link.close()
        self._perf.close()


class MultiLink(KernelLink):
    """Several links acting as one (closing closes all)."""

    def __init__(self, program: Any, links: list[Link], description: str = ""):
        super().__init__(program, description)
        self.links = links
        self._on_close: list[Callable[[], None]] = []

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` after the links are closed (releasing what they used)."""
        self._on_close.append(fn)

    def __len__(self) -> int:
        return len(self.links)

    def __iter__(self):
        return iter(self.links)

    def pin(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        for i, link in enumerate(self.links):
            link.pin(os.path.join(path, str(i)))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        errors = []
        for link in self.links:
            try:
                link.close()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        for fn in self._on_close:
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise errors[0]


class _LegacyLink(KernelLink):
    """Detached by a callable on close; registered for detach at exit."""

    def __init__(self, program: Any, description: str, undo: Callable[[], None]):
        super().__init__(program, description)
        self._undo: Callable[[], None] | None = undo
        _register_legacy(self)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()


class SocketFilterLink(_LegacyLink):
    """A program attached to a socket with SO_ATTACH_BPF; close() detaches it
    (SO_DETACH_BPF). The socket must stay open while attached."""

    def __init__(self, program: Any, sock: Any, description: str = "", *,
                 detach_opt: int = SO_DETACH_BPF):
        self.sock = sock  # also keeps the socket object alive as long as we are
        self._detach_opt = detach_opt
        super().__init__(program, description, self._detach)

    def _fd(self) -> int:
        return self.sock if isinstance(self.sock, int) else self.sock.fileno()

    def _detach(self) -> None:
        try:
            fd = self._fd()
        except (OSError, ValueError):
            return  # socket closed: the filter went with it
        if fd < 0:
            return
        try:
            _setsockopt_int(fd, self._detach_opt, 0)
        except OSError as e:
            if e.errno in (_errno.ENOENT, _errno.EBADF, _errno.ENOTSOCK):
                return  # nothing attached any more / socket gone
            raise AttachError(f"detaching {self.description}", e.errno) from None


class ProgAttachLink(_LegacyLink):
    """BPF_PROG_ATTACH to a target fd (cgroup, sockmap, netns, lirc device);
    close() runs BPF_PROG_DETACH and releases the target fd."""

    def __init__(self, program: Any, target_fd: bsys.FD, attach_type: int, description: str = ""):
        self.target = target_fd
        self.attach_type = attach_type
        self._prog_fd = _prog_fd(program)
        super().__init__(program, description, self._detach)

    def _detach(self) -> None:
        try:
            if self.target.closed:
                return
            attr = structs.ProgAttachAttr(target_fd=self.target.fd, attach_bpf_fd=self._prog_fd,
                                       attach_type=self.attach_type)
            try:
                commands.prog_detach(attr, raw=True)
            except OSError as e:
                if e.errno != _errno.ENOENT:
                    raise AttachError(f"detaching {self.description}", e.errno) from None
        finally:
            self.target.close()


class CallbackLink(_LegacyLink):
    """A legacy attachment undone by ``undo()`` (netlink XDP, ...)."""


def _setsockopt_int(fd: int, opt: int, value: int) -> None:
    """setsockopt(SOL_SOCKET) on a raw fd without taking ownership of it."""
    import socket

    s = socket.socket(fileno=fd)
    try:
        s.setsockopt(socket.SOL_SOCKET, opt, value)
    finally:
        s.detach()


def attach_socket_filter(prog: Any, sock: Any, *, reuseport: bool = False) -> SocketFilterLink:
    """SO_ATTACH_BPF ``prog`` on ``sock`` (a socket object or an fd); with
    ``reuseport``, SO_ATTACH_REUSEPORT_EBPF (an sk_reuseport program picking the
    socket of a SO_REUSEPORT group)."""
    attach_opt, detach_opt, what = (
        (SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, "sk_reuseport program")
        if reuseport else (SO_ATTACH_BPF, SO_DETACH_BPF, "socket filter"))
    try:
        fd = sock if isinstance(sock, int) else sock.fileno()
    except (AttributeError, OSError, ValueError) as e:
        raise AttachError(f"sock= must be an open socket or its fd, not {sock!r} ({e})") from None
    if fd < 0:
        raise AttachError(f"socket {sock!r} is closed")
    try:
        _setsockopt_int(fd, attach_opt, _prog_fd(prog))
    except OSError as e:
        name = getattr(prog, "name", "?")
        if e.errno == _errno.ENOTSOCK:
            raise AttachError(f"attaching {what} {name}: fd {fd} is not a socket",
                              e.errno) from None
        raise bsys.error_for(e.errno or 0, f"attaching {what} {name} to socket fd {fd}",
                             error=AttachError, capability="CAP_NET_RAW") from None
    return SocketFilterLink(prog, sock, f"{what} on fd {fd}", detach_opt=detach_opt)


def open_pinned_link(path: str, program: Any = None) -> FDLink:
    """Open a link pinned in bpffs (close() then only drops our fd)."""
    fd = commands.obj_get(path, what=f"opening pinned link {path}")
    link = FDLink(program, fd, f"pinned link {path}")
    link.pinned_path = path
    return link


def link_fd_create(prog: Any, target_fd: int, attach_type: int, *, flags: int = 0,
                   what: str, setup: Callable[[structs.LinkCreateAttr], Any] | None = None
                   ) -> bsys.FD:
    """BPF_LINK_CREATE; returns the new link fd (owned). ``setup(attr)`` fills the
    attach-kind specific tail and may return objects to keep alive."""
    attr = structs.LinkCreateAttr(prog_fd=_prog_fd(prog), target_fd=target_fd,
                               attach_type=attach_type, flags=flags)
    keep = setup(attr) if setup is not None else None
    try:
        return commands.link_create(attr, what=what, error=AttachError)
    finally:
        del keep


def is_unsupported(e: SystemCallError) -> bool:
    """True for errnos meaning "this kernel cannot do it this way"."""
    return getattr(e, "errno", None) in (_errno.EINVAL, _errno.EOPNOTSUPP, 524, _errno.ENOSYS,
                                         _errno.E2BIG)

