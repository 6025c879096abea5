"""Test helpers: llvm-objdump / llvm-mc as ground truth, and a minimal ELF
section reader (independent of ebpf.elf, so ISA tests check the ISA only)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

LLVM19_BIN = Path("/usr/lib/llvm-19/bin")
OBJDUMP19 = str(LLVM19_BIN / "llvm-objdump") if (LLVM19_BIN / "llvm-objdump").exists() else None
MC19 = str(LLVM19_BIN / "llvm-mc") if (LLVM19_BIN / "llvm-mc").exists() else None
OBJDUMP14 = "/usr/bin/llvm-objdump" if Path("/usr/bin/llvm-objdump").exists() else shutil.which("llvm-objdump-14")

_ANNOT = re.compile(r" <[^<>\s]*>$")
_LINE = re.compile(r"^\s*(\d+):\t(.*)$")


def strip_annotation(text: str) -> str:
    return _ANNOT.sub("", text.strip())


def executable_sections(path: Path) -> dict[str, bytes]:
    """Name -> bytes of every SHF_EXECINSTR section of an ELF64 little-endian object."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    heads = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = heads[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for name_off, sh_type, flags, _addr, off, size, *_ in heads:
        if sh_type == 1 and flags & 0x4 and size:
            name = names[name_off:names.index(b"\0", name_off)].decode()
            out[name] = data[off:off + size]
    return out


def objdump_sections(path: Path, tool: str, *extra: str) -> dict[str, dict[int, str]]:
    """Section -> {slot: instruction text (annotation stripped)} from llvm-objdump."""
    r = subprocess.run([tool, "-d", "--no-show-raw-insn", *extra, str(path)],
                       capture_output=True, text=True, check=True)
    out: dict[str, dict[int, str]] = {}
    cur = None
    for line in r.stdout.splitlines():
        if line.startswith("Disassembly of section "):
            cur = out.setdefault(line[len("Disassembly of section "):].rstrip(":"), {})
            continue
        m = _LINE.match(line)
        if m and cur is not None:
            cur[int(m.group(1))] = strip_annotation(m.group(2))
    return out


def objdump_raw(raw: bytes, tool: str | None = None, *extra: str) -> list[str]:
    """Disassemble raw instruction bytes with llvm-objdump (via an object llvm-mc builds)."""
    tool = tool or OBJDUMP19
    with tempfile.TemporaryDirectory() as d:
        s = os.path.join(d, "a.s")
        o = os.path.join(d, "a.o")
        with open(s, "w") as f:
            f.write(".text\n")
            for i in range(0, len(raw), 8):
                f.write(".byte " + ",".join(str(b) for b in raw[i:i + 8]) + "\n")
        subprocess.run([MC19, "-triple=bpfel", "-filetype=obj", s, "-o", o], check=True)
        path = Path(o)
        sections = objdump_sections(path, tool, *extra)
    text = sections.get(".text", {})
    return [text[k] for k in sorted(text)]
