"""The bpf(2) layer: attr layouts match linux/bpf.h, FD ownership, errno mapping."""

from __future__ import annotations

import ctypes
import errno
import os

import pytest

from ebpf.errors import LoadError, PrivilegeError, SystemCallError
from ebpf.kernel import sys as bsys
from ebpf.uapi import Command, MapType


def off(struct, name):
    return getattr(struct, name).offset


def test_attr_layouts_match_uapi():
    # offsets from union bpf_attr / info structs in linux/bpf.h
    assert ctypes.sizeof(bsys.MapCreateAttr) == 80
    assert off(bsys.MapCreateAttr, "map_name") == 28
    assert off(bsys.MapCreateAttr, "btf_fd") == 48
    assert off(bsys.MapCreateAttr, "map_extra") == 64
    assert off(bsys.MapElemAttr, "key") == 8 and off(bsys.MapElemAttr, "flags") == 24
    assert off(bsys.MapBatchAttr, "count") == 32 and off(bsys.MapBatchAttr, "elem_flags") == 40
    assert off(bsys.ProgLoadAttr, "prog_name") == 48
    assert off(bsys.ProgLoadAttr, "expected_attach_type") == 68
    assert off(bsys.ProgLoadAttr, "func_info") == 80
    assert off(bsys.ProgLoadAttr, "attach_btf_id") == 108
    assert off(bsys.ProgLoadAttr, "fd_array") == 120
    assert off(bsys.ProgLoadAttr, "log_true_size") == 140
    assert off(bsys.ProgTestRunAttr, "repeat") == 32 and off(bsys.ProgTestRunAttr, "ctx_in") == 48
    assert off(bsys.ProgTestRunAttr, "cpu") == 68
    assert off(bsys.LinkCreateAttr, "tail") == 16
    assert bsys.LinkTail.tracing.offset == 0 and bsys.LinkTracingTail.cookie.offset == 8
    assert bsys.LinkKprobeMultiTail.syms.offset == 8
    assert off(bsys.ProgQueryAttr, "prog_ids") == 16 and off(bsys.ProgQueryAttr, "revision") == 56
    assert off(bsys.BtfLoadAttr, "btf_size") == 16
    assert off(bsys.TaskFdQueryAttr, "probe_offset") == 32
    assert off(bsys.ProgInfo, "name") == 64 and off(bsys.ProgInfo, "netns_dev") == 88
    assert off(bsys.ProgInfo, "run_time_ns") == 192 and off(bsys.ProgInfo, "verified_insns") == 216
    assert ctypes.sizeof(bsys.ProgInfo) == 232 and ctypes.sizeof(bsys.MapInfo) == 88
    assert off(bsys.ProgQueryAttr, "prog_attach_flags") == 32
    assert off(bsys.ProgLoadAttr, "core_relo_rec_size") == 136
    assert off(bsys.MapInfo, "btf_id") == 64 and off(bsys.MapInfo, "map_extra") == 80
    assert off(bsys.LinkInfo, "u") == 16


def test_fd_ownership():
    r, w = os.pipe()
    os.close(w)
    fd = bsys.FD(r)
    assert int(fd) == r and not fd.closed
    with fd:
        pass
    assert fd.closed
    fd.close()  # idempotent
    with pytest.raises(ValueError):
        _ = fd.fd
    with pytest.raises(OSError):
        os.fstat(r)
    with pytest.raises(ValueError):
        bsys.FD(-1)


def test_fd_closed_by_gc():
    r, w = os.pipe()
    os.close(w)
    fd = bsys.FD(r)
    del fd
    with pytest.raises(OSError):
        os.fstat(r)


def test_error_mapping():
    e = bsys.error_for(errno.EPERM, "creating map x", Command.MAP_CREATE)
    assert isinstance(e, PrivilegeError) and e.capability == "CAP_BPF" and e.errno == errno.EPERM
    assert "CAP_BPF" in str(e)
    e = bsys.error_for(errno.EACCES, "opening", Command.PROG_GET_FD_BY_ID)
    assert isinstance(e, PrivilegeError) and e.capability == "CAP_SYS_ADMIN"
    e = bsys.error_for(errno.EINVAL, "loading", Command.PROG_LOAD, error=LoadError)
    assert type(e) is LoadError and e.errno == errno.EINVAL and "EINVAL" in str(e)
    assert bsys.capability_for(Command.PROG_LOAD, 6) == "CAP_NET_ADMIN"  # XDP
    assert bsys.capability_for(Command.PROG_LOAD, 26) == "CAP_PERFMON"  # tracing
    assert bsys.capability_for(Command.PROG_LOAD, 1) == "CAP_BPF"  # socket filter


@pytest.mark.kernel
def test_bpf_call_and_errors():
    attr = bsys.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=8, max_entries=2)
    with bsys.FD(bsys.bpf(Command.MAP_CREATE, attr)) as fd:
        info = bsys.get_info_by_fd(fd.fd, bsys.MapInfo())
        assert (info.type, info.key_size, info.value_size, info.max_entries) == (2, 4, 8, 2)
        assert info.id in set(bsys.iter_ids(Command.MAP_GET_NEXT_ID))
        with bsys.get_fd_by_id(Command.MAP_GET_FD_BY_ID, info.id) as again:
            assert bsys.get_info_by_fd(again.fd, bsys.MapInfo()).id == info.id
    bad = bsys.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=0, max_entries=1)
    with pytest.raises(SystemCallError) as ei:
        bsys.bpf(Command.MAP_CREATE, bad, what="creating a zero-value map")
    assert ei.value.errno == errno.EINVAL and "creating a zero-value map" in str(ei.value)
    with pytest.raises(OSError) as ei:
        bsys.bpf(Command.MAP_CREATE, bad, raw=True)
    assert ei.value.errno == errno.EINVAL
    assert bsys.get_next_id(Command.MAP_GET_NEXT_ID, 0x7FFFFFF0) is None
