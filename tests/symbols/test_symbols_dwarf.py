"""DWARF file:line and inlined frames (pyelftools), checked against binutils'
addr2line -i -f on every address of a function with two levels of inlining."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

from ebpf.elf.host import HostELF
from ebpf.symbols import Symbolizer
from ebpf.symbols.dwarf import expand
from ebpf.symbols.elfsyms import ElfSymbols
from ebpf.symbols.frame import Frame

SRC = r"""
volatile long sink;
static inline __attribute__((always_inline)) void deep(long n)
{ for (long i = 0; i < n; i++) sink += i * 3; }
static inline __attribute__((always_inline)) void middle(long n) { deep(n); sink ^= n; }
__attribute__((noinline)) void inl_top(long n) { middle(n); sink++; }
"""


@pytest.fixture(scope="module")
def inlined_lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("dwarf")
    (d / "inl.c").write_text(SRC)
    lib = d / "libinl.so"
    subprocess.run([shutil.which("gcc") or "gcc", "-g", "-O2", "-shared", "-fPIC",
                    "-fno-omit-frame-pointer", "-o", str(lib), str(d / "inl.c")], check=True)
    return lib


def test_inlined_frames_match_addr2line(inlined_lib):
    addr2line = shutil.which("addr2line")
    if addr2line is None:
        pytest.fail("addr2line (binutils) is needed")
    syms = ElfSymbols(str(inlined_lib))
    top = next(s for s in HostELF(str(inlined_lib)).symbols() if s.name == "inl_top")
    addrs = list(range(top.value, top.value + top.size))
    ref = subprocess.run([addr2line, "-i", "-f", "-e", str(inlined_lib)]
                         + [hex(a) for a in addrs], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    # addr2line prints name/file:line pairs per frame; "??" lines mark no info
    i = 0
    depths = set()
    for a in addrs:
        name, off = syms.lookup_vaddr(a)
        ours = expand(syms, a, Frame(a, name, str(inlined_lib), off), lambda n: n)
        theirs = []
        for _ in ours:
            fn, loc = ref[i], ref[i + 1]
            i += 2
            theirs.append((fn, os.path.basename(loc.split(":")[0]),
                           int(loc.rsplit(":", 1)[1].split()[0]) if loc[-1:].isdigit() or
                           " (discriminator" in loc else 0))
        assert [(f.name, f.file, f.line) for f in ours] == theirs, hex(a)
        assert [f.inlined for f in ours] == [True] * (len(ours) - 1) + [False]
        depths.add(len(ours))
    assert depths == {1, 2, 3}  # top alone, middle inlined, deep inlined in middle
    assert i == len(ref)


def test_symbolizer_with_dwarf_expands_user_stacks(inlined_lib):
    lib = ctypes.CDLL(str(inlined_lib))
    base = ctypes.cast(lib.inl_top, ctypes.c_void_p).value
    top = next(s for s in HostELF(str(inlined_lib)).symbols() if s.name == "inl_top")
    syms = ElfSymbols(str(inlined_lib))
    # an address whose DWARF says: deep, inlined in middle, inlined in inl_top
    for off in range(top.size):
        if len(expand(syms, top.value + off, Frame(0, "inl_top"), str)) == 3:
            break
    else:
        pytest.fail("no address with two levels of inlining")
    frames = Symbolizer(dwarf=True).user_stack(os.getpid(), [base + off])
    assert [f.name for f in frames] == ["deep", "middle", "inl_top"]
    assert frames[0].file == "inl.c" and frames[0].line > 0
    plain = Symbolizer().user_stack(os.getpid(), [base + off])
    assert [f.name for f in plain] == ["inl_top"] and not plain[0].line
