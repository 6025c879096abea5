"""Fixtures for the kernel backend tests (all of them need bpf(2): root, Linux)."""

from __future__ import annotations

import os
import uuid

import pytest
from kernel_helpers import BPFFS, settled_snapshot, snapshot


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
