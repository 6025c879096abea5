"""bpf_btf_find_by_name_kind and bpf_kallsyms_lookup_name from a syscall program:
the vm looks in the running kernel's BTF and /proc/kallsyms and answers as the
kernel does (the same object on both backends)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_syscall.c")


def facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        r = obj.programs["lookups"].test_run()
        return r.retval, list(obj.variables["rets"].value), list(obj.variables["addrs"].value)


def test_vm(obj_path):
    from ebpf.btf import load_kernel_btf
    from ebpf.symbols import kallsyms

    _, rets, addrs = facts(obj_path, "vm")
    task = [t.type_id for t in load_kernel_btf().types_by_name("task_struct")
            if t.kind == "struct"]
    assert rets == [task[0], -errno.ENOENT, -errno.ENOENT, -errno.EINVAL, 0, -errno.ENOENT,
                    -errno.EINVAL, -errno.EINVAL]
    assert addrs == [kallsyms.address_of("bpf_prog_put"), 0, 0]


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
