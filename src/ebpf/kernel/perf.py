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
import ctypes.util
import errno as _errno
import fcntl
import functools
import os
import platform
from typing import Any

from .._internal.host import online_cpus as online_cpus
from .._internal.host import parse_cpu_list as _parse_cpu_list  # noqa: F401
from .._internal.host import possible_cpus as possible_cpus
from .._internal.libc import function
from ..errors import AttachError, NotSupportedError, PrivilegeError

# perf_type_id
TYPE_HARDWARE = 0
TYPE_SOFTWARE = 1
TYPE_TRACEPOINT = 2
TYPE_HW_CACHE = 3
TYPE_RAW = 4
TYPE_BREAKPOINT = 5

# perf_hw_id
HW_CPU_CYCLES = 0
HW_INSTRUCTIONS = 1
HW_CACHE_REFERENCES = 2
HW_CACHE_MISSES = 3
HW_BRANCH_INSTRUCTIONS = 4
HW_BRANCH_MISSES = 5
HW_BUS_CYCLES = 6
HW_STALLED_CYCLES_FRONTEND = 7
HW_STALLED_CYCLES_BACKEND = 8
HW_REF_CPU_CYCLES = 9

# perf_sw_ids
SW_CPU_CLOCK = 0
SW_TASK_CLOCK = 1
SW_PAGE_FAULTS = 2
SW_CONTEXT_SWITCHES = 3
SW_CPU_MIGRATIONS = 4
SW_PAGE_FAULTS_MIN = 5
SW_PAGE_FAULTS_MAJ = 6
SW_ALIGNMENT_FAULTS = 7
SW_EMULATION_FAULTS = 8
SW_DUMMY = 9
SW_BPF_OUTPUT = 10
SW_CGROUP_SWITCHES = 11

#: names accepted for ``perf_event=dict(type=..., config=...)``
TYPE_NAMES = {"hardware": TYPE_HARDWARE, "software": TYPE_SOFTWARE,
              "tracepoint": TYPE_TRACEPOINT, "hw_cache": TYPE_HW_CACHE, "raw": TYPE_RAW,
              "breakpoint": TYPE_BREAKPOINT}
CONFIG_NAMES = {
    TYPE_HARDWARE: {"cpu_cycles": 0, "cycles": 0, "instructions": 1, "cache_references": 2,
                    "cache_misses": 3, "branch_instructions": 4, "branches": 4,
                    "branch_misses": 5, "bus_cycles": 6, "stalled_cycles_frontend": 7,
                    "stalled_cycles_backend": 8, "ref_cpu_cycles": 9},
    TYPE_SOFTWARE: {"cpu_clock": 0, "task_clock": 1, "page_faults": 2, "faults": 2,
                    "context_switches": 3, "cs": 3, "cpu_migrations": 4, "migrations": 4,
                    "page_faults_min": 5, "minor_faults": 5, "page_faults_maj": 6,
                    "major_faults": 6, "alignment_faults": 7, "emulation_faults": 8,
                    "dummy": 9, "bpf_output": 10, "cgroup_switches": 11},
}

# sample_type bits
SAMPLE_IP = 1 << 0
SAMPLE_TID = 1 << 1
SAMPLE_TIME = 1 << 2
SAMPLE_RAW = 1 << 10

# attr.flags bits
FLAG_DISABLED = 1 << 0
FLAG_INHERIT = 1 << 1
FLAG_EXCLUDE_USER = 1 << 4
FLAG_EXCLUDE_KERNEL = 1 << 5
FLAG_EXCLUDE_HV = 1 << 6
FLAG_FREQ = 1 << 10
FLAG_WATERMARK = 1 << 14

# perf_event_open flags
PERF_FLAG_FD_CLOEXEC = 1 << 3

# ioctls ('$' = 0x24)
IOC_ENABLE = 0x2400
IOC_DISABLE = 0x2401
IOC_RESET = 0x2403
IOC_SET_BPF = 0x40042408

# record types in the mmap ring
RECORD_LOST = 2
RECORD_SAMPLE = 9

_SYSCALL_NR = {"x86_64": 298, "aarch64": 241, "armv7l": 364, "riscv64": 241, "ppc64le": 319,
               "s390x": 331, "i686": 336, "loongarch64": 241}


class PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr (PERF_ATTR_SIZE_VER8, 136 bytes)."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),  # or sample_freq when FLAG_FREQ
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("wakeup_events", ctypes.c_uint32),  # or wakeup_watermark when FLAG_WATERMARK
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),  # uprobe_path / kprobe_func / bp_addr
        ("config2", ctypes.c_uint64),  # probe_offset / kprobe_addr / bp_len
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("reserved_2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("reserved_3", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.size = ctypes.sizeof(PerfEventAttr)

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


assert ctypes.sizeof(PerfEventAttr) == 136


@functools.cache
def _syscall() -> Any:
    return function("syscall", ctypes.c_long)


def _syscall_nr() -> int:
    nr = _SYSCALL_NR.get(platform.machine())
    if nr is None:
        raise NotSupportedError("perf_event_open", detail=f"unknown architecture {platform.machine()}")
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
    if isinstance(value, str):
        try:
            return TYPE_NAMES[value.lower()]
        except KeyError:
            raise AttachError(f"unknown perf event type {value!r} "
                              f"(one of {', '.join(TYPE_NAMES)})") from None
    return int(value)


def parse_event_config(etype: int, value: int | str) -> int:
    """``"cpu_clock"`` -> 0 for software events, etc."""
    if isinstance(value, str):
        names = CONFIG_NAMES.get(etype, {})
        try:
            return names[value.lower()]
        except KeyError:
            raise AttachError(f"unknown perf event config {value!r} for type {etype} "
                              f"(one of {', '.join(names) or 'numbers only'})") from None
    return int(value)


def close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
