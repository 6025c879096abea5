"""vmlinux.h: generated from BTF when a source includes it, cached per BTF."""

from __future__ import annotations

import pytest
from elftools.elf.elffile import ELFFile

import ebpf
from ebpf.errors import CompileError
from ebpf.toolchain import compile
from ebpf.toolchain import vmlinux as vmlinux_mod


@pytest.fixture
def small_btf(build, tmp_path, monkeypatch):
    """The .BTF of a compiled test program, standing in for a kernel's BTF."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with open(build("xdp_filter", "zig").obj, "rb") as f:
        data = ELFFile(f).get_section_by_name(".BTF").data()
    path = tmp_path / "small.btf"
    path.write_bytes(data)
    return path


def test_generated_from_given_btf_and_cached(small_btf, monkeypatch):
    d = vmlinux_mod.vmlinux_h_dir(small_btf)
    header = d / "vmlinux.h"
    text = header.read_text()
    assert "struct datarec {" in text and "struct xdp_md" in text
    assert d.is_relative_to(vmlinux_mod.cache_dir())

    def no_render(*a, **k):
        raise AssertionError("rendered again instead of using the cache")

    monkeypatch.setattr(vmlinux_mod, "_render", no_render)
    assert vmlinux_mod.vmlinux_h_dir(small_btf) == d


def test_compile_uses_generated_header(small_btf, tmp_path):
    src = tmp_path / "uses_vmlinux.bpf.c"
    src.write_text('#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
                   "struct datarec rec = {};\n"
                   'SEC("xdp") int f(struct xdp_md *ctx) { rec.packets++; return 2; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile(src, cc="zig", btf=small_btf)
    assert "f" in ebpf.ObjectSpec.from_file(obj).programs


def test_project_vmlinux_h_wins(tmp_path, monkeypatch):
    """A vmlinux.h next to the source (libbpf-tools style) is used as is."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "vmlinux.h").write_text("typedef unsigned int u32;\nstruct my_kernel_type { u32 x; };\n")
    src = tmp_path / "own.bpf.c"
    src.write_text('#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
                   "struct my_kernel_type g;\n"
                   'SEC("socket") int f(void *ctx) { return g.x; }\n')
    compile(src, cc="zig", btf=tmp_path / "does-not-exist")  # never read: not needed
    assert not vmlinux_mod.cache_dir().exists()


def test_unreadable_btf_is_a_compile_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = tmp_path / "x.bpf.c"
    src.write_text('#include <vmlinux.h>\nint x;\n')
    with pytest.raises(CompileError, match="cannot be read"):
        compile(src, cc="zig", btf=tmp_path / "missing.btf")
    (tmp_path / "garbage.btf").write_bytes(b"\x00" * 64)
    with pytest.raises(CompileError, match="vmlinux.h"):
        compile(src, cc="zig", btf=tmp_path / "garbage.btf")


def test_vmlinux_h_included_from_a_project_header(small_btf, tmp_path):
    """The source never names vmlinux.h; its own header does."""
    (tmp_path / "common.h").write_text('#pragma once\n#include "vmlinux.h"\n')
    src = tmp_path / "indirect.bpf.c"
    src.write_text('#include "common.h"\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int f(struct xdp_md *ctx) { return ctx->ingress_ifindex; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    obj = compile(src, cc="zig", btf=small_btf)
    assert "f" in ebpf.ObjectSpec.from_file(obj).programs


def test_unwritable_cache_falls_back_to_temp(small_btf, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir under a file fails
    d = vmlinux_mod.vmlinux_h_dir(small_btf)
    assert (d / "vmlinux.h").is_file() and not d.is_relative_to(blocker)
