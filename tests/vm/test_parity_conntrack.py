"""The conntrack kfuncs on the vm's connection-tracking table against the
kernel's netfilter conntrack: the same object (tests/vm/progs/parity_conntrack.c)
checks the options (``opts->error``), misses, then allocates an entry, sets its
status, timeout and mark, inserts it, finds it from both directions and in other
zones, changes it and fails a second insert. The kernel side runs in a network
namespace of its own, so its entries are the test's alone."""

from __future__ import annotations

import errno
import random
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_conntrack.c")


def facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        obj.variables["sport"].value = random.randrange(20000, 60000)
        r = obj.programs["conntrack"].test_run(bytes(64))
        v = obj.variables
        ticks = list(v["ticks"].value)
        return (r.retval, list(v["errs"].value), list(v["rets"].value),
                list(v["status"].value), list(v["marks"].value), list(v["dirs"].value),
                v["zone_dir"].value,
                # jiffies left: 5 s and then 2 s at HZ=250, less the time the run took
                [round(t / 250) for t in ticks])


EXPECTED = (2, [-errno.EINVAL, -errno.EINVAL, -errno.EINVAL, -errno.EPROTO, -errno.EINVAL,
                -errno.EPROTO, -errno.EINVAL, -errno.EAFNOSUPPORT, -errno.ENONET,
                -errno.ENOENT, -errno.ENOENT, 0],
            [1, 0, -errno.EBUSY, -errno.EBUSY, 0, 0, -errno.EBUSY, 0, 0, 0, 0, 0],
            [0, 2 | 8, 2 | 4 | 8, 2 | 4 | 8], [77, 78], [1, 0, 1], 3, [5, 2])


def test_vm(obj_path):
    assert facts(obj_path, "vm") == EXPECTED


def test_vm_table(obj_path):
    """An entry put in the table by hand is what a program finds, and the
    program's mark is the entry's."""
    from ebpf.vm import CONNTRACK

    c = CONNTRACK.add("udp", "10.1.0.1", 41000, "10.1.0.2", 80, timeout=5, mark=3)
    try:
        assert CONNTRACK.find("udp", "10.1.0.2", 80, "10.1.0.1", 41000) == (c, 1)
        assert c in list(CONNTRACK) and c.confirmed and 4 < c.expires_in <= 5
        with pytest.raises(ebpf.MapError):
            CONNTRACK.add("udp", "10.1.0.2", 80, "10.1.0.1", 41000)
    finally:
        CONNTRACK.remove(c)
    assert CONNTRACK.find("udp", "10.1.0.1", 41000, "10.1.0.2", 80) is None


def test_vm_zero_sizes(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj:
        assert obj.programs["zero_sizes"].test_run(bytes(64)).retval == 1


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
