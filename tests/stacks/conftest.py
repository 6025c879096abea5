"""Fixtures: the workloads of stack_workloads.py compiled with gcc (-g
-fno-omit-frame-pointer, -O0 so every function keeps its frame), and a stripped
copy of one with its separate debug file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from stack_workloads import WORKLOADS, need


@pytest.fixture(scope="session")
def workloads(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("workloads")
    gcc = need("gcc")
    out = {}
    for name, src in WORKLOADS.items():
        c = d / f"{name}.c"
        c.write_text(src)
        exe = d / name
        subprocess.run([gcc, "-g", "-O0", "-fno-omit-frame-pointer", "-Wl,--build-id",
                        "-o", str(exe), str(c)], check=True)
        out[name] = exe
    return out


@pytest.fixture(scope="session")
def stripped_hot(workloads, tmp_path_factory) -> dict[str, Path]:
    """A stripped copy of ``hot`` with a .gnu_debuglink, and its debug file."""
    d = tmp_path_factory.mktemp("stripped")
    objcopy = need("objcopy")
    debug = d / "hot.debug"
    subprocess.run([objcopy, "--only-keep-debug", str(workloads["hot"]), str(debug)], check=True)
    exe = d / "hot"
    subprocess.run([objcopy, "--strip-all", f"--add-gnu-debuglink={debug}",
                    str(workloads["hot"]), str(exe)], check=True)
    return {"exe": exe, "debug": debug, "dir": d}
