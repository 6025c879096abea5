"""Compiled objects: for every executable section, decode -> disassemble matches
llvm-objdump line by line, and disassemble -> assemble -> encode gives back the
section's bytes. Built with clang-19 at -mcpu=v1..v4, -O0/-O2, and bpf-gcc when present."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ebpf.errors import InstructionError
from ebpf.isa import assemble, decode, encode
from ebpf.isa.disasm import disassemble_lines

from ._llvm import OBJDUMP19, executable_sections, objdump_sections, strip_annotation

PROGRAM = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct event { __u32 pid; __s32 delta; __u64 key; char comm[16]; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} stats SEC(".maps");

__u64 total_packets = 0;
__u32 seen32 = 0;
const volatile __u32 sample_rate = 1;
volatile __s64 signed_acc;
volatile __s8 small_signed[8];

static __noinline __u64 mix(__u64 a, __u64 b)
{
	__u64 x = a ^ (b << 13);
	return x * 0x9e3779b97f4a7c15ULL + (b >> 7);
}

__noinline int classify(__u32 proto)
{
	switch (proto) {
	case 6: return 1;
	case 17: return 2;
	case 1: return 3;
	default: return 0;
	}
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u32 key;
	__u64 *val, one = 1;

	if (p + 34 > (__u8 *)end)
		return XDP_PASS;
	key = bpf_ntohs(*(__u16 *)(p + 12)) ^ bpf_ntohl(*(__u32 *)(p + 26));
	val = bpf_map_lookup_elem(&counts, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	__sync_fetch_and_add(&total_packets, 1);
#if __BPF_CPU_VERSION__ >= 3
	__u32 old = __sync_fetch_and_or(&seen32, key);
	__sync_fetch_and_xor(&seen32, old);
	__sync_lock_test_and_set(&total_packets, mix(key, old));
	__sync_val_compare_and_swap(&seen32, 0, 1);
#endif
	return classify(p[23]) > 1 ? XDP_DROP : XDP_PASS;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(void *ctx)
{
	struct event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__s64 delta = (__s64)(id >> 32) - (__s64)(__u32)id;
	int i, sum = 0;

	for (i = 0; i < 8; i++)
		sum += small_signed[i];            /* sign-extending loads on v4 */
#if __BPF_CPU_VERSION__ >= 4
	signed_acc = delta / (sum | 1) + delta % 7;  /* sdiv/smod */
#endif
	if (sample_rate > 1 && (id % sample_rate))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = id >> 32;
	e->delta = (__s32)delta;
	e->key = mix(id, __builtin_bswap64(id));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static long count_cb(__u32 index, void *ctx)
{
	*(long *)ctx += index;
	return 0;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	long acc = 0;
	__u32 k = 0, *v;

	bpf_loop(16, count_cb, &acc, 0);
	v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		*v += (__u32)acc;
	return skb->len > 64 ? (int)skb->len : 0;
}
"""


def _strip_call_kind(insns):
    out = []
    for ins in insns:
        ins = ins.copy()
        if ins.opcode == 0x85:
            ins.src = 0
            ins.reference = None
        out.append(ins)
    return out


def _pasted_objdump_assembles(obj, raw_sections) -> None:
    """llvm-objdump's own output (addresses, raw bytes, relocations) assembles to the
    same instructions; only the call kind (helper/local/kfunc) is not in LLVM's text."""
    text = subprocess.run([OBJDUMP19, "-d", "-r", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    if "<unknown>" in text:
        with pytest.raises(InstructionError, match="could not decode"):
            assemble(text)
        return
    expected = [ins for raw in raw_sections.values() for ins in decode(raw)]
    assert _strip_call_kind(assemble(text)) == _strip_call_kind(expected)


def _compare(obj) -> int:
    """Returns the number of instructions compared; asserts parity and round trip."""
    raw_sections = executable_sections(obj)
    dumped = objdump_sections(obj, OBJDUMP19)
    total = 0
    for name, raw in raw_sections.items():
        insns = decode(raw)
        lines = disassemble_lines(insns)
        expected = dumped[name]
        assert sorted(expected) == [slot for slot, _ in lines], name
        for slot, text in lines:
            exp = expected[slot]
            if exp == "<unknown>":
                continue  # 32-bit atomics that llvm-objdump only decodes with +alu32
            assert strip_annotation(text) == exp, f"{obj.name} {name} slot {slot}"
        text = "\n".join(t for _, t in lines)
        assert encode(assemble(text)) == raw, f"{obj.name} {name}: round trip"
        total += len(insns)
    _pasted_objdump_assembles(obj, raw_sections)
    return total


@pytest.mark.skipif(OBJDUMP19 is None, reason="llvm-objdump 19 not installed")
@pytest.mark.parametrize("cpu", ["v1", "v2", "v3", "v4"])
@pytest.mark.parametrize("opt", [0, 2])
def test_clang_objects_match_llvm_objdump(bpf_compile, cpu: str, opt: int) -> None:
    obj = bpf_compile(PROGRAM, name=f"isa_{cpu}_O{opt}", cpu=cpu, opt=opt)
    assert _compare(obj) > 50


GCC_PROGRAM = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* GCC 12 cannot call helpers through constant function pointers */
static void *lookup(void *map, const void *key) __attribute__((kernel_helper(1)));
static long update(void *map, const void *key, const void *value, __u64 flags)
	__attribute__((kernel_helper(2)));

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 total;
__u32 seen;
volatile signed char samples[8];
volatile long acc;

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a ^ (b << 13)) * 0x9e3779b97f4a7c15ULL;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 one = 1, *v = lookup(&counts, &key);
	long s = 0;

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		update(&counts, &key, &one, 0);
	__sync_fetch_and_add(&total, 1);
	for (int i = 0; i < 8; i++)
		s += samples[i];
	acc = s / (long)(key | 1) + s % 7;
	__u32 o = __sync_fetch_and_or(&seen, key);
	__sync_val_compare_and_swap(&seen, 0, o);
	return mix(key, __builtin_bswap32(o)) & 3;
}
"""


@pytest.mark.skipif(not (shutil.which("bpf-unknown-none-gcc") or shutil.which("bpf-gcc")),
                    reason="no GCC BPF compiler")
@pytest.mark.parametrize("cpu", ["v1", "v3"])
def test_gcc_objects_round_trip(bpf_compile, cpu: str) -> None:
    obj = bpf_compile(GCC_PROGRAM, name=f"isa_gcc_{cpu}", cc="gcc", cpu=cpu)
    if OBJDUMP19 is None:
        for raw in executable_sections(obj).values():
            assert encode(assemble("\n".join(t for _, t in disassemble_lines(decode(raw))))) == raw
    else:
        assert _compare(obj) > 30


@pytest.mark.skipif(not os.environ.get("EBPF_ISA_CORPUS"), reason="set EBPF_ISA_CORPUS=DIR to run")
def test_object_corpus() -> None:
    """Opt-in: every BPF object under $EBPF_ISA_CORPUS (e.g. a checkout of
    vbpf/ebpf-samples: Linux samples, Cilium, Falco, Suricata...). Objects that
    decode refuses must be genuinely malformed (their name says 'invalid')."""
    root = Path(os.environ["EBPF_ISA_CORPUS"])
    seen = 0
    for path in sorted([*root.rglob("*.o"), *root.rglob("*.elf")]):
        head = path.read_bytes()[:20]
        if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != 247:
            continue
        try:
            seen += bool(_compare(path))
        except (InstructionError, subprocess.CalledProcessError):
            assert "invalid" in str(path), path
    assert seen


@pytest.mark.skipif(OBJDUMP19 is None, reason="llvm-objdump 19 not installed")
def test_big_endian_object(tmp_path) -> None:
    """bpfeb objects: decode/encode with byteorder='big' and the same text as llvm-objdump."""
    clang = shutil.which("clang-19")
    if clang is None:
        pytest.skip("clang-19 not installed")
    src = tmp_path / "be.c"
    src.write_text("""
        unsigned long long counter;
        static __attribute__((noinline)) int twice(int x) { return x * 2 + 1; }
        __attribute__((section("xdp"), used)) int prog(unsigned int *ctx)
        {
            __sync_fetch_and_add(&counter, 1);
            return twice(*ctx) > 5 ? (int)__builtin_bswap32(*ctx) : 2;
        }
    """)
    obj = tmp_path / "be.o"
    subprocess.run([clang, "-target", "bpfeb", "-mcpu=v4", "-O2", "-c", str(src), "-o", str(obj)],
                   check=True)
    data = obj.read_bytes()
    assert data[5] == 2  # ELFDATA2MSB
    dumped = objdump_sections(obj, OBJDUMP19)
    for name, raw in _executable_sections_be(data).items():
        insns = decode(raw, byteorder="big")
        assert encode(insns, byteorder="big") == raw
        for slot, text in disassemble_lines(insns):
            assert strip_annotation(text) == dumped[name][slot]
        assert encode(assemble("\n".join(t for _, t in disassemble_lines(insns))), byteorder="big") == raw


def _executable_sections_be(data: bytes) -> dict[str, bytes]:
    import struct

    shoff, = struct.unpack_from(">Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(">HHH", data, 0x3A)
    heads = [struct.unpack_from(">IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = data[heads[shstrndx][4]:heads[shstrndx][4] + heads[shstrndx][5]]
    return {names[h[0]:names.index(b"\0", h[0])].decode(): data[h[4]:h[4] + h[5]]
            for h in heads if h[1] == 1 and h[2] & 0x4 and h[5]}
