"""bpffs helpers: detection, mounting, pin directories."""

from __future__ import annotations

import ctypes
import os

import pytest

import ebpf
from ebpf.errors import SystemCallError
from ebpf.kernel.pin import ensure_bpffs_dir, is_bpffs, mount_bpffs

pytestmark = pytest.mark.kernel


def umount(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.umount2(os.fsencode(path), 0) == 0, os.strerror(ctypes.get_errno())


def test_mount_pin_and_detect(tmp_path, no_leaks):
    where = str(tmp_path / "bpffs")
    assert not is_bpffs(str(tmp_path))
    mount_bpffs(where)
    try:
        assert is_bpffs(where)
        deep = ensure_bpffs_dir(os.path.join(where, "a", "b"))
        assert os.path.isdir(deep) and is_bpffs(deep)
        with ebpf.Map.create(ebpf.MapSpec(name="m", type=ebpf.MapType.ARRAY, key_size=4,
                                          value_size=4, max_entries=1)) as m:
            m[0] = 5
            m.pin(os.path.join(deep, "m"))
        with ebpf.Map.from_pin(os.path.join(deep, "m")) as again:
            assert again[0] == 5
        os.unlink(os.path.join(deep, "m"))
    finally:
        umount(where)
    assert not is_bpffs(where)


def test_pinning_outside_bpffs_is_refused(tmp_path, no_leaks):
    with pytest.raises(SystemCallError, match="not on a BPF filesystem"):
        ensure_bpffs_dir(str(tmp_path / "x"))
    with ebpf.Map.create(ebpf.MapSpec(name="m", type=ebpf.MapType.ARRAY, key_size=4,
                                      value_size=4, max_entries=1)) as m:
        with pytest.raises(SystemCallError):
            m.pin(str(tmp_path / "m"))
