"""compile(): real libbpf-style programs build with clang and zig using OUR
headers (never /usr/include/bpf), produce BTF, and fail loudly on bad input."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from toolchain_support import COMPILERS, PROGRAMS, UAPI_PROGRAMS

import ebpf
from ebpf.errors import CompileError
from ebpf.toolchain import INCLUDE_DIR, compile

EM_BPF = 247
OUR_HEADERS = {"bpf_helpers.h", "bpf_helper_defs.h", "bpf_endian.h", "bpf_tracing.h",
               "bpf_core_read.h"}


def section_names(obj: Path) -> set[str]:
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] in ("EM_BPF", EM_BPF)
        return {s.name for s in elf.iter_sections()}


def check_object(built) -> None:
    names = section_names(built.obj)
    assert ".BTF" in names and ".BTF.ext" in names
    assert ".eh_frame" not in names
    system_bpf = [d for d in built.deps if "/usr/include/bpf/" in d or "/usr/local/include/bpf/" in d]
    assert not system_bpf, f"system libbpf headers were read: {system_bpf}"
    ours = {Path(d).name for d in built.deps if Path(d).resolve().is_relative_to(INCLUDE_DIR)}
    assert "bpf_helpers.h" in ours and "bpf_helper_defs.h" in ours


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("name", UAPI_PROGRAMS)
def test_uapi_programs_compile_with_our_headers(build, name, cc):
    built = build(name, cc)
    check_object(built)
    spec = ebpf.ObjectSpec.from_file(built.obj)
    assert spec.programs, f"{name}: no programs found"


@pytest.mark.parametrize("name", UAPI_PROGRAMS)
def test_uapi_programs_compile_with_gcc_bpf(build, name):
    """GCC's BPF back end (bpf-gcc / bpf-unknown-none-gcc) with our headers:
    GCC < 13 gets helpers through its kernel_helper attribute."""
    check_object(build(name, "gcc"))


@pytest.mark.parametrize("cc", COMPILERS)
def test_program_and_map_shapes(build, cc):
    spec = ebpf.ObjectSpec.from_file(build("xdp_filter", cc).obj)
    assert set(spec.programs) == {"xdp_filter_prog"}
    assert spec.programs["xdp_filter_prog"].type == ebpf.ProgramType.XDP
    stats = spec.maps["proto_stats"]
    assert (stats.type, stats.key_size, stats.value_size, stats.max_entries) == (
        ebpf.MapType.PERCPU_ARRAY, 4, 16, 256)
    assert spec.maps["src_addrs"].type == ebpf.MapType.HASH
    tail = ebpf.ObjectSpec.from_file(build("tail_calls", cc).obj)
    assert tail.maps["jump_table"].type == ebpf.MapType.PROG_ARRAY
    assert set(tail.programs) == {"dispatch", "handle_ipv4", "handle_ipv6", "handle_other"}


def test_compile_error_carries_diagnostics_and_command(tmp_path):
    src = tmp_path / "broken.bpf.c"
    src.write_text('#include <bpf/bpf_helpers.h>\nSEC("xdp") int f(void *ctx) { return undefined_var; }\n')
    out = tmp_path / "broken.bpf.o"
    with pytest.raises(CompileError) as ei:
        compile(src, out, cc="zig")
    e = ei.value
    assert "undefined_var" in e.diagnostics and "error" in e.diagnostics
    assert str(src) in e.command and "-I" + str(INCLUDE_DIR) in e.command
    assert "broken.bpf.c" in str(e)
    assert not out.exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(CompileError, match="does not exist"):
        compile(tmp_path / "missing.c")
    src = tmp_path / "ok.c"
    src.write_text("int x;\n")
    with pytest.raises(CompileError, match="optimisation level"):
        compile(src, opt=7)
    with pytest.raises(CompileError, match="overwrite the source"):
        compile(src, src)


def test_defines_include_dirs_and_default_output(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "answer.h").write_text("#define ANSWER_BASE 40\n")
    src = tmp_path / "defs.bpf.c"
    src.write_text(
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "answer.h"\n'
        "#ifndef EXTRA\n#error EXTRA must be defined\n#endif\n"
        '#ifndef FLAG\n#error FLAG must be defined\n#endif\n'
        'SEC("socket") int f(struct __sk_buff *skb) { return ANSWER_BASE + EXTRA; }\n'
        'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile(src, cc="zig", include_dirs=[inc], defines={"EXTRA": 2, "FLAG": None})
    assert obj == tmp_path / "defs.bpf.o" and obj.is_file()
    insns = ebpf.ObjectSpec.from_file(obj).programs["f"].instructions
    text = ebpf.isa.disassemble(insns)
    assert "42" in text or "0x2a" in text
    with pytest.raises(CompileError, match="EXTRA must be defined"):
        compile(src, tmp_path / "x.o", cc="zig", include_dirs=[inc], defines={"FLAG": 1})


def test_cli_compile(tmp_path):
    from ebpf.cli import main

    src = tmp_path / "cli.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS + V; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["compile", str(src), "--cc", "zig", "-D", "V=0", "-O", "2"])
    assert rc == 0, err.getvalue()
    assert out.getvalue().strip() == str(tmp_path / "cli.bpf.o")
    assert (tmp_path / "cli.bpf.o").is_file()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["compile", str(src), "--cc", "zig", "-o", str(tmp_path / "y.o")])
    assert rc == 1
    assert "ebpf compile: error:" in err.getvalue() and "'V'" in err.getvalue()


def test_programs_dir_is_complete():
    assert len(list(PROGRAMS.glob("*.bpf.c"))) >= 10


@pytest.mark.parametrize("cc", COMPILERS)
def test_mcpu_is_honoured(tmp_path, cc):
    """v3 (the default) uses 32-bit jumps (BPF_JMP32 class); v1 has none."""
    from toolchain_support import compiler_available

    if not compiler_available(cc):
        pytest.skip(f"{cc} not installed")
    src = tmp_path / "cmp.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("socket") int f(struct __sk_buff *skb)\n'
                   "{ unsigned int a = skb->len, b = skb->mark; if (a < b) return 1;"
                   " if (a == 77) return 2; return 0; }\n"
                   'char LICENSE[] SEC("license") = "GPL";\n')

    def classes(cpu):
        obj = compile(src, tmp_path / f"cmp-{cpu}.o", cc=cc, cpu=cpu)
        return {i.opcode & 7 for i in ebpf.ObjectSpec.from_file(obj).programs["f"].instructions}

    assert 6 in classes("v3")
    assert 6 not in classes("v1")


def test_target_arch_can_be_overridden(tmp_path):
    """-D__TARGET_ARCH_arm64 (cross-building) replaces the host's arch define."""
    src = tmp_path / "arch.bpf.c"
    src.write_text('#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n'
                   "#if defined(__TARGET_ARCH_x86) && defined(__TARGET_ARCH_arm64)\n"
                   "#error both\n#endif\n"
                   "#ifndef bpf_target_arm64\n#error no arm64\n#endif\n"
                   "struct user_pt_regs { unsigned long long regs[31], sp, pc, pstate; };\n"
                   'SEC("kprobe/x") int k(struct user_pt_regs *ctx) { return PT_REGS_PARM2(ctx); }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile(src, cc="zig", defines={"__TARGET_ARCH_arm64": None})
    insns = ebpf.ObjectSpec.from_file(obj).programs["k"].instructions
    assert any(i.opcode == 0x79 and i.off == 8 for i in insns)  # regs[1]


@pytest.mark.parametrize("cc", COMPILERS)
def test_memcpy_and_memset_are_inlined(tmp_path, cc):
    """BPF cannot call libc: <string.h> memcpy/memset (and struct copies) must
    become loads and stores. zig needs a hosted target and -fbuiltin for that."""
    from toolchain_support import compiler_available

    if not compiler_available(cc):
        pytest.skip(f"{cc} not installed")
    src = tmp_path / "mem.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <string.h>\n#include <bpf/bpf_helpers.h>\n'
                   "char buf[64];\n"
                   'SEC("xdp") int f(struct xdp_md *ctx)\n'
                   "{ char tmp[64]; memset(tmp, ctx->ingress_ifindex, sizeof(tmp));"
                   " memcpy(buf, tmp, sizeof(tmp)); return buf[3]; }\n"
                   'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile(src, tmp_path / f"mem.{cc}.o", cc=cc)
    with open(obj, "rb") as f:
        syms = {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    assert not syms & {"memcpy", "memset", "__builtin_memcpy"}
    insns = ebpf.ObjectSpec.from_file(obj).programs["f"].instructions
    assert not [i for i in insns if i.opcode == 0x85]  # no calls at all


def test_missing_uapi_header_hint(tmp_path):
    src = tmp_path / "nouapi.bpf.c"
    src.write_text("#include <linux/ebpf_no_such_uapi_header.h>\nint x;\n")
    with pytest.raises(CompileError, match="linux-libc-dev") as ei:
        compile(src, cc="zig")
    assert "ebpf_no_such_uapi_header.h" in str(ei.value)


def test_single_strings_for_list_arguments(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "v.h").write_text("#define V 3\n")
    src = tmp_path / "s.bpf.c"
    src.write_text('#include "v.h"\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("socket") int f(void *ctx) { return V + W; }\n')
    obj = compile(src, cc="zig", include_dirs=str(inc), extra_args="-DW=4 -O1")
    assert obj.is_file()
