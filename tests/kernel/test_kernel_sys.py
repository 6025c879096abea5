"""The bpf(2) layer: attr layouts match linux/bpf.h, FD ownership, errno mapping."""

from __future__ import annotations

import errno
import os

import pytest

from ebpf.errors import LoadError, PrivilegeError, SystemCallError
from ebpf.kernel import commands
from ebpf.kernel import sys as bsys
from ebpf.uapi import Command, MapType, consts, structs


def test_attr_layouts_union_members_share_storage():
    # offsets are checked against the kernel's BTF and the installed header in
    # tests/test_uapi.py; here: the C unions' alternative names are the same storage
    a = structs.MapElemAttr(map_fd=3, next_key=0x1234)
    assert a.value == 0x1234
    p = structs.ProgLoadAttr(attach_btf_obj_fd=7)
    assert p.attach_prog_fd == 7
    link = structs.LinkCreateAttr(target_ifindex=2, target_btf_id=9)
    assert link.target_fd == 2 and link.tracing.target_btf_id == 9
    link.perf_event.bpf_cookie = 5
    assert link.tracing.target_btf_id == 5  # one union: the last write wins
    assert consts.BPF_F_RDONLY == 1 << 3 and consts.XDP_FLAGS_SKB_MODE == 1 << 1


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
    attr = structs.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=8, max_entries=2)
    with bsys.FD(bsys.bpf(Command.MAP_CREATE, attr)) as fd:
        info = commands.get_info_by_fd(fd.fd, structs.MapInfo())
        assert (info.type, info.key_size, info.value_size, info.max_entries) == (2, 4, 8, 2)
        assert info.id in set(commands.iter_ids(Command.MAP_GET_NEXT_ID))
        with commands.get_fd_by_id(Command.MAP_GET_FD_BY_ID, info.id) as again:
            assert commands.get_info_by_fd(again.fd, structs.MapInfo()).id == info.id
    bad = structs.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=0, max_entries=1)
    with pytest.raises(SystemCallError) as ei:
        bsys.bpf(Command.MAP_CREATE, bad, what="creating a zero-value map")
    assert ei.value.errno == errno.EINVAL and "creating a zero-value map" in str(ei.value)
    with pytest.raises(OSError) as ei:
        bsys.bpf(Command.MAP_CREATE, bad, raw=True)
    assert ei.value.errno == errno.EINVAL
    assert commands.get_next_id(Command.MAP_GET_NEXT_ID, 0x7FFFFFF0) is None
