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
