"""ebpf.kernel.commands: one typed function per bpf command, owned fds, and every
caller going through them."""

from __future__ import annotations

import ctypes
import errno
import os
import re
from pathlib import Path

import pytest

from ebpf.errors import MapError, SystemCallError
from ebpf.kernel import commands
from ebpf.kernel import sys as bsys
from ebpf.uapi import Command, MapType, structs

SRC = Path(__file__).resolve().parents[2] / "src" / "ebpf"


def test_every_command_has_its_function():
    generic = {Command.OBJ_GET_INFO_BY_FD: commands.get_info_by_fd}
    for cmd in Command:
        if cmd in commands.NEXT_ID_COMMANDS:
            fn = commands.get_next_id
        elif cmd in commands.FD_BY_ID_COMMANDS:
            fn = commands.get_fd_by_id
        else:
            fn = generic.get(cmd) or getattr(commands, cmd.name.lower(), None)
        assert callable(fn), f"no function for BPF_{cmd.name}"
        assert fn.__doc__ and ("BPF_" in fn.__doc__ or "*_GET" in fn.__doc__), fn


def test_no_caller_runs_a_command_by_hand():
    """bpf(Command.X, ...) appears only in kernel/sys.py and kernel/commands.py."""
    pattern = re.compile(r"\bbpf\(\s*(Command\.|cmd\b)")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("kernel/sys.py", "kernel/commands.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_fd_returning_commands_give_owned_fds(no_leaks):
    attr = structs.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=8, max_entries=2)
    fd = commands.map_create(attr, what="a test array")
    assert isinstance(fd, bsys.FD) and not fd.closed
    key = ctypes.c_uint32(1)
    val = ctypes.c_uint64(0xABCD)
    commands.map_update_elem(structs.MapElemAttr(map_fd=fd.fd, key=ctypes.addressof(key),
                                              value=ctypes.addressof(val)))
    out = ctypes.c_uint64(0)
    assert commands.map_lookup_elem(structs.MapElemAttr(
        map_fd=fd.fd, key=ctypes.addressof(key), value=ctypes.addressof(out))) is None
    assert out.value == 0xABCD
    info = commands.get_info_by_fd(fd.fd, structs.MapInfo())
    with commands.get_fd_by_id(Command.MAP_GET_FD_BY_ID, info.id) as again:
        assert commands.get_info_by_fd(again.fd, structs.MapInfo()).id == info.id
    assert again.closed
    raw = fd.fd
    fd.close()
    with pytest.raises(OSError) as ei:
        os.fstat(raw)
    assert ei.value.errno == errno.EBADF


def test_command_errors_name_the_operation():
    bad = structs.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=0, max_entries=1)
    with pytest.raises(MapError, match="making a broken map") as ei:
        commands.map_create(bad, what="making a broken map", error=MapError)
    assert ei.value.errno == errno.EINVAL
    with pytest.raises(OSError) as raw:
        commands.map_create(bad, raw=True)
    assert raw.value.errno == errno.EINVAL and not isinstance(raw.value, SystemCallError)
    with pytest.raises(ValueError, match="not a \\*_GET_FD_BY_ID"):
        commands.get_fd_by_id(Command.MAP_CREATE, 1)
