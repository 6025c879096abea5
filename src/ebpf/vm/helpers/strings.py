"""String helpers and the string kfuncs (Linux 6.17+), with the kernel's limits."""

from __future__ import annotations

import errno
from collections.abc import Callable

from ...uapi import HelperId as H
from ..memory import M64
from ..run import Run
from .probe import USER_HALF_END
from .table import helper, kfunc, neg


def _strto(run: Run, buf: int, buf_len: int, flags: int, res: int, signed: bool) -> int:
    if flags & ~0x1F or flags not in (0, 8, 10, 16) or buf_len == 0:
        return neg(errno.EINVAL)
    raw = run.mem.read(buf, buf_len).split(b"\0", 1)[0].decode("latin-1")
    i = 0
    while i < len(raw) and raw[i].isspace():
        i += 1
    negative = False
    if i < len(raw) and raw[i] == "-":
        if not signed:
            return neg(errno.EINVAL)
        negative = True
        i += 1
    base = flags
    if base in (0, 16) and raw[i:i + 2].lower() == "0x" and i + 2 < len(raw) and \
            raw[i + 2] in "0123456789abcdefABCDEF":
        base, i = 16, i + 2
    elif base == 0 and raw[i:i + 1] == "0":
        base = 8
    elif base == 0:
        base = 10
    digits = "0123456789abcdef"[:base]
    start = i
    while i < len(raw) and raw[i].lower() in digits:
        i += 1
    if i == start:
        return neg(errno.EINVAL)
    value = int(raw[start:i], base)
    if signed:
        if (negative and value > 1 << 63) or (not negative and value >= 1 << 63):
            return neg(errno.ERANGE)
        value = -value if negative else value
    elif value >= 1 << 64:
        return neg(errno.ERANGE)
    run.mem.store(res, 8, value & M64)
    return i


@helper(H.strtol)
def strtol(run: Run, buf, buf_len, flags, res, *_):
    return _strto(run, buf, buf_len, flags, res, True)


@helper(H.strtoul)
def strtoul(run: Run, buf, buf_len, flags, res, *_):
    return _strto(run, buf, buf_len, flags, res, False)


@helper(H.strncmp)
def strncmp(run: Run, s1, s1_sz, s2, *_):
    a = run.mem.read_str(s1, s1_sz)
    b = run.mem.read_str(s2, s1_sz)
    for x, y in zip(a + b"\0", b + b"\0", strict=False):
        if x != y:
            return neg(1) if x < y else 1
        if x == 0:
            break
    return 0


# ---- string kfuncs (Linux 6.17+): the kernel's loops, limits and errors -----------------
#: XATTR_SIZE_MAX: the longest string the string kfuncs walk
STR_MAX = 65536


class _StrFault(Exception):
    pass


def _kchar(run: Run, addr: int) -> int:
    """The char at ``addr`` (unsigned: the kernel builds with -funsigned-char),
    or _StrFault."""
    r = run.mem.find(addr & M64, 1)
    if r is None:
        raise _StrFault
    return r.buf[(addr & M64) - r.delta]


def _kstr(fn: Callable[..., int]) -> Callable[..., int]:
    """Wrap a string kfunc: pointers below the kernel half are -ERANGE (the
    kernel refuses user addresses before reading); a fault while reading is
    -EFAULT."""
    def wrapped(run: Run, *args):
        try:
            return fn(run, *args) & M64
        except _StrFault:
            return neg(errno.EFAULT)
    wrapped.__name__ = fn.__name__
    return wrapped


def _str_ptrs_ok(run: Run, *ptrs: int) -> bool:
    return all(run.mem.find(p, 1) is not None or p >= USER_HALF_END for p in ptrs)


def _strnlen(run: Run, s: int, count: int) -> int:
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    i = 0
    while i < count and i < STR_MAX:
        if _kchar(run, s + i) == 0:
            return i
        i += 1
    return -errno.E2BIG if i == STR_MAX else i


def _strcmp(run: Run, a: int, b: int, fold: bool) -> int:
    if not _str_ptrs_ok(run, a, b):
        return -errno.ERANGE
    for i in range(STR_MAX):
        c1, c2 = _kchar(run, a + i), _kchar(run, b + i)
        if fold:
            c1 = c1 + 32 if 65 <= c1 <= 90 else c1
            c2 = c2 + 32 if 65 <= c2 <= 90 else c2
        if c1 != c2:
            return -1 if c1 < c2 else 1
        if c1 == 0:
            return 0
    return -errno.E2BIG


def _strnchr(run: Run, s: int, count: int, c: int) -> int:
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    c = _s8(c)
    i = 0
    while i < count and i < STR_MAX:
        sc = _kchar(run, s + i)
        if sc == c:
            return i
        if sc == 0:
            return -errno.ENOENT
        i += 1
    return -errno.E2BIG if i == STR_MAX else -errno.ENOENT


def _s8(x: int) -> int:
    """A ``char`` argument (unsigned in the kernel)."""
    return x & 0xFF


def _strnstr(run: Run, s1: int, s2: int, length: int) -> int:
    if not _str_ptrs_ok(run, s1, s2):
        return -errno.ERANGE
    for i in range(STR_MAX):
        j = 0
        while i + j <= length and j < STR_MAX:
            c2 = _kchar(run, s2 + j)
            if c2 == 0:
                return i
            if i + j == length:
                return -errno.ENOENT
            c1 = _kchar(run, s1 + i + j)
            if c1 == 0:
                return -errno.ENOENT
            if c1 != c2:
                break
            j += 1
        if j == STR_MAX:
            return -errno.E2BIG
        if i + j == length:
            return -errno.ENOENT
    return -errno.E2BIG


kfunc("bpf_strlen")(_kstr(lambda run, s, *_: _strnlen(run, s, STR_MAX)))
kfunc("bpf_strnlen")(_kstr(lambda run, s, count, *_: _strnlen(run, s, count)))
kfunc("bpf_strcmp")(_kstr(lambda run, a, b, *_: _strcmp(run, a, b, False)))
kfunc("bpf_strcasecmp")(_kstr(lambda run, a, b, *_: _strcmp(run, a, b, True)))
kfunc("bpf_strchr")(_kstr(lambda run, s, c, *_: _strnchr(run, s, STR_MAX, c)))
kfunc("bpf_strnchr")(_kstr(lambda run, s, count, c, *_: _strnchr(run, s, count, c)))
kfunc("bpf_strstr")(_kstr(lambda run, a, b, *_: _strnstr(run, a, b, STR_MAX)))
kfunc("bpf_strnstr")(_kstr(lambda run, a, b, n, *_: _strnstr(run, a, b, n)))


@kfunc("bpf_strrchr")
@_kstr
def strrchr(run: Run, s, c, *_):
    if not _str_ptrs_ok(run, s):
        return -errno.ERANGE
    c, last = _s8(c), -errno.ENOENT
    for i in range(STR_MAX):
        sc = _kchar(run, s + i)
        if sc == c:
            last = i
        if sc == 0:
            return last
    return -errno.E2BIG
