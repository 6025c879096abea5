"""The traced function's arguments in fentry/fexit/fmod_ret programs:
``bpf_get_func_arg``, ``bpf_get_func_ret``, ``bpf_get_func_arg_cnt``.

The context is the arguments as u64s (then the return value, for fexit and
fmod_ret); how many there are is the kernel's BTF prototype of the function the
section names (else as many as the context holds). As the kernel's inlined
versions: an argument past the last is ``-EINVAL`` (nothing written), and
``bpf_get_func_ret`` outside fexit/fmod_ret is ``-EOPNOTSUPP``."""

from __future__ import annotations

import errno
import functools

from ...uapi import AttachType
from ...uapi import HelperId as H
from ..run import Run
from .table import helper, neg


@functools.lru_cache(maxsize=256)
def _btf_arg_count(func: str) -> int | None:
    try:
        from ...btf import load_kernel_btf

        for t in load_kernel_btf().types_by_name(func):
            if getattr(t, "kind", "") == "func":
                return len(getattr(getattr(t, "type", None), "params", ()) or ())
    except Exception:  # noqa: BLE001 - no kernel BTF: count the context instead
        return None
    return None


def nr_args(run: Run) -> int:
    spec = getattr(run.program, "spec", None)
    target = getattr(spec, "attach_to", "") or ""
    n = _btf_arg_count(target.split(":")[-1]) if target else None
    if n is None:
        region = run.mem.find(run.ctx, 1)
        n = (region.end - run.ctx) // 8 if region is not None else 0
    return n


@helper(H.get_func_arg_cnt)
def get_func_arg_cnt(run: Run, ctx, *_):
    return nr_args(run)


@helper(H.get_func_arg)
def get_func_arg(run: Run, ctx, n, value, *_):
    n &= 0xFFFF_FFFF
    if n >= nr_args(run):
        return neg(errno.EINVAL)
    run.mem.write(value, run.mem.read(ctx + 8 * n, 8))
    return 0


@helper(H.get_func_ret)
def get_func_ret(run: Run, ctx, value, *_):
    spec = getattr(run.program, "spec", None)
    if getattr(spec, "attach_type", None) not in (AttachType.TRACE_FEXIT,
                                                  AttachType.MODIFY_RETURN):
        return neg(errno.EOPNOTSUPP)
    run.mem.write(value, run.mem.read(ctx + 8 * nr_args(run), 8))
    return 0
