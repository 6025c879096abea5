"""The native executor (LLVM machine code): the same results and faults as the
reference interpreter, memory shared with Python, natively stopped runaways."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.isa import Instruction
from ebpf.isa import opcodes as op
from ebpf.vm.native import available
from ebpf.vm.programs import load_program

from .randprog import programs

pytestmark = pytest.mark.skipif(not available(), reason="llvmlite is not installed")


def xdp(insns, executor, **kw):
    return load_program(ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.XDP,
                                         instructions=insns), executor=executor, **kw)


def outcome(prog, frame):
    try:
        r = prog.test_run(frame)
        return r.retval, r.data, r.instructions
    except ebpf.RuntimeFault as e:
        return "fault", e.reason, e.pc


@settings(max_examples=120, deadline=None)
@given(insns=programs(), frame=st.binary(min_size=64, max_size=80))
def test_native_matches_interpreter(insns, frame):
    assert outcome(xdp(insns, "native"), frame) == outcome(xdp(insns, "interpreter"), frame)


def mov(dst, imm, cls=op.BPF_ALU64):
    return Instruction(cls | op.BPF_MOV, dst=dst, imm=imm)


def raw(insns, executor="native", **kw):
    return load_program(ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.RAW_TRACEPOINT,
                                         instructions=insns), executor=executor, **kw)


def test_executor_is_named_and_jit_is_an_alias():
    assert raw([mov(0, 1), Instruction(op.EXIT)]).executor.name == "native"
    assert raw([mov(0, 1), Instruction(op.EXIT)], executor=None, jit=False).executor.name \
        == "interpreter"
    with pytest.raises(ebpf.Error, match="unknown vm executor"):
        raw([mov(0, 1), Instruction(op.EXIT)], executor="fast")


# ---- faults, each kind stopped natively with the instruction slot ------------------
def test_runaway_loop_is_stopped():
    p = xdp([mov(0, 0), Instruction(op.JA, off=-1), Instruction(op.EXIT)], "native",
            budget=100_000)
    with pytest.raises(ebpf.RuntimeFault, match="budget") as info:
        p.test_run(bytes(64))
    assert info.value.pc == 1


def test_runaway_loop_in_the_native_repeat_loop_is_stopped():
    p = xdp([mov(0, 0), Instruction(op.JA, off=-1), Instruction(op.EXIT)], "native",
            budget=100_000)
    with pytest.raises(ebpf.RuntimeFault, match="budget"):
        p.test_run(bytes(64), repeat=10)


def test_out_of_bounds_read_names_the_slot():
    prog = [mov(0, 0), Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=10, off=8),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match=r"at instruction 1: invalid memory read of 8 "
                                                r"bytes .*past the end of stack"):
        raw(prog).run()


def test_null_write_and_wild_pointer():
    prog = [mov(1, 0), Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=1, off=0, imm=1),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="null pointer"):
        raw(prog).run()
    wild = [Instruction(op.LD_IMM64, dst=1, imm=0x7FFF_0000_1234),
            Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_B, dst=0, src=1),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="invalid memory read of 1 bytes") as info:
        raw(wild).run()
    assert info.value.pc == 2


def test_write_to_read_only_context_field():
    # xdp_md is read-only but for nothing: a store into it faults like the interpreter's
    prog = [Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=1, off=0, imm=1), mov(0, 2),
            Instruction(op.EXIT)]
    got = {ex: outcome(xdp(prog, ex), bytes(64)) for ex in ("native", "interpreter")}
    assert got["native"] == got["interpreter"]
    assert got["native"][0] == "fault"


def test_address_wrapping_past_the_top_is_refused():
    prog = [Instruction(op.LD_IMM64, dst=1, imm=(1 << 64) - 1),
            Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=1),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="invalid memory read"):
        raw(prog).run()


def test_unbounded_recursion_is_stopped():
    prog = [Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=-1), Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="call stack too deep"):
        raw(prog).run()


def test_helper_fault_keeps_its_slot():
    # bpf_map_lookup_elem with a non-map pointer
    prog = [mov(1, 5), mov(2, 0), Instruction(op.CALL, imm=int(ebpf.HelperId.map_lookup_elem)),
            Instruction(op.EXIT)]
    with pytest.raises(ebpf.RuntimeFault, match="not a map pointer") as info:
        raw(prog).run()
    assert info.value.pc == 2


# ---- semantics corner cases -------------------------------------------------------
def alu(cls, aop, dst, src=None, imm=0, off=0):
    if src is None:
        return Instruction(cls | aop | op.BPF_K, dst=dst, imm=imm, off=off)
    return Instruction(cls | aop | op.BPF_X, dst=dst, src=src, off=off)


A64, A32 = op.BPF_ALU64, op.BPF_ALU


@pytest.mark.parametrize("prog", [
    # INT64_MIN sdiv -1 wraps, smod -1 is 0, x / 0 = 0, x % 0 = x
    [Instruction(op.LD_IMM64, dst=0, imm=1 << 63), mov(1, -1), alu(A64, op.BPF_DIV, 0, 1, off=1)],
    [Instruction(op.LD_IMM64, dst=0, imm=1 << 63), mov(1, -1), alu(A64, op.BPF_MOD, 0, 1, off=1)],
    [mov(0, -7), mov(1, 0), alu(A32, op.BPF_MOD, 0, 1, off=1)],
    [mov(0, -7), mov(1, 0), alu(A32, op.BPF_DIV, 0, 1)],
    [mov(0, -7), alu(A32, op.BPF_DIV, 0, imm=-2, off=1)],
    [mov(0, -1), alu(A32, op.BPF_ADD, 0, imm=1)],
    [mov(0, -2), alu(A32, op.BPF_ARSH, 0, imm=33)],
    [mov(0, 0x1234_5678), Instruction(A64 | op.BPF_END, dst=0, imm=16)],
    [mov(0, 0x1234_5678), Instruction(A32 | op.BPF_END | op.BPF_TO_BE, dst=0, imm=64)],
    [mov(1, 0x80), alu(A64, op.BPF_MOV, 0, 1, off=8)],
    [mov(1, 0x8000), alu(A32, op.BPF_MOV, 0, 1, off=16)],
    [mov(0, -1), Instruction(op.BPF_STX | op.BPF_MEM | op.BPF_W, dst=10, src=0, off=-8),
     Instruction(op.BPF_LDX | op.BPF_MEMSX | op.BPF_H, dst=0, src=10, off=-7)],
    # atomics: fetch-add, xchg, cmpxchg (32-bit compares the low half of r0)
    [mov(1, 5), Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_DW, dst=10, off=-8, imm=7),
     Instruction(op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW, dst=10, src=1, off=-8,
                 imm=op.BPF_ADD | op.BPF_FETCH),
     Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=10, off=-8),
     alu(A64, op.BPF_LSH, 0, imm=8), alu(A64, op.BPF_OR, 0, 1)],
    [mov(1, 9), Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=10, off=-4, imm=3),
     Instruction(op.BPF_STX | op.BPF_ATOMIC | op.BPF_W, dst=10, src=1, off=-4,
                 imm=op.BPF_XCHG), alu(A64, op.BPF_MOV, 0, 1)],
    [Instruction(op.LD_IMM64, dst=0, imm=0xFFFF_FFFF_0000_0003), mov(1, 9),
     Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=10, off=-4, imm=3),
     Instruction(op.BPF_STX | op.BPF_ATOMIC | op.BPF_W, dst=10, src=1, off=-4,
                 imm=op.BPF_CMPXCHG),
     Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_W, dst=2, src=10, off=-4),
     alu(A64, op.BPF_LSH, 0, imm=8), alu(A64, op.BPF_OR, 0, 2)],
    # the frame's edges at r10 - 512 and r10 - 1 (no check needed there), in a subprogram
    [mov(1, 7), Instruction(op.CALL, src=op.BPF_PSEUDO_CALL, imm=1), Instruction(op.EXIT),
     Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_DW, dst=10, off=-512, imm=-3),
     Instruction(op.BPF_STX | op.BPF_MEM | op.BPF_B, dst=10, src=1, off=-1),
     Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=10, off=-512),
     Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_B, dst=2, src=10, off=-1),
     alu(A64, op.BPF_ADD, 0, 2)],
    # a misaligned atomic (plain read-modify-write, same result)
    [mov(1, 1), Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_DW, dst=10, off=-16, imm=41),
     Instruction(op.BPF_STX | op.BPF_ATOMIC | op.BPF_W, dst=10, src=1, off=-15, imm=op.BPF_ADD),
     Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst=0, src=10, off=-16)],
])
def test_corner_cases_match_the_interpreter(prog):
    prog = prog + [Instruction(op.EXIT)]
    assert raw(prog).run() == raw(prog, "interpreter").run()


# ---- memory shared with Python, helpers through the trampoline ---------------------
XDP_MAPS = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } h SEC(".maps");
__u64 counter = 0;
SEC("xdp") int count(struct xdp_md *ctx)
{
    __u32 k = 1;
    __u64 *v = bpf_map_lookup_elem(&arr, &k);
    if (!v) return 0;
    __u64 *w = bpf_map_lookup_elem(&h, &k);
    __u64 one = 1;
    if (w) *w += *v; else bpf_map_update_elem(&h, &k, &one, BPF_ANY);
    counter += 1;
    return *v;
}
"""


def test_maps_and_globals_are_the_memory_python_sees(bpf_compile):
    obj_path = bpf_compile(XDP_MAPS, "native_maps")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog = obj.programs["count"]
        obj.maps["arr"][1] = 40
        assert prog.test_run(bytes(64)).retval == 40
        assert obj.maps["h"][1] == 1
        obj.maps["arr"][1] = 2
        r = prog.test_run(bytes(64), repeat=5)
        assert r.retval == 2
        assert obj.maps["h"][1] == 11
        assert obj.variables["counter"].value == 6
        obj.variables["counter"].value = 100
        prog.test_run(bytes(64))
        assert obj.variables["counter"].value == 101


def test_plugin_executor_option():
    # r0 = *(u32 *)(r1 + 4) + r2
    prog = bytes.fromhex("6110040000000000" "0f20000000000000" "9500000000000000")
    hexprog = " ".join(f"{b:02x}" for b in prog) + "\n"
    r = subprocess.run([sys.executable, "-m", "ebpf", "conformance-plugin", "--executor",
                        "native", "01 00 00 00 05 00 00 00"], input=hexprog,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0xd"


HASH_AND_PERCPU = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct key { __u32 a; __u16 b; __u8 c; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8);
         __type(key, struct key); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2);
         __type(key, __u32); __type(value, __u64); } pc SEC(".maps");
SEC("xdp") int look(struct xdp_md *ctx)
{
    struct key k = {};
    k.a = 7; k.b = 9; k.c = 1;
    __u64 *v = bpf_map_lookup_elem(&h, &k);
    __u32 z = 0;
    __u64 *c = bpf_map_lookup_elem(&pc, &z);
    if (c) *c += bpf_get_smp_processor_id() + 1;
    __u64 t0 = bpf_ktime_get_ns(), t1 = bpf_ktime_get_ns();
    if (t1 < t0) return 99;
    return v ? *v : 0;
}
"""


def test_native_hash_and_percpu_lookups_follow_the_map(bpf_compile):
    import struct

    obj_path = bpf_compile(HASH_AND_PERCPU, "native_hash")
    key = struct.pack("<IHBx", 7, 9, 1)
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog, h = obj.programs["look"], obj.maps["h"]
        assert prog.test_run(bytes(64)).retval == 0
        for i in range(8):  # neighbours share the probe sequence; one is the key
            h[struct.pack("<IHBx", i, 9, 1)] = 100 + i
        assert prog.test_run(bytes(64)).retval == 107
        del h[key]
        assert prog.test_run(bytes(64)).retval == 0
        h[key] = 5
        assert prog.test_run(bytes(64), cpu=1).retval == 5
        h.clear()
        assert prog.test_run(bytes(64)).retval == 0
        assert obj.maps["pc"][0][:2] == [4, 2]  # four runs on CPU 0, one on CPU 1


def test_jited_shows_machine_code(bpf_compile):
    pytest.importorskip("capstone")
    obj_path = bpf_compile(XDP_MAPS, "native_maps")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        text = obj.programs["count"].jited()
    assert "e0: (entry of the BPF function at slot 0" in text
    assert "ret" in text
    r = subprocess.run([sys.executable, "-m", "ebpf", "prog", "dump", "jited", "--vm",
                        str(obj_path), "count"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "e0: (entry of the BPF function at slot 0" in r.stdout
    with ebpf.load(obj_path, backend="vm", executor="translator") as obj:
        with pytest.raises(ebpf.NotSupportedError, match="executor='native'"):
            obj.programs["count"].jited()


def test_compiled_code_is_cached_by_program():
    prog = [mov(0, 3), Instruction(op.EXIT)]
    a, b = raw(prog), raw(prog)
    assert a.executor.compiled(a.code) is b.executor.compiled(b.code)


THREADS = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u64); } total SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64);
         __type(key, __u32); __type(value, __u64); } seen SEC(".maps");
SEC("xdp") int count(struct xdp_md *ctx)
{
    __u32 z = 0, k = bpf_get_prandom_u32() & 63;
    __u64 one = 1;
    __u64 *t = bpf_map_lookup_elem(&total, &z);
    if (t) __sync_fetch_and_add(t, 1);
    bpf_map_update_elem(&seen, &k, &one, BPF_ANY);   /* through the trampoline */
    return 1;
}
"""


def test_runs_on_several_threads_share_code_and_maps(bpf_compile):
    import threading

    obj_path = bpf_compile(THREADS, "native_threads")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog = obj.programs["count"]
        errors = []

        def worker():
            try:
                for _ in range(40):
                    assert prog.test_run(bytes(64), repeat=5).retval == 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert obj.maps["total"][0] == 4 * 40 * 5
        assert 0 < len(obj.maps["seen"]) <= 64


def test_hash_map_filled_before_the_program_compiles(bpf_compile):
    import struct

    obj_path = bpf_compile(HASH_AND_PERCPU, "native_hash")
    spec = ebpf.ObjectSpec.from_file(obj_path)
    with ebpf.load(spec, backend="vm", executor="translator") as obj:
        obj.maps["h"][struct.pack("<IHBx", 7, 9, 1)] = 33
        native = load_program(spec.programs["look"], obj.maps, executor="native")
        assert native.test_run(bytes(64)).retval == 33
