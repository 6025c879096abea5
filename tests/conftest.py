"""Shared fixtures. Kernel tests carry the ``kernel`` marker; they skip where the
kernel or privileges are missing, unless EBPF_REQUIRE_KERNEL=1 (as in CI): then
any skip of a kernel test, wherever it comes from, is reported as a failure."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest

REQUIRE_KERNEL = os.environ.get("EBPF_REQUIRE_KERNEL") == "1"
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def kernel_unavailable() -> str | None:
    """None when bpf(2) is usable, else the reason it is not."""
    if not Path("/proc/sys/kernel").exists():
        return "not Linux"
    if os.geteuid() != 0:
        return "not root"
    try:
        from ebpf.kernel.probes import bpf_usable
    except ImportError:
        return "kernel backend not built"
    return None if bpf_usable() else "bpf(2) not usable here"


def pytest_runtest_setup(item):
    if item.get_closest_marker("kernel") is not None:
        reason = kernel_unavailable()
        if reason is not None:
            pytest.skip(f"kernel test: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_KERNEL and report.skipped and item.get_closest_marker("kernel") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"EBPF_REQUIRE_KERNEL=1 and a kernel test skipped: {reason}"


@pytest.fixture(scope="session")
def tmp_build(tmp_path_factory) -> Path:
    """A session-wide directory for compiled test objects."""
    return tmp_path_factory.mktemp("build")


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def _fallback_compile(src: Path, out: Path, include_dirs=()) -> Path:
    """Used only until ebpf.toolchain.compile exists: clang with system headers."""
    import platform
    import subprocess

    cc = shutil.which("clang-19") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler for BPF")
    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), "x86")
    multiarch = f"/usr/include/{platform.machine()}-linux-gnu"
    cmd = [cc, "-target", "bpf", "-g", "-O2", f"-D__TARGET_ARCH_{arch}", "-I", multiarch,
           *[f"-I{d}" for d in include_dirs], "-c", str(src), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"compile failed: {' '.join(cmd)}\n{r.stderr}")
    return out


@pytest.fixture(scope="session")
def bpf_compile(tmp_path_factory):
    """Compile C (a path or source text) to a BPF object; returns its path.

    Uses ebpf.toolchain.compile; results are cached per source text.
    """
    build = tmp_path_factory.mktemp("bpfobj")
    cache: dict[tuple, Path] = {}

    def compile_(source: str | Path, name: str = "prog", include_dirs=(), **kw) -> Path:
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                        and source.endswith(".c")):
            src = Path(source)
            text = src.read_text()
        else:
            text = str(source)
            src = build / f"{name}.c"
            src.write_text(text)
        key = (text, tuple(map(str, include_dirs)), repr(sorted(kw.items())))
        if key in cache:
            return cache[key]
        out = build / f"{name}_{len(cache)}.o"
        try:
            from ebpf.toolchain import compile as ebpf_compile
        except ImportError:
            ebpf_compile = None
        if ebpf_compile is not None:
            ebpf_compile(src, out, include_dirs=list(include_dirs), **kw)
        else:
            _fallback_compile(src, out, include_dirs)
        cache[key] = out
        return out

    return compile_
