"""Finding a C compiler that can target BPF.

Search order (``find_compiler(None)``): ``clang-NN`` / ``clang`` on ``PATH``
(highest version first), GCC's BPF target (``bpf-unknown-none-gcc``,
``bpf-gcc``), then the zig C compiler shipped by the ``ziglang`` PyPI package
(a declared dependency, so it is always there), then ``zig`` on ``PATH``.

>>> from ebpf.toolchain.find import find_compiler
>>> find_compiler("zig").kind
'zig'
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CompileError

log = logging.getLogger(__name__)

#: names tried for GCC's BPF back end
GCC_BPF_NAMES = ("bpf-unknown-none-gcc", "bpf-gcc", "bpf-none-gcc")
#: oldest clang whose BPF back end emits BTF and understands -mcpu=v3
MIN_CLANG = 10


@dataclass(frozen=True)
class Compiler:
    """A compiler able to produce BPF objects.

    ``kind`` is ``"clang"``, ``"gcc"`` or ``"zig"``; ``command`` is the argv
    prefix that runs it (for zig: ``[python, "-m", "ziglang", "cc"]``).
    """

    kind: str
    command: tuple[str, ...]
    version: int | None = None
    origin: str = field(default="", compare=False)

    def __str__(self) -> str:
        v = f" {self.version}" if self.version is not None else ""
        return f"{self.kind}{v} ({' '.join(self.command)})"


def _path_dirs() -> list[Path]:
    """PATH's directories, each once: a repeated entry, or one that is another's
    symlink (``/bin`` → ``/usr/bin`` on merged-/usr systems), is listed only the first
    time (each listing costs a directory read at every compile-cache lookup)."""
    out: list[Path] = []
    seen: set[str] = set()
    for p in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not p:
            continue
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            out.append(Path(p))
    return out


@functools.cache
def _clang_version(exe: str) -> int | None:
    """Major version of a clang binary, from ``--version`` (None if not clang)."""
    import subprocess

    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"clang version (\d+)", r.stdout)
    return int(m.group(1)) if m else None


_CLANG_NAME = re.compile(r"clang(?:-(\d+))?")


def _clang_candidates() -> list[Compiler]:
    """Every clang on PATH, highest version first (duplicates removed)."""
    found: dict[str, Compiler] = {}
    for d in _path_dirs():
        try:
            names = [n for n in os.listdir(d) if n.startswith("clang")]
        except OSError:
            continue
        for name in names:
            m = _CLANG_NAME.fullmatch(name)
            entry = d / name
            if not m or not os.access(entry, os.X_OK) or entry.is_dir():
                continue
            real = os.path.realpath(entry)
            if real in found:
                continue
            if m.group(1):
                version: int | None = int(m.group(1))
            else:
                version = _clang_version(str(entry))
                if version is None:
                    continue
            found[real] = Compiler("clang", (str(entry),), version, origin="PATH")
    ordered = sorted(found.values(), key=lambda c: -(c.version or 0))
    return [c for c in ordered if (c.version or 0) >= MIN_CLANG]


def _gcc_candidates() -> list[Compiler]:
    out = []
    for name in GCC_BPF_NAMES:
        exe = shutil.which(name)
        if exe:
            out.append(Compiler("gcc", (exe,), None, origin="PATH"))
    return out


def _zig_candidates() -> list[Compiler]:
    out = []
    if importlib.util.find_spec("ziglang") is not None:
        out.append(Compiler("zig", (sys.executable, "-m", "ziglang", "cc"), None,
                            origin="ziglang package"))
    exe = shutil.which("zig")
    if exe:
        out.append(Compiler("zig", (exe, "cc"), None, origin="PATH"))
    return out


def _from_path(cc: str) -> Compiler:
    """A compiler named by path or executable name; its kind guessed from the name."""
    exe = cc if os.sep in cc else shutil.which(cc)
    if exe is None or not os.access(exe, os.X_OK) or os.path.isdir(exe):
        raise CompileError(f"compiler {cc!r} not found or not executable")
    name = os.path.basename(exe)
    if name == "zig" or name.startswith("zig-"):
        return Compiler("zig", (exe, "cc"), None, origin="given")
    if "gcc" in name:
        return Compiler("gcc", (exe,), None, origin="given")
    version = _clang_version(exe)
    if version is None:
        raise CompileError(f"compiler {cc!r} is neither clang, gcc (BPF target) nor zig "
                           f"(its --version does not say clang)")
    return Compiler("clang", (exe,), version, origin="given")


def available_compilers() -> list[Compiler]:
    """Every BPF-capable compiler found, in the order :func:`find_compiler` prefers."""
    return [*_clang_candidates(), *_gcc_candidates(), *_zig_candidates()]


def find_compiler(cc: str | None = None) -> Compiler:
    """Pick a compiler.

    ``cc`` may be ``None`` (best available), ``"clang"``, ``"gcc"``, ``"zig"``,
    or a path / executable name such as ``"clang-17"`` or ``"/opt/llvm/bin/clang"``.
    Raises :class:`~ebpf.errors.CompileError` naming what was tried.
    """
    if cc is None:
        groups = [("clang / clang-NN on PATH", _clang_candidates),
                  (f"GCC BPF ({', '.join(GCC_BPF_NAMES)})", _gcc_candidates),
                  ("zig (python -m ziglang, zig on PATH)", _zig_candidates)]
    elif cc == "clang":
        groups = [("clang / clang-NN on PATH", _clang_candidates)]
    elif cc == "gcc":
        groups = [(f"GCC BPF ({', '.join(GCC_BPF_NAMES)})", _gcc_candidates)]
    elif cc == "zig":
        groups = [("zig (python -m ziglang, zig on PATH)", _zig_candidates)]
    else:
        return _from_path(cc)
    for _, finder in groups:
        found = finder()
        if found:
            log.debug("compiler: %s", found[0])
            return found[0]
    tried = "; ".join(label for label, _ in groups)
    raise CompileError(f"no C compiler for BPF found (tried: {tried}); {_INSTALL_HINT[cc]}")


#: what to install when the asked-for kind of compiler is missing
_INSTALL_HINT = {
    None: "install clang, GCC's BPF target (Debian: gcc-bpf) or the 'ziglang' Python package",
    "clang": f"install clang {MIN_CLANG} or later (Debian: clang), or choose --cc gcc|zig",
    "gcc": "install GCC's BPF target (Debian: gcc-bpf, which provides bpf-unknown-none-gcc), "
           "or choose --cc clang|zig",
    "zig": "install the 'ziglang' Python package (pip install ziglang) or put zig on PATH, "
           "or choose --cc clang|gcc",
}


__all__ = ["Compiler", "available_compilers", "find_compiler"]
