"""Iterator output: ``bpf_seq_write`` and ``bpf_seq_printf`` into the runtime's
seq_file (:class:`ebpf.vm.seqfile.SeqFile`), with the kernel's errors: ``-EOVERFLOW``
once the buffer is full, ``-EINVAL`` for a format not NUL-terminated within its
size or arguments that are not whole u64s (at most 12)."""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..run import Run
from .printing import format_printk
from .table import helper, neg

#: MAX_BPF_FUNC_VARARGS
MAX_VARARGS = 12


def _seq(run: Run, addr: int, what: str):
    from ..seqfile import SEQ_HANDLES

    seq = SEQ_HANDLES.get(addr)
    if seq is None:
        raise RuntimeFault(f"{what}: {addr:#x} is not a seq_file (run iterator programs with "
                           "an ebpf.vm.seqfile.SeqFile's meta in their context)")
    return seq


@helper(H.seq_write)
def seq_write(run: Run, seq, data, length, *_):
    s = _seq(run, seq, "bpf_seq_write")
    return neg(errno.EOVERFLOW) if s.write(run.mem.read(data, length & 0xFFFF_FFFF)) else 0


@helper(H.seq_printf)
def seq_printf(run: Run, seq, fmt, fmt_size, data, data_len):
    s = _seq(run, seq, "bpf_seq_printf")
    fmt_size &= 0xFFFF_FFFF
    data_len &= 0xFFFF_FFFF
    if data_len & 7 or data_len > MAX_VARARGS * 8 or (data_len and not data):
        return neg(errno.EINVAL)
    raw = run.mem.read(fmt, fmt_size)
    if not raw or b"\0" not in raw:
        return neg(errno.EINVAL)
    args = [int.from_bytes(run.mem.read(data + 8 * i, 8), "little")
            for i in range(data_len // 8)]
    text = format_printk(run, raw.split(b"\0", 1)[0], args, limit=MAX_VARARGS).encode()
    s.write(text)
    return neg(errno.EOVERFLOW) if s.overflowed else 0


@helper(H.seq_printf_btf)
def seq_printf_btf(run: Run, seq, ptr, btf_ptr_size, flags, *_):
    from .printing import btf_text

    s = _seq(run, seq, "bpf_seq_printf_btf")
    text = btf_text(run, ptr, btf_ptr_size, flags)
    if isinstance(text, int):
        return neg(-text)
    s.write(text.encode())
    return neg(errno.EOVERFLOW) if s.overflowed else 0
