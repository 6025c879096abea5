"""Compiler discovery: clang-NN highest first, zig always there, clear errors."""

from __future__ import annotations

import subprocess

import pytest

from ebpf.errors import CompileError
from ebpf.toolchain import find_compiler, target_arch
from ebpf.toolchain.driver import default_output
from ebpf.toolchain.find import available_compilers


def test_zig_is_always_available():
    c = find_compiler("zig")
    assert c.kind == "zig"
    r = subprocess.run([*c.command[:-1], "version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip()[0].isdigit()


def test_clang_preferred_and_highest_version_first(tmp_path, monkeypatch):
    d = tmp_path / "bin"
    d.mkdir()
    # fake clangs: versions from their names; a plain "clang" asked for --version
    for name, version in (("clang-11", None), ("clang-17", None), ("clang", 14)):
        script = d / name
        script.write_text(f"#!/bin/sh\necho 'clang version {version or name[6:]}.0.0'\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(d))
    c = find_compiler()
    assert c.kind == "clang" and c.version == 17
    assert [x.version for x in available_compilers() if x.kind == "clang"] == [17, 14, 11]
    assert find_compiler("clang").command[0].endswith("clang-17")


def test_each_path_directory_is_read_once(tmp_path, monkeypatch):
    """A PATH entry repeated, or a symlink to another (/bin -> /usr/bin), is listed
    once, the first time it comes; the compiler found is the same."""
    import os

    from ebpf.toolchain import find

    d = tmp_path / "bin"
    d.mkdir()
    (tmp_path / "link").symlink_to(d)
    script = d / "clang-17"
    script.write_text("#!/bin/sh\necho 'clang version 17.0.0'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "link"), str(d), "", str(d)]))
    assert find._path_dirs() == [tmp_path / "link"]
    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(find.os, "listdir", lambda p: listed.append(p) or real_listdir(p))
    c = find_compiler("clang")
    assert c.version == 17 and c.command[0] == str(tmp_path / "link" / "clang-17")
    assert listed == [tmp_path / "link"]


def test_old_clang_is_ignored(tmp_path, monkeypatch):
    d = tmp_path / "bin"
    d.mkdir()
    (d / "clang-6").write_text("#!/bin/sh\nexit 0\n")
    (d / "clang-6").chmod(0o755)
    monkeypatch.setenv("PATH", str(d))
    assert find_compiler().kind == "zig"


def test_without_clang_falls_back_to_zig(no_clang_path):
    assert find_compiler().kind == "zig"


def test_asking_for_missing_clang_names_what_was_tried(no_clang_path):
    with pytest.raises(CompileError, match="clang"):
        find_compiler("clang")
    with pytest.raises(CompileError, match="bpf-unknown-none-gcc"):
        find_compiler("gcc")


def test_missing_gcc_says_install_gcc_not_clang(tmp_path, monkeypatch):
    """--cc gcc without GCC's BPF target, while clang is there: the hint names gcc-bpf."""
    d = tmp_path / "bin"
    d.mkdir()
    (d / "clang").write_text("#!/bin/sh\necho 'clang version 17.0.0'\n")
    (d / "clang").chmod(0o755)
    monkeypatch.setenv("PATH", str(d))
    with pytest.raises(CompileError) as e:
        find_compiler("gcc")
    assert "gcc-bpf" in str(e.value) and "install clang" not in str(e.value)
    assert find_compiler("clang").kind == "clang"


def test_compiler_by_path(tmp_path):
    with pytest.raises(CompileError, match="not found"):
        find_compiler(str(tmp_path / "nope"))
    with pytest.raises(CompileError, match="neither clang"):
        find_compiler("/bin/true")
    fake = tmp_path / "my-clang"
    fake.write_text("#!/bin/sh\necho 'Ubuntu clang version 18.1.3'\n")
    fake.chmod(0o755)
    c = find_compiler(str(fake))
    assert (c.kind, c.version, c.command) == ("clang", 18, (str(fake),))
    zig = tmp_path / "zig"
    zig.write_text("#!/bin/sh\n")
    zig.chmod(0o755)
    assert find_compiler(str(zig)).command == (str(zig), "cc")


def test_target_arch_and_default_output():
    from pathlib import Path

    assert target_arch("x86_64") == "x86"
    assert target_arch("aarch64") == "arm64"
    assert target_arch("s390x") == "s390"
    assert target_arch("riscv64") == "riscv"
    assert default_output(Path("a/b.bpf.c")) == Path("a/b.bpf.o")
    assert default_output(Path("x.c")) == Path("x.o")
    assert default_output(Path("x.src")) == Path("x.src.o")
