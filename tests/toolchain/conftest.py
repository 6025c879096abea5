"""Fixtures for the toolchain tests: compile each test program once per
compiler (session-wide), with a make-style dependency file that tells which
headers the compiler actually read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from toolchain_support import PROGRAM_INCLUDE, PROGRAMS, compiler_available


class Built:
    def __init__(self, obj: Path, deps: list[str]):
        self.obj = obj
        self.deps = deps


def parse_depfile(path: Path) -> list[str]:
    text = path.read_text().replace("\\\n", " ")
    _, _, rest = text.partition(":")
    return [p for p in rest.split() if p]


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """build(name, cc, defines=None) -> Built(obj, deps) for programs/<name>.bpf.c."""
    from ebpf.toolchain import compile

    out = tmp_path_factory.mktemp("toolchain")
    cache: dict[tuple, Built] = {}

    def _build(name: str, cc: str, defines: dict | None = None) -> Built:
        if not compiler_available(cc):
            pytest.skip(f"{cc} not installed")
        key = (name, cc, tuple(sorted((defines or {}).items())))
        if key not in cache:
            tag = "".join(f".{k}" for k in sorted(defines or {}))
            obj = out / f"{name}.{cc}{tag}.bpf.o"
            dep = out / f"{name}.{cc}{tag}.d"
            compile(PROGRAMS / f"{name}.bpf.c", obj, cc=cc, include_dirs=[PROGRAM_INCLUDE],
                    defines=defines, extra_args=["-MD", "-MF", str(dep)])
            cache[key] = Built(obj, parse_depfile(dep))
        return cache[key]

    return _build


@pytest.fixture
def no_clang_path(tmp_path, monkeypatch):
    """A PATH with no clang on it (python is still reachable through sys.executable)."""
    d = tmp_path / "bin"
    d.mkdir()
    for tool in ("sh", "true"):
        exe = shutil.which(tool)
        if exe:
            (d / tool).symlink_to(exe)
    monkeypatch.setenv("PATH", str(d))
    return d
