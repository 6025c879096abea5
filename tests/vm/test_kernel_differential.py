"""The same objects, the same packets, both backends: return values, output
packets, output contexts and final map contents must be identical.

Kernel-marked: these run BPF_PROG_TEST_RUN for real and compare with the vm.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf

from .packets import SAMPLE, ipv4
from .randprog import programs

PROGS = Path(__file__).parent / "progs"
pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("on_cpu0")]


@pytest.fixture(scope="module")
def on_cpu0():
    """The kernel's test_run runs on the caller's CPU; the vm's default virtual
    CPU is 0. Pin this process to CPU 0 so per-CPU maps compare."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    yield
    os.sched_setaffinity(0, old)


def snapshot(obj) -> dict:
    out = {}
    for name, m in obj.maps.items():
        if m.type in (ebpf.MapType.PROG_ARRAY, ebpf.MapType.RINGBUF,
                      ebpf.MapType.PERF_EVENT_ARRAY, ebpf.MapType.QUEUE, ebpf.MapType.STACK):
            continue
        out[name] = sorted(((repr(k), repr(v)) for k, v in m.items()))
    return out


def outcome(prog, data, ctx=None):
    try:
        r = prog.test_run(data, ctx=ctx)
    except ebpf.Error as e:
        return ("error", getattr(e, "errno", None))
    return (r.retval, r.data, r.ctx)


@pytest.fixture(scope="module")
def objects(bpf_compile):
    return {name: bpf_compile(PROGS / f"{name}.c") for name in
            ("xdp_stats", "skb_progs", "xdp_adjust")}


def run_both(path, prog_name, inputs, constants=None, setup=None):
    results = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend, constants=constants or {}) as obj:
            if setup:
                setup(obj)
            prog = obj.programs[prog_name]
            outs = [(outcome(prog, d, c), snapshot(obj)) for d, c in inputs]
            results[backend] = (outs, snapshot(obj))
    return results["kernel"], results["vm"]


def assert_same(kernel, vm, inputs):
    for i, ((k, km), (v, vm_maps)) in enumerate(zip(kernel[0], vm[0], strict=True)):
        assert v == k, f"input {i} ({inputs[i][0][:20].hex()}...): vm {v!r} != kernel {k!r}"
        assert vm_maps == km, f"maps after input {i}"
    assert vm[1] == kernel[1]


def xdp_stats_setup(obj):
    obj.maps["jmp"][0] = obj.programs["xdp_tail"]


def test_xdp_maps_globals_loops_subprograms_tailcalls_percpu(objects):
    inputs = [(p, None) for p in SAMPLE]
    k, v = run_both(objects["xdp_stats"], "xdp_main", inputs, {"drop_proto": 17}, xdp_stats_setup)
    assert_same(k, v, inputs)
    # the run exercised every path: tail call (XDP_TX), drop, pass, abort
    rets = {o[0][0] for o in v[0]}
    assert {1, 2, 3} <= rets


@pytest.mark.parametrize("prog", ["sock_count", "tc_rewrite"])
def test_skb_programs(objects, prog):
    ctx = bytearray(192)
    struct.pack_into("<I", ctx, 8, 5)     # mark
    struct.pack_into("<I", ctx, 32, 3)    # priority
    struct.pack_into("<I", ctx, 52, 99)   # cb[1]
    bad_ctx = bytearray(192)
    bad_ctx[0] = 1                        # len may not be set
    inputs = [(p, c) for p in SAMPLE for c in (None, bytes(ctx))] + [(SAMPLE[0], bytes(bad_ctx))]
    k, v = run_both(objects["skb_progs"], prog, inputs)
    assert_same(k, v, inputs)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_xdp_adjust_head_tail_meta(objects, mode):
    frame = ipv4(payload=bytes(range(32)))
    n = len(frame)
    inputs = [(frame, None), (frame, struct.pack("<6I", 0, n, 0, 0, 0, 0)),
              (frame, struct.pack("<6I", 8, n, 0, 0, 0, 0)), (frame[:14], None)]
    k, v = run_both(objects["xdp_adjust"], "xdp_adjust", inputs, {"mode": mode})
    assert_same(k, v, inputs)


@pytest.fixture(scope="module")
def loaded_pair(objects):
    pairs = {}
    for name, prog, consts, setup in [("xdp_stats", "xdp_main", {"drop_proto": 6},
                                       xdp_stats_setup),
                                      ("skb_progs", "sock_count", {}, None),
                                      ("skb_progs", "tc_rewrite", {}, None)]:
        objs = [ebpf.load(objects[name], backend=b, constants=consts) for b in ("kernel", "vm")]
        if setup:
            for o in objs:
                setup(o)
        pairs[prog] = objs
    yield pairs
    for objs in pairs.values():
        for o in objs:
            o.close()


frames = st.one_of(
    st.binary(min_size=14, max_size=200),
    st.builds(lambda proto, ttl, payload, mac: ipv4(proto, ttl, payload, dst_mac=mac),
              st.sampled_from([1, 6, 17, 47]), st.integers(0, 255), st.binary(max_size=80),
              st.sampled_from([b"\x02" * 6, b"\xff" * 6, bytes(6), b"\x01\x00\x5e\x00\x00\x01"])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames, prog=st.sampled_from(["xdp_main", "sock_count", "tc_rewrite"]))
def test_random_packets(loaded_pair, frame, prog):
    kobj, vobj = loaded_pair[prog]
    k = outcome(kobj.programs[prog], frame)
    v = outcome(vobj.programs[prog], frame)
    assert v == k
    assert snapshot(vobj) == snapshot(kobj)


def _load_both(insns):
    spec = ebpf.ProgramSpec(name="rand", type=ebpf.ProgramType.XDP, instructions=insns,
                            license="GPL")
    return ebpf.Program.load(spec, backend="kernel"), ebpf.Program.load(spec, backend="vm")


@settings(max_examples=80, deadline=None)
@given(insns=programs(), frame=st.binary(min_size=64, max_size=72))
def test_random_programs_kernel_equals_vm(insns, frame):
    kprog, vprog = _load_both(insns)
    with kprog, vprog:
        k = kprog.test_run(frame)
        v = vprog.test_run(frame)
    assert (v.retval, v.data) == (k.retval, k.data)


def _skb_ctx() -> bytes:
    ctx = bytearray(192)
    for off, val in [(8, 5), (32, 3), (36, 1), (40, 1), (48, 7), (64, 9), (160, 200),
                     (164, 3), (176, 1400)]:
        struct.pack_into("<I", ctx, off, val)
    struct.pack_into("<Q", ctx, 152, 1234)
    struct.pack_into("<Q", ctx, 184, 99)
    return bytes(ctx)


def _xdp_ctx(meta=0, ifindex=0, rxq=0) -> bytes:
    return struct.pack("<6I", meta, len(SAMPLE[0]), 0, ifindex, rxq, 0)


CTX_CASES = {
    "tc_fields": [(p, c) for p in SAMPLE[:3] for c in (None, _skb_ctx(), bytes(192),
                                                         _skb_ctx()[:60])],
    "sock_fields": [(p, c) for p in SAMPLE[:3] for c in (None, _skb_ctx())],
    "cg_fields": [(p, c) for p in SAMPLE[:3] for c in (None, _skb_ctx())],
    "xdp_fields": [(SAMPLE[0], c) for c in (None, _xdp_ctx(ifindex=1), _xdp_ctx(meta=4),
                                             _xdp_ctx(rxq=1), _xdp_ctx(ifindex=1, rxq=1),
                                             _xdp_ctx(meta=3), _xdp_ctx()[:12])],
}


@pytest.mark.parametrize("prog", sorted(CTX_CASES))
def test_context_fields(bpf_compile, prog):
    """Every readable context field, and ctx in/out rules, as the kernel has them."""
    path = bpf_compile(PROGS / "ctx_fields.c")
    inputs = CTX_CASES[prog]

    def reset(obj):
        for k in range(40):
            obj.maps["f"][k] = 0

    results = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend) as obj:
            out = []
            for data, ctx in inputs:
                reset(obj)
                out.append((outcome(obj.programs[prog], data, ctx), snapshot(obj)))
            results[backend] = out
    assert results["vm"] == results["kernel"]


def skb_more_setup(obj):
    obj.maps["next"][0] = obj.programs["tc_second"]


@pytest.mark.parametrize("prog", ["tc_first", "sock_hash"])
def test_skb_loops_calls_tailcalls_percpu_globals(bpf_compile, prog):
    path = bpf_compile(PROGS / "skb_more.c")
    frames = SAMPLE + [ipv4(17, payload=bytes([i]) * 30) for i in range(12)]
    inputs = [(f, None) for f in frames]
    k, v = run_both(path, prog, inputs, {"salt": 12345}, skb_more_setup)
    assert_same(k, v, inputs)
    if prog == "tc_first":
        assert {o[0][0] for o in v[0]} >= {0, 2}  # TC_ACT_OK and TC_ACT_SHOT both seen


@pytest.mark.parametrize("prog,mode", [("xdp_adjust", 0), ("xdp_adjust", 1), ("tc_rewrite", None)])
def test_repeat_shares_the_packet(objects, prog, mode):
    """With repeat > 1 the kernel runs the program again on the same buffer."""
    path = objects["xdp_adjust" if mode is not None else "skb_progs"]
    out = {}
    for backend in ("kernel", "vm"):
        consts = {"mode": mode} if mode is not None else {}
        with ebpf.load(path, backend=backend, constants=consts) as obj:
            r = obj.programs[prog].test_run(ipv4(), repeat=3)
            out[backend] = (r.retval, r.data, snapshot(obj))
    assert out["vm"] == out["kernel"]


@pytest.mark.parametrize("prog", ["tc_rewrite", "sock_count"])
def test_data_size_limits(objects, prog):
    sizes = [0, 13, 14, 3712, 3713, 5000]
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(objects["skb_progs"], backend=backend) as obj:
            out[backend] = [outcome(obj.programs[prog], bytes(n)) for n in sizes]
    assert out["vm"] == out["kernel"]
    xdp_sizes = [0, 13, 14, 3520]
    for backend in ("kernel", "vm"):
        with ebpf.load(objects["xdp_adjust"], backend=backend, constants={"mode": 3}) as obj:
            out[backend] = [outcome(obj.programs["xdp_adjust"], bytes(n)) for n in xdp_sizes]
    assert out["vm"] == out["kernel"]


@pytest.fixture(scope="module")
def map_ops_pair(bpf_compile):
    path = bpf_compile(PROGS / "map_ops.c")
    objs = [ebpf.load(path, backend=b) for b in ("kernel", "vm")]
    yield objs
    for o in objs:
        o.close()


op_record = st.builds(lambda code, key, flags, val: bytes([code, key, flags, 0]) +
                      val.to_bytes(4, "little"),
                      st.integers(0, 15), st.integers(0, 7), st.integers(0, 3),
                      st.sampled_from([0, 1, 7, 0xFFFFFFFF, 123456]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_record, min_size=2, max_size=16))
def test_map_operations_from_programs(map_ops_pair, ops):
    """Random sequences of map helper calls: return codes and contents equal."""
    frame = b"".join(ops)
    results = []
    for obj in map_ops_pair:
        r = obj.programs["map_ops"].test_run(frame)
        results.append((r.retval, snapshot(obj)))
    assert results[1] == results[0]


@pytest.mark.parametrize("grow,head", [(0, 0), (100, 0), (16024, 0), (16025, 0), (-26, 0),
                                       (-27, 0), (10, 14), (0, 200), (16000, 100)])
def test_skb_change_tail_and_head(bpf_compile, grow, head):
    path = bpf_compile(PROGS / "skb_resize.c")
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend, constants={"grow": grow, "head": head}) as obj:
            out[backend] = (outcome(obj.programs["resize"], bytes(range(40))), snapshot(obj))
    assert out["vm"] == out["kernel"]


# ---- redirects, devmaps/cpumaps, broadcast, tail-call chains ---------------------
def redirects_setup(obj):
    for key in (3, 5):
        obj.maps["dev_hash"][key] = 1            # lo: present in every network namespace
    obj.maps["dev_array"][1] = 1
    obj.maps["cpus"][1] = {"qsize": 192}
    obj.maps["chain"][1] = obj.programs["chain_1"]
    obj.maps["chain"][2] = obj.programs["chain_2"]


def _cases(values: list[int]) -> list[tuple[bytes, None]]:
    frame = ipv4(17)
    return [(frame[:14] + bytes([v]) + frame[15:], None) for v in values]


@pytest.mark.parametrize("prog,values", [
    ("bcast_hash", [0, 1, 2, 3, 4, 6, 8, 24, 40, 0x78]),
    ("by_key", [0, 1, 2, 3, 0x10, 0x20, 0x40, 0x41, 0x43, 0x80, 0xFF]),
    ("chain_0", [0, 1, 3, 5, 6, 7]),
])
def test_redirects_broadcast_cpumap_and_tail_call_chains(bpf_compile, prog, values):
    """DEVMAP_HASH broadcast (+ EXCLUDE_INGRESS) is XDP_REDIRECT on both, whatever
    the key; flags a map does not take abort; tail-call chains redirect the same."""
    path = bpf_compile(PROGS / "redirects.c")
    inputs = _cases(values)
    kernel, vm = run_both(path, prog, inputs, setup=redirects_setup)
    assert_same(kernel, vm, inputs)


@pytest.mark.parametrize("prog", ["on_devmap", "on_cpumap"])
def test_devmap_and_cpumap_programs_cannot_be_test_run(bpf_compile, prog):
    path = bpf_compile(PROGS / "redirects.c")
    inputs = _cases([0])
    kernel, vm = run_both(path, prog, inputs)
    assert kernel[0][0][0] == ("error", 22)   # EINVAL, as the kernel refuses them
    assert_same(kernel, vm, inputs)
