"""After `pip install` of a wheel into a fresh venv (no source tree anywhere on the
path): `ebpf tool list`, three tools and `python -m ebpf.demo` work."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project's wheel installed; returns its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                        str(tmp / "dist"), str(ROOT)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp / "dist").glob("ebpf-*.whl")
    venv.create(tmp / "venv", with_pip=True)
    py = tmp / "venv" / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return tmp / "venv" / "bin"


def _run(bindir: Path, *cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    return subprocess.run([str(bindir / cmd[0]), *cmd[1:]], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.kernel
def test_installed_wheel_runs_tools(installed, tmp_path):
    r = _run(installed, "python", "-c", "import ebpf.tools, sys; print(ebpf.tools.__file__)",
             cwd=tmp_path)
    assert r.returncode == 0 and "site-packages" in r.stdout, r.stdout + r.stderr
    r = _run(installed, "ebpf", "tool", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert {"execsnoop", "opensnoop", "syscount"} <= {ln.split()[0] for ln in
                                                       r.stdout.splitlines()}
    # three tools, each compiled from the packaged source on first use
    r = _run(installed, "ebpf", "tool", "execsnoop", "--duration", "0.5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"]
    script = ("import os, threading, time, ebpf.tools as t\n"
              "def work():\n"
              "    for _ in range(50): os.getppid()\n"
              "t.run('syscount', ['-p', str(os.getpid()), '-d', '0.3', '-j'], ready=work)\n")
    r = _run(installed, "python", "-c", script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert '"syscall": "getppid"' in r.stdout
    marker = tmp_path / "opened-by-test"
    marker.write_text("x")
    script = ("import os, ebpf.tools as t\n"
              f"t.run('opensnoop', ['-p', str(os.getpid()), '--duration', '0.3'],"
              f" ready=lambda: open({str(marker)!r}).close())\n")
    r = _run(installed, "python", "-c", script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert str(marker) in r.stdout
    # the tools' objects were compiled into the compile cache (entries named by hash)
    assert any((tmp_path / "cache" / "ebpf" / "objects").glob("*.o"))
    # the demo's tools come from the package too (no examples/ directory here)
    r = _run(installed, "python", "-m", "ebpf.demo", "--backend", "vm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "total: XDP_DROP" in r.stdout and "ebpf demo: done" in r.stdout
