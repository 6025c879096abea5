"""The vm backend is portable: loading and running a program touches nothing
Linux-only. A child process blocks ``fcntl``/``termios``/``resource``, makes
loading any C library fail, hides /proc and /sys, removes ``os.uname`` and
claims to be Windows or macOS (other shared
libraries, such as llvmlite's, still load), then loads an object on the vm and uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r'''
import builtins, ctypes, importlib.abc, io, os, sys

BLOCKED = {"fcntl", "termios", "resource", "pty", "tty"}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked (not on this platform)")
        return None

sys.meta_path.insert(0, Block())
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]

_cdll_init = ctypes.CDLL.__init__
def no_libc(self, name, *a, **kw):
    base = os.path.basename(os.fsdecode(name)) if name is not None else ""
    if name is None or base.startswith(("libc.", "libc-")) or base == "c":
        raise OSError("no C library here (not Linux)")
    return _cdll_init(self, name, *a, **kw)
ctypes.CDLL.__init__ = no_libc

_open, _os_open = builtins.open, os.open
def _hidden(path):
    p = os.fspath(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
    p = p.decode() if isinstance(p, bytes) else p
    return p.startswith(("/proc", "/sys"))
def open_(file, *a, **kw):
    if _hidden(file):
        raise FileNotFoundError(2, "no such file (not Linux)", str(file))
    return _open(file, *a, **kw)
def os_open(path, *a, **kw):
    if _hidden(path):
        raise FileNotFoundError(2, "no such file (not Linux)", str(path))
    return _os_open(path, *a, **kw)
builtins.open = io.open = open_
os.open = os_open
if hasattr(os, "uname"):
    del os.uname
sys.platform = PLATFORM

import ebpf

data = _open(OBJ, "rb").read()
with ebpf.load(data, backend="vm", constants={"seed": 3}) as obj:
    prog = obj.programs["contract_xdp"]
    r = prog.test_run(bytes(range(20)))
    assert r.retval == 2 and r.data[0] == 0xAB, r
    assert obj.maps["counts"][0] == 1 and obj.maps["slots"][0] == 23
    assert obj.variables["packets_seen"].value == 1
    per_cpu = obj.maps["percpu"][0]
    assert sum(per_cpu) == 1 and len(per_cpu) >= 1
    obj.maps["counts"][3] = 9
    assert sorted(obj.maps["counts"].items()) == [(0, 1), (3, 9)]
print("ok")
'''


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_vm_runs_without_linux(bpf_compile, platform):
    obj = bpf_compile(Path(__file__).parents[1] / "contract" / "contract.bpf.c")
    code = f"PLATFORM = {platform!r}\nOBJ = {str(obj)!r}\n" + CHILD
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
