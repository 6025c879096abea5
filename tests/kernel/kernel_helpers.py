"""Helpers shared by the kernel backend tests."""

from __future__ import annotations

import os

from ebpf.kernel import sys as bsys
from ebpf.uapi import Command

BPFFS = "/sys/fs/bpf"


def open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


def kernel_ids(cmd: int) -> set[int]:
    return set(bsys.iter_ids(cmd))


def snapshot() -> tuple[set[int], set[int], set[int]]:
    """(our fds, kernel program ids, kernel map ids)."""
    return open_fds(), kernel_ids(Command.PROG_GET_NEXT_ID), kernel_ids(Command.MAP_GET_NEXT_ID)


def settled_snapshot(before, timeout: float = 3.0):
    """A snapshot taken once the kernel finished freeing what was closed (programs
    and the maps they held are released after an RCU grace period)."""
    import gc
    import time

    gc.collect()
    deadline = time.monotonic() + timeout
    while True:
        now = snapshot()
        if (now[1] <= before[1] and now[2] <= before[2]) or time.monotonic() > deadline:
            return now
        time.sleep(0.02)
