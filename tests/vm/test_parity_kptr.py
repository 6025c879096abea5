"""Referenced kptrs in map values (``__kptr`` type tags) and bpf_kptr_xchg: a task
from bpf_task_from_pid kept in an array value, loaded back, swapped out and
released; the same object on the kernel and on the vm (syscall programs, which
this kernel runs), and the verifier's refusals of what the kernel refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_kptr.c")


def facts(path, backend: str) -> tuple:
    """What the programs saw, and what user space reads of the value: its kptr
    fields read as 0, and an update from user space leaves them NULL."""
    with ebpf.load(path, backend=backend, constants={"target": os.getpid()}) as obj:
        tasks, out = obj.maps["tasks"], obj.variables["out"]
        r1 = obj.programs["keep"].test_run().retval
        v = tasks[0]
        seen_by_user = (v.tag, v.task, v.seen)
        r2 = obj.programs["take"].test_run().retval
        first = list(out.value)
        obj.programs["keep"].test_run()
        tasks.update_bytes(bytes(4), tasks.lookup_bytes(bytes(4)))
        obj.programs["take"].test_run()
        return r1, r2, seen_by_user, first, out.value[3]


def test_vm(obj_path):
    pid = os.getpid()
    assert facts(obj_path, "vm") == (0, 0, (7, 0, 0), [0, pid, pid, pid, 0, 0, 0, 0], -1)


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")


BAD = {
    # a referenced kptr is only exchanged, never stored
    "store": ("v->task = bpf_task_from_pid(1);", "store to referenced kptr disallowed"),
    # the object taken out must be released
    "leak": ("bpf_kptr_xchg(&v->task, NULL);", "Unreleased reference"),
    # the destination must be the kptr field itself
    "dest": ("struct task_struct *o = bpf_kptr_xchg((void *)&v->tag, NULL);"
             " if (o) bpf_task_release(o);", "doesn't point to kptr"),
    # the field's bytes are no helper memory
    "helper": ("bpf_probe_read_kernel(v, 16, 0);", "kptr cannot be accessed indirectly by helper"),
}


def _bad(bpf_compile, case: str):
    body, _ = BAD[case]
    src = (PROGS / "parity_kptr.c").read_text().replace(
        "SEC(\"syscall\")\nint take", "SEC(\"syscall\")\nint bad(void *ctx)\n{\n\tint k = 0;\n"
        "\tstruct val *v = bpf_map_lookup_elem(&tasks, &k);\n\n\tif (!v)\n\t\treturn 1;\n\t"
        + body + "\n\treturn 0;\n}\n\nSEC(\"syscall\")\nint take", 1)
    return bpf_compile(src, name=f"kptr_{case}")


@pytest.mark.parametrize("case", sorted(BAD))
def test_refused(bpf_compile, case):
    with pytest.raises(ebpf.VerifierError, match=BAD[case][1]):
        ebpf.load(_bad(bpf_compile, case), backend="vm", programs=["bad"])


@pytest.mark.kernel
@pytest.mark.parametrize("case", sorted(BAD))
def test_kernel_refuses_too(bpf_compile, case):
    with pytest.raises(ebpf.VerifierError, match=BAD[case][1]):
        ebpf.load(_bad(bpf_compile, case), backend="kernel", programs=["bad"])
