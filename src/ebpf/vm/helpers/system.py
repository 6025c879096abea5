"""Time, randomness, CPU and process ids, per-CPU pointers."""

from __future__ import annotations

import errno
import os
import random
import threading
import time

from ...uapi import HelperId as H
from ..run import Run
from .table import HZ, helper, neg


# ---- time, ids, randomness ------------------------------------------------------
@helper(H.ktime_get_ns)
def ktime_get_ns(run: Run, *_):
    return time.monotonic_ns()


@helper(H.ktime_get_boot_ns)
def ktime_get_boot_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


@helper(H.ktime_get_coarse_ns)
def ktime_get_coarse_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_MONOTONIC_COARSE", time.CLOCK_MONOTONIC))


@helper(H.ktime_get_tai_ns)
def ktime_get_tai_ns(run: Run, *_):
    return time.clock_gettime_ns(getattr(time, "CLOCK_TAI", time.CLOCK_REALTIME))


@helper(H.jiffies64)
def jiffies64(run: Run, *_):
    return time.monotonic_ns() * HZ // 1_000_000_000


@helper(H.get_prandom_u32)
def get_prandom_u32(run: Run, *_):
    return random.getrandbits(32)


@helper(H.get_smp_processor_id)
def get_smp_processor_id(run: Run, *_):
    return run.cpu


@helper(H.get_branch_snapshot)
def get_branch_snapshot(run: Run, entries, size, flags, *_):
    """Last branch records of the CPU: the runtime has none to give (as a kernel on
    hardware without LBR, or in a VM): -EINVAL for flags, else -ENOENT."""
    if flags:
        return neg(errno.EINVAL)
    return neg(errno.ENOENT)


#: BPF_F_GET_BRANCH_RECORDS_SIZE
BPF_F_GET_BRANCH_RECORDS_SIZE = 1


@helper(H.read_branch_records)
def read_branch_records(run: Run, ctx, buf, size, flags, *_):
    """The branch stack of a perf sample: the runtime's samples (timers, Python)
    carry none, as a sample without PERF_SAMPLE_BRANCH_STACK: -EINVAL for unknown
    flags, else -ENOENT."""
    if flags & ~BPF_F_GET_BRANCH_RECORDS_SIZE:
        return neg(errno.EINVAL)
    return neg(errno.ENOENT)


@helper(H.get_numa_node_id)
def get_numa_node_id(run: Run, *_):
    return 0


@helper(H.get_current_pid_tgid)
def get_current_pid_tgid(run: Run, *_):
    return (os.getpid() << 32) | threading.get_native_id()


@helper(H.get_current_uid_gid)
def get_current_uid_gid(run: Run, *_):
    return (os.getgid() << 32) | os.getuid()


def _comm() -> bytes:
    try:
        with open("/proc/self/comm", "rb") as f:
            return f.read().strip()[:15]
    except OSError:
        import sys

        return os.path.basename(sys.argv[0] or "python").encode()[:15]


@helper(H.get_current_comm)
def get_current_comm(run: Run, buf, size, *_):
    if size == 0:
        return neg(errno.EINVAL)
    run.mem.zero(buf, size)
    run.mem.write(buf, _comm()[:size - 1])
    return 0


@helper(H.per_cpu_ptr)
def per_cpu_ptr(run: Run, ptr, cpu, *_):
    """A per-CPU ksym on ``cpu``: the runtime's typed ksyms are one zero-filled
    stand-in shared by every CPU; NULL past the last possible CPU."""
    from ..maps import possible_cpus

    return ptr if (cpu & 0xFFFF_FFFF) < possible_cpus() else 0


@helper(H.this_cpu_ptr)
def this_cpu_ptr(run: Run, ptr, *_):
    return ptr
