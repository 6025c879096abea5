"""A CGROUP_SYSCTL program's run: which sysctl is read or written, and the
``struct bpf_sysctl`` the program sees.

The kernel runs these programs when a process of the cgroup reads or writes a
file under ``/proc/sys``; they cannot be test-run there. The runtime runs one on
a :class:`SysctlRequest` given as the run's ``ctx``::

    prog.test_run(ctx=SysctlRequest("net/ipv4/ip_default_ttl", new_value=b"65\\n"))

What the program can observe, as in the kernel:

* the sysctl's name (``bpf_sysctl_get_name``), whole or its base name;
* its current value as a read of the file at position 0 presents it, newline
  included (``bpf_sysctl_get_current_value``): read from the calling thread's
  ``/proc/sys`` (so a network sysctl is that of the thread's network namespace)
  unless the request gives ``current``; a sysctl that cannot be read has none
  (the helper's ``-EINVAL``), as for the kernel's unreadable ones;
* on a write, the bytes being written (``bpf_sysctl_get_new_value``), which the
  program may replace (``bpf_sysctl_set_new_value``);
* ``write`` and ``file_pos`` in the context (``file_pos`` writable).

A test run's data out is the value that would be written after the program
(empty on a read); its ctx out is the ``struct bpf_sysctl`` after the run. The
run's ``cgroup_retval`` is what the read or write returns to the process (see
:mod:`ebpf.vm.helpers.retval`). The runtime writes nothing to ``/proc/sys``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..uapi.contexts import BPF_SYSCTL
from .contexts import Context, _ctx_region
from .memory import Memory

#: the longest value a write may carry (PAGE_SIZE; the program may set up to
#: PAGE_SIZE - 1 bytes)
PAGE_SIZE = 4096
_WRITE = BPF_SYSCTL.offset("write")
_FILE_POS = BPF_SYSCTL.offset("file_pos")


@dataclass(frozen=True)
class SysctlRequest:
    """One read (``new_value`` None) or write of sysctl ``name`` (as under
    ``/proc/sys``: ``"net/ipv4/tcp_mem"``), at ``file_pos``. ``current`` is the
    value as its file shows it; None reads it from ``/proc/sys``."""

    name: str
    new_value: bytes | None = None
    file_pos: int = 0
    current: bytes | None = None

    def current_value(self) -> bytes:
        """The current value the program sees (b"" when there is none)."""
        if self.current is not None:
            return self.current[:PAGE_SIZE]
        try:
            with open(f"/proc/sys/{self.name}", "rb", buffering=0) as f:
                return f.read(PAGE_SIZE)
        except OSError:
            return b""


class SysctlContext(Context):
    """The context of a CGROUP_SYSCTL run: a ``struct bpf_sysctl`` (``write``,
    ``file_pos``) and, behind it, the request the helpers answer from."""

    def __init__(self, mem: Memory, request: SysctlRequest):
        self.request = request
        self.name = request.name.strip("/")
        self.write = request.new_value is not None
        self.buf = bytearray(BPF_SYSCTL.size)
        self.region = _ctx_region(mem, self.buf, "bpf_sysctl", fields=[(_FILE_POS, 4)])
        self.addr = self.region.base
        self.current = b""
        self.new = b""
        self.new_updated = False

    def begin(self) -> None:
        r = self.request
        struct.pack_into("<Ii", self.buf, _WRITE, int(self.write), r.file_pos)
        self.current = r.current_value()
        self.new = (r.new_value or b"")[:PAGE_SIZE]
        self.new_updated = False

    def finish(self) -> tuple[bytes, bytes | None]:
        return (self.new if self.write else b""), bytes(self.buf)


__all__ = ["SysctlContext", "SysctlRequest"]
