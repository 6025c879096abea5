"""What loader programs (``SEC("syscall")``) look up in the running kernel:
``bpf_btf_find_by_name_kind`` (a type id in the kernel's BTF) and
``bpf_kallsyms_lookup_name`` (a symbol's address in /proc/kallsyms), with the
kernel's checks: flags must be 0 and the name NUL-terminated within its size
(``-EINVAL``), an unknown name is ``-ENOENT`` (the address written as 0). Types
only a kernel module's BTF has are not searched (the kernel would return the
id with a new fd of that module's BTF in the upper 32 bits)."""

from __future__ import annotations

import errno

from ..._internal.ints import s32
from ...uapi import HelperId as H
from ..run import Run
from .table import helper, neg


def _name(run: Run, name: int, size: int, flags: int) -> str | None:
    """The name the program passed, or None where the kernel says -EINVAL
    (flags set, the name empty or not NUL-terminated within ``size``)."""
    size = s32(size)
    if s32(flags) or size <= 1:
        return None
    raw = run.mem.read(name, size)
    if raw[-1]:
        return None
    return raw.split(b"\0", 1)[0].decode(errors="replace")


@helper(H.btf_find_by_name_kind)
def btf_find_by_name_kind(run: Run, name, name_sz, kind, flags, *_):
    text = _name(run, name, name_sz, flags)
    if text is None:
        return neg(errno.EINVAL)
    try:
        from ...btf import load_kernel_btf

        found = load_kernel_btf().types_by_name(text)
    except Exception:  # noqa: BLE001 - no kernel BTF: nothing to find
        found = []
    for t in found:
        if getattr(t, "kind_id", -1) == kind & 0xFFFF_FFFF and t.type_id:
            return t.type_id
    return neg(errno.ENOENT)


@helper(H.kallsyms_lookup_name)
def kallsyms_lookup_name(run: Run, name, name_sz, flags, res, *_):
    from ...symbols import kallsyms

    text = _name(run, name, name_sz, flags)
    if text is None:
        return neg(errno.EINVAL)
    addr = kallsyms.address_of(text) or 0
    run.mem.write(res, addr.to_bytes(8, "little"))
    return 0 if addr else neg(errno.ENOENT)
