"""ObjectSpec from real libbpf-style objects: programs, linking, maps, globals, externs."""

from __future__ import annotations

import os
import struct

import pytest
from elf_helpers import check_linked, gcc_bpf

import ebpf
from ebpf import MapType, ProgramType
from ebpf.isa import (
    FunctionReference,
    KconfigReference,
    KsymReference,
    MapReference,
    opcodes,
)
from ebpf.spec import (
    BPF_F_MMAPABLE,
    BPF_F_NO_PREALLOC,
    BPF_F_RDONLY_PROG,
    BPF_F_XDP_HAS_FRAGS,
    PinType,
)


def refs(prog, kind):
    return [i.reference for i in prog.instructions if isinstance(i.reference, kind)]


def test_minimal(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("minimal"))
    assert spec.license == "Dual BSD/GPL"
    assert list(spec.programs) == ["handle_tp"]
    p = spec.programs["handle_tp"]
    assert p.type is ProgramType.TRACEPOINT
    assert p.section == "tp/syscalls/sys_enter_write"
    assert p.attach_to == "syscalls/sys_enter_write" and p.attach_kind == "tracepoint"
    assert p.license == "Dual BSD/GPL"
    assert p.instructions[-1].is_exit
    # my_pid is in .bss, the printk format in .rodata
    assert spec.variables["my_pid"].map == ".bss"
    assert spec.variables["my_pid"].size == 4
    data_refs = refs(p, MapReference)
    assert {r.map for r in data_refs} == {".bss", ".rodata"}
    assert all(r.value for r in data_refs)
    rodata = spec.maps[".rodata"]
    assert b"BPF triggered from PID %d.\n" in rodata.data
    assert rodata.type is MapType.ARRAY and rodata.max_entries == 1 and rodata.key_size == 4
    assert rodata.value_size == len(rodata.data)
    assert rodata.flags & BPF_F_RDONLY_PROG and rodata.freeze
    bss = spec.maps[".bss"]
    assert bss.data == bytes(bss.value_size) and not bss.freeze
    assert bss.flags == BPF_F_MMAPABLE


def test_bootstrap_maps_and_globals(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("bootstrap"))
    assert sorted(spec.programs) == ["handle_exec", "handle_exit"]
    for p in spec.programs.values():
        assert p.type is ProgramType.TRACEPOINT and p.attach_to.startswith("sched/")
    m = spec.maps["exec_start"]
    assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.HASH, 4, 8, 8192)
    assert m.key_type.name == "int" and m.btf is spec.btf
    assert m.btf_key_type_id == spec.btf.type_id(m.key_type)
    assert m.btf_value_type_id == spec.btf.type_id(m.value_type)
    rb = spec.maps["rb"]
    assert (rb.type, rb.max_entries, rb.key_size, rb.value_size) == \
        (MapType.RINGBUF, 256 * 1024, 0, 0)
    # const volatile config in .rodata, initial values from the file
    mind = spec.variables["min_duration_ns"]
    ppid = spec.variables["target_ppid"]
    assert (mind.map, mind.size, mind.constant, mind.readonly) == (".rodata", 8, True, True)
    assert ppid.constant and ppid.size == 4
    rodata = spec.maps[".rodata"]
    assert struct.unpack_from("<i", rodata.data, ppid.offset)[0] == 7
    assert struct.unpack_from("<Q", rodata.data, mind.offset)[0] == 0
    assert rodata.value_type.name == ".rodata" and rodata.value_type.size == rodata.value_size
    # plain globals
    seen = spec.variables["events_seen"]
    assert seen.map == ".bss" and not seen.readonly and not seen.constant
    assert spec.variables["dropped"].map == ".bss"
    # map references by name, global data by offset
    exec_refs = refs(spec.programs["handle_exec"], MapReference)
    assert MapReference("exec_start") in exec_refs and MapReference("rb") in exec_refs
    assert MapReference(".bss", offset=seen.offset, value=True) in exec_refs
    exit_refs = refs(spec.programs["handle_exit"], MapReference)
    assert MapReference(".rodata", offset=ppid.offset, value=True) in exit_refs


def test_bootstrap_btf_ext(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("bootstrap"))
    p = spec.programs["handle_exec"]
    # CO-RE relocations sit on the instructions they patch
    cores = [i.core for i in p.instructions if i.core is not None]
    assert len(cores) >= 2
    assert all(c.access_str.startswith("0:") for c in cores)
    # func info at slot 0 names the program; line info in slots, sorted, with source text
    assert [(f.insn_off, f.name) for f in p.func_infos] == [(0, "handle_exec")]
    offs = [li.insn_off for li in p.line_infos]
    assert offs == sorted(offs) and offs[0] == 0 and offs[-1] < len(p.instructions) + 10
    assert all(li.file_name.endswith("bootstrap.bpf.c") for li in p.line_infos)
    assert any("bpf_ringbuf_reserve" in li.line_text for li in p.line_infos)
    assert p.instructions[0].line is not None
    assert all(i.line is not None for i in p.instructions)


def test_xdp_tail_calls_and_multiple_programs_per_section(corpus):
    path = corpus("xdp_tail")
    spec = ebpf.ObjectSpec.from_file(path)
    in_xdp = [p.name for p in spec.programs.values() if p.section == "xdp"]
    assert in_xdp == ["xdp_pass_tail", "xdp_drop_tail", "xdp_entry"]
    for name in in_xdp:
        p = spec.programs[name]
        assert p.type is ProgramType.XDP and p.attach_kind == "xdp" and p.flags == 0
        starts = check_linked(path, p)
        assert sorted(starts.values()) == sorted([name, "count"])
    frags = spec.programs["xdp_frags_prog"]
    assert frags.flags & BPF_F_XDP_HAS_FRAGS and frags.section == "xdp.frags"
    jt = spec.maps["jmp_table"]
    assert jt.type is MapType.PROG_ARRAY and (jt.key_size, jt.value_size) == (4, 4)
    assert jt.contents == [(0, "xdp_pass_tail"), (2, "xdp_drop_tail")]
    tx = spec.maps["tx_port"]
    assert tx.type is MapType.DEVMAP and tx.pinning is PinType.BY_NAME
    assert spec.maps["stats"].type is MapType.PERCPU_ARRAY
    assert MapReference("jmp_table") in refs(spec.programs["xdp_entry"], MapReference)


def test_map_in_map(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("mapinmap"))
    outer = spec.maps["outer"]
    assert outer.type is MapType.ARRAY_OF_MAPS and outer.value_size == 4
    assert outer.max_entries == 3
    assert outer.inner is not None
    assert (outer.inner.type, outer.inner.key_size, outer.inner.value_size,
            outer.inner.max_entries) == (MapType.ARRAY, 4, 4, 16)
    assert outer.contents == [(0, "inner_a"), (2, "inner_b")]
    # the kernel refuses BTF key/value ids for map-in-maps (as libbpf knows): the
    # type stays for decoding, the id is 0
    assert outer.key_type is not None and outer.btf_key_type_id == 0
    h = spec.maps["outer_hash"]
    assert h.type is MapType.HASH_OF_MAPS and h.flags == BPF_F_NO_PREALLOC
    assert (h.inner.type, h.inner.key_size, h.inner.value_size, h.inner.max_entries) == \
        (MapType.HASH, 8, 8, 64)
    assert h.contents == []
    for name in ("inner_a", "inner_b"):
        assert spec.maps[name].type is MapType.ARRAY


def test_legacy_maps_section(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("legacy"))
    assert spec.kernel_version == 0x060C00
    pk, fl = spec.maps["packets"], spec.maps["flows"]
    assert (pk.type, pk.key_size, pk.value_size, pk.max_entries, pk.flags) == \
        (MapType.ARRAY, 4, 8, 256, 0)
    assert (fl.type, fl.key_size, fl.value_size, fl.max_entries, fl.flags) == \
        (MapType.LRU_HASH, 8, 16, 1024, 2)
    assert pk.section == "maps"
    p1 = spec.programs["bpf_prog1"]
    assert p1.type is ProgramType.SOCKET_FILTER  # "socket1": old-style prefix
    assert refs(p1, MapReference) == [MapReference("packets")]
    tc = spec.programs["trace_connect"]
    assert tc.type is ProgramType.KPROBE and tc.attach_to == "tcp_v4_connect"
    assert tc.kernel_version == 0x060C00
    assert refs(tc, MapReference) == [MapReference("flows")]


def test_subprograms_linked_once_each(corpus):
    path = corpus("subprogs")
    spec = ebpf.ObjectSpec.from_file(path)
    assert sorted(spec.programs) == ["prog_a", "prog_b", "prog_c"]
    a = check_linked(path, spec.programs["prog_a"])
    assert sorted(a.values()) == ["add_total", "global_helper", "loop_cb", "mix", "prog_a"]
    b = check_linked(path, spec.programs["prog_b"])
    assert sorted(b.values()) == ["add_total", "mix", "prog_b"]
    c = check_linked(path, spec.programs["prog_c"])
    assert sorted(c.values()) == ["mix", "prog_c"]
    # the bpf_loop callback is passed by address: lddw src=4 (BPF_PSEUDO_FUNC)
    pa = spec.programs["prog_a"]
    fptr = [i for i in pa.instructions if i.is_lddw and i.src == opcodes.BPF_PSEUDO_FUNC]
    assert len(fptr) == 1 and fptr[0].reference == FunctionReference("loop_cb")
    calls = [i for i in pa.instructions if i.is_local_call]
    assert {i.reference.function for i in calls} == {"add_total", "global_helper", "mix"}
    # subprograms are not programs; the socket one shares `mix` with the others
    assert "mix" not in spec.programs and "loop_cb" not in spec.programs
    assert spec.programs["prog_b"].attach_to == "do_unlinkat"
    # line info follows the functions into the program
    lines = pa.line_infos
    assert any("x * 3 + 1" in li.line_text for li in lines)  # global_helper's body
    assert len({li.insn_off for li in lines}) == len(lines)


def test_programs_do_not_share_instruction_objects(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("subprogs"))
    a = {id(i) for i in spec.programs["prog_a"].instructions}
    b = {id(i) for i in spec.programs["prog_b"].instructions}
    assert not a & b


def test_externs(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("externs"))
    assert spec.kconfig == ["CONFIG_BPF_SYSCALL", "CONFIG_HZ", "LINUX_KERNEL_VERSION"]
    assert spec.ksyms == ["bpf_link_fops", "bpf_rcu_read_lock", "bpf_rcu_read_unlock",
                          "some_missing_symbol"]
    p = spec.programs["handle"]
    assert p.type is ProgramType.TRACING and p.attach_to == "sched_switch"
    kcalls = [i for i in p.instructions if i.is_call and isinstance(i.reference, KsymReference)]
    assert [i.reference for i in kcalls] == [
        KsymReference("bpf_rcu_read_lock", kfunc=True),
        KsymReference("bpf_rcu_read_unlock", kfunc=True)]
    assert all(i.src == opcodes.BPF_PSEUDO_KFUNC_CALL and i.is_kfunc_call for i in kcalls)
    kvars = [r for r in refs(p, KsymReference) if not r.kfunc]
    assert KsymReference("bpf_link_fops") in kvars
    assert KsymReference("some_missing_symbol", weak=True) in kvars
    assert {r.name for r in refs(p, KconfigReference)} == set(spec.kconfig)
    kc = spec.maps[".kconfig"]
    assert kc.type is MapType.ARRAY and kc.freeze and kc.flags & BPF_F_RDONLY_PROG
    assert kc.data == bytes(kc.value_size)
    laid = sorted((spec.variables[n].offset, spec.variables[n].size) for n in spec.kconfig)
    for (o1, s1), (o2, _) in zip(laid, laid[1:], strict=False):
        assert o1 + s1 <= o2
    for n in spec.kconfig:
        v = spec.variables[n]
        assert v.map == ".kconfig" and v.readonly and v.offset % v.size == 0
        assert v.offset + v.size <= kc.value_size
    assert spec.variables["LINUX_KERNEL_VERSION"].size == 4
    assert spec.variables["CONFIG_BPF_SYSCALL"].size == 1
    # the BTF DATASEC was laid out the same way (the kernel checks it against the map)
    ds = kc.value_type
    assert ds.size == kc.value_size
    assert {vs.type.name: vs.offset for vs in ds.vars} == \
        {n: spec.variables[n].offset for n in spec.kconfig}


@pytest.mark.parametrize("name", ["bootstrap", "subprogs", "xdp_tail", "mapinmap", "minimal"])
def test_unoptimised_objects(corpus, name):
    """-O0 code: more instructions, same programs, maps and references."""
    o2 = ebpf.ObjectSpec.from_file(corpus(name))
    path = corpus(name, opt=0)
    o0 = ebpf.ObjectSpec.from_file(path)
    assert sorted(o0.programs) == sorted(o2.programs)
    assert {n: (m.type, m.key_size, m.value_size, m.max_entries) for n, m in o0.maps.items()
            if not n.startswith(".")} == \
        {n: (m.type, m.key_size, m.value_size, m.max_entries) for n, m in o2.maps.items()
         if not n.startswith(".")}
    for n, p in o0.programs.items():
        assert len(p.instructions) >= len(o2.programs[n].instructions)
        assert {r.map for r in refs(p, MapReference) if not r.value} == \
            {r.map for r in refs(o2.programs[n], MapReference) if not r.value}
        check_linked(path, p)


@pytest.mark.skipif(gcc_bpf() is None, reason="GCC's BPF target (gcc-bpf) is not installed")
@pytest.mark.parametrize("name", ["minimal", "legacy", "subprogs", "xdp_tail"])
def test_gcc_objects(corpus, name):
    clang = ebpf.ObjectSpec.from_file(corpus(name))
    path = corpus(name, cc=gcc_bpf())
    gcc = ebpf.ObjectSpec.from_file(path)
    assert sorted(gcc.programs) == sorted(clang.programs)
    for n, p in gcc.programs.items():
        assert p.type is clang.programs[n].type and p.section == clang.programs[n].section
    named = {n: (m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.contents)
             for n, m in gcc.maps.items() if not n.startswith(".")}
    assert named == {n: (m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.contents)
                     for n, m in clang.maps.items() if not n.startswith(".")}
    if name == "subprogs":
        pa = gcc.programs["prog_a"]
        names = {i.reference.function for i in pa.instructions
                 if isinstance(i.reference, FunctionReference)}
        # GCC renames clones (add_total.isra.0) but the calls resolve all the same
        assert "global_helper" in names and "loop_cb" in names and len(names) == 4


@pytest.mark.parametrize("name", ["minimal", "xdp_tail", "subprogs"])
def test_zig_objects(corpus, name):
    pytest.importorskip("ziglang")
    clang = ebpf.ObjectSpec.from_file(corpus(name))
    try:
        path = corpus(name, cc="zig")
    except ebpf.CompileError as e:  # zig's clang may be older than the source needs
        pytest.skip(f"zig cannot compile {name}: {str(e)[:200]}")
    spec = ebpf.ObjectSpec.from_file(path)
    assert sorted(spec.programs) == sorted(clang.programs)
    for p in spec.programs.values():
        check_linked(path, p)


def test_from_bytes_matches_from_file(corpus):
    path = corpus("bootstrap")
    a = ebpf.ObjectSpec.from_file(path)
    b = ebpf.ObjectSpec.from_bytes(path.read_bytes(), name="boot")
    assert a.path == str(path) and b.path == "boot"
    assert sorted(a.programs) == sorted(b.programs)
    for n in a.programs:
        assert a.programs[n].instructions == b.programs[n].instructions
    assert a.variables.keys() == b.variables.keys()


def test_struct_ops_maps(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("struct_ops"))
    m = spec.maps["demo"]
    assert m.type is MapType.STRUCT_OPS and (m.key_size, m.max_entries) == (4, 1)
    assert m.value_type.name == "demo_ops" and m.value_size == 40
    assert m.flags == 1 << 13  # BPF_F_LINK: defined in .struct_ops.link
    assert m.contents == [("init", "demo_init"), ("exit", "demo_exit")]
    assert struct.unpack_from("<I", m.data, 16)[0] == 3 and m.data[20:24] == b"demo"
    assert spec.programs["demo_init"].type is ProgramType.STRUCT_OPS
    assert spec.programs["demo_exit"].flags & ebpf.spec.BPF_F_SLEEPABLE


def test_map_attributes(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("maps_misc"))
    bloom = spec.maps["bloom"]
    assert bloom.type is MapType.BLOOM_FILTER and bloom.map_extra == 5  # __ulong()
    assert (bloom.key_size, bloom.value_size) == (0, 4)
    ev = spec.maps["events"]
    assert (ev.type, ev.key_size, ev.value_size, ev.max_entries) == \
        (MapType.PERF_EVENT_ARRAY, 4, 4, 8)
    assert bloom.btf_value_type_id == spec.btf.type_id(bloom.value_type)
    r = spec.maps["routes"]
    assert r.type is MapType.LPM_TRIE and r.key_type.name == "lpm_key" and r.key_size == 8
    assert r.pinning is PinType.BY_NAME and r.flags == BPF_F_NO_PREALLOC | 4
    assert (spec.maps["typed"].key_size, spec.maps["typed"].value_size) == (4, 24)
    # custom data sections are maps of their own
    assert struct.unpack("<i", spec.maps[".data.counters"].data) == (42,)
    assert spec.maps[".rodata.config"].data.startswith(b"abc\0")
    assert spec.variables["tag"].constant and spec.variables["tag"].map == ".rodata.config"
    p = spec.programs["lookup"]
    assert p.type is ProgramType.SK_LOOKUP and p.section == "sk_lookup/dispatch"
    assert MapReference(".data.counters", 0, True) in refs(p, MapReference)


def _patch(data: bytes, section: str, offset: int, value: bytes) -> bytes:
    from ebpf.elf.file import ELFFile

    sec = ELFFile(data).section_by_name(section)
    out = bytearray(data)
    out[sec.offset + offset:sec.offset + offset + len(value)] = value
    return bytes(out)


def test_non_zero_btf_map_definition_is_refused(corpus):
    data = _patch(corpus("maps_misc").read_bytes(), ".maps", 8, b"\x01")
    with pytest.raises(ebpf.ELFError, match="non-zero byte"):
        ebpf.ObjectSpec.from_bytes(data)


def test_legacy_map_definition_checks(corpus):
    data = corpus("legacy").read_bytes()
    with pytest.raises(ebpf.ELFError, match="unknown map type 4660"):
        ebpf.ObjectSpec.from_bytes(_patch(data, "maps", 0, struct.pack("<I", 0x1234)))


def test_unknown_section_kept_as_unspec(corpus, caplog):
    src = corpus("minimal").read_bytes()
    # rename the program's section: same length, unknown name
    data = src.replace(b"tp/syscalls/sys_enter_write\0", b"zz/syscalls/sys_enter_write\0")
    assert data != src
    spec = ebpf.ObjectSpec.from_bytes(data, name="renamed.o")
    p = spec.programs["handle_tp"]
    assert p.type is ProgramType.UNSPEC and p.section == "zz/syscalls/sys_enter_write"
    assert "not a known program type" in caplog.text


def test_object_without_btf(corpus):
    """-g0: no .BTF/.BTF.ext; legacy maps, globals and programs still read."""
    spec = ebpf.ObjectSpec.from_file(corpus("legacy", extra_args=("-g0",)))
    assert spec.btf is None
    assert sorted(spec.programs) == ["bpf_prog1", "trace_connect"]
    assert spec.programs["bpf_prog1"].line_infos == [] == spec.programs["bpf_prog1"].func_infos
    assert spec.maps["flows"].max_entries == 1024 and spec.maps["flows"].key_type is None
    with pytest.raises(ebpf.ELFError, match="no BTF"):
        ebpf.ObjectSpec.from_file(corpus("maps_misc", extra_args=("-g0",)))


def test_stripped_object(corpus, tmp_path):
    """No symbol table at all: each code section is one program named after it."""
    import shutil
    import subprocess

    objcopy = shutil.which("llvm-objcopy-19") or "/usr/lib/llvm-19/bin/llvm-objcopy"
    if not os.path.exists(objcopy):
        pytest.skip("llvm-objcopy not installed")
    src = tmp_path / "nosym.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\n'
                   'SEC("tp/sched/sched_switch") int tp(void *ctx) { return 0; }\n'
                   'char l[] SEC("license") = "GPL";\n')
    obj = corpus.compile_path(src, extra_args=("-g0",))
    out = tmp_path / "stripped.o"
    subprocess.run([objcopy, "--strip-all", str(obj), str(out)], check=True)
    spec = ebpf.ObjectSpec.from_file(out)
    assert sorted(spec.programs) == ["tp_sched_sched_switch", "xdp"]
    assert spec.programs["xdp"].type is ProgramType.XDP
    assert spec.programs["tp_sched_sched_switch"].attach_to == "sched/sched_switch"
    assert spec.license == "GPL"


GLOBALS_SRC = """
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
__u64 first = 1, second = 2, third = 3;
SEC("socket") int get_first(void *ctx) { return first; }
SEC("socket") int get_second(void *ctx) { return second; }
SEC("socket") int get_third(void *ctx) { return third; }
"""


@pytest.mark.parametrize("cc", ["clang", "gcc"])
def test_global_data_offsets(bpf_compile, cc):
    """A named global's reference points at its own offset whatever the compiler's
    relocation convention (GCC 12 also writes the offset into the instruction)."""
    if cc == "gcc" and gcc_bpf() is None:
        pytest.skip("GCC's BPF target (gcc-bpf) is not installed")
    kw = {"cc": gcc_bpf()} if cc == "gcc" else {}
    spec = ebpf.ObjectSpec.from_file(bpf_compile(GLOBALS_SRC, name=f"globals_{cc}", **kw))
    offsets = set()
    for value, name in enumerate(("first", "second", "third"), 1):
        var = spec.variables[name]
        offsets.add(var.offset)
        data_refs = refs(spec.programs[f"get_{name}"], MapReference)
        assert data_refs == [MapReference(var.map, offset=var.offset, value=True)]
        assert struct.unpack_from("<Q", spec.maps[var.map].data, var.offset)[0] == value
    assert len(offsets) == 3


def test_arena_globals(corpus):
    spec = ebpf.ObjectSpec.from_file(corpus("arena"))
    arena = spec.maps["arena"]
    assert arena.type == 33 and arena.max_entries == 10
    counter, hits = spec.variables["counter"], spec.variables["hits"]
    assert counter.map == hits.map == "arena" and counter.offset != hits.offset
    assert struct.unpack_from("<i", arena.data, counter.offset)[0] == 5
    p = spec.programs["bump"]
    assert p.type is ProgramType.SYSCALL
    assert {r for r in refs(p, MapReference)} == {
        MapReference("arena", counter.offset, True), MapReference("arena", hits.offset, True)}


def test_optional_programs_are_not_autoloaded(bpf_compile):
    src = """
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("?raw_tp/sys_enter") int optional(void *ctx) { return 0; }
SEC("raw_tp/sys_exit") int always(void *ctx) { return 0; }
"""
    spec = ebpf.ObjectSpec.from_file(bpf_compile(src, name="optional"))
    opt, always = spec.programs["optional"], spec.programs["always"]
    assert opt.autoload is False and always.autoload is True
    assert opt.type is ProgramType.RAW_TRACEPOINT and opt.attach_to == "sys_enter"
    assert opt.section == "?raw_tp/sys_enter"
