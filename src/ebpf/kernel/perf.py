"""perf_event_open(2): the attr layout, the syscall, ioctls and CPU lists.

Used for tracepoint/uprobe/perf_event attachments (a BPF program hangs off a perf
event) and for perf buffers (PERF_COUNT_SW_BPF_OUTPUT events with an mmap ring).

>>> import os
>>> from ebpf.kernel import perf
>>> attr = perf.PerfEventAttr.software(perf.SW_CPU_CLOCK, sample_period=10**6)
>>> fd = perf.perf_event_open(attr, pid=-1, cpu=0)  # needs CAP_PERFMON
>>> fd > 0
True
>>> os.close(fd)
"""

from __future__ import annotations

import ctypes
import errno as _errno
import fcntl
import functools
import os
from typing import Any

from .._internal.host import online_cpus as online_cpus
from .._internal.host import parse_cpu_list as _parse_cpu_list  # noqa: F401
from .._internal.host import possible_cpus as possible_cpus
from .._internal.libc import function, syscall_number
from ..errors import AttachError, NotSupportedError, PrivilegeError
from ..uapi import consts as _c
from ..uapi.structs import PerfEventAttr as _PerfEventAttrLayout


def _flag_bits() -> tuple[int, dict[str, int]]:
    """Byte offset of perf_event_attr's word of one-bit fields, and each field's bit."""
    bits: dict[str, int] = {}
    bit = 0
    for name, _ctype, *width in _PerfEventAttrLayout._fields_:
        if width:
            bits[name] = bit
            bit += width[0]
    return getattr(_PerfEventAttrLayout, next(iter(bits))).offset, bits


_FLAGS_OFFSET, _FLAG_BITS = _flag_bits()
# attr.flags bits
FLAG_DISABLED = 1 << _FLAG_BITS["disabled"]
FLAG_INHERIT = 1 << _FLAG_BITS["inherit"]
FLAG_EXCLUDE_USER = 1 << _FLAG_BITS["exclude_user"]
FLAG_EXCLUDE_KERNEL = 1 << _FLAG_BITS["exclude_kernel"]
FLAG_EXCLUDE_HV = 1 << _FLAG_BITS["exclude_hv"]
FLAG_FREQ = 1 << _FLAG_BITS["freq"]
FLAG_WATERMARK = 1 << _FLAG_BITS["watermark"]

# perf_type_id, perf_hw_id, perf_sw_ids, sample_type bits, record types, ioctls and
# open flags: generated from linux/perf_event.h (ebpf.uapi.consts), short names here
TYPE_HARDWARE = _c.PERF_TYPE_HARDWARE
TYPE_SOFTWARE = _c.PERF_TYPE_SOFTWARE
TYPE_TRACEPOINT = _c.PERF_TYPE_TRACEPOINT
TYPE_HW_CACHE = _c.PERF_TYPE_HW_CACHE
TYPE_RAW = _c.PERF_TYPE_RAW
TYPE_BREAKPOINT = _c.PERF_TYPE_BREAKPOINT

HW_CPU_CYCLES = _c.PERF_COUNT_HW_CPU_CYCLES
HW_INSTRUCTIONS = _c.PERF_COUNT_HW_INSTRUCTIONS
HW_CACHE_REFERENCES = _c.PERF_COUNT_HW_CACHE_REFERENCES
HW_CACHE_MISSES = _c.PERF_COUNT_HW_CACHE_MISSES
HW_BRANCH_INSTRUCTIONS = _c.PERF_COUNT_HW_BRANCH_INSTRUCTIONS
HW_BRANCH_MISSES = _c.PERF_COUNT_HW_BRANCH_MISSES
HW_BUS_CYCLES = _c.PERF_COUNT_HW_BUS_CYCLES
HW_STALLED_CYCLES_FRONTEND = _c.PERF_COUNT_HW_STALLED_CYCLES_FRONTEND
HW_STALLED_CYCLES_BACKEND = _c.PERF_COUNT_HW_STALLED_CYCLES_BACKEND
HW_REF_CPU_CYCLES = _c.PERF_COUNT_HW_REF_CPU_CYCLES

SW_CPU_CLOCK = _c.PERF_COUNT_SW_CPU_CLOCK
SW_TASK_CLOCK = _c.PERF_COUNT_SW_TASK_CLOCK
SW_PAGE_FAULTS = _c.PERF_COUNT_SW_PAGE_FAULTS
SW_CONTEXT_SWITCHES = _c.PERF_COUNT_SW_CONTEXT_SWITCHES
SW_CPU_MIGRATIONS = _c.PERF_COUNT_SW_CPU_MIGRATIONS
SW_PAGE_FAULTS_MIN = _c.PERF_COUNT_SW_PAGE_FAULTS_MIN
SW_PAGE_FAULTS_MAJ = _c.PERF_COUNT_SW_PAGE_FAULTS_MAJ
SW_ALIGNMENT_FAULTS = _c.PERF_COUNT_SW_ALIGNMENT_FAULTS
SW_EMULATION_FAULTS = _c.PERF_COUNT_SW_EMULATION_FAULTS
SW_DUMMY = _c.PERF_COUNT_SW_DUMMY
SW_BPF_OUTPUT = _c.PERF_COUNT_SW_BPF_OUTPUT
SW_CGROUP_SWITCHES = _c.PERF_COUNT_SW_CGROUP_SWITCHES

#: names accepted for ``perf_event=dict(type=..., config=...)``: the enum names in
#: lower case, and perf(1)'s short aliases
TYPE_NAMES = {"hardware": TYPE_HARDWARE, "software": TYPE_SOFTWARE,
              "tracepoint": TYPE_TRACEPOINT, "hw_cache": TYPE_HW_CACHE, "raw": TYPE_RAW,
              "breakpoint": TYPE_BREAKPOINT}


def _config_names(prefix: str, aliases: dict[str, str]) -> dict[str, int]:
    names = {n[len(prefix):].lower(): v for n, v in vars(_c).items() if n.startswith(prefix)}
    names.update({alias: names[name] for alias, name in aliases.items()})
    return names


CONFIG_NAMES = {
    TYPE_HARDWARE: _config_names("PERF_COUNT_HW_", {"cycles": "cpu_cycles",
                                                     "branches": "branch_instructions"}),
    TYPE_SOFTWARE: _config_names("PERF_COUNT_SW_", {
        "faults": "page_faults", "cs": "context_switches", "migrations": "cpu_migrations",
        "minor_faults": "page_faults_min", "major_faults": "page_faults_maj"}),
}

# sample_type bits
SAMPLE_IP = _c.PERF_SAMPLE_IP
SAMPLE_TID = _c.PERF_SAMPLE_TID
SAMPLE_TIME = _c.PERF_SAMPLE_TIME
SAMPLE_RAW = _c.PERF_SAMPLE_RAW

# perf_event_open flags
PERF_FLAG_FD_CLOEXEC = _c.PERF_FLAG_FD_CLOEXEC

IOC_ENABLE = _c.PERF_EVENT_IOC_ENABLE
IOC_DISABLE = _c.PERF_EVENT_IOC_DISABLE
IOC_RESET = _c.PERF_EVENT_IOC_RESET
IOC_SET_BPF = _c.PERF_EVENT_IOC_SET_BPF

# record types in the mmap ring
RECORD_LOST = _c.PERF_RECORD_LOST
RECORD_SAMPLE = _c.PERF_RECORD_SAMPLE

class PerfEventAttr(_PerfEventAttrLayout):
    """struct perf_event_attr (generated layout, :mod:`ebpf.uapi.structs`) with
    ``size`` set, a sampling setter and ``flags``: the word of its one-bit fields
    (``disabled``, ``inherit``, ... ``freq``) as one integer (``FLAG_*`` bits)."""

    @property
    def flags(self) -> int:
        return ctypes.c_uint64.from_buffer(self, _FLAGS_OFFSET).value

    @flags.setter
    def flags(self, value: int) -> None:
        ctypes.c_uint64.from_buffer(self, _FLAGS_OFFSET).value = value

    def __init__(self, **kw):
        flags = kw.pop("flags", 0)
        super().__init__(**kw)
        self.size = ctypes.sizeof(PerfEventAttr)
        self.flags |= flags

    @classmethod
    def software(cls, config: int, *, sample_period: int = 0, sample_freq: int = 0,
                 sample_type: int = 0, wakeup_events: int = 0) -> PerfEventAttr:
        a = cls(type=TYPE_SOFTWARE, config=config, sample_type=sample_type,
                wakeup_events=wakeup_events)
        a.set_sampling(sample_period, sample_freq)
        return a

    def set_sampling(self, sample_period: int = 0, sample_freq: int = 0) -> None:
        if sample_period and sample_freq:
            raise AttachError("give sample_period or sample_freq, not both")
        if sample_freq:
            self.sample_period = sample_freq
            self.flags |= FLAG_FREQ
        else:
            self.sample_period = sample_period



@functools.cache
def _syscall() -> Any:
    return function("syscall", ctypes.c_long)


def _syscall_nr() -> int:
    nr = syscall_number("perf_event_open")
    if nr is None:
        raise NotSupportedError("perf_event_open", detail=f"unknown architecture {os.uname().machine}")
    return nr


def perf_event_open(attr: PerfEventAttr, pid: int = -1, cpu: int = 0, group_fd: int = -1,
                    flags: int = PERF_FLAG_FD_CLOEXEC, what: str = "perf event") -> int:
    """perf_event_open(2); returns a new fd (the caller owns it). ``what`` names the
    event in error messages."""
    nr = _syscall_nr()
    fd = _syscall()(ctypes.c_long(nr), ctypes.byref(attr), ctypes.c_int(pid),
                    ctypes.c_int(cpu), ctypes.c_int(group_fd), ctypes.c_ulong(flags))
    if fd < 0:
        err = ctypes.get_errno()
        where = f"perf_event_open for {what} (type={attr.type} config={attr.config:#x} pid={pid} cpu={cpu})"
        if err in (_errno.EACCES, _errno.EPERM):
            raise PrivilegeError(where, err, capability="CAP_PERFMON")
        if err == _errno.ENOENT and attr.type == TYPE_HARDWARE:
            raise NotSupportedError(f"hardware perf event {attr.config}",
                                    detail="this machine has no such PMU counter (a VM?)")
        if err == _errno.ENODEV and attr.type == TYPE_HARDWARE:
            raise NotSupportedError("hardware perf events", detail="no hardware PMU (a VM?)")
        raise AttachError(where, err)
    return fd


def ioctl(fd: int, request: int, arg: int = 0, what: str = "perf event ioctl") -> None:
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as e:
        raise AttachError(what, e.errno) from None


def enable(fd: int) -> None:
    ioctl(fd, IOC_ENABLE, 0, "enabling perf event")


def disable(fd: int) -> None:
    ioctl(fd, IOC_DISABLE, 0, "disabling perf event")


def set_bpf(fd: int, prog_fd: int) -> None:
    """PERF_EVENT_IOC_SET_BPF: run ``prog_fd`` on each event (legacy attach)."""
    ioctl(fd, IOC_SET_BPF, prog_fd, "attaching BPF program to perf event (PERF_EVENT_IOC_SET_BPF)")


def parse_event_type(value: int | str) -> int:
    """``"software"`` / ``perf.TYPE_SOFTWARE`` -> the perf type number."""
    return _number(value, TYPE_NAMES, "perf event type", "")


def parse_event_config(etype: int, value: int | str) -> int:
    """``"cpu_clock"`` -> 0 for software events, etc."""
    return _number(value, CONFIG_NAMES.get(etype, {}), "perf event config", f" for type {etype}")


def _number(value: int | str, names: dict[str, int], what: str, where: str) -> int:
    if not isinstance(value, str):
        return int(value)
    try:
        return names[value.lower()]
    except KeyError:
        raise AttachError(f"unknown {what} {value!r}{where} "
                          f"(one of {', '.join(names) or 'numbers only'})") from None


def close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
