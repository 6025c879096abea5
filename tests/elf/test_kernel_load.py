"""The kernel accepts what the reader produces: linked subprograms (calls and
bpf_loop callbacks), func/line info, CO-RE, map references, initial map contents."""

from __future__ import annotations

import os
import uuid

import pytest

import ebpf

# prog_b (fentry) is refused by this kernel's lockdown policy whoever loads it (libbpf too)
CASES = [
    ("minimal", None),
    ("bootstrap", None),
    ("xdp_tail", None),
    ("mapinmap", None),
    ("legacy", None),
    ("subprogs", ["prog_a", "prog_c"]),
]


@pytest.fixture
def pin_dir():
    path = f"/sys/fs/bpf/ebpf-elf-test-{uuid.uuid4().hex[:8]}"
    os.makedirs(path, exist_ok=True)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


@pytest.mark.kernel
@pytest.mark.parametrize("name,programs", CASES)
def test_kernel_loads_corpus(corpus, pin_dir, name, programs):
    spec = ebpf.ObjectSpec.from_file(corpus(name))
    opts = {"programs": programs} if programs else {}
    with ebpf.load(spec, backend="kernel", pin_path=pin_dir, **opts) as obj:
        want = programs or list(spec.programs)
        assert sorted(obj.programs) == sorted(want)
        for p in obj.programs.values():
            assert p.fd >= 0
        assert set(obj.maps) == set(spec.maps)


@pytest.mark.kernel
def test_kernel_runs_linked_subprograms(corpus, pin_dir):
    """prog_c = mix(skb->len) & 1 through a BPF-to-BPF call: the result matches Python."""
    spec = ebpf.ObjectSpec.from_file(corpus("subprogs"))
    with ebpf.load(spec, backend="kernel", pin_path=pin_dir, programs=["prog_c"]) as obj:
        prog = obj.programs["prog_c"]
        for size in (14, 60, 61, 100):
            r = prog.test_run(data=bytes(size))
            x = size
            want = (((x * 2654435761) ^ (x >> 7)) & 0xFFFFFFFFFFFFFFFF) & 1
            assert r.retval == want


@pytest.mark.kernel
def test_kernel_prog_array_initialised_from_object(corpus, pin_dir):
    """jmp_table's initial contents (from .rel.maps) make the tail call land."""
    with ebpf.load(corpus("xdp_tail"), backend="kernel", pin_path=pin_dir) as obj:
        r = obj.programs["xdp_entry"].test_run(data=bytes(64))
        assert r.retval == 2  # XDP_PASS, returned by xdp_pass_tail
        assert sum(obj.maps["stats"][0]) == 1  # counted by the tail-called program
        assert sum(obj.maps["stats"][2]) == 1  # counted by xdp_entry itself


def test_vm_runs_tail_call_and_subprograms(corpus):
    """The same spec drives the user-space runtime."""
    with ebpf.load(corpus("xdp_tail"), backend="vm") as obj:
        assert obj.programs["xdp_entry"].test_run(data=bytes(64)).retval == 2
    with ebpf.load(corpus("subprogs"), backend="vm") as obj:
        assert obj.programs["prog_c"].test_run(data=bytes(61)).retval == 1
