"""Fixtures for the kernel backend tests (all of them need bpf(2): root, Linux)."""

from __future__ import annotations

import os
import uuid

import pytest

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


@pytest.fixture
def pin_dir():
    """A fresh directory on bpffs, removed (with its pins) afterwards."""
    from ebpf.kernel.pin import ensure_bpffs_dir

    path = os.path.join(BPFFS, f"ebpf-test-{uuid.uuid4().hex[:8]}")
    ensure_bpffs_dir(path)
    yield path
    for root, dirs, files in os.walk(path, topdown=False):
        for f in files:
            os.unlink(os.path.join(root, f))
        for d in dirs:
            os.rmdir(os.path.join(root, d))
    os.rmdir(path)


@pytest.fixture
def no_leaks():
    """Fails the test when it leaves fds, programs or maps behind."""
    before = snapshot()
    yield
    fds, progs, maps = settled_snapshot(before)
    assert fds - before[0] == set(), f"leaked fds {fds - before[0]}"
    assert progs - before[1] == set(), f"leaked programs {progs - before[1]}"
    assert maps - before[2] == set(), f"leaked maps {maps - before[2]}"
