"""CGROUP_STORAGE / PERCPU_CGROUP_STORAGE: bpf_get_local_storage gives a test run
storage of its own, shared by its repetitions; user space sees only attached
cgroups' storage (the same object on both backends; the kernel is the reference)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
PACKET = bytes(range(60))


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_cgstorage.c")


def facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        prog, v = obj.programs["count"], obj.variables
        out: dict = {}
        for repeat in (1, 3, 2):
            r = prog.test_run(PACKET, repeat=repeat)
            out[f"repeat{repeat}"] = (r.retval, v["seen_packets"].value, v["seen_bytes"].value,
                                      v["seen_percpu"].value)
        shared, percpu = obj.maps["shared"], obj.maps["percpu"]
        out["keys"] = (list(shared.keys()), list(percpu.keys()))
        key16, key8 = bytes(16), (1).to_bytes(8, "little")
        out["lookup"] = (shared.get(key16), percpu.get(key8))
        for name, m, key in (("shared", shared, key16), ("percpu", percpu, key8)):
            value = bytes(m.value_size * (m.num_cpus if m.per_cpu else 1))
            try:
                m.update_bytes(key, value)
            except ebpf.MapError as e:
                out[f"update_{name}"] = e.errno
            try:
                m.delete_bytes(key)
            except ebpf.MapError as e:
                out[f"delete_{name}"] = e.errno
        return out


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    # each test run starts from zeroed storage; its repetitions share it (the
    # program sees the frame from its network header: 46 bytes)
    assert f["repeat1"] == (1, 1, 46, 2)
    assert f["repeat3"] == (1, 3, 138, 6)
    assert f["repeat2"] == (0, 2, 92, 4)
    assert f["keys"] == ([], []) and f["lookup"] == (None, None)
    assert f["update_shared"] == f["update_percpu"] == errno.ENOENT
    assert f["delete_shared"] == f["delete_percpu"] == errno.EINVAL


def test_map_spec_checks():
    for key_size, max_entries in ((4, 0), (8, 1)):
        with pytest.raises(ebpf.LoadError):
            ebpf.Map.create(ebpf.MapSpec(name="cs", type=ebpf.MapType.CGROUP_STORAGE,
                                         key_size=key_size, value_size=8,
                                         max_entries=max_entries), backend="vm")


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
