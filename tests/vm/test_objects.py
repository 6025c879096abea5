"""Objects on the vm backend: the same API as the kernel backend's (global
variables, constants, maps, program lookup, close)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

from .packets import ipv4

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "xdp_stats.c")


def test_globals_constants_and_maps(path):
    with ebpf.load(path, backend="vm", constants={"drop_proto": 6}) as obj:
        assert obj.backend == "vm"
        assert isinstance(obj, ebpf.Object)
        assert all(isinstance(p, ebpf.Program) for p in obj.programs.values())
        assert all(isinstance(m, ebpf.Map) for m in obj.maps.values())
        assert obj.variables["drop_proto"].value == 6
        with pytest.raises(ebpf.MapError, match="read-only"):
            obj.variables["drop_proto"].value = 1
        obj.variables["seen"].value = 100
        prog = obj.programs["xdp_main"]
        assert prog.test_run(ipv4(6)).retval == 1  # XDP_DROP: the constant took effect
        assert prog.test_run(ipv4(17)).retval == 2
        assert obj.variables["seen"].value == 102
        assert obj.variables["last"].value == b"\x02" * 6 + b"\0\0"
        assert obj.maps["bytes_by_proto"][6] == 28
        assert obj.maps["pkts"][0][0] == 2  # per-CPU: one value per CPU, runs on CPU 0
    with pytest.raises(ebpf.RuntimeFault, match="closed"):
        prog.test_run(ipv4())


def test_unknown_constant_is_an_error(path):
    with pytest.raises(ebpf.LoadError, match="no_such"):
        ebpf.load(path, backend="vm", constants={"no_such": 1})


def test_interpreter_and_translator_objects_agree(path):
    frames = [ipv4(p, ttl=t) for p in (1, 6, 17) for t in (1, 64)]
    results = []
    for jit in (True, False):
        with ebpf.load(path, backend="vm", jit=jit) as obj:
            obj.maps["jmp"][0] = obj.programs["xdp_tail"]
            rets = [obj.programs["xdp_main"].test_run(f).retval for f in frames]
            results.append((rets, sorted(obj.maps["bytes_by_proto"].items())))
    assert results[0] == results[1]


def test_struct_ops_object_loads(bpf_compile):
    # the struct and its programs load (no kernel subsystem to register with)
    src = Path(__file__).resolve().parents[1] / "elf" / "progs" / "struct_ops.bpf.c"
    with ebpf.load(bpf_compile(src), backend="vm") as obj:
        demo = obj.maps["demo"]
        assert demo.members == {"init": "demo_init", "exit": "demo_exit"}
        value = demo[0]
        assert (value.flags, value.name.rstrip(b"\0")) == (3, b"demo")
        assert obj.programs["demo_init"].run([0]) == 0
