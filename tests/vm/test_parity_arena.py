"""ARENA maps: page allocation, __arena globals, pointers stored in the arena and
read from user space (the same object on both backends; the kernel is the
reference: addresses are compared as offsets into each backend's arena)."""

from __future__ import annotations

import ctypes
import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
PAGE = 4096


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_arena.c")


def arena_base(m) -> int:
    if m.backend == "vm":
        return m.user_vm_start
    return ctypes.addressof(ctypes.c_char.from_buffer(m.memory))


def facts(path, backend: str, **options) -> dict:
    with ebpf.load(path, backend=backend, **options) as obj:
        v, arena = obj.variables, obj.maps["arena"]
        base = arena_base(arena)
        out: dict = {"data_offset": arena.arena_data_offset,
                     "globals": (v["ncount"].value, bytes(v["tag"].value))}
        out["build"] = obj.programs["build"].test_run().retval
        out["walk"] = obj.programs["walk"].test_run().retval
        out["total"] = v["total"].value
        out["tag"] = bytes(v["tag"].value)
        out["edges"] = obj.programs["edges"].test_run().retval
        out["results"] = list(v["results"].value)
        out["offsets"] = [a - base if a else 0 for a in v["addrs"].value]
        # user space follows the list the program built, through the shared pages
        mem = arena.memory
        walked, at = [], v["head"].value
        while at and len(walked) < 10:
            off = at - base
            walked.append(int.from_bytes(mem[off + 8:off + 16], "little"))
            at = int.from_bytes(mem[off:off + 8], "little")
        out["walked"] = walked
        v["ncount"].value = 7  # user-space writes reach the program
        out["after_write"] = obj.programs["build"].test_run().retval
        del mem
        return out


@pytest.mark.parametrize("executor", ["interpreter", "translator", "native"])
def test_vm(obj_path, executor):
    f = facts(obj_path, "vm", executor=executor)
    assert f["data_offset"] == 15 * PAGE  # globals in the last page
    assert f["globals"] == (100, b"arena\0\0\0")
    assert (f["build"], f["walk"], f["total"], f["tag"]) == (105, 5, 105, b"Arena\0\0\0")
    assert f["offsets"][:5] == [0, PAGE, 2 * PAGE, 3 * PAGE, 4 * PAGE]
    assert f["walked"] == [41, 31, 21, 11, 1]
    assert f["edges"] == 0
    assert f["results"] == [0, 0, 0, 0, 0, 1, 0, 0]
    assert f["offsets"][5:7] == [5 * PAGE, 6 * PAGE]
    assert f["after_write"] == 12


def test_map_checks():
    def make(**kw):
        spec = dict(name="a", type=ebpf.MapType.ARENA, key_size=0, value_size=0,
                    max_entries=4, flags=1 << 10)
        spec.update(kw)
        return ebpf.Map.create(ebpf.MapSpec(**spec), backend="vm")

    for kw, code in (({"flags": 0}, errno.EINVAL), ({"key_size": 4}, errno.EINVAL),
                     ({"map_extra": 100}, errno.EINVAL),
                     ({"max_entries": (1 << 20) + 1}, errno.E2BIG),
                     ({"map_extra": (1 << 32) - PAGE}, errno.ERANGE)):
        with pytest.raises(ebpf.Error) as e:
            make(**kw)
        assert e.value.errno == code, kw
    with make(map_extra=3 << 44) as m:
        assert m.user_vm_start == 3 << 44 and len(m.memory) == 4 * PAGE
        with pytest.raises(ebpf.MapError):
            make(map_extra=3 << 44)


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
