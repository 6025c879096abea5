"""Fixed-width integers: masks and sign extension.

>>> s32(0xFFFF_FFFF), s64(1 << 63) == -(1 << 63), u64(-1) == M64
(-1, True, True)
"""

from __future__ import annotations

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1


def sext(x: int, bits: int) -> int:
    """The low ``bits`` of ``x`` read as a signed number."""
    x &= (1 << bits) - 1
    return x - (1 << bits) if x >> (bits - 1) else x


def s8(x: int) -> int:
    return sext(x, 8)


def s16(x: int) -> int:
    return sext(x, 16)


def s32(x: int) -> int:
    x &= M32
    return x - (1 << 32) if x >> 31 else x


def s64(x: int) -> int:
    x &= M64
    return x - (1 << 64) if x >> 63 else x


def u32(x: int) -> int:
    return x & M32


def u64(x: int) -> int:
    return x & M64
