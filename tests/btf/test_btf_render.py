"""C rendering: single declarations, whole headers, layout fidelity (checked by
compiling the header with clang and zig and _Static_assert-ing the layout)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf import btf
from ebpf.btf import (
    Array,
    Const,
    Enum,
    EnumValue,
    Func,
    FuncParam,
    FuncProto,
    Int,
    Member,
    Pointer,
    Spec,
    Struct,
    Typedef,
    Union,
    Void,
    render_c,
    vmlinux_h,
)

needs_vmlinux = pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"),
                                   reason="no kernel BTF")
CLANG = shutil.which("clang-19") or shutil.which("clang")
needs_clang = pytest.mark.skipif(CLANG is None, reason="no clang")


def have_zig() -> bool:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        return False
    return True


def cc(path: Path, zig: bool = False) -> subprocess.CompletedProcess:
    if zig:
        cmd = [sys.executable, "-m", "ziglang", "cc", "-target", "bpfel-freestanding"]
    else:
        cmd = [CLANG, "-target", "bpf"]
    cmd += ["-O2", "-Werror", "-Wno-unused", "-c", str(path), "-o", str(path.with_suffix(".o"))]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=path.parent)


def layout_asserts(spec: Spec, types=None) -> str:
    """_Static_asserts of sizeof/offsetof for every named struct/union."""
    from ebpf.btf.render import Renderer

    r = Renderer(spec, unique_names=True)
    out = ["#define OFF(t, m) __builtin_offsetof(t, m)"]
    for t in types if types is not None else spec:
        if isinstance(t, btf.Composite) and t.name:
            ty = f"{t.kind} {r.name(t)}"
            out.append(f'_Static_assert(sizeof({ty}) == {t.size}, "size {ty}");')
            for m in t.members:
                if m.name and not m.bitfield_size:
                    out.append(f'_Static_assert(OFF({ty}, {m.name}) == {m.offset // 8}, '
                               f'"offset {ty}.{m.name}");')
    return "\n".join(out) + "\n"


def test_render_declarations():
    i32 = Int("int", 4, signed=True)
    ch = Int("char", 1, signed=True)
    fp = FuncProto(i32, [FuncParam("ctx", Pointer(Void())), FuncParam("n", i32)])
    s = Struct("ops", 48, [
        Member("cb", Pointer(fp), 0),
        Member("name", Array(ch, nelems=16), 64),
        Member("cname", Pointer(Const(ch)), 192),
        Member("const_ptr", Const(Pointer(ch)), 256),
        Member("rows", Pointer(Array(i32, nelems=4)), 320),
        Member("", Union("", 8, [Member("a", i32, 0), Member("b", Pointer(i32), 0)]), 320 + 64),
    ])
    text = render_c(s)
    assert text.splitlines()[0] == "struct ops {"
    assert "\tint (*cb)(void *ctx, int n);" in text
    assert "\tchar name[16];" in text
    assert "\tconst char *cname;" in text
    assert "\tchar * const const_ptr;" in text
    assert "\tint (*rows)[4];" in text
    assert "\tunion {\n\t\tint a;\n\t\tint *b;\n\t};" in text
    assert text.endswith("};")
    assert render_c(Typedef("handler_t", Pointer(fp))) == "typedef int (*handler_t)(void *ctx, int n);"
    assert render_c(Func("f", FuncProto(Void(), []), btf.Linkage.GLOBAL)) == "void f(void);"
    assert render_c(Pointer(Pointer(ch))) == "char **"
    variadic = FuncProto(i32, [FuncParam("fmt", Pointer(Const(ch))), FuncParam("", Void())])
    assert render_c(Pointer(variadic)) == "int (*)(const char *fmt, ...)"
    e = Enum("big", 8, False, [EnumValue("TOP", 1 << 63), EnumValue("ONE", 1)])
    assert "TOP = 9223372036854775808ULL," in render_c(e)


def test_bitfields_padding_and_packed_are_detected():
    u32 = Int("unsigned int", 4)
    u8 = Int("unsigned char", 1)
    u64 = Int("long long unsigned int", 8)
    bf = Struct("bf", 8, [Member("a", u32, 0, 3), Member("b", u32, 10, 5), Member("c", u8, 32)])
    text = render_c(bf)
    assert "\tunsigned int a: 3;" in text and "\tunsigned int b: 5;" in text
    assert "long: 7;" in text  # the 7-bit hole between a and b is kept
    packed = Struct("pk", 9, [Member("x", u8, 0), Member("y", u64, 8)])
    assert render_c(packed).endswith("} __attribute__((packed));")
    aligned = Struct("al", 128, [Member("x", u8, 0), Member("y", u64, 64 * 8)])
    t = render_c(aligned)
    assert "packed" not in t and "long: 64;" in t
    small_enum = Enum("tiny", 1, False, [EnumValue("T_A", 1)])
    assert "mode(QI)" in render_c(small_enum)


@needs_clang
@pytest.mark.parametrize("zig", [False, True])
def test_random_layouts_round_trip_through_clang(tmp_path, zig):
    """Random structs (bit-fields, packed, aligned, nested, unions) compiled by
    clang to BTF, rendered back as a header, recompiled: same layout."""
    if zig and not have_zig():
        pytest.skip("no ziglang")
    rng = random.Random(1234)
    scalars = ["char", "short", "int", "long", "unsigned char", "unsigned int",
               "long long", "void *", "unsigned short"]
    decls, uses, kinds = [], [], []
    for n in range(60):
        fields = []
        kind = "union" if rng.random() < 0.15 else "struct"
        for f in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.25 and kind == "struct":
                base = rng.choice(["unsigned int", "int", "unsigned char", "unsigned long long"])
                width = rng.randint(0, 8 if "char" in base else 20)
                fields.append(f"{base} {'' if width == 0 else f'f{f}'}: {width};")
            elif r < 0.35 and n:
                k = rng.randrange(n)
                fields.append(f"{kinds[k]} s{k} f{f};")
            elif r < 0.45:
                fields.append(f"{rng.choice(scalars)} f{f}[{rng.randint(1, 5)}];")
            elif r < 0.5:
                fields.append(f"{rng.choice(scalars)} f{f} __attribute__((aligned({rng.choice([8, 16, 32])})));")
            else:
                fields.append(f"{rng.choice(scalars)} f{f};")
        attrs = rng.choice(["", "", "", " __attribute__((packed))",
                            " __attribute__((aligned(16)))", " __attribute__((packed, aligned(4)))"])
        kinds.append(kind)
        decls.append(f"{kind} s{n} {{ {' '.join(fields)} }}{attrs};")
        uses.append(f"{kind} s{n} *p{n};")
    src = "\n".join(decls)
    src += "\n" + "\n".join(uses) + "\nint main_(void) { return 0; }\n"
    c = tmp_path / "rand.c"
    c.write_text(src)
    r = subprocess.run([CLANG, "-target", "bpf", "-g", "-O2", "-c", str(c), "-o",
                        str(tmp_path / "rand.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    spec = Spec.from_file(str(tmp_path / "rand.o"))
    header = vmlinux_h(spec)
    (tmp_path / "hdr.h").write_text(header)
    check = tmp_path / "check.c"
    check.write_text('#include "hdr.h"\n' + layout_asserts(spec))
    res = cc(check, zig=zig)
    assert res.returncode == 0, res.stderr[-3000:]


@needs_vmlinux
@needs_clang
def test_vmlinux_h_compiles_and_matches_kernel_layout(tmp_path):
    spec = btf.load_kernel_btf()
    path = btf.vmlinux_h_path(spec, cache_dir=tmp_path / "cache")
    assert path.name == "vmlinux.h"
    assert btf.vmlinux_h_path(spec, cache_dir=tmp_path / "cache") == path  # cached
    text = path.read_text()
    assert text.startswith("/*") and "#ifndef __VMLINUX_H__" in text
    assert "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)" in text
    (tmp_path / "vmlinux.h").write_text(text)
    named = ["task_struct", "sk_buff", "xdp_md", "pt_regs", "trace_event_raw_sys_enter",
             "__sk_buff", "bpf_map", "file", "inode", "sock"]
    check = tmp_path / "check.c"
    body = layout_asserts(spec)  # every named struct and union of the kernel
    for n in named:
        assert f"struct {n})" in body
    # kfunc prototypes come with the header (and may be redeclared by programs)
    kfuncs = [ln for ln in text.splitlines() if ln.endswith("__weak __ksym;")]
    tagged = {spec[t].type.name for t in range(1, len(spec) + 1)
              if spec.kind_of(t) == "decl_tag" and spec[t].name == "bpf_kfunc"}
    if "bpf_task_acquire" in tagged:
        assert "extern struct task_struct *bpf_task_acquire(struct task_struct *p) __weak __ksym;" \
            in kfuncs
        body += "extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;\n"
    assert len(kfuncs) == len(tagged - {"bpf_" + h.name for h in ebpf.HelperId})
    check.write_text('#include "vmlinux.h"\n' + body +
                     "int prog(struct xdp_md *ctx) { return ctx->ingress_ifindex; }\n")
    res = cc(check)
    assert res.returncode == 0, res.stderr[-3000:]


@needs_vmlinux
@pytest.mark.skipif(not have_zig(), reason="no ziglang")
def test_vmlinux_h_compiles_with_zig(tmp_path):
    spec = btf.load_kernel_btf()
    path = btf.vmlinux_h_path(spec, cache_dir=tmp_path)
    check = tmp_path / "z.c"
    types = [spec.type_by_name(n, "struct") for n in
             ("task_struct", "sk_buff", "xdp_md", "pt_regs", "trace_event_raw_sys_enter")]
    check.write_text(f'#include "{path}"\n' + layout_asserts(spec, types) +
                     "int prog(struct task_struct *t) { return t->pid; }\n")
    res = cc(check, zig=True)
    assert res.returncode == 0, res.stderr[-3000:]


def test_vmlinux_h_of_object_btf_orders_dependencies():
    i32 = Int("int", 4, signed=True)
    s = Spec()
    a = Struct("a", 16, [])
    b = Struct("b", 24, [Member("back", Pointer(a), 0), Member("n", i32, 64)])
    a.members = [Member("x", i32, 0), Member("bp", Pointer(Typedef("b_t", b)), 64)]
    c = Struct("c", 40, [Member("inner", b, 0), Member("arr", Array(Typedef("a_t", a), nelems=1), 192)])
    s.add(c)
    h = vmlinux_h(s)
    assert h.index("struct b {") < h.index("struct c {")
    assert h.index("struct a {") < h.index("struct c {")
    assert "struct a;\n" in h or h.index("struct a {") < h.index("struct b {")

