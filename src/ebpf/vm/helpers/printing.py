"""bpf_printk and friends: trace output, snprintf, the attach cookie and function ip."""

from __future__ import annotations

import collections
import errno
import logging
import re

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..memory import M64
from ..run import Run
from .table import helper, neg

trace_log = logging.getLogger("ebpf.vm.trace")

#: the last trace_printk lines of every program (``ebpf trace`` on the vm reads it)
TRACE: collections.deque[str] = collections.deque(maxlen=10_000)


# ---- printing -------------------------------------------------------------------
_SPEC = re.compile(rb"%([-+ #0]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXpcs%])(K|s|x|S|B)?")


def format_printk(run: Run, fmt: bytes, args: list[int], limit: int = 3) -> str:
    """Format like the kernel's bpf_trace_printk/bpf_snprintf: %d %i %u %x %X
    %ld %lld %lu %llx %p %s %c %% with flags and width."""
    out = []
    pos = 0
    used = 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()].decode(errors="replace"))
        pos = m.end()
        flags, width, prec, length, conv, ext = (g.decode() if g else "" for g in m.groups())
        if conv == "%":
            out.append("%")
            continue
        if used >= len(args) or used >= limit:
            raise RuntimeFault(f"format {fmt!r} uses more arguments than given")
        arg = args[used] & M64
        used += 1
        if conv == "p":
            text = f"{arg:016x}" if ext == "x" else f"0x{arg:x}"
        elif conv == "s":
            region = run.mem.find(arg, 1)
            # an unreadable string prints as empty, as in the kernel
            text = run.mem.read_str(arg, 1024).decode(errors="replace") if region else ""
        elif conv == "c":
            text = chr(arg & 0xFF)
        else:
            bits = 64 if length in ("l", "ll", "z") else 16 if length == "h" else \
                8 if length == "hh" else 32
            v = arg & ((1 << bits) - 1)
            if conv in "di" and v >> (bits - 1):
                v -= 1 << bits
            base = {"x": "x", "X": "X"}.get(conv, "d")
            text = format(v, ("#" if "#" in flags else "") + base)
        if width:
            w = int(width)
            if "-" in flags:
                text = text.ljust(w)
            elif "0" in flags and conv not in "sc":
                sign = "-" if text.startswith("-") else ""
                text = sign + text[len(sign):].rjust(w - len(sign), "0")
            else:
                text = text.rjust(w)
        out.append(text)
    out.append(fmt[pos:].decode(errors="replace"))
    return "".join(out)


def _trace(run: Run, text: str) -> int:
    """``text`` as a line of the trace (the run's, the process's, the log): what
    bpf_trace_printk and bpf_trace_vprintk return, its length."""
    name = getattr(run.program, "name", "?")
    line = text.rstrip("\n")
    run.trace.append(line)
    TRACE.append(f"{name}: {line}")
    trace_log.info("%s: %s", name, line)
    return len(text.encode())


def _bad_args_len(data_len: int) -> bool:
    """Whether bpf_snprintf and bpf_trace_vprintk refuse ``data_len`` bytes of
    packed u64 arguments (12 at most)."""
    return bool(data_len % 8) or data_len > 8 * 12


def _packed_args(run: Run, data: int, data_len: int) -> list[int]:
    return [int.from_bytes(run.mem.read(data + 8 * i, 8), "little") for i in range(data_len // 8)]


@helper(H.trace_printk)
def trace_printk(run: Run, fmt, fmt_size, a1, a2, a3):
    raw = run.mem.read(fmt, fmt_size)
    raw = raw.split(b"\0", 1)[0]
    return _trace(run, format_printk(run, raw, [a1, a2, a3]))


@helper(H.snprintf)
def bpf_snprintf(run: Run, out, out_size, fmt, data, data_len):
    if _bad_args_len(data_len):
        return neg(errno.EINVAL)
    raw = run.mem.read_str(fmt, 4096)
    args = _packed_args(run, data, data_len)
    text = format_printk(run, raw, args, limit=12).encode()
    if out_size:
        chunk = text[:out_size - 1] + b"\0"
        run.mem.write(out, chunk)
    return len(text) + 1


@helper(H.get_attach_cookie)
def get_attach_cookie(run: Run, *_):
    return 0


@helper(H.get_func_ip)
def get_func_ip(run: Run, *_):
    return 0


@helper(H.trace_vprintk)
def trace_vprintk(run: Run, fmt, fmt_size, data, data_len, *_):
    if _bad_args_len(data_len):
        return neg(errno.EINVAL)
    raw = run.mem.read(fmt, fmt_size).split(b"\0", 1)[0]
    args = _packed_args(run, data, data_len)
    return _trace(run, format_printk(run, raw, args, limit=12))


# ---- BTF-typed printing ---------------------------------------------------------------
#: sizeof(struct btf_ptr): {void *ptr; __u32 type_id; __u32 flags}
BTF_PTR_SIZE = 16


def btf_text(run: Run, ptr: int, btf_ptr_size: int, flags: int) -> str | int:
    """The text ``bpf_snprintf_btf``/``bpf_seq_printf_btf`` make of the object a
    ``struct btf_ptr`` describes, through the running kernel's BTF; or -errno."""
    from ..btfshow import ALL_FLAGS, show, type_size

    if flags & ~ALL_FLAGS or btf_ptr_size & 0xFFFF_FFFF != BTF_PTR_SIZE:
        return -errno.EINVAL
    obj = int.from_bytes(run.mem.read(ptr, 8), "little")
    type_id = int.from_bytes(run.mem.read(ptr + 8, 4), "little", signed=True)
    try:
        from ...btf import load_kernel_btf

        btf = load_kernel_btf()
    except Exception:  # noqa: BLE001 - no kernel BTF: the kernel's -EINVAL
        return -errno.EINVAL
    if type_id <= 0:
        return -errno.EINVAL
    try:
        t = btf[type_id]
    except (KeyError, IndexError, ValueError):
        return -errno.ENOENT
    size = type_size(t)
    if size and run.mem.find(obj, size) is None:
        return -errno.EFAULT
    return show(t, run.mem.read(obj, size) if size else b"", flags)


@helper(H.snprintf_btf)
def snprintf_btf(run: Run, out, out_size, ptr, btf_ptr_size, flags):
    """As snprintf: the text's length (without its NUL), ``out`` filled up to its size."""
    text = btf_text(run, ptr, btf_ptr_size, flags)
    if isinstance(text, int):
        return neg(-text)
    raw = text.encode()
    out_size &= 0xFFFF_FFFF
    if out_size:
        run.mem.write(out, raw[:out_size - 1] + b"\0")
    return len(raw)
