"""Our bpf/*.h headers: the generated helper table matches the UAPI, and the
macros compile to the instructions, relocations and sections libbpf-style
loaders expect."""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

import ebpf
from ebpf.toolchain import INCLUDE_DIR, compile

ROOT = Path(__file__).resolve().parents[2]
BPF_H = Path("/usr/include/linux/bpf.h")
COMPILERS = ["clang", "zig"]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_helpers", ROOT / "tools" / "gen_helpers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HELPER_DEFS = INCLUDE_DIR / "bpf" / "bpf_helper_defs.h"
DEF_RE = re.compile(r"\(\* const (bpf_\w+)\)\((.*)\) = \(void \*\) (\d+);")


@pytest.mark.skipif(not BPF_H.exists(), reason="no linux UAPI headers to generate from")
def test_helper_defs_do_not_drift():
    gen = load_generator()
    assert gen.generate(BPF_H) == HELPER_DEFS.read_text(), \
        "bpf_helper_defs.h is stale: run tools/gen_helpers.py"


def test_helper_ids_match_uapi_enum():
    found = {m.group(1)[4:]: int(m.group(3)) for m in DEF_RE.finditer(HELPER_DEFS.read_text())}
    assert len(found) >= 211
    for h in ebpf.HelperId:
        if h.value == 0:
            continue
        assert found.get(h.name) == h.value, h.name
    # kernel-internal types never leak into the prototypes
    text = HELPER_DEFS.read_text()
    assert "struct sk_buff " not in text and "struct bpf_map" not in text
    assert "size_t" not in text and re.search(r"\bu32\b", text) is None


def test_generator_handles_explicit_id_form(tmp_path):
    gen = load_generator()
    fake = tmp_path / "bpf.h"
    fake.write_text(
        "/*\n * Start of BPF helper function descriptions:\n *\n"
        " * long bpf_frob(struct sk_buff *skb, u32 x, size_t n)\n * \tDescription\n"
        " * \t\tFrobs.\n *\n * void *bpf_look(struct bpf_map *map, const void *key)\n */\n"
        "#define ___BPF_FUNC_MAPPER(FN, ctx...) \\\n\tFN(unspec, 0, ##ctx) \\\n"
        "\tFN(look, 1, ##ctx) \\\n\tFN(frob, 7, ##ctx) \\\n\n#define __BPF_FUNC_MAPPER(FN) ___BPF_FUNC_MAPPER(FN)\n")
    out = gen.generate(fake)
    assert ("static long (* const bpf_frob)(struct __sk_buff *skb, __u32 x, unsigned long n)"
            " = (void *) 7;") in out
    assert "static void *(* const bpf_look)(void *map, const void *key) = (void *) 1;" in out
    assert "struct __sk_buff;" in out


def test_generator_merges_overloaded_helpers(tmp_path):
    gen = load_generator()
    fake = tmp_path / "bpf.h"
    fake.write_text(
        "/*\n * Start of BPF helper function descriptions:\n *\n"
        " * u64 bpf_cookie(struct sk_buff *skb)\n *\n"
        " * u64 bpf_cookie(struct sock *sk)\n *\n"
        " * long bpf_assign(struct sk_buff *skb, void *sk, u64 flags)\n *\n"
        " * long bpf_assign(struct bpf_sk_lookup *ctx, struct bpf_sock *sk, u64 flags)\n */\n"
        "#define __BPF_FUNC_MAPPER(FN) \\\n\tFN(unspec), \\\n\tFN(cookie), \\\n"
        "\tFN(assign), \\\n\n")
    out = gen.generate(fake)
    assert "static __u64 (* const bpf_cookie)(void *ctx) = (void *) 1;" in out
    assert "static long (* const bpf_assign)(void *ctx, void *sk, __u64 flags) = (void *) 2;" in out
    # the real table: one pointer fits every context the kernel documents
    assert "bpf_get_socket_cookie)(void *ctx)" in HELPER_DEFS.read_text()


MACROS_C = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} pinned SEC(".maps");

extern int LINUX_KERNEL_VERSION __kconfig;
extern unsigned int CONFIG_HZ __kconfig __weak;
extern const void bpf_prog_active __ksym;

static __noinline int sub(int x) { return x * 3; }

SEC("xdp")
int printk_and_tail(struct xdp_md *ctx)
{
	bpf_printk("three %d %d %d", 1, 2, 3);
	bpf_printk("four %d %d %d %d", 1, 2, 3, 4);
	bpf_printk("none");
	bpf_tail_call_static(ctx, &progs, 2);
	return sub(ctx->ingress_ifindex) + LINUX_KERNEL_VERSION + CONFIG_HZ +
		(int)(long)&bpf_prog_active;
}

SEC("socket")
int endian(struct __sk_buff *skb)
{
	switch (skb->protocol) {
	case bpf_htons(ETH_P_IP): return 4;
	case bpf_htons(ETH_P_IPV6): return 6;
	}
	_Static_assert(bpf_htons(0x1234) == 0x3412, "htons");
	_Static_assert(bpf_ntohl(0x12345678) == 0x78563412, "ntohl");
	_Static_assert(bpf_cpu_to_be64(0x0102030405060708ULL) == 0x0807060504030201ULL, "be64");
	return bpf_ntohs(skb->protocol) + bpf_ntohl(skb->mark);
}

struct kstruct {
	int pid;
	struct kstruct *parent;
	unsigned int small:3;
	int sbits:5;
	char name[16];
} __attribute__((preserve_access_index));

enum kenum { KE_ONE = 1, KE_TWO = 2 };

SEC("tp_btf/x")
int core(struct kstruct *t)
{
	char buf[16];
	int v = BPF_CORE_READ(t, parent, parent, pid);
	BPF_CORE_READ_STR_INTO(&buf, t, parent, name);
	BPF_PROBE_READ_INTO(&v, t, pid);
	v += BPF_CORE_READ_BITFIELD_PROBED(t, small) + BPF_CORE_READ_BITFIELD(t, sbits);
	v += bpf_core_field_exists(t->pid) + bpf_core_field_size(struct kstruct, name);
	v += bpf_core_field_offset(t->name) + bpf_core_type_exists(struct kstruct);
	v += bpf_core_type_size(struct kstruct) + bpf_core_type_id_kernel(struct kstruct);
	v += bpf_core_type_id_local(struct kstruct) + bpf_core_type_matches(struct kstruct);
	v += bpf_core_enum_value_exists(enum kenum, KE_TWO) + bpf_core_enum_value(enum kenum, KE_ONE);
	return v + buf[0];
}

char LICENSE[] SEC("license") = "GPL";
"""

CORE_KINDS = {0: "byte_off", 1: "byte_sz", 2: "field_exists", 3: "signed", 4: "lshift",
              5: "rshift", 6: "type_id_local", 7: "type_id_target", 8: "type_exists",
              9: "type_size", 10: "enumval_exists", 11: "enumval_value", 12: "type_matches"}


def core_relocation_kinds(obj: Path) -> dict[str, set[str]]:
    """Section name → kinds of CO-RE relocation, straight from .BTF.ext."""
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        btf = elf.get_section_by_name(".BTF").data()
        ext = elf.get_section_by_name(".BTF.ext").data()
    magic, _, _, hdr_len = struct.unpack_from("<HBBI", ext)
    assert magic == 0xEB9F
    str_off, str_len = struct.unpack_from("<HBBIIIII", btf)[6:8]
    hdr_len_btf = struct.unpack_from("<I", btf, 4)[0]
    strings = btf[hdr_len_btf + str_off: hdr_len_btf + str_off + str_len]

    def s(off):
        return strings[off:strings.index(b"\0", off)].decode()

    if hdr_len < 32:
        return {}
    core_off, core_len = struct.unpack_from("<II", ext, 24)
    data = ext[hdr_len + core_off: hdr_len + core_off + core_len]
    rec_size = struct.unpack_from("<I", data)[0]
    pos, out = 4, {}
    while pos < len(data):
        sec_off, n = struct.unpack_from("<II", data, pos)
        pos += 8
        kinds = out.setdefault(s(sec_off), set())
        for _ in range(n):
            kinds.add(CORE_KINDS[struct.unpack_from("<IIII", data, pos)[3]])
            pos += rec_size
    return out


def helper_calls(insns) -> list[int]:
    return [i.imm for i in insns if i.opcode == 0x85 and i.src == 0]


@pytest.fixture(scope="module", params=COMPILERS)
def macros_obj(request, tmp_path_factory):
    from toolchain_support import compiler_available

    if not compiler_available(request.param):
        pytest.skip(f"{request.param} not installed")
    d = tmp_path_factory.mktemp("macros")
    src = d / "macros.bpf.c"
    src.write_text(MACROS_C)
    return compile(src, d / f"macros.{request.param}.o", cc=request.param)


def test_printk_picks_trace_printk_or_vprintk(macros_obj):
    spec = ebpf.ObjectSpec.from_file(macros_obj)
    calls = helper_calls(spec.programs["printk_and_tail"].instructions)
    assert calls.count(ebpf.HelperId.trace_printk) == 2
    assert calls.count(ebpf.HelperId.trace_vprintk) == 1
    assert ebpf.HelperId.tail_call in calls


def test_tail_call_static_passes_a_constant_index(macros_obj):
    insns = ebpf.ObjectSpec.from_file(macros_obj).programs["printk_and_tail"].instructions
    idx = next(i for i, ins in enumerate(insns)
               if ins.opcode == 0x85 and ins.imm == ebpf.HelperId.tail_call)
    before = insns[idx - 1]
    assert (before.opcode, before.dst, before.imm) == (0xB7, 3, 2)  # r3 = 2 right before


def test_endian_macros_become_byte_swaps(macros_obj):
    insns = ebpf.ObjectSpec.from_file(macros_obj).programs["endian"].instructions
    swaps = [i for i in insns if i.opcode in (0xD4, 0xDC, 0xD7)]
    assert {i.imm for i in swaps} >= {16, 32}


def test_map_attributes(macros_obj):
    spec = ebpf.ObjectSpec.from_file(macros_obj)
    pinned = spec.maps["pinned"]
    assert pinned.pinning == ebpf.PinType.BY_NAME
    assert pinned.flags == 1 and pinned.key_size == 8 and pinned.max_entries == 16
    assert spec.maps["progs"].type == ebpf.MapType.PROG_ARRAY


def test_kconfig_and_ksym_externs(macros_obj):
    with open(macros_obj, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        syms = {s.name: s for s in symtab.iter_symbols()}
        btf = elf.get_section_by_name(".BTF").data()
    for name in ("LINUX_KERNEL_VERSION", "CONFIG_HZ", "bpf_prog_active"):
        assert syms[name]["st_shndx"] == "SHN_UNDEF"
        assert syms[name]["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
    assert syms["CONFIG_HZ"]["st_info"]["bind"] == "STB_WEAK"
    assert b".kconfig\0" in btf and b".ksyms\0" in btf


def test_core_macros_emit_every_relocation_kind(macros_obj):
    kinds = core_relocation_kinds(macros_obj)
    assert set(CORE_KINDS.values()) <= kinds["tp_btf/x"]
    spec = ebpf.ObjectSpec.from_file(macros_obj)
    calls = helper_calls(spec.programs["core"].instructions)
    assert calls.count(ebpf.HelperId.probe_read_kernel) >= 4  # chain + probe read + bitfield
    assert ebpf.HelperId.probe_read_kernel_str in calls


@pytest.mark.parametrize("cc", COMPILERS)
def test_printk_without_global_data(tmp_path, cc):
    """BPF_NO_GLOBAL_DATA (for kernels before 5.2): the format is built on the
    stack, so the program references no map at all."""
    from toolchain_support import compiler_available

    if not compiler_available(cc):
        pytest.skip(f"{cc} not installed")
    src = tmp_path / "legacy.bpf.c"
    src.write_text("#define BPF_NO_GLOBAL_DATA\n#include <linux/bpf.h>\n"
                   "#include <bpf/bpf_helpers.h>\n"
                   'SEC("tp/syscalls/sys_enter_write") int tp(void *ctx)\n'
                   '{ bpf_printk("pid %d", (int)bpf_get_current_pid_tgid()); return 0; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    insns = ebpf.ObjectSpec.from_file(compile(src, cc=cc)).programs["tp"].instructions
    assert ebpf.HelperId.trace_printk in helper_calls(insns)
    assert all(i.reference is None for i in insns)


def test_core_read_h_alone_gives_the_helpers(tmp_path):
    """libbpf's bpf_core_read.h includes bpf_helpers.h (since 1.4): a program
    including only it can call helpers and use SEC()."""
    src = tmp_path / "core_only.bpf.c"
    src.write_text("#include <linux/bpf.h>\n#include <bpf/bpf_core_read.h>\n"
                   'SEC("tp/syscalls/sys_enter_write") int tp(void *ctx)\n'
                   "{ long v = 0; bpf_probe_read_kernel(&v, sizeof(v), ctx);"
                   " return (int)bpf_get_current_pid_tgid() + (int)v; }\n"
                   'char LICENSE[] SEC("license") = "GPL";\n')
    insns = ebpf.ObjectSpec.from_file(compile(src, cc="zig")).programs["tp"].instructions
    assert ebpf.HelperId.probe_read_kernel in helper_calls(insns)
