"""Binaries the symbolizer tests resolve: a shared library with known functions,
built with gcc by the session, plus a stripped copy and its separate debug file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LIB_C = r"""
int symtest_alpha(int x) { return x * 3 + 1; }
int symtest_beta(int x) { return symtest_alpha(x) - 2; }
static int symtest_hidden(int x) { return x ^ 0x5a; }
int (*symtest_hidden_ptr)(int) = symtest_hidden;
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is needed (installed by tools/install-sysdeps.sh)")
    return path


@pytest.fixture(scope="session")
def symlib(tmp_path_factory) -> dict[str, Path]:
    """{'lib': full .so, 'stripped': stripped copy with a debuglink and the same
    build id, 'debug': the separate debug file}."""
    d = tmp_path_factory.mktemp("symlib")
    src = d / "symtest.c"
    src.write_text(LIB_C)
    lib = d / "libsymtest.so"
    subprocess.run([_tool("gcc"), "-g", "-O0", "-fno-omit-frame-pointer", "-shared", "-fPIC",
                    "-Wl,--build-id", "-o", str(lib), str(src)], check=True)
    debug = d / "libsymtest.so.debug"
    objcopy = _tool("objcopy")
    subprocess.run([objcopy, "--only-keep-debug", str(lib), str(debug)], check=True)
    sdir = d / "stripped"
    sdir.mkdir()
    stripped = sdir / "libsymtest.so"
    subprocess.run([objcopy, "--strip-all", "--add-gnu-debuglink=" + str(debug), str(lib),
                    str(stripped)], check=True)
    return {"lib": lib, "stripped": stripped, "debug": debug, "dir": d}
