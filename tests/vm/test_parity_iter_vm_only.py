"""bpf_seq_write / bpf_seq_printf in an iterator program. Vm-only: this machine's
kernel is locked down and loads no iterator (nor any tracing) program, so there is
no kernel run to compare with; the errors follow the kernel's code
(docs/vm.md, "Iterators")."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf
from ebpf.vm.seqfile import SeqFile

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_iter.c")


def test_seq_output_vm_only(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj, SeqFile() as seq:
        prog, v = obj.programs["list_tasks"], obj.variables
        prog.run([seq.meta, 0x1000])      # a task the runtime cannot read: its pid reads 0
        seq.seq_num = 1
        prog.run([seq.meta, 0])           # the end of the iteration
        # the last run shows an object through the kernel's BTF (bpf_seq_printf_btf)
        assert seq.text == "pid comm\n0 task\n(struct ethhdr){.h_proto = (__be16)8,}"
        assert v["btf_ret"].value == 0
        assert v["write_ret"].value == 0
        assert v["printf_ret"].value == -errno.EINVAL   # arguments not whole u64s
        assert v["bad_ret"].value == -errno.EINVAL      # format not NUL-terminated


def test_seq_overflow_vm_only(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj, SeqFile(size=12) as seq:
        obj.programs["list_tasks"].run([seq.meta, 0x1000])
        assert seq.overflowed and obj.variables["write_ret"].value == 0
        assert seq.text == "pid comm\n"


def test_seq_helpers_need_a_seq_file(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj:
        with pytest.raises(ebpf.RuntimeFault, match="not a seq_file"):
            obj.programs["list_tasks"].run([0, 0])
