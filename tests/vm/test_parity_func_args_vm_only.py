"""bpf_get_func_arg/_ret/_arg_cnt in fentry/fexit programs. Vm-only: this
machine's kernel is locked down and loads no fentry/fexit program; the results
follow the kernel's inlined helpers (the arity is the kernel BTF prototype's)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_func_args.c")


def test_func_args_vm_only(obj_path):
    from ebpf.btf import load_kernel_btf

    proto = [t for t in load_kernel_btf().types_by_name("do_unlinkat") if t.kind == "func"]
    if not proto:
        pytest.fail("the kernel BTF has no do_unlinkat")
    nargs = len(proto[0].type.params)
    with ebpf.load(obj_path, backend="vm") as obj:
        v = obj.variables
        obj.programs["on_entry"].run([-100, 0x1234, 77])
        assert (v["cnt"].value, v["a0"].value, v["a1"].value) == (nargs, -100, 0x1234)
        assert v["past"].value == -errno.EINVAL
        assert v["ret_in_entry"].value == -errno.EOPNOTSUPP
        obj.programs["on_exit"].run([1, 2, -2])
        assert (v["got_ret"].value, v["ret"].value) == (0, -2)
