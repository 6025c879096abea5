"""Whole libbpf-style objects compiled from C, loaded on the kernel backend."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from kernel_helpers import settled_snapshot, snapshot

import ebpf
from ebpf.errors import LoadError, MapError, VerifierError
from ebpf.kernel import probes
from ebpf.kernel.objects import KernelObject, internal_map_name, load_object

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def counter_spec(bpf_compile):
    return ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "counter.bpf.c"))


@pytest.fixture(scope="module")
def sockfilter_spec(bpf_compile):
    return ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "sockfilter.bpf.c"))


def packet(size: int = 64, proto: int = 17) -> bytes:
    eth = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 1, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    body = bytes(range(size - len(eth) - len(ip)))
    return eth + ip + body


def expected_checksum(data: bytes, weight: int) -> int:
    acc = 0
    for b in data[:16]:
        acc = (acc * 31 + b * weight) & (2**64 - 1)
    return acc


def test_counter_object_behaves_like_libbpf(counter_spec, no_leaks):
    with ebpf.load(counter_spec, backend="kernel") as obj:
        assert isinstance(obj, KernelObject) and obj.backend == "kernel"
        prog = obj.programs["xdp_count"]
        pkt = packet(64)
        r = prog.test_run(pkt, repeat=5)
        assert r.retval == 2  # XDP_PASS from const volatile verdict
        assert r.data == pkt
        assert obj.maps["sizes"][64] == 5
        assert obj.maps["percpu"][0] == [5] + [0] * (probes.possible_cpus() - 1) or \
            sum(obj.maps["percpu"][0]) == 5
        v = obj.variables
        assert v["packets"].value == 5
        assert v["checksum"].value == expected_checksum(pkt, 1)
        assert v["hz"].value > 0 and v["hz"].value == v["CONFIG_HZ"].value
        assert v["kernel_version"].value == probes.kernel_version_code()
        assert v["tag"].value.rstrip(b"\0") == b"default"
        # writable globals write through to the program
        v["packets"].value = 100
        prog.test_run(pkt)
        assert v["packets"].value == 101
        with pytest.raises(MapError, match="read-only"):
            v["verdict"].value = 1
        # the program array was filled from the object: tail call to tail_target
        r = prog.test_run(packet(100))
        assert r.retval == 3  # XDP_TX
        assert obj.maps["stats"][3] == 1
        assert obj.maps["jumps"][2] == obj.programs["tail_target"].id
        # kernel names of global-data maps follow libbpf
        names = {m.info().name for m in obj.maps.values()}
        assert {"sizes", "stats", "percpu", "jumps"} <= names
        assert internal_map_name(os.path.basename(counter_spec.path), ".rodata") in names
        assert internal_map_name("counter.bpf", ".rodata") == "counter.rodata"
        assert internal_map_name("a_very_long_object", ".kconfig") == "a_very_.kconfig"
        assert obj.maps[".rodata"].info().frozen
        info = prog.info()
        assert info.btf_id > 0  # object BTF with func and line info
        assert set(info.map_ids) >= {obj.maps["sizes"].id, obj.maps["jumps"].id}


def test_constants_rewrite_rodata(counter_spec, no_leaks):
    with ebpf.load(counter_spec, backend="kernel",
                   constants={"verdict": 1, "weight": 3, "tag": b"dX"}) as obj:
        pkt = packet(80)
        assert obj.programs["xdp_count"].test_run(pkt).retval == 1  # XDP_DROP
        assert obj.variables["checksum"].value == expected_checksum(pkt, 3)
        assert obj.variables["weight"].value == 3
    with ebpf.load(counter_spec, backend="kernel", constants={"tag": b"x"}) as obj:
        assert obj.programs["xdp_count"].test_run(packet()).retval == 0  # XDP_ABORTED


def test_constants_errors(counter_spec, no_leaks):
    with pytest.raises(LoadError, match="no global variable 'nope'.*verdict"):
        ebpf.load(counter_spec, backend="kernel", constants={"nope": 1})
    with pytest.raises(LoadError, match="does not fit"):
        ebpf.load(counter_spec, backend="kernel", constants={"verdict": 2**40})


def test_socket_filter(sockfilter_spec, no_leaks):
    with ebpf.load(sockfilter_spec, backend="kernel") as obj:
        prog = obj.programs["udp_only"]
        assert prog.type == ebpf.ProgramType.SOCKET_FILTER
        # the kernel's test run strips the Ethernet header: skb->len = size - 14
        assert prog.test_run(packet(90, proto=17)).retval == 76
        assert prog.test_run(packet(70, proto=6)).retval == 0
        assert prog.test_run(b"\x00" * 12 + b"\x86\xdd" + b"\x00" * 50).retval == 0
        counts = obj.maps["bytes_by_proto"]
        assert counts[17] == 76 and counts[6] == 56 and counts[1] == 0


def test_verifier_rejection_shows_source(bpf_compile, no_leaks):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "rejected.bpf.c"))
    with pytest.raises(VerifierError) as ei:
        ebpf.load(spec, backend="kernel")
    e = ei.value
    assert "invalid access to packet" in e.log
    assert "data[20]" in e.log  # line info reached the kernel: the log quotes the source
    assert "no_bounds_check" in str(e)


def test_pinned_by_name_is_shared(bpf_compile, no_leaks, pin_dir):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "pinned.bpf.c"))
    with ebpf.load(spec, backend="kernel", pin_path=pin_dir) as a:
        assert os.path.exists(os.path.join(pin_dir, "shared_counts"))
        a.programs["count"].test_run(b"\0" * 54)  # skb->len: 40 past the Ethernet header
        with ebpf.load(spec, backend="kernel", pin_path=pin_dir) as b:
            assert b.maps["shared_counts"].id == a.maps["shared_counts"].id
            b.programs["count"].test_run(b"\0" * 54)
        assert a.maps["shared_counts"][40] == 2
    # the pin outlives both objects, with its data
    with ebpf.Map.from_pin(os.path.join(pin_dir, "shared_counts")) as m:
        assert m[40] == 2
    other = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "pinned_other.bpf.c"))
    with pytest.raises(MapError, match="max_entries is 64, the object wants 128"):
        ebpf.load(other, backend="kernel", pin_path=pin_dir)


def test_failed_load_releases_everything(counter_spec, bpf_compile):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "rejected.bpf.c"))
    bad = ebpf.ObjectSpec(programs={**counter_spec.programs, **spec.programs},
                          maps=counter_spec.maps, variables=counter_spec.variables,
                          btf=counter_spec.btf, path="mixed.o")
    before = snapshot()
    with pytest.raises(VerifierError):
        load_object(bad)
    after = settled_snapshot(before)
    assert after[0] - before[0] == set() and after[1] - before[1] == set()
    assert after[2] - before[2] == set()


def test_thousand_load_close_cycles_leave_nothing(sockfilter_spec):
    before = snapshot()
    for _ in range(1000):
        obj = load_object(sockfilter_spec)
        obj.close()
    after = settled_snapshot(before, timeout=10)
    assert after[0] - before[0] == set(), "fds left open"
    assert after[1] - before[1] == set(), "programs left in the kernel"
    assert after[2] - before[2] == set(), "maps left in the kernel"


def test_pinned_devmap_is_reused(bpf_compile, no_leaks, pin_dir):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "devmap_pinned.bpf.c"))
    with ebpf.load(spec, backend="kernel", pin_path=pin_dir) as a, \
            ebpf.load(spec, backend="kernel", pin_path=pin_dir) as b:
        assert a.maps["tx_ports"].id == b.maps["tx_ports"].id


def test_program_subset_leaves_tail_call_slots_empty(counter_spec, no_leaks):
    with load_object(counter_spec, programs=["xdp_count"]) as obj:
        assert set(obj.programs) == {"xdp_count"}
        assert 2 not in obj.maps["jumps"]
        assert obj.programs["xdp_count"].test_run(packet(100)).retval == 2  # no tail call


def test_unknown_option_is_an_error(sockfilter_spec, no_leaks):
    with pytest.raises(LoadError, match="unknown load option.*bogus"):
        ebpf.load(sockfilter_spec, backend="kernel", bogus=1)
    ebpf.load(sockfilter_spec, backend="kernel", jit=False).close()  # a vm option: ignored


def test_callbacks_global_functions_and_iterators(bpf_compile, no_leaks):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "callbacks.bpf.c"))
    with ebpf.load(spec, backend="kernel") as obj:
        for i in range(8):
            obj.maps["values"][i] = i * 100
        assert obj.programs["callbacks"].test_run(b"\0" * 20).retval == 2
        v = obj.variables
        assert v["loop_sum"].value == sum(range(10))
        assert v["map_sum"].value == sum(i * 100 for i in range(8))
        assert v["iter_sum"].value == sum(range(5))
        assert v["squared"].value == 400


def test_btf_degraded_for_older_kernels_still_loads(counter_spec, monkeypatch, no_leaks):
    from ebpf.kernel import btf as kbtf
    from ebpf.kernel import probes as kprobes

    monkeypatch.setattr(kprobes, "kernel_version", lambda: (5, 1, 0))
    feats = kbtf.btf_features()
    assert feats["func"] and not feats["datasec"] and not feats["enum64"]
    with kbtf.load_btf(counter_spec.btf) as loaded:  # no DATASEC/VAR left, same ids
        assert loaded.id > 0


def test_global_data_is_shared_memory(counter_spec, no_leaks):
    with ebpf.load(counter_spec, backend="kernel") as obj:
        bss = obj.maps[".bss"]
        mem = bss.memory  # BPF_F_MMAPABLE: the program's globals, mapped here
        try:
            v = obj.spec.variables["packets"]
            obj.programs["xdp_count"].test_run(packet())
            assert int.from_bytes(mem[v.offset:v.offset + 8], "little") == 1
            mem[v.offset:v.offset + 8] = (41).to_bytes(8, "little")
            obj.programs["xdp_count"].test_run(packet())
            assert obj.variables["packets"].value == 42
            ro = obj.maps[".rodata"].memory  # frozen: mapped read-only
            assert ro.readonly
            ro.release()
        finally:
            mem.release()


AUTOLOAD_SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int bpf_k_no_such_kfunc(int x) __ksym;

SEC("fentry/k_dummy_target_does_not_exist")
int BPF_PROG(dummy_fentry)
{
	return 0;
}

SEC("xdp")
int uses_missing_kfunc(struct xdp_md *ctx)
{
	return bpf_k_no_such_kfunc(1);
}

SEC("?xdp")
int optional_xdp(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} jmp SEC(".maps") = { .values = { [0] = (void *)&optional_xdp } };

SEC("xdp")
int xdp_ok(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_autoload_off_programs_are_not_loaded(no_leaks, bpf_compile):
    # libbpf's bpf_program__set_autoload(false) / SEC("?..."): placeholders that
    # cannot load must not sink the object
    path = bpf_compile(AUTOLOAD_SRC, name="autoload")
    spec = ebpf.ObjectSpec.from_file(path)
    assert spec.programs["optional_xdp"].autoload is False
    spec.programs["dummy_fentry"].autoload = False
    spec.programs["uses_missing_kfunc"].autoload = False
    with load_object(spec) as obj:
        assert sorted(obj.programs) == ["xdp_ok"]
        assert obj.programs["xdp_ok"].test_run(bytes(64)).retval == 2
    # an explicit list wins over autoload; the tail call now lands in optional_xdp
    with load_object(spec, programs=["optional_xdp", "xdp_ok"]) as obj:
        assert sorted(obj.programs) == ["optional_xdp", "xdp_ok"]
        assert obj.programs["xdp_ok"].test_run(bytes(64)).retval == 1
    # autoload on again: the object fails because of the placeholder
    spec.programs["uses_missing_kfunc"].autoload = True
    with pytest.raises(ebpf.Error):
        load_object(spec)


ARENA_SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __arena __attribute__((address_space(1)))

struct {
	__uint(type, 33 /* BPF_MAP_TYPE_ARENA */);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4); /* pages */
#ifdef FIXED
	__ulong(map_extra, 2ull << 44);
#endif
} arena SEC(".maps");

void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt,
				int node_id, __u64 flags) __ksym __weak;

int __arena counter = 5;
char __arena note[8] = "arena";
__u64 user_addr;

SEC("syscall")
int bump(void *ctx)
{
	__u64 __arena *p;

	counter++;
	note[0] = 'A';
	p = bpf_arena_alloc_pages(&arena, NULL, 1, -1, 0);
	if (!p)
		return -1;
	*p = 0xfeedbeef;
	user_addr = (__u64)(unsigned long)p;
	return counter;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.parametrize("fixed", [False, True], ids=["any-address", "map_extra"])
def test_arena_globals_and_pages(no_leaks, bpf_compile, fixed):
    # __arena globals live in the arena's last pages (libbpf's layout); the arena is
    # mapped before the programs load; pages the program allocates show in .memory
    import ctypes

    path = bpf_compile(ARENA_SRC, name="arena", defines={"FIXED": "1"} if fixed else {})
    with ebpf.load(path, backend="kernel") as obj:
        bump = obj.programs["bump"]
        assert bump.test_run().retval == 6
        v = obj.variables
        assert v["counter"].value == 6 and bytes(v["note"].value).rstrip(b"\0") == b"Arena"
        v["counter"].value = 100
        assert bump.test_run().retval == 101
        mem = obj.maps["arena"].memory
        base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
        if fixed:
            assert base == 2 << 44
        off = v["user_addr"].value - base
        assert 0 <= off < len(mem) == 4 * 4096
        assert int.from_bytes(mem[off:off + 8], "little") == 0xFEEDBEEF
        data_off = obj.maps["arena"].arena_data_offset
        assert data_off == 3 * 4096
        assert int.from_bytes(mem[data_off:data_off + 4], "little") == 101
    # a view kept past close() reads zeros instead of faulting
    assert bytes(mem[data_off:data_off + 4]) == b"\0\0\0\0"


UNTYPED_KSYM_SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const void bpf_init __ksym;            /* untyped: address of a kernel function */

struct val { struct bpf_spin_lock lock; u64 n; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct val);
} locked SEC(".maps");

u64 init_addr = 0;

SEC("xdp")
int ksyms(struct xdp_md *ctx)
{
	u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&locked, &k);

	init_addr = (u64)&bpf_init;
	if (!v)
		return XDP_DROP;
	bpf_spin_lock(&v->lock);
	v->n++;
	bpf_spin_unlock(&v->lock);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_untyped_ksym_keeps_object_btf(no_leaks, bpf_compile):
    # `extern const void sym __ksym` is a VAR of const void in the object's BTF,
    # which the kernel refuses; without the object BTF, bpf_spin_lock is rejected
    path = bpf_compile(UNTYPED_KSYM_SRC, name="untyped_ksym")
    with ebpf.load(path, backend="kernel") as obj:
        assert obj.btf is not None
        assert obj.programs["ksyms"].test_run(bytes(64)).retval == 2
        assert obj.maps["locked"][0].n == 1
        addr = obj.variables["init_addr"].value
        assert addr != 0
        kallsyms = Path("/proc/kallsyms").read_text()
        assert f"{addr:016x} T bpf_init" in kallsyms or f"{addr:016x} t bpf_init" in kallsyms


def test_legacy_global_ns_maps_pin_under_tc_globals(no_leaks, bpf_compile):
    # iproute2's struct bpf_elf_map with pinning = PIN_GLOBAL_NS (2): tc pins those
    # in /sys/fs/bpf/tc/globals, not at the root of bpffs
    import uuid

    from ebpf.kernel.objects import LEGACY_PIN_PATH

    name = f"k_leg_{uuid.uuid4().hex[:6]}"
    src = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};

struct bpf_elf_map SEC("maps") NAME = {
	.type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 8, .max_elem = 4,
	.pinning = 2,
};

SEC("classifier")
int cls(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&NAME, &k);
	if (v)
		*v += 1;
	return 0;
}

char __license[] SEC("license") = "GPL";
""".replace("NAME", name)
    path = bpf_compile(src, name="legacy_pin")
    pinned = os.path.join(LEGACY_PIN_PATH, name)
    try:
        with ebpf.load(path, backend="kernel") as obj:
            obj.programs["cls"].test_run(bytes(64))
        assert os.path.exists(pinned)
        assert not os.path.exists(os.path.join("/sys/fs/bpf", name))
        with ebpf.load(path, backend="kernel") as obj:  # the pin is shared on reload
            obj.programs["cls"].test_run(bytes(64))
            assert obj.maps[name][0] == 2
    finally:
        if os.path.exists(pinned):
            os.unlink(pinned)
