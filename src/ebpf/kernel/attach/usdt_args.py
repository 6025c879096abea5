"""USDT argument specs: the ``-4@%edi 8@-16(%rbp)`` strings of a USDT note, parsed
and packed as ``struct __bpf_usdt_spec`` for programs built on <bpf/usdt.bpf.h>."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from ...errors import AttachError

USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF = 0, 1, 2
USDT_MAX_ARGS = 12

# x86-64 struct pt_regs: byte offset of each register, by every name it goes by
_X86_REGS = {
    "r15": 0, "r14": 8, "r13": 16, "r12": 24, "bp": 32, "bx": 40, "r11": 48, "r10": 56,
    "r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112, "ip": 128,
    "sp": 152,
}
_X86_ALIASES: dict[str, str] = {}
for _base in ("ax", "bx", "cx", "dx"):
    _X86_ALIASES.update({"r" + _base: _base, "e" + _base: _base, _base: _base,
                         _base[0] + "l": _base})  # %ah & co (bits 8-15) are not supported
for _base in ("si", "di", "bp", "sp"):
    _X86_ALIASES.update({"r" + _base: _base, "e" + _base: _base, _base: _base,
                         _base + "l": _base})
for _n in range(8, 16):
    for _suffix in ("", "d", "w", "b"):
        _X86_ALIASES[f"r{_n}{_suffix}"] = f"r{_n}"
_X86_ALIASES["rip"] = "ip"

_ARG_RE = re.compile(r"^(?P<size>-?\d+)@(?P<loc>.+)$")
_DEREF_RE = re.compile(r"^(?P<off>-?(?:0x[0-9a-fA-F]+|\d+))?\(%(?P<reg>[a-z0-9]+)\)$")


@dataclass(frozen=True)
class USDTArg:
    """Where one USDT argument lives, as <bpf/usdt.bpf.h> wants it."""

    kind: int  # USDT_ARG_CONST / USDT_ARG_REG / USDT_ARG_REG_DEREF
    size: int  # bytes (1, 2, 4, 8)
    signed: bool
    val_off: int = 0  # the constant, or the offset added to the register
    reg_off: int = 0  # offset of the register in struct pt_regs

    def pack(self) -> bytes:
        """struct __bpf_usdt_arg_spec (16 bytes)."""
        return struct.pack("<QIhbb", self.val_off & 0xFFFFFFFFFFFFFFFF, self.kind,
                           self.reg_off, int(self.signed), 64 - 8 * self.size)


def _x86_reg(name: str, where: str) -> int:
    base = _X86_ALIASES.get(name)
    if base is None:
        raise AttachError(f"USDT argument {where}: unknown x86-64 register %{name}")
    return _X86_REGS[base]


def parse_usdt_args(args: str) -> list[USDTArg]:
    """Parse a ``.note.stapsdt`` argument string (x86-64 syntax), such as
    ``"-4@%edi 8@-16(%rbp) 4@$5"``.

    >>> [a.kind for a in parse_usdt_args("-4@%edi 8@-16(%rbp) 4@$5")]
    [1, 2, 0]
    """
    import platform

    if platform.machine() not in ("x86_64", "amd64"):
        raise AttachError(f"USDT argument specs are only understood on x86-64, not "
                          f"{platform.machine()}")
    out: list[USDTArg] = []
    for token in args.split():
        m = _ARG_RE.match(token)
        if not m:
            raise AttachError(f"USDT argument {token!r}: expected SIZE@LOCATION")
        size, loc = int(m.group("size")), m.group("loc")
        if abs(size) not in (1, 2, 4, 8):
            raise AttachError(f"USDT argument {token!r}: size {size} is not 1, 2, 4 or 8")
        signed = size < 0
        if loc.startswith("$"):
            try:
                value = int(loc[1:], 0)
            except ValueError:
                raise AttachError(f"USDT argument {token!r}: constant is not a number") from None
            out.append(USDTArg(USDT_ARG_CONST, abs(size), signed, val_off=value))
        elif loc.startswith("%"):
            out.append(USDTArg(USDT_ARG_REG, abs(size), signed,
                               reg_off=_x86_reg(loc[1:], token)))
        else:
            d = _DEREF_RE.match(loc)
            if not d:
                raise AttachError(f"USDT argument {token!r}: location {loc!r} is not supported "
                                  "(constants, registers and offset(%register) are)")
            reg = d.group("reg")
            if _X86_ALIASES.get(reg) == "ip":
                raise AttachError(f"USDT argument {token!r}: %rip-relative operands are not "
                                  "supported")
            out.append(USDTArg(USDT_ARG_REG_DEREF, abs(size), signed,
                               val_off=int(d.group("off") or "0", 0),
                               reg_off=_x86_reg(reg, token)))
    if len(out) > USDT_MAX_ARGS:
        raise AttachError(f"USDT probe has {len(out)} arguments; at most {USDT_MAX_ARGS}")
    return out


def pack_usdt_spec(args: list[USDTArg], usdt_cookie: int = 0) -> bytes:
    """struct __bpf_usdt_spec: 12 argument specs, the user's cookie, the count."""
    body = b"".join(a.pack() for a in args) + b"\0" * 16 * (USDT_MAX_ARGS - len(args))
    return body + struct.pack("<Qh6x", usdt_cookie & 0xFFFFFFFFFFFFFFFF, len(args))
