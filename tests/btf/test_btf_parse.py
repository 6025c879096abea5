"""BTF parsing, the type model, lookups and marshalling."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpf import btf
from ebpf.btf import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    Int,
    Member,
    Pointer,
    Restrict,
    Spec,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)
from ebpf.errors import BTFError

needs_vmlinux = pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                                   reason="no kernel BTF")

PROG = r"""
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
    __u32 pid;
    __u64 ts;
    char comm[16];
    unsigned int flag : 3, kind : 5;
    union { int a; long b; };
    enum { EV_A = 1, EV_B = -2 } ev;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 128);
    __type(key, __u32);
    __type(value, struct event);
} events SEC(".maps");

volatile const int debug = 0;
int counter;

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
    __u32 k = ctx->ingress_ifindex;
    struct event *e = bpf_map_lookup_elem(&events, &k);
    if (e)
        __sync_fetch_and_add(&counter, e->pid + debug);
    return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"""


def every_kind() -> tuple[Spec, dict[str, object]]:
    s = Spec()
    i32 = Int("int", 4, signed=True)
    ch = Int("char", 1, is_char=True)
    b = Int("_Bool", 1, is_bool=True)
    u64 = Int("unsigned long long", 8)
    st_ = Struct("s", 24, [Member("a", i32, 0), Member("bf", i32, 32, 3),
                           Member("p", Pointer(Const(Volatile(Restrict(ch)))), 64),
                           Member("arr", Array(ch, i32, 8), 128)])
    un = Union("u", 8, [Member("x", u64, 0), Member("", i32, 0)])
    en = Enum("e", 4, True, [EnumValue("NEG", -5), EnumValue("POS", 7)])
    en64 = Enum("e64", 8, False, [EnumValue("BIG", 1 << 40)])
    fw = Fwd("later", is_union=True)
    td = Typedef("s_t", st_)
    proto = FuncProto(i32, [FuncParam("x", Pointer(td)), FuncParam("", Void())])
    fn = Func("f", proto, btf.Linkage.GLOBAL)
    var = Var("v", i32, btf.Linkage.GLOBAL)
    ds = Datasec(".data", 4, [VarSecinfo(var, 0, 4)])
    fl = Float("double", 8)
    dt = DeclTag("tag", st_, 1)
    tt = TypeTag("user", i32)
    things = dict(i32=i32, ch=ch, b=b, st=st_, un=un, en=en, en64=en64, fw=fw, td=td,
                  proto=proto, fn=fn, var=var, ds=ds, fl=fl, dt=dt, tt=tt)
    for t in things.values():
        s.add(t)
    return s, things


@pytest.mark.parametrize("order", ["little", "big"])
def test_every_kind_round_trips(order):
    s, th = every_kind()
    again = Spec.from_bytes(s.to_bytes(order))
    assert len(again) == len(s)
    st_ = again.type_by_name("s", "struct")
    assert [m.name for m in st_.members] == ["a", "bf", "p", "arr"]
    assert st_.members[1].bitfield_size == 3 and st_.members[1].offset == 32
    p = st_.members[2].type
    assert isinstance(p, Pointer) and isinstance(p.type, Const)
    assert isinstance(p.type.type, Volatile) and isinstance(p.type.type.type, Restrict)
    assert p.type.type.type.type.is_char
    arr = st_.members[3].type
    assert arr.nelems == 8 and arr.index_type.name == "int"
    e = again.type_by_name("e", "enum")
    assert e.signed and [(v.name, v.value) for v in e.values] == [("NEG", -5), ("POS", 7)]
    e64 = again.type_by_name("e64", "enum64")
    assert e64.size == 8 and e64.values[0].value == 1 << 40
    assert again.type_by_name("later").is_union
    fn = again.type_by_name("f", "func")
    assert fn.linkage == btf.Linkage.GLOBAL and fn.type.variadic
    assert again.type_by_name("s_t").type is st_
    ds = again.type_by_name(".data", "datasec")
    assert ds.vars[0].type.name == "v" and ds.vars[0].size == 4
    assert again.type_by_name("double").size == 8
    dt = again.type_by_name("tag", "decl_tag")
    assert dt.component_idx == 1 and dt.type is st_
    assert again.type_by_name("user", "type_tag").type.name == "int"
    assert again.type_by_name("_Bool").is_bool
    assert again.type_by_name("u", "union").members[1].name == ""
    # a second marshal is byte-identical
    assert again.to_bytes(order) == s.to_bytes(order)


def test_ids_and_lookup_errors():
    s, th = every_kind()
    assert s[0].kind == "void"
    assert s.type_id(th["st"]) == s.type_id(s.type_by_name("struct s"))
    with pytest.raises(BTFError, match="no BTF type struct nope"):
        s.type_by_name("nope", kind="struct")
    with pytest.raises(BTFError, match="unknown BTF kind"):
        s.type_by_name("s", kind="klass")
    # a class that is not a BTF type (was an AttributeError)
    with pytest.raises(BTFError, match="unknown BTF kind int"):
        s.type_by_name("s", kind=int)
    with pytest.raises(BTFError, match="no BTF type with id"):
        s[10_000]
    with pytest.raises(BTFError, match="not a type of this BTF spec"):
        s.type_id(Int("int", 4))
    s.add(Struct("s", 4, [Member("z", th["i32"], 0)]))
    with pytest.raises(BTFError, match="ambiguous"):
        s.type_by_name("s", "struct")
    assert len(s.types_by_name("s")) == 2
    assert s.find("absent") is None


def test_helpers():
    s, th = every_kind()
    assert btf.sizeof(th["st"]) == 24 and btf.alignof(th["st"]) == 8
    assert btf.sizeof(th["td"]) == 24
    assert btf.resolve(Const(th["td"])) is th["st"]
    assert btf.sizeof(Array(Array(th["i32"], nelems=3), nelems=2)) == 24
    packed = Struct("pk", 5, [Member("c", th["ch"], 0), Member("i", th["i32"], 8)])
    assert btf.alignof(packed) == 1
    with pytest.raises(BTFError, match="no size"):
        btf.sizeof(th["fw"])
    with pytest.raises(BTFError, match="must be a BTF type"):
        Pointer(5)  # type: ignore[arg-type]
    assert th["st"].member("arr").offset == 128
    assert th["un"].member("x").offset == 0 and th["un"].member("x").type.size == 8


@pytest.mark.parametrize("blob,msg", [
    (b"", "too short"),
    (b"\x00\x00" + b"\0" * 30, "bad BTF magic"),
    (struct.pack("<HBBIIIII", 0xEB9F, 2, 0, 24, 0, 0, 0, 1) + b"\0", "version"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1) + b"\0" * 5, "does not fit"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
     + struct.pack("<III", 0, 25 << 24, 0) + b"\0", "unknown BTF kind 25"),
    (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
     + struct.pack("<III", 0, 4 << 24 | 1, 4) + b"\0", "past the end|truncated"),
])
def test_bad_blobs_raise_btferror(blob, msg):
    with pytest.raises(BTFError, match=msg):
        Spec.from_bytes(blob)


def test_bad_string_offset_is_btferror():
    blob = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 1) + \
        struct.pack("<IIII", 99, 1 << 24, 4, 32) + b"\0"
    s = Spec.from_bytes(blob)
    with pytest.raises(BTFError, match="type id 1: string offset 99"):
        s[1]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_never_crashes(data):
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(data) // 4 * 4,
                      len(data) // 4 * 4, len(data) - len(data) // 4 * 4)
    try:
        s = Spec.from_bytes(hdr + data)
        for t in s:
            btf.type_name(t)
    except BTFError:
        pass


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(names, st.integers(0, 3), st.integers(-(1 << 31), (1 << 31) - 1)),
                min_size=1, max_size=8))
def test_random_structs_round_trip(fields):
    s = Spec()
    base = [Int("int", 4, signed=True), Int("char", 1, signed=True, is_char=True),
            Int("long", 8, signed=True)]
    members, off = [], 0
    values = []
    for i, (nm, k, val) in enumerate(fields):
        t = base[k % 3] if k < 3 else Pointer(base[0])
        members.append(Member(f"{nm}{i}", t, off * 8))
        off += btf.sizeof(t)
        values.append(EnumValue(f"{nm.upper()}{i}", val))
    s.add(Struct("rnd", off, members))
    s.add(Enum("rnd_e", 4, True, values))
    again = Spec.from_bytes(s.to_bytes())
    st_ = again.type_by_name("rnd", "struct")
    assert [(m.name, m.offset, btf.sizeof(m.type)) for m in st_.members] == \
        [(m.name, m.offset, btf.sizeof(m.type)) for m in members]
    assert [(v.name, v.value) for v in again.type_by_name("rnd_e").values] == \
        [(v.name, v.value) for v in values]


def test_split_btf():
    base, th = every_kind()
    base2 = Spec.from_bytes(base.to_bytes())
    split = Spec(base=base2)
    i32 = base2.type_by_name("int")
    mod_struct = Struct("mod_thing", 16, [Member("n", i32, 0),
                                         Member("s", Pointer(base2.type_by_name("s_t")), 64)])
    tid = split.add(mod_struct)
    assert tid == len(base2) + 1
    blob = split.to_bytes()
    again = Spec.from_bytes(blob, base=base2)
    mt = again.type_by_name("mod_thing")
    assert again.type_id(mt) == tid
    assert mt.members[0].type is i32  # resolved into the base spec
    assert mt.members[1].type.type.name == "s_t"
    assert again.type_by_name("s_t") is base2.type_by_name("s_t")  # base names are visible
    assert len(again) == len(base2) + 2


def test_object_btf(bpf_compile):
    obj = bpf_compile(PROG, "parse_obj")
    s = Spec.from_file(str(obj))
    ev = s.type_by_name("event", "struct")
    assert [m.name for m in ev.members] == ["pid", "ts", "comm", "flag", "kind", "", "ev"]
    assert ev.members[3].bitfield_size == 3 and ev.members[4].bitfield_size == 5
    assert btf.sizeof(ev) == 56 and ev.members[5].offset == 320
    assert isinstance(btf.resolve(ev.members[6].type), Enum)
    fn = s.type_by_name("xdp_prog", "func")
    assert fn.linkage == btf.Linkage.GLOBAL
    assert fn.type.params[0].name == "ctx"
    maps = s.type_by_name(".maps", "datasec")
    assert maps.vars[0].type.name == "events"
    # DATASEC entries are mutable and marshal back
    ro = s.type_by_name(".rodata", "datasec")
    ro.size = 4
    ro.vars[0].offset = 0
    again = Spec.from_bytes(s.to_bytes())
    assert again.type_by_name(".rodata", "datasec").size == 4
    assert len(again) == len(s)


@needs_vmlinux
def test_kernel_btf_lazy():
    """Only what is touched is decoded (the time it takes is benchmarks/btf_lookup.py's)."""
    code = ("from ebpf import btf; s=btf.load_kernel_btf(); "
            "ts=s.type_by_name('task_struct','struct'); m=ts.member('pid'); "
            "print(sum(x is not None for x in s._cache), ts.size, m.offset)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    decoded, size, off = out.stdout.split()
    assert int(decoded) < 100  # only what was touched is decoded
    assert int(size) > 1000 and int(off) > 0


@needs_vmlinux
def test_kernel_btf_content(kspec):
    assert len(kspec) > 10_000
    cmd = kspec.type_by_name("bpf_cmd", kind="enum")
    assert cmd.value("BPF_PROG_LOAD") == 5
    xdp = kspec.type_by_name("struct xdp_md")
    assert [m.name for m in xdp.members][:3] == ["data", "data_end", "data_meta"]
    assert btf.load_kernel_btf() is kspec
    assert kspec.type_by_name("int", "int").signed
    assert isinstance(kspec.type_by_name("bpf_prog_load", kind="func").type, FuncProto)
    ts = kspec.type_by_name("task_struct", "struct")
    assert kspec.type_id(ts) == ts.type_id
    assert kspec[ts.type_id] is ts
    assert kspec.name_of(ts.type_id) == "task_struct" and kspec.kind_of(ts.type_id) == "struct"


def btf_load(blob: bytes) -> tuple[int, str]:
    """BPF_BTF_LOAD through a bare syscall: (fd or -errno, verifier log)."""
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    nr = {"x86_64": 321, "aarch64": 280}[platform.machine()]
    buf = ctypes.create_string_buffer(blob)
    logbuf = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("<QQIII", ctypes.addressof(buf), ctypes.addressof(logbuf), len(blob),
                       len(logbuf), 1) + bytes(100)
    abuf = ctypes.create_string_buffer(attr)
    fd = libc.syscall(nr, 18, abuf, len(attr))
    err = ctypes.get_errno()
    return (fd if fd >= 0 else -err), logbuf.value.decode()


@pytest.mark.kernel
def test_kernel_accepts_marshalled_btf(bpf_compile):
    s, _ = every_kind()
    fd, log = btf_load(s.to_bytes())
    assert fd >= 0, log
    os.close(fd)
    obj = Spec.from_file(str(bpf_compile(PROG, "parse_obj")))
    # clang leaves DATASEC sizes/offsets for the ELF reader to fill in; fix them like it does
    for ds in obj:
        if isinstance(ds, Datasec) and ds.size == 0:
            off = 0
            for v in ds.vars:
                v.offset = off
                v.size = btf.sizeof(v.type)
                off += v.size
            ds.size = off
    fd, log = btf_load(obj.to_bytes())
    assert fd >= 0, log
    os.close(fd)
    broken = Spec()
    broken.add(Struct("bad", 2, [Member("x", Int("int", 4, signed=True), 0)]))
    fd, log = btf_load(broken.to_bytes())
    assert fd < 0  # the kernel checks what we marshal: member beyond the struct size


def test_sanitize_keeps_ids_and_replaces_kinds():
    s, th = every_kind()
    ids = {k: s.type_id(v) for k, v in th.items()}
    old = btf.sanitize(s, datasec=False, func=False, float=False, decl_tag=False,
                       type_tag=False, enum64=False)
    again = Spec.from_bytes(old.to_bytes())
    assert len(again) == len(s)
    assert again[ids["fl"]].kind == "struct" and again[ids["fl"]].size == 8
    assert again[ids["fn"]].kind == "typedef" and again[ids["proto"]].kind == "enum"
    assert again[ids["ds"]].kind == "struct" and again[ids["ds"]].name == "_data"
    assert again[ids["ds"]].members[0].name == "v"
    assert again[ids["var"]].kind == "int"
    assert again[ids["dt"]].kind == "int" and again[ids["tt"]].kind == "const"
    assert again[ids["en64"]].kind == "union" and again[ids["en64"]].size == 8
    assert again[ids["st"]].kind == "struct"  # untouched kinds stay
    assert s[ids["fl"]].kind == "float"  # the original is unchanged
    only_global = Spec.from_bytes(btf.sanitize(s, func_global=False).to_bytes())
    assert only_global[ids["fn"]].linkage == btf.Linkage.STATIC


@pytest.mark.kernel
def test_sanitized_btf_loads(bpf_compile):
    obj = Spec.from_file(str(bpf_compile(PROG, "parse_obj")))
    for ds in obj:
        if isinstance(ds, Datasec) and ds.size == 0:
            off = 0
            for v in ds.vars:
                v.offset, v.size = off, btf.sizeof(v.type)
                off += v.size
            ds.size = off
    fd, log = btf_load(btf.sanitize(obj, datasec=False, func=False, float=False).to_bytes())
    assert fd >= 0, log
    os.close(fd)


def test_pickle_and_deepcopy_keep_changes():
    import copy
    import pickle

    s, th = every_kind()
    th["ds"].size = 64
    for again in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert len(again) == len(s)
        assert again.type_by_name(".data", "datasec").size == 64
        assert again.type_by_name("s", "struct").members[1].bitfield_size == 3


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(24, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_corrupted_btf_only_raises_btferror(edits):
    """Flipped bytes in a valid blob: parsing, rendering, dumping and marshalling
    either work or raise BTFError (no other exception, no hang, no blow-up)."""
    from ebpf.btf.dump import dump_raw

    blob = bytearray(every_kind()[0].to_bytes())
    for pos, val in edits:
        blob[pos % len(blob)] = val
    try:
        s = Spec.from_bytes(bytes(blob))
        list(dump_raw(s))
        for t in s:
            for f in (btf.render_c, btf.sizeof, btf.alignof, btf.resolve):
                try:
                    f(t)
                except BTFError:
                    pass
        btf.vmlinux_h(s)
        s.to_bytes()
    except BTFError:
        pass
