"""``ebpf asm FILE [-o OUT] [--format raw|hex|disasm|json]`` — assemble eBPF text.

FILE holds LLVM-syntax or conformance-suite-syntax assembly (``-`` reads stdin).
With ``-o`` the encoded program is written there (raw bytes unless ``--format``
says otherwise); without it, hex is printed (one 8-byte slot a line, the form
the conformance plugin reads). ``--format disasm`` prints the program back in
llvm-objdump syntax. ``-d`` goes the other way: FILE holds raw bytes (or hex
text) and its disassembly is printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from ..errors import InstructionError
from . import read_input

log = logging.getLogger(__name__)

FORMATS = ("raw", "hex", "disasm", "json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "asm",
        help="assemble eBPF text (LLVM or conformance syntax) to bytecode",
        description="Assemble eBPF instructions written in LLVM syntax (as llvm-objdump "
                    "prints them) or in the conformance suite's syntax (mov32 %%r0, 1 ...). "
                    "Writes raw bytecode with -o, prints hex otherwise.",
    )
    p.add_argument("file", help="assembly source (or, with -d, raw/hex bytecode); - for stdin")
    p.add_argument("-o", "--output", help="write the result to this file")
    p.add_argument("-f", "--format", choices=FORMATS,
                   help="output format (default: raw with -o, hex on stdout; disasm with -d)")
    p.add_argument("-d", "--disassemble", action="store_true",
                   help="read bytecode (binary, or hex text) and print its disassembly")
    p.add_argument("--decimal", action="store_true",
                   help="disassembly with decimal numbers (llvm-objdump --no-print-imm-hex)")
    p.add_argument("--alu32", action="store_true",
                   help="disassembly with w registers for 32-bit loads/stores "
                        "(llvm-objdump --mattr=+alu32)")
    p.add_argument("--kernel", action="store_true",
                   help="disassembly in the kernel verifier's syntax ('0: (b7) r0 = 1')")
    p.set_defaults(func=run)


_HEX_TEXT = re.compile(rb"^[\s0-9a-fA-Fx,]*$")


def _bytecode(data: bytes, name: str) -> bytes:
    """Raw bytes, or hex text (``b7 00 ...``, ``0x...`` 64-bit words, or one run)."""
    if data and _HEX_TEXT.match(data) and not data.startswith(b"\x7fELF"):
        text = data.decode()
        tokens = text.replace(",", " ").split()
        if tokens and all(t.lower().startswith("0x") and len(t) == 18 for t in tokens):
            return b"".join(int(t, 16).to_bytes(8, "little") for t in tokens)  # conformance -- raw
        digits = "".join(t[2:] if t.lower().startswith("0x") else t for t in tokens)
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise InstructionError(f"{name}: not valid hex bytecode") from None
    if data.startswith(b"\x7fELF"):
        raise InstructionError(f"{name} is an ELF object; use 'ebpf disasm' for objects")
    return data


def _render(insns, fmt: str, args: argparse.Namespace) -> bytes:
    from ..isa import disassemble, encode

    raw = encode(insns)
    if fmt == "raw":
        return raw
    if fmt == "hex":
        lines = [" ".join(f"{b:02x}" for b in raw[i:i + 8]) for i in range(0, len(raw), 8)]
        return ("\n".join(lines) + "\n").encode()
    text = disassemble(insns, hex=not args.decimal, alu32=args.alu32,
                       style="kernel" if args.kernel else "llvm")
    if fmt == "disasm":
        return (text + "\n").encode() if text else b""
    return (json.dumps({"instructions": len(insns), "slots": len(raw) // 8, "hex": raw.hex(),
                        "text": text.splitlines()}) + "\n").encode()


def run(args: argparse.Namespace) -> int:
    from ..isa import assemble, decode

    data = read_input(args.file, lambda e: InstructionError(f"cannot read {args.file}: "
                                                            f"{e.strerror}"))
    name = "<stdin>" if args.file == "-" else args.file
    if args.disassemble:
        insns = decode(_bytecode(data, name))
        fmt = args.format or "disasm"
    else:
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise InstructionError(f"{name} is not text (use -d to disassemble bytecode)") from None
        try:
            insns = assemble(text)
        except InstructionError as e:
            where = f"{name}:{e.line}" if e.line is not None else name
            raise InstructionError(f"{where}: {e.reason}") from None
        fmt = args.format or ("raw" if args.output else "hex")
    out = _render(insns, fmt, args)
    if args.output:
        Path(args.output).write_bytes(out)
        log.info("wrote %d bytes to %s", len(out), args.output)
    elif fmt == "raw":
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(out.decode())
    return 0
