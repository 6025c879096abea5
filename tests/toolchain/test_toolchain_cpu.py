"""Which BPF CPU (-mcpu) compile() builds for: by default the compiler's own, as a
project's own build of the same source gets; v3 only when the source cannot be built
below it; any version on request (docs/compile.md, "Which BPF CPU")."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from toolchain_support import compiler_available

import ebpf
from ebpf.errors import CompileError
from ebpf.toolchain import compile, compiler_args, find_compiler
from ebpf.toolchain.driver import system_include_dirs

JMP32 = 6

# 32-bit compares: v1 has no 32-bit jumps, v3 and later use them
COMPARE = ('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
           'SEC("socket") int f(struct __sk_buff *skb)\n'
           "{ unsigned int a = skb->len, b = skb->mark; if (a < b) return 1;"
           " if (a == 77) return 2; return 0; }\n"
           'char LICENSE[] SEC("license") = "GPL";\n')

# a 32-bit atomic whose result is used: no v1 encoding exists (clang 19 refuses it)
ATOMIC32 = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 counter = 40;
__u32 seen = 0;

SEC("xdp")
int count(struct xdp_md *ctx)
{
	seen = __sync_fetch_and_add(&counter, 2);
	return __sync_val_compare_and_swap(&counter, 42, 7) == 42 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
"""


def classes(path, prog="f") -> set[int]:
    return {i.opcode & 7 for i in ebpf.ObjectSpec.from_file(path).programs[prog].instructions}


def need(cc: str) -> None:
    if not compiler_available(cc):
        pytest.skip(f"{cc} not installed")


@pytest.mark.parametrize("cc", ["clang", "gcc", "zig"])
def test_default_builds_what_the_compiler_builds_without_mcpu(tmp_path, cc):
    """The default object has the instructions of a plain `cc -target bpf -O2` build
    (no -mcpu): what the project's own Makefile gets from the same compiler."""
    need(cc)
    src = tmp_path / "cmp.bpf.c"
    src.write_text(COMPARE)
    ours = compile(src, tmp_path / "ours.o", cc=cc)
    compiler = find_compiler(cc)
    assert not any(a.startswith("-mcpu") for a in compiler_args(compiler))
    target = {"clang": ["-target", "bpf"], "zig": ["-target", "bpfel-linux", "-fbuiltin"],
              "gcc": ["-mco-re", "-gbtf"]}[cc]
    plain = tmp_path / "plain.o"
    system = [a for d in system_include_dirs() for a in ("-idirafter", str(d))]
    subprocess.run([*compiler.command, *target, "-O2", "-g", f"-I{ebpf.toolchain.INCLUDE_DIR}",
                    *system, "-c", str(src), "-o", str(plain)], check=True, capture_output=True,
                   env={"ZIG_GLOBAL_CACHE_DIR": str(tmp_path / "zig"), "PATH": "/usr/bin:/bin"})
    mine = ebpf.ObjectSpec.from_file(ours).programs["f"].instructions
    theirs = ebpf.ObjectSpec.from_file(plain).programs["f"].instructions
    assert [(i.opcode, i.dst, i.src, i.off, i.imm) for i in mine] == \
        [(i.opcode, i.dst, i.src, i.off, i.imm) for i in theirs]


def test_clang_19_default_is_v1_and_cpu_chooses(tmp_path):
    """clang before 20 builds for v1 by itself (no 32-bit jumps); cpu= picks."""
    need("clang")
    src = tmp_path / "cmp.bpf.c"
    src.write_text(COMPARE)
    clang = find_compiler("clang")
    default = classes(compile(src, tmp_path / "d.o", cc="clang"))
    assert (JMP32 in default) == (clang.version is not None and clang.version >= 20)
    assert JMP32 in classes(compile(src, tmp_path / "v3.o", cc="clang", cpu="v3"))
    assert JMP32 not in classes(compile(src, tmp_path / "v1.o", cc="clang", cpu="v1"))


@pytest.mark.parametrize("cc", ["clang", "zig"])
def test_source_needing_v3_builds_by_default_and_runs(tmp_path, cc, caplog, monkeypatch):
    need(cc)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where clang leaves crash reproducers
    src = tmp_path / "atomic.bpf.c"
    src.write_text(ATOMIC32)
    with caplog.at_level("INFO", logger="ebpf.toolchain.driver"):
        obj = compile(src, tmp_path / "a.o", cc=cc)
    with ebpf.load(obj, backend="vm") as loaded:
        assert loaded.programs["count"].test_run(bytes(64)).retval == 2   # XDP_PASS
        assert loaded.variables["seen"].value == 40
        assert loaded.variables["counter"].value == 7
    if cc == "clang" and find_compiler("clang").version < 20:
        assert "building with -mcpu=v3" in caplog.text
        with pytest.raises(CompileError, match="XADD|atomic"):   # asked for v1: no retry
            compile(src, tmp_path / "v1.o", cc=cc, cpu="v1")
    assert not list((tmp_path / "tmp").iterdir())  # no crash reproducers left behind


@pytest.mark.kernel
def test_source_needing_v3_loads_in_the_kernel(tmp_path):
    need("clang")
    src = tmp_path / "atomic.bpf.c"
    src.write_text(ATOMIC32)
    with ebpf.load(compile(src, tmp_path / "a.o", cc="clang"), backend="kernel") as loaded:
        assert loaded.programs["count"].test_run(bytes(64)).retval == 2
        assert (loaded.variables["seen"].value, loaded.variables["counter"].value) == (40, 7)


def test_bad_cpu_is_a_compile_error(tmp_path):
    src = tmp_path / "cmp.bpf.c"
    src.write_text(COMPARE)
    with pytest.raises(CompileError, match=r"cpu must be one of v1, v2, v3, v4.*'v9'"):
        compile(src, cc="zig", cpu="v9")


def test_cli_cpu_option(tmp_path):
    from ebpf.cli import main

    need("clang")
    src = tmp_path / "cmp.bpf.c"
    src.write_text(COMPARE)
    for flag, out, jmp32 in [("--cpu", "a.o", True), ("--mcpu", "b.o", True)]:
        with redirect_stdout(io.StringIO()):
            assert main(["compile", str(src), "--cc", "clang", flag, "v3",
                         "-o", str(tmp_path / out)]) == 0
        assert (JMP32 in classes(tmp_path / out)) is jmp32
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        assert main(["compile", str(src), "--cpu", "v7", "-o", str(tmp_path / "c.o")]) == 1
    assert "cpu must be one of" in err.getvalue()
    help_text = subprocess.run([sys.executable, "-m", "ebpf", "compile", "--help"],
                               capture_output=True, text=True).stdout
    assert "--cpu VERSION" in help_text and "compiler's" in help_text
