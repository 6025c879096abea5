"""CO-RE: relocations from clang-compiled objects resolved against kernel BTF
(and hand-built targets), instructions patched or poisoned like libbpf does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf._internal.elf import section_contents
from ebpf.btf import (
    Array,
    Enum,
    EnumValue,
    Int,
    Member,
    Pointer,
    Spec,
    Struct,
    Typedef,
    Union,
)
from ebpf.btf.core import POISON_HELPER, apply_core_relocations, essential_name, resolve_relocation
from ebpf.btf.ext import CoreKind, CORERelocation, parse_btf_ext
from ebpf.errors import BTFError
from ebpf.isa import Instruction
from ebpf.isa import opcodes as op

needs_vmlinux = pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                                   reason="no kernel BTF")

# Local views of kernel types that deliberately differ from the kernel: fields
# reordered, a field the kernel lacks, flavour suffixes, a bit-field, an enum
# with different values. Written the way libbpf tools write them.
CORE_PROG = r"""
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __pai __attribute__((preserve_access_index))

struct list_head___x { struct list_head___x *next, *prev; } __pai;

struct task_struct___old {
    int tgid;                          /* reordered: tgid before pid */
    int pid;
    unsigned int __state;
    long this_field_is_gone;           /* not in the kernel */
    struct task_struct___old *real_parent;
    struct list_head___x children;
    char comm[16];
    unsigned int sched_contributes_to_load: 1;  /* a kernel bit-field */
} __pai;

struct xdp_md___mine { __u32 pad[2]; __u32 ingress_ifindex; __u32 data; } __pai;

enum bpf_cmd___mine { BPF_PROG_LOAD___mine = 99, BPF_NO_SUCH_CMD___mine = 7 };
struct no_such_struct___x { int a; } __pai;

#define FIELD(expr, kind) __builtin_preserve_field_info(expr, kind)

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 32);
    __type(key, __u32);
    __type(value, __u64);
} out SEC(".maps");

static __always_inline void put(__u32 k, __u64 v) { bpf_map_update_elem(&out, &k, &v, 0); }

SEC("tp_btf/sched_switch")
int core_prog(__u64 *ctx)
{
    struct task_struct___old *t = (void *)bpf_get_current_task();
    put(0, FIELD(t->pid, 0));
    put(1, FIELD(t->tgid, 0));
    put(2, FIELD(t->this_field_is_gone, 2));
    put(3, FIELD(t->comm, 1));
    put(4, FIELD(t->sched_contributes_to_load, 0));
    put(5, FIELD(t->sched_contributes_to_load, 4));
    put(6, FIELD(t->sched_contributes_to_load, 5));
    put(7, FIELD(t->pid, 3));
    put(8, FIELD(t->children.prev, 0));
    put(9, FIELD(t->comm[3], 0));
    put(10, __builtin_preserve_type_info(*(struct task_struct___old *)0, 0));
    put(11, __builtin_preserve_type_info(*(struct no_such_struct___x *)0, 0));
    put(12, __builtin_preserve_type_info(*(struct xdp_md___mine *)0, 1));
    put(13, __builtin_preserve_enum_value(*(enum bpf_cmd___mine *)BPF_PROG_LOAD___mine, 1));
    put(14, __builtin_preserve_enum_value(*(enum bpf_cmd___mine *)BPF_NO_SUCH_CMD___mine, 0));
    put(15, __builtin_btf_type_id(*t, 0));
    put(16, t->pid);                   /* a plain load through preserve_access_index */
    put(18, __builtin_preserve_type_info(*(struct list_head___x *)0, 2));     /* matches */
    put(19, __builtin_preserve_type_info(*(struct task_struct___old *)0, 2)); /* does not */
    if (FIELD(t->this_field_is_gone, 2))
        put(17, t->this_field_is_gone);  /* guarded: poisoned but unreachable */
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def load_prog_section(path, sec: str | None = None):
    """(local BTF, decoded instructions with .core set, relocations) of the one
    program section of an object."""
    from ebpf.isa import decode

    data = path.read_bytes()
    secs = section_contents(data)
    spec = Spec.from_bytes(secs[".BTF"])
    ext = parse_btf_ext(secs[".BTF.ext"], spec)
    if sec is None:
        (sec,) = ext.core_relos
    insns = decode(secs[sec])
    slot_of = {}
    pos = 0
    for i, ins in enumerate(insns):
        slot_of[pos] = i
        pos += ins.size
    relos = ext.core_relos[sec]
    for r in relos:
        insns[slot_of[r.insn_off // 8]].core = r
    return spec, insns, relos


def load_prog(path):
    return load_prog_section(path, "tp_btf/sched_switch")


@pytest.fixture(scope="module")
def prog(bpf_compile):
    return bpf_compile(CORE_PROG, "core_prog")


def by_access(results, kind, access, local):
    found = [r for r in results if r.relocation.kind == kind and r.relocation.access_str == access]
    assert found, (kind, access)
    return found[0]


def test_btf_ext_contents(prog):
    spec, insns, relos = load_prog(prog)
    data = prog.read_bytes()
    ext = parse_btf_ext(section_contents(data)[".BTF.ext"], spec)
    sec = "tp_btf/sched_switch"
    assert [f.name for f in ext.func_infos[sec]] == ["core_prog"]
    assert ext.func_infos[sec][0].insn_off == 0
    lines = ext.line_infos[sec]
    src_lines = CORE_PROG.splitlines()
    for li in lines:
        assert li.file_name.endswith(".c")
        assert li.line_text == src_lines[li.line - 1]  # line numbers point at the text
        assert li.insn_off % 8 == 0
    kinds = {r.kind for r in relos}
    assert {CoreKind.FIELD_BYTE_OFFSET, CoreKind.FIELD_EXISTS, CoreKind.FIELD_BYTE_SIZE,
            CoreKind.FIELD_LSHIFT_U64, CoreKind.FIELD_RSHIFT_U64, CoreKind.FIELD_SIGNED,
            CoreKind.TYPE_EXISTS, CoreKind.TYPE_SIZE, CoreKind.ENUMVAL_VALUE,
            CoreKind.ENUMVAL_EXISTS, CoreKind.TYPE_ID_LOCAL} <= kinds
    assert all(r.section == sec for r in relos)


@needs_vmlinux
def test_resolve_against_kernel(prog, kspec):
    local, insns, relos = load_prog(prog)
    ts = kspec.type_by_name("task_struct", "struct")
    results = apply_core_relocations(insns, local, kspec)
    assert len(results) == len(relos)
    F = CoreKind
    r = {(x.relocation.kind, x.relocation.access_str): x for x in results}
    pid = ts.member("pid").offset // 8
    tgid = ts.member("tgid").offset // 8
    # the byte offsets of reordered fields follow the kernel, not the local struct
    assert r[F.FIELD_BYTE_OFFSET, "0:1"].target_value == pid
    assert r[F.FIELD_BYTE_OFFSET, "0:1"].local_value == 4
    assert r[F.FIELD_BYTE_OFFSET, "0:0"].target_value == tgid
    assert r[F.FIELD_EXISTS, "0:3"].target_value == 0
    assert r[F.FIELD_BYTE_SIZE, "0:6"].target_value == 16
    children = ts.member("children").offset // 8
    assert r[F.FIELD_BYTE_OFFSET, "0:5:1"].target_value == children + 8
    assert r[F.FIELD_BYTE_OFFSET, "0:6:3"].target_value == ts.member("comm").offset // 8 + 3
    bf = ts.member("sched_contributes_to_load")
    assert bf.bitfield_size == 1
    off = r[F.FIELD_BYTE_OFFSET, "0:7"].target_value
    lshift = r[F.FIELD_LSHIFT_U64, "0:7"].target_value
    assert r[F.FIELD_RSHIFT_U64, "0:7"].target_value == 63
    # loading 4 bytes at `off`, shifting left then right extracts exactly the kernel's bit
    assert off * 8 <= bf.offset < off * 8 + 32
    assert lshift == 64 - (bf.offset - off * 8 + 1)
    assert r[F.FIELD_SIGNED, "0:1"].target_value == 1
    assert r[F.TYPE_EXISTS, "0"].target_value in (0, 1)
    exists = [x for x in results if x.relocation.kind == F.TYPE_EXISTS]
    assert sorted(x.target_value for x in exists) == [0, 1]  # task_struct yes, no_such_struct no
    size = [x for x in results if x.relocation.kind == F.TYPE_SIZE][0]
    assert size.target_value == kspec.type_by_name("xdp_md", "struct").size
    cmd = kspec.type_by_name("bpf_cmd", "enum")
    ev = [x for x in results if x.relocation.kind == F.ENUMVAL_VALUE][0]
    assert ev.local_value == 99 and ev.target_value == cmd.value("BPF_PROG_LOAD")
    ee = [x for x in results if x.relocation.kind == F.ENUMVAL_EXISTS][0]
    assert ee.target_value == 0
    matches = {x.description: x.target_value for x in results if x.relocation.kind == F.TYPE_MATCHES}
    assert matches == {"struct list_head___x": 1, "struct task_struct___old": 0}
    # the instructions were patched: the plain load now reads the kernel's pid offset
    loads = [i for i in insns if i.core is not None and i.cls == op.BPF_LDX]
    assert loads and {i.off for i in loads if i.core.access_str == "0:1"} == {pid}
    imm = [i for i in insns if i.core is not None and i.core.kind == F.FIELD_BYTE_OFFSET
           and i.core.access_str == "0:1" and i.cls in (op.BPF_ALU, op.BPF_ALU64)]
    assert imm and all(i.imm == pid for i in imm)
    # the access to the missing field is poisoned (not reachable: guarded by exists)
    poisoned = [x for x in results if x.poisoned]
    assert poisoned and all("this_field_is_gone" in x.reason for x in poisoned)
    assert all("task_struct" in x.reason for x in poisoned)
    for x in poisoned:
        ins = insns[x.index]
        assert ins.opcode == op.BPF_JMP | op.BPF_CALL and ins.imm == POISON_HELPER


@needs_vmlinux
def test_strict_names_field_and_type(prog, kspec):
    local, insns, _ = load_prog(prog)
    with pytest.raises(BTFError, match=r"this_field_is_gone.*task_struct|task_struct.*this_field_is_gone"):
        apply_core_relocations(insns, local, kspec, strict=True)


def test_identity_relocation_keeps_compiled_values(prog):
    local, insns, _ = load_prog(prog)
    before = [(i.opcode, i.off, i.imm) for i in insns]
    results = apply_core_relocations(insns, local, local)  # validate=True checks local values
    assert not any(r.poisoned for r in results)
    assert [(i.opcode, i.off, i.imm) for i in insns] == before


def test_essential_names():
    assert essential_name("task_struct___old") == "task_struct"
    assert essential_name("a___b___c") == "a___b"
    assert essential_name("__x") == "__x"
    assert essential_name("x___") == "x___"
    assert essential_name("____x") == "____x"


def _specs():
    i32 = Int("int", 4, signed=True)
    u16 = Int("unsigned short", 2)
    u32 = Int("unsigned int", 4)
    local = Spec()
    lt = Struct("thing___v1", 16, [
        Member("a", i32, 0),
        Member("", Union("", 4, [Member("b", u32, 0)]), 32),
        Member("arr", Array(u16, nelems=4), 64),
    ])
    local.add(lt)
    target = Spec()
    tt = Struct("thing", 32, [
        Member("arr", Array(u32, nelems=8), 0),   # wider elements, moved
        Member("pad", i32, 256 - 64),
        Member("b", u16, 256 - 32),               # no longer in an anonymous union
        Member("a", i32, 256 - 16 - 16),
    ])
    target.add(tt)
    return local, lt, target, tt


def test_resolution_rules_on_hand_built_types():
    local, lt, target, tt = _specs()
    tid = local.type_id(lt)
    F = CoreKind

    def res(access, kind=F.FIELD_BYTE_OFFSET):
        return resolve_relocation(CORERelocation(0, tid, access, kind), local, target)

    assert res("0:0").target_value == 28  # a
    assert res("0:1:0").target_value == 28  # b (local path goes through the anonymous union)
    assert res("0:1:0").description == "struct thing___v1.b"
    assert res("0:2:3").target_value == 12  # arr[3] with 4-byte elements
    assert res("0:2:3", F.FIELD_BYTE_SIZE).target_value == 4
    assert res("0:2:9").exists is False  # index beyond the target's array
    assert res("1:0").target_value == 32 + 28  # root index: second element of an array of thing
    assert res("0", F.TYPE_SIZE).target_value == 32
    with pytest.raises(BTFError, match="beyond"):
        res("0:7")
    with pytest.raises(BTFError, match="bad CO-RE access string"):
        res("0:x")
    # two candidates that disagree: ambiguous
    target.add(Struct("thing___again", 4, [Member("a", Int("int", 4, signed=True), 0)]))
    target.add(Struct("thing", 4, [Member("a", Int("int", 4, signed=True), 0)]))
    with pytest.raises(BTFError, match="ambiguous"):
        res("0:0")


def test_load_size_follows_the_target_field():
    local, lt, target, tt = _specs()
    tid = local.type_id(lt)
    relo = CORERelocation(0, tid, "0:2:1", CoreKind.FIELD_BYTE_OFFSET)
    ldx = Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_H, dst=0, src=1, off=10, core=relo)
    apply_core_relocations([ldx], local, target)
    assert ldx.off == 4 and ldx.opcode & 0x18 == op.BPF_W  # u16 load became a u32 load
    bad = Instruction(op.BPF_LDX | op.BPF_MEM | op.BPF_H, dst=0, src=1, off=99, core=relo)
    with pytest.raises(BTFError, match="expected 10"):
        apply_core_relocations([bad], local, target)


def test_lddw_poison_keeps_slot_positions():
    local, lt, target, tt = _specs()
    tid = local.type_id(lt)
    relo = CORERelocation(8, tid, "0:2:9", CoreKind.FIELD_BYTE_OFFSET)
    insns = [Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=0),
             Instruction(op.LD_IMM64, dst=1, imm=22, core=relo),
             Instruction(op.EXIT)]
    results = apply_core_relocations(insns, local, target)
    assert results[0].poisoned and results[0].index == 1
    assert len(insns) == 4 and sum(i.size for i in insns) == 4
    assert insns[1].imm == POISON_HELPER and insns[2].imm == POISON_HELPER


def test_enum_and_type_matches():
    local, target = Spec(), Spec()
    le = Enum("mode___x", 4, False, [EnumValue("M_ONE", 1), EnumValue("M_BIG___x", 2)])
    te = Enum("mode", 8, False, [EnumValue("M_BIG", 1 << 40), EnumValue("M_ONE", 5)])
    local.add(le)
    target.add(te)
    lid = local.type_id(le)
    F = CoreKind
    r = resolve_relocation(CORERelocation(0, lid, "1", F.ENUMVAL_VALUE), local, target)
    assert r.target_value == 1 << 40
    r = resolve_relocation(CORERelocation(0, lid, "0", F.ENUMVAL_EXISTS), local, target)
    assert r.target_value == 1
    # TYPE_MATCHES is stricter than TYPE_EXISTS: int size and signedness count
    i32, u32 = Int("int", 4, signed=True), Int("unsigned int", 4)
    ls = Struct("pair", 8, [Member("x", i32, 0)])
    local.add(ls)
    target.add(Struct("pair", 8, [Member("y", i32, 0), Member("x", u32, 32)]))
    sid = local.type_id(ls)
    assert resolve_relocation(CORERelocation(0, sid, "0", F.TYPE_EXISTS), local, target).target_value == 1
    assert resolve_relocation(CORERelocation(0, sid, "0", F.TYPE_MATCHES), local, target).target_value == 0
    lt2 = Typedef("pair_t", Pointer(ls))
    local.add(lt2)
    assert resolve_relocation(CORERelocation(0, local.type_id(lt2), "0", F.TYPE_EXISTS),
                              local, target).target_value == 0  # no typedef pair_t in target


E2E_PROG = r"""
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* deliberately wrong layout: the kernel has pid before tgid, far from offset 0 */
struct task_struct___mine {
    int tgid;
    int pid;
    long gone___field;
    struct task_struct___mine *group_leader;
} __attribute__((preserve_access_index));

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} out SEC(".maps");

SEC("raw_tp/sys_enter")
int probe(void *ctx)
{
    struct task_struct___mine *t = (void *)bpf_get_current_task();
    __u32 k;
    __u64 v;

    k = 0; v = BPF_CORE_READ(t, tgid); bpf_map_update_elem(&out, &k, &v, 0);
    k = 1; v = BPF_CORE_READ(t, pid); bpf_map_update_elem(&out, &k, &v, 0);
    k = 2; v = BPF_CORE_READ(t, group_leader, pid); bpf_map_update_elem(&out, &k, &v, 0);
    k = 3; v = bpf_core_field_exists(t->gone___field); bpf_map_update_elem(&out, &k, &v, 0);
    if (bpf_core_field_exists(t->gone___field)) {   /* poisoned, but dead code */
        k = 4; v = BPF_CORE_READ(t, gone___field); bpf_map_update_elem(&out, &k, &v, 0);
    }
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def _raw_tp_test_run(fd: int) -> int:
    """BPF_PROG_TEST_RUN of a raw_tp program (ctx in, nothing else)."""
    import ctypes
    import platform
    import struct

    libc = ctypes.CDLL(None, use_errno=True)
    ctx = ctypes.create_string_buffer(16)
    attr = struct.pack("<IIIIQQIIIIQQIII", fd, 0, 0, 0, 0, 0, 0, 0, 16, 0,
                       ctypes.addressof(ctx), 0, 0, 0, 0)
    buf = ctypes.create_string_buffer(attr, 80)
    nr = {"x86_64": 321, "aarch64": 280}[platform.machine()]
    rc = libc.syscall(nr, 10, buf, 80)
    assert rc == 0, os.strerror(ctypes.get_errno())
    return int.from_bytes(buf.raw[4:8], "little")


@pytest.mark.kernel
def test_relocated_program_reads_the_right_kernel_fields(bpf_compile):
    """End to end: the kernel runs a program whose local struct layout is wrong
    for this kernel; relocations make it read the real pid/tgid."""
    import threading

    import ebpf

    path = bpf_compile(E2E_PROG, "core_e2e")
    seen = {}
    with ebpf.load(str(path), backend="kernel") as obj:
        prog = obj.programs["probe"]

        def run():
            seen["tid"] = threading.get_native_id()
            _raw_tp_test_run(prog.fd)

        th = threading.Thread(target=run)
        th.start()
        th.join()
        out = obj.maps["out"]
        vals = [int.from_bytes(out[i], "little") if isinstance(out[i], bytes) else out[i]
                for i in range(5)]
    assert seen["tid"] != os.getpid()
    assert vals[0] == os.getpid()      # tgid
    assert vals[1] == seen["tid"]      # pid of the running thread
    assert vals[2] == os.getpid()      # group_leader->pid
    assert vals[3] == 0 and vals[4] == 0


@pytest.mark.kernel
@pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool (for comparison) missing")
@pytest.mark.parametrize("source,name", [(CORE_PROG, "core_prog"), (E2E_PROG, "core_e2e")])
def test_same_results_as_libbpf(bpf_compile, kspec, tmp_path, source, name):
    """Every relocation resolves to what libbpf (through bpftool -d) patches in."""
    path = bpf_compile(source, name)
    pin = Path("/sys/fs/bpf") / f"ebpf_btf_test_{os.getpid()}_{name}"
    if not Path("/sys/fs/bpf").is_dir():
        pytest.skip("no bpffs")
    try:
        r = subprocess.run(["bpftool", "-d", "prog", "loadall", str(path), str(pin)],
                           capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(pin, ignore_errors=True)
    theirs = {}
    for line in r.stderr.splitlines():
        m = re.search(r"relo #\d+: patched insn #(\d+) \(\S+\) (?:off|imm|imm64) (-?\d+) -> (-?\d+)",
                      line)
        if m:
            theirs[int(m.group(1))] = int(m.group(3))
        m = re.search(r"relo #\d+: substituting insn #(\d+) w/ invalid insn", line)
        if m:
            theirs[int(m.group(1))] = "poison"
    assert theirs, r.stderr[-2000:]
    local, insns, relos = load_prog_section(path)
    results = apply_core_relocations(insns, local, kspec)
    ours = {}
    for res in results:
        slot = res.relocation.insn_off // 8
        ours[slot] = "poison" if res.poisoned else res.target_value
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(tid=st.integers(0, 30), access=st.lists(st.integers(0, 12), min_size=0, max_size=5),
       kind=st.integers(0, 13))
def test_malformed_relocations_raise_btferror(tid, access, kind):
    local, lt, target, tt = _specs()
    local.add(Enum("e___x", 4, False, [EnumValue("A", 1)]))
    target.add(Enum("e", 4, False, [EnumValue("A", 2)]))
    relo = CORERelocation(0, tid, ":".join(map(str, access)), kind)
    try:
        r = resolve_relocation(relo, local, target)
    except BTFError:
        return
    assert isinstance(r.target_value, int)


def test_explain_poison():
    from ebpf.btf.core import explain_poison

    local, lt, target, tt = _specs()
    relo = CORERelocation(0, local.type_id(lt), "0:2:9", CoreKind.FIELD_BYTE_OFFSET)
    insns = [Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=0, core=relo),
             Instruction(op.EXIT)]
    results = apply_core_relocations(insns, local, target)
    text = explain_poison(results)
    assert "instruction 0: CO-RE FIELD_BYTE_OFFSET" in text and "thing___v1.arr[9]" in text
    assert explain_poison(results, "0: (85) call unknown#195896080\n") == text
    assert explain_poison(results, "R0 !read_ok") == ""
