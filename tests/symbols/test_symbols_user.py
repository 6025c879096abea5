"""User-space symbolization against libraries this process maps: full symbol
tables, stripped copies with separate debug files (build-id directory and
.gnu_debuglink), perf maps, processes that exited, [unknown] with the module."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import time

import pytest

from ebpf.elf.host import HostELF
from ebpf.symbols import UNKNOWN, Symbolizer
from ebpf.symbols.debugfile import build_id_path
from ebpf.symbols.perfmap import PerfMap


def _addr(lib: ctypes.CDLL, name: str) -> int:
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value


def test_full_symbol_table_resolves_functions_and_offsets(symlib):
    lib = ctypes.CDLL(str(symlib["lib"]))
    sym = Symbolizer()
    for name in ("symtest_alpha", "symtest_beta"):
        a = _addr(lib, name)
        f = sym.user_frame(os.getpid(), a)
        assert (f.name, f.offset, f.module) == (name, 0, str(symlib["lib"]))
        f2 = sym.user_frame(os.getpid(), a + 3)
        assert (f2.name, f2.offset) == (name, 3)
    # a static function only .symtab knows
    hidden = ctypes.c_void_p.in_dll(lib, "symtest_hidden_ptr").value
    assert sym.user_frame(os.getpid(), hidden).name == "symtest_hidden"


def test_return_addresses_resolve_to_the_calling_function(symlib):
    lib = ctypes.CDLL(str(symlib["lib"]))
    sym = Symbolizer()
    beta = _addr(lib, "symtest_beta")
    alpha = _addr(lib, "symtest_alpha")
    # an address just past the start of beta, given as a return address, is in beta
    f = sym.user_stack(os.getpid(), [alpha + 1, beta + 1])
    assert [x.name for x in f] == ["symtest_alpha", "symtest_beta"]


def test_stripped_copy_resolves_through_debuglink(symlib):
    assert not HostELF(str(symlib["stripped"])).has_symbols()
    lib = ctypes.CDLL(str(symlib["stripped"]))
    sym = Symbolizer(debug_dirs=[str(symlib["dir"] / "nothing-here")])
    hidden = ctypes.c_void_p.in_dll(lib, "symtest_hidden_ptr").value
    # the debug file is not next to the stripped copy (nor in .debug/ there)
    f = sym.user_frame(os.getpid(), hidden)
    assert f.name == UNKNOWN and f.module == str(symlib["stripped"])
    # DEBUGDIR/<binary's dir>/NAME is the gdb convention: place it there
    mirror = symlib["dir"] / "debugroot"
    target = mirror / str(symlib["stripped"].parent).lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(symlib["debug"], target / symlib["debug"].name)
    sym2 = Symbolizer(debug_dirs=[str(mirror)])
    assert sym2.user_frame(os.getpid(), hidden).name == "symtest_hidden"
    assert sym2.user_frame(os.getpid(), _addr(lib, "symtest_beta")).name == "symtest_beta"


def test_stripped_copy_resolves_through_build_id_directory(symlib, tmp_path):
    bid = HostELF(str(symlib["lib"])).build_id()
    assert bid and HostELF(str(symlib["stripped"])).build_id() == bid
    path = build_id_path(bid, str(tmp_path))
    os.makedirs(os.path.dirname(path))
    shutil.copy(symlib["debug"], path)
    lib = ctypes.CDLL(str(symlib["stripped"]))
    hidden = ctypes.c_void_p.in_dll(lib, "symtest_hidden_ptr").value
    sym = Symbolizer(debug_dirs=[str(tmp_path)])
    assert sym.user_frame(os.getpid(), hidden).name == "symtest_hidden"


def test_debuglink_with_a_wrong_crc_is_ignored(symlib, tmp_path):
    mirror = tmp_path / str(symlib["stripped"].parent).lstrip("/")
    mirror.mkdir(parents=True)
    (mirror / symlib["debug"].name).write_bytes(b"\x7fELF not the debug file")
    lib = ctypes.CDLL(str(symlib["stripped"]))
    hidden = ctypes.c_void_p.in_dll(lib, "symtest_hidden_ptr").value
    assert Symbolizer(debug_dirs=[str(tmp_path)]).user_frame(os.getpid(), hidden).name == UNKNOWN


def test_build_id_frames_resolve_by_file_offset(symlib):
    sym = Symbolizer()
    syms = sym.add_file(str(symlib["lib"]))
    assert syms is not None and syms.build_id
    elf = HostELF(str(symlib["lib"]))
    beta = next(s for s in elf.symbols() if s.name == "symtest_beta")
    f = sym.build_id_frame(syms.build_id, elf.vaddr_to_offset(beta.value) + 2)
    assert (f.name, f.offset) == ("symtest_beta", 2)
    unknown = sym.build_id_frame(b"\x01" * 20, 0x1000)
    assert unknown.name == UNKNOWN and unknown.module == "build-id:" + "01" * 20


def test_exited_process_still_resolves_after_remember(symlib, tmp_path):
    code = (f"import ctypes,sys; lib=ctypes.CDLL({str(symlib['lib'])!r}); "
            "print(ctypes.cast(lib.symtest_alpha, ctypes.c_void_p).value, flush=True); "
            "sys.stdin.readline()")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        addr = int(p.stdout.readline())
        sym = Symbolizer()
        assert sym.remember(p.pid)
    finally:
        p.communicate("\n")
    assert p.returncode == 0
    for _ in range(50):
        if not os.path.exists(f"/proc/{p.pid}"):
            break
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{p.pid}")
    assert sym.user_frame(p.pid, addr).name == "symtest_alpha"
    # a fresh symbolizer never saw it: unknown, and no exception
    assert Symbolizer().user_frame(p.pid, addr).name == UNKNOWN


def test_unknown_addresses_name_their_module(symlib, tmp_path):
    lib = ctypes.CDLL(str(symlib["stripped"]))
    sym = Symbolizer(debug_dirs=[str(tmp_path)])  # no debug file anywhere
    hidden = ctypes.c_void_p.in_dll(lib, "symtest_hidden_ptr").value
    f = sym.user_frame(os.getpid(), hidden)
    assert (f.name, f.module) == (UNKNOWN, str(symlib["stripped"]))
    assert f.label() == f"{UNKNOWN} ({symlib['stripped']})"
    # exported functions still resolve through .dynsym
    assert sym.user_frame(os.getpid(), _addr(lib, "symtest_alpha")).name == "symtest_alpha"
    # the heap is in no executable mapping: unknown without a module
    anon = ctypes.create_string_buffer(64)
    g = sym.user_frame(os.getpid(), ctypes.addressof(anon))
    assert (g.name, g.label()) == (UNKNOWN, UNKNOWN)


def test_perf_map_names_jit_code(tmp_path):
    pid = os.getpid()
    buf = ctypes.create_string_buffer(4096)  # any address range of ours
    start = ctypes.addressof(buf)
    (tmp_path / f"perf-{pid}.map").write_text(
        f"{start:x} 100 py::hot_loop:/app/x.py\n{start + 0x100:x} 80 [jit] other\n")
    sym = Symbolizer(perf_map_dir=str(tmp_path))
    f = sym.user_frame(pid, start + 0x10)
    assert (f.name, f.offset, f.module) == ("py::hot_loop:/app/x.py", 0x10, "[perf-map]")
    assert sym.user_frame(pid, start + 0x104).name == "[jit] other"
    assert sym.user_frame(pid, start + 0x200).name == UNKNOWN
    pm = PerfMap("zz 10 bad\n10 10 ok\n")
    assert pm.lookup(0x15) == ("ok", 5) and len(pm) == 1


@pytest.mark.kernel  # root: a private mount namespace
def test_container_paths_go_through_proc_root(symlib):
    """A mapped path is opened through /proc/PID/map_files or /proc/PID/root, so a
    process in another mount namespace resolves; here: a private mount namespace
    where the library sits at a path the host does not have."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is needed")
    code = ("import ctypes,sys; lib=ctypes.CDLL('/mnt/nsonly/libsymtest.so'); "
            "print(ctypes.cast(lib.symtest_beta, ctypes.c_void_p).value, flush=True); "
            "sys.stdin.readline()")
    script = (f"mkdir -p /mnt/nsonly && mount -t tmpfs none /mnt/nsonly && "
              f"cp {symlib['lib']} /mnt/nsonly/ && exec {sys.executable} -c \"{code}\"")
    p = subprocess.Popen([unshare, "-m", "--propagation", "private", "sh", "-c", script],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        if not line:
            pytest.fail("could not start a process in a private mount namespace")
        addr = int(line)
        assert not os.path.exists("/mnt/nsonly/libsymtest.so")
        f = Symbolizer().user_frame(p.pid, addr)
        assert (f.name, f.module) == ("symtest_beta", "/mnt/nsonly/libsymtest.so")
    finally:
        p.communicate("\n")
