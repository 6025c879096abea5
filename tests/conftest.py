"""Shared fixtures. Kernel tests carry the ``kernel`` marker; they skip where the
kernel or privileges are missing, unless EBPF_REQUIRE_KERNEL=1 (as in CI): then
any skip of a kernel test, wherever it comes from, is reported as a failure. The
same holds for ``conformance`` tests (the suite's data must be found in CI)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import subprocess
from pathlib import Path

import pytest

import ebpf
import ebpf.toolchain

REQUIRE_KERNEL = os.environ.get("EBPF_REQUIRE_KERNEL") == "1"


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


@functools.cache
def kernel_lockdown() -> str:
    """The kernel's lockdown mode read by the tests themselves (not through the
    library they check): "none", "integrity", "confidentiality", or "" when unknown.
    Mounts securityfs when it is missing and we are root, as the library does."""
    path = Path("/sys/kernel/security/lockdown")
    if not path.exists() and os.geteuid() == 0 and Path("/sys/kernel/security").is_dir():
        subprocess.run(["mount", "-t", "securityfs", "securityfs", "/sys/kernel/security"],
                       capture_output=True)
    try:
        text = path.read_text()
    except OSError:
        return ""
    return text[text.find("[") + 1:text.find("]")] if "[" in text else ""


LOCKDOWN_REFUSAL = "kernel lockdown ({}) refuses fentry/fexit/LSM/iter programs"


def _assert_lockdown_refusal(excinfo, program: str) -> None:
    e = excinfo.value
    assert type(e) is ebpf.PrivilegeError, repr(e)
    assert LOCKDOWN_REFUSAL.format(kernel_lockdown()) in str(e), str(e)
    assert program in str(e) and "CAP_" not in str(e) and e.capability is None, str(e)


@pytest.fixture
def lockdown():
    """The kernel's lockdown mode as the tests read it ("" when unknown)."""
    return kernel_lockdown()


@pytest.fixture
def assert_lockdown_refusal():
    """``check(excinfo, program)``: the error in ``excinfo`` (from pytest.raises) is the
    truthful lockdown refusal of ``program``: a PrivilegeError naming the program
    and the lockdown, and no capability."""
    return _assert_lockdown_refusal


def pytest_runtest_setup(item):
    if item.get_closest_marker("kernel") is not None:
        reason = kernel_unavailable()
        if reason is not None:
            pytest.skip(f"kernel test: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_KERNEL and report.skipped:
        for marker in ("kernel", "conformance"):  # CI must run these, never skip them
            if item.get_closest_marker(marker) is not None:
                reason = (report.longrepr[2] if isinstance(report.longrepr, tuple)
                          else str(report.longrepr))
                report.outcome = "failed"
                report.longrepr = f"EBPF_REQUIRE_KERNEL=1 and a {marker} test skipped: {reason}"
                break


CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def private_netns():
    """Run the calling thread, and every thread and process it starts, in a fresh
    network namespace of its own with ``lo`` up: XDP/tc on ``lo``, veth pairs,
    addresses and routes are then this test's alone (other test runs on the same
    machine attach to the host's ``lo`` at the same time). Needs root."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            pytest.fail(f"unshare(CLONE_NEWNET): {os.strerror(err)}")
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
            yield
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original network namespace")
    finally:
        os.close(home)


@pytest.fixture
def own_netns():
    """The test runs in a network namespace of its own (see :func:`private_netns`)."""
    if kernel_unavailable() is not None:
        pytest.skip(f"kernel test: {kernel_unavailable()}")
    with private_netns():
        yield


@pytest.fixture
def own_cgroup():
    """A fresh cgroup v2 directory of this test's own (unique name), removed after:
    attach cgroup programs here, never to the root cgroup other runs share."""
    import time
    import uuid

    from ebpf.vm.cgroups import cgroup2_mount

    if kernel_unavailable() is not None:
        pytest.skip(f"kernel test: {kernel_unavailable()}")
    root = cgroup2_mount()
    if root is None:
        pytest.fail("no cgroup v2 hierarchy mounted")
    path = Path(root) / f"ebpf_test_{uuid.uuid4().hex[:12]}"
    path.mkdir()
    yield path
    for _ in range(100):  # processes moved in may still be leaving it
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.05)
    path.rmdir()


@pytest.fixture(scope="session")
def bpf_compile(tmp_path_factory):
    """Compile C (a path or source text) to a BPF object; returns its path.

    Uses ebpf.toolchain.compile; results are cached per source text and options.
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
        ebpf.toolchain.compile(src, out, include_dirs=list(include_dirs), **kw)
        cache[key] = out
        return out

    return compile_
