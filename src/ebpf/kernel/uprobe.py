"""Where a uprobe goes: binaries and libraries by name, ELF symbols to file
offsets, USDT notes.

The kernel's uprobe PMU wants a path and a *file offset*. A symbol's value is a
virtual address; the program headers say which file offset is mapped there.
Versioned dynamic symbols (``getpid@@GLIBC_2.2.5``, ``memcpy@GLIBC_2.2.5``) are
matched through ``.gnu.version``/``.gnu.version_d``.

>>> from ebpf.kernel import uprobe
>>> libc = uprobe.resolve_binary("c")
>>> uprobe.symbol_offset(libc, "getpid") == uprobe.symbol_offset(libc, "getpid@@GLIBC_2.2.5")
True
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess

from ..elf.host import (  # noqa: F401  (re-exported: attach.py and tests use them here)
    ET_DYN,
    ET_EXEC,
    PF_X,
    PT_LOAD,
    SHN_UNDEF,
    STT_FUNC,
    STT_GNU_IFUNC,
    HostELF,
    Segment,
    USDTProbe,
)
from ..elf.host import HostSection as Section  # noqa: F401
from ..elf.host import HostSymbol as Symbol  # noqa: F401
from ..errors import AttachError

log = logging.getLogger("ebpf.kernel.uprobe")

LIB_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")


class ELFFile(HostELF):
    """The host ELF reader, raising :class:`AttachError` (what a uprobe caller expects)."""

    error_type = AttachError


@functools.lru_cache(maxsize=32)
def _elf(path: str, mtime: float) -> ELFFile:  # mtime keys the cache on file changes
    return ELFFile(path)


def open_elf(path: str) -> ELFFile:
    """A cached :class:`ELFFile` for ``path``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise AttachError(f"no such file: {path}") from None
    return _elf(os.path.realpath(path), st.st_mtime)


_SYM_RE = re.compile(r"^(?P<name>[^@+]+)(?:(?P<at>@@?)(?P<ver>[^+]+))?(?:\+(?P<off>0x[0-9a-fA-F]+|\d+))?$")


def symbol_offset(path: str, symbol: str) -> int:
    """File offset (for a uprobe) of function ``symbol`` in ELF file ``path``.

    ``symbol`` may carry a version (``getpid@@GLIBC_2.2.5`` or ``getpid@GLIBC_2.2.5``)
    and an offset (``main+0x10``). Without a version, the default (``@@``) version
    wins when a library defines several.
    """
    m = _SYM_RE.match(symbol.strip())
    if not m:
        raise AttachError(f"bad symbol {symbol!r} (expected name, name@VERSION or name+0xOFF)")
    name, ver, extra = m.group("name"), m.group("ver") or "", m.group("off")
    add = int(extra, 0) if extra else 0
    elf = open_elf(path)
    candidates = [s for s in elf.symbols() if s.name == name and s.shndx != SHN_UNDEF
                  and s.value != 0]
    if ver:
        candidates = [s for s in candidates if s.version == ver]
    if not candidates:
        known = sorted({s.name for s in elf.symbols() if s.type in (STT_FUNC, STT_GNU_IFUNC)
                        and s.shndx != SHN_UNDEF and name in s.name})[:5]
        hint = f" (similar: {', '.join(known)})" if known else ""
        raise AttachError(f"no symbol {name}{'@' + ver if ver else ''} in {path}{hint}")
    funcs = [s for s in candidates if s.type in (STT_FUNC, STT_GNU_IFUNC)] or candidates
    funcs.sort(key=lambda s: (s.table != ".symtab", not s.default_version))
    sym = funcs[0]
    if sym.type == STT_GNU_IFUNC:
        log.warning("%s in %s is an IFUNC resolver: the probe fires when the resolver runs, "
                    "not the resolved implementation", name, path)
    values = {s.value for s in funcs if s.default_version == sym.default_version}
    if len(values) > 1 and not ver:
        log.debug("%s has several addresses in %s; using %#x", name, path, sym.value)
    return elf.vaddr_to_offset(sym.value) + add


def usdt_probes(path: str) -> list[USDTProbe]:
    """The USDT probes (``.note.stapsdt``) of ELF file ``path``."""
    return open_elf(path).usdt_probes()


def find_usdt(path: str, provider: str, name: str) -> list[USDTProbe]:
    """The USDT probes named ``provider:name`` in ``path`` (one per call site)."""
    found = [p for p in usdt_probes(path) if p.provider == provider and p.name == name]
    if not found:
        have = sorted({f"{p.provider}:{p.name}" for p in usdt_probes(path)})[:10]
        raise AttachError(f"no USDT probe {provider}:{name} in {path}"
                          + (f" (it has: {', '.join(have)})" if have else " (it has none)"))
    return found


@functools.cache
def _ldconfig() -> dict[str, str]:
    exe = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None)
    out: dict[str, str] = {}
    if exe is None:
        return out
    try:
        text = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return out
    for line in text.splitlines()[1:]:
        if "=>" not in line:
            continue
        left, path = line.split("=>", 1)
        soname = left.strip().split(" ", 1)[0]
        if "x86-64" in left or "AArch64" in left or "64bit" in left or soname not in out:
            out.setdefault(soname, path.strip())
    return out


def _lib_from_maps(pid: int, stem: str) -> str | None:
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith("/"):
                    base = os.path.basename(parts[5])
                    if base == stem or base.startswith(stem + ".") or base.startswith(stem + "-"):
                        return parts[5]
    except OSError:
        return None
    return None


def resolve_binary(name: str, pid: int | None = None) -> str:
    """A path for a uprobe target: a path as is; ``"c"``/``"libc"``/``"libc.so.6"``
    through the libraries ``pid`` maps, ldconfig -p, then the standard lib dirs; a
    program name through $PATH."""
    if not name:
        raise AttachError("uprobe needs binary= (a path, a library name such as 'c' or "
                          "'libc.so.6', or a program on $PATH)")
    if "/" in name:
        if not os.path.exists(name):
            raise AttachError(f"uprobe target {name} does not exist")
        return os.path.abspath(name)
    stem = name
    if not stem.startswith("lib") and (".so" not in stem):
        libstem = "lib" + stem
    else:
        libstem = stem
    libstem_noso = libstem.split(".so")[0]
    if pid is not None:
        hit = _lib_from_maps(pid, libstem_noso + ".so") or _lib_from_maps(pid, libstem_noso)
        if hit:
            return hit
    cache = _ldconfig()
    if libstem in cache:
        return cache[libstem]
    for soname, path in sorted(cache.items()):
        if soname.startswith(libstem_noso + ".so"):
            return path
    for d in LIB_DIRS:
        for cand in (libstem, libstem_noso + ".so", libstem_noso + ".so.6"):
            p = os.path.join(d, cand)
            if os.path.exists(p):
                return p
    exe = shutil.which(name)
    if exe:
        return exe
    raise AttachError(f"cannot find binary or library {name!r} (not in ldconfig -p, "
                      f"{', '.join(LIB_DIRS[:4])}..., or $PATH)")


def parse_target(target: str) -> tuple[str, str]:
    """Split a section's uprobe target ``/path/bin:symbol`` (or ``libc.so.6:getpid``)."""
    if ":" not in target:
        return target, ""
    binary, _, sym = target.rpartition(":")
    return binary, sym
