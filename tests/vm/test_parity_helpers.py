"""Helpers added for runtime parity: the vm gives what the kernel gives for the same
object and input (the kernel's results are asserted too: it is the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
PACKET = bytes(range(64))


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_helpers.c")


def facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        obj.programs["branches_prog"].test_run(ctx=bytes(16))
        tunnel = obj.programs["tunnel_prog"].test_run(PACKET)
        obj.programs["xdp_mtu"].test_run(PACKET)
        obj.programs["skb_mtu"].test_run(PACKET)
        v = obj.variables
        return {
            "branch": (v["branch_ret"].value, v["branch_bad_flags"].value),
            "tunnel": (tunnel.retval, v["key_ret"].value, v["key_ret_v6"].value,
                       v["opt_ret"].value),
            "key_cleared": bytes(v["key"].raw) == bytes(len(v["key"].raw)),
            "opts": list(v["opts"].value),
            "xdp_mtu": (list(v["xdp_mtu_ret"].value), list(v["xdp_mtu_len"].value)),
            "skb_mtu": (list(v["skb_mtu_ret"].value), list(v["skb_mtu_len"].value)),
        }


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    assert f["branch"] == (-2, -22)  # no branch records: -ENOENT; flags: -EINVAL
    assert f["tunnel"] == (0, -22, -22, -2)  # no tunnel metadata on a test-run skb
    assert f["key_cleared"] and f["opts"] == [0] * 8
    # fits; too long by a length change; a given L3 length; bad flags; no such device
    assert f["xdp_mtu"] == ([0, 1, 0, -22, -19], [65536, 65536, 65536, 5, 5])
    assert f["skb_mtu"] == ([0, 1, 1, -22, -19], [65536, 65536, 65536, 5, 5])


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")


def test_read_branch_records_vm_only(obj_path):
    # perf_event programs cannot be test-run on the kernel: the vm alone is checked
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.programs["sampled"].run(bytes(200))
        v = obj.variables
        assert (v["records_ret"].value, v["records_bad_flags"].value) == (-2, -22)
