"""Trimmed vmlinux.h: only the types a program reaches, the same compiled program."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from ebpf._internal.elf import section_contents
from ebpf.btf import Spec
from ebpf.btf.ext import parse_btf_ext
from ebpf.isa import decode
from ebpf.toolchain import compile, trim
from ebpf.toolchain.driver import INCLUDE_DIR

ROOT = Path(__file__).resolve().parents[2]
KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")

# A header in the layout ebpf.btf.render writes (declarations apart by blank lines)
HEADER = """/* head */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__
typedef unsigned int u32;

typedef u32 pid_t;

struct mm_struct {
\tlong unsigned int arg_start;
};

struct files_struct {
\tint count;
};

struct list_head {
\tstruct list_head *next;
};

enum pid_type {
\tPIDTYPE_PID = 0,
\tPIDTYPE_MAX = 1
};

enum {
\tTASK_COMM_LEN = 16
};

struct task_struct {
\tpid_t pid;
\tstruct list_head tasks;
\tstruct mm_struct *mm;
\tstruct files_struct *files;
\tenum pid_type type;
\tvoid (*hook)(struct files_struct *);
};

struct unrelated {
\tint x;
};

#ifndef BPF_NO_KFUNC_PROTOTYPES
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __weak __ksym;
extern void bpf_other(struct unrelated *u) __weak __ksym;
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif
#endif /* __VMLINUX_H__ */
"""


def test_keeps_what_is_named_and_held_by_value():
    out = trim.trim(HEADER, trim.build_index(HEADER), {"task_struct", "pid"})
    assert "struct task_struct {" in out
    assert "struct list_head {" in out  # a member held by value
    assert "typedef u32 pid_t;" in out and "typedef unsigned int u32;" in out
    assert "enum pid_type {" in out
    # reached through pointers only, and the members not named: declared
    assert "struct mm_struct;" in out and "struct mm_struct {" not in out
    assert "struct files_struct;" in out and "struct files_struct {" not in out
    assert "unrelated" not in out
    assert "bpf_task_acquire" not in out  # kfuncs only when named
    assert out.startswith("/* head */") and out.rstrip().endswith("#endif /* __VMLINUX_H__ */")


def test_named_pointer_member_keeps_its_type_whole():
    # BPF_CORE_READ(task, mm, arg_start) names `mm`: struct mm_struct must be complete
    out = trim.trim(HEADER, trim.build_index(HEADER), {"task_struct", "mm", "arg_start"})
    assert "struct mm_struct {" in out
    assert "struct files_struct {" not in out


def test_enumerators_and_kfuncs_by_name():
    out = trim.trim(HEADER, trim.build_index(HEADER), {"PIDTYPE_MAX", "bpf_task_acquire"})
    assert "enum pid_type {" in out
    assert "bpf_task_acquire" in out and "bpf_other" not in out
    assert "TASK_COMM_LEN" not in out
    assert "TASK_COMM_LEN = 16" in trim.trim(HEADER, trim.build_index(HEADER), {"TASK_COMM_LEN"})
    assert "struct task_struct;" in out  # the prototype's pointer type, declared


def test_identifiers_follow_includes_and_skip_comments(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "common.h").write_text("struct in_header { int a; };\n")
    src = tmp_path / "p.bpf.c"
    src.write_text('#include "vmlinux.h"\n#include "common.h"\n/* mentions_in_comment */\n'
                   "// line_comment_name\nint real_name;\n")
    ids = trim.identifiers(src, [tmp_path / "inc"], INCLUDE_DIR)
    assert {"in_header", "real_name"} <= ids
    assert "mentions_in_comment" not in ids and "line_comment_name" not in ids


def _program(obj: Path) -> tuple[list, list]:
    """Instructions and CO-RE relocations (by type name) of every section."""
    data = obj.read_bytes()
    secs = section_contents(data)
    btf, ext = secs.get(".BTF"), secs.get(".BTF.ext")
    assert btf is not None and ext is not None
    spec = Spec.from_bytes(btf)
    parsed = parse_btf_ext(ext, spec)
    relos = sorted((sec, r.insn_off, getattr(spec[r.type_id], "name", ""), r.access_str,
                    int(r.kind)) for sec, rs in parsed.core_relos.items() for r in rs)
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        text = [(s.name, [str(i) for i in decode(s.data())]) for s in elf.iter_sections()
                if s["sh_type"] == "SHT_PROGBITS" and s["sh_flags"] & 4 and s.data_size]
    return text, relos


needs_kernel_btf = pytest.mark.skipif(not KERNEL_BTF.is_file(), reason="no kernel BTF")
needs_clang = pytest.mark.skipif(shutil.which("clang") is None and
                                 shutil.which("clang-19") is None, reason="no clang")


@needs_kernel_btf
@needs_clang
@pytest.mark.parametrize("source", [
    "examples/execsnoop/execsnoop.bpf.c",
    "src/ebpf/tools/bpf/runqlat.bpf.c",
    "src/ebpf/tools/bpf/tcplife.bpf.c",
    "src/ebpf/tools/bpf/biotop.bpf.c",
])
def test_same_program_as_with_the_full_header(source, tmp_path, monkeypatch, caplog):
    src = ROOT / source
    monkeypatch.setenv("EBPF_TRIM_VMLINUX", "0")
    full = compile(src, tmp_path / "full.o", cc="clang")
    monkeypatch.setenv("EBPF_TRIM_VMLINUX", "1")
    with caplog.at_level(logging.INFO, logger="ebpf.toolchain.driver"):
        small = compile(src, tmp_path / "small.o", cc="clang")
    assert "using the full header" not in caplog.text  # the trimmed one compiled
    assert _program(small) == _program(full)
    assert _program(small)[1], "expected CO-RE relocations to compare"
    assert small.stat().st_size < full.stat().st_size  # less BTF: only the types used


@needs_kernel_btf
@needs_clang
def test_falls_back_to_the_full_header(tmp_path, monkeypatch, caplog):
    # the type's name is pasted together by a macro: no identifier names it
    src = tmp_path / "pasted.bpf.c"
    src.write_text('#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
                   "#define KTYPE(a, b) struct a##b\n"
                   'SEC("tp/sched/sched_process_exec") int f(void *ctx) {\n'
                   "  KTYPE(task_, struct) *t = (void *)bpf_get_current_task();\n"
                   "  return t ? sizeof(*t) > 0 : 0; }\n"
                   'char LICENSE[] SEC("license") = "GPL";\n')
    monkeypatch.setenv("EBPF_TRIM_VMLINUX", "1")
    with caplog.at_level(logging.INFO, logger="ebpf.toolchain.driver"):
        obj = compile(src, tmp_path / "p.o", cc="clang")
    assert obj.is_file()
    assert "using the full header" in caplog.text


@needs_kernel_btf
@needs_clang
def test_trimmed_header_is_cached_beside_the_full_one(tmp_path, monkeypatch):
    monkeypatch.setenv("EBPF_TRIM_VMLINUX", "1")
    src = ROOT / "examples/execsnoop/execsnoop.bpf.c"
    from ebpf.toolchain.vmlinux import vmlinux_h_dir

    full_dir = vmlinux_h_dir()
    d1 = trim.trimmed_dir(full_dir, src, [], INCLUDE_DIR)
    d2 = trim.trimmed_dir(full_dir, src, [], INCLUDE_DIR)
    assert d1 is not None and d1 == d2 and d1.is_relative_to(full_dir)
    assert (full_dir / "vmlinux.h.idx").is_file()
    size = (d1 / "vmlinux.h").stat().st_size
    assert size * 10 < (full_dir / "vmlinux.h").stat().st_size


def test_a_damaged_index_means_the_full_header(tmp_path):
    """A stale or damaged index beside the header is no reason to fail a compile."""
    full = tmp_path / "full"
    full.mkdir()
    (full / "vmlinux.h").write_text(HEADER)
    src = tmp_path / "p.bpf.c"
    src.write_text('#include "vmlinux.h"\nstruct task_struct *t;\n')
    good = trim.trimmed_dir(full, src, [], INCLUDE_DIR)
    assert good is not None and "struct task_struct {" in (good / "vmlinux.h").read_text()
    # an index whose offsets point past the header's text
    import marshal
    from array import array

    idx = marshal.loads((full / "vmlinux.h.idx").read_bytes())
    broken = (idx[0], idx[1], idx[2], array("I", [10**6, 10**6 + 5]).tobytes(),
              {"task_struct": 7}, {})
    (full / "vmlinux.h.idx").write_bytes(marshal.dumps(broken))
    src.write_text('#include "vmlinux.h"\nstruct task_struct *t;\nstruct mm_struct *m;\n')
    assert trim.trimmed_dir(full, src, [], INCLUDE_DIR) is None


def test_the_cut_is_kept_by_identifiers(tmp_path, monkeypatch):
    """A second cut for the same identifiers reads neither the full header nor its
    index; other identifiers, or a removed trimmed header, cut again."""
    full = tmp_path / "full"
    full.mkdir()
    (full / "vmlinux.h").write_text(HEADER)
    src = tmp_path / "p.bpf.c"
    src.write_text('#include "vmlinux.h"\nstruct task_struct *t;\n')
    cuts = []
    real = trim.trim
    monkeypatch.setattr(trim, "trim", lambda *a: cuts.append(1) or real(*a))
    first = trim.trimmed_dir(full, src, [], INCLUDE_DIR)
    assert first is not None and len(cuts) == 1
    (full / "vmlinux.h").write_text("not read again")
    assert trim.trimmed_dir(full, src, [], INCLUDE_DIR) == first and len(cuts) == 1
    (full / "vmlinux.h").write_text(HEADER)
    src.write_text('#include "vmlinux.h"\nstruct unrelated *u;\n')
    other = trim.trimmed_dir(full, src, [], INCLUDE_DIR)
    assert other is not None and other != first and len(cuts) == 2
    assert "struct unrelated {" in (other / "vmlinux.h").read_text()
    shutil.rmtree(other)
    assert trim.trimmed_dir(full, src, [], INCLUDE_DIR) == other and len(cuts) == 3
