"""bpf_bind from a connect hook, kernel against vm on the same object. The kernel
cannot test-run cgroup/connect4 programs: its side attaches the program to a
cgroup of the test's own, where a process (in the test's own netns) connects to a
listener; the vm runs the program on a SockAddrRequest for the same connect of a
socket of the test's, then connects it. Compared: every bpf_bind, bpf_setsockopt
and bpf_getsockopt result, what the context showed, and the source address and
mark the connection got."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import SockAddrRequest

PROGS = Path(__file__).parent / "progs"

CHILD = """
import json, os, socket, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
c = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
print(json.dumps([c.getsockname()[0], c.getsockopt(socket.SOL_SOCKET, 36)]))
"""


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_bind.c")


def recorded(obj) -> dict:
    v = obj.variables
    return {"rets": v["rets"].value, "seen": v["seen"].value, "opts": v["opts"].value,
            "mark_out": v["mark_out"].value}


def vm_side(obj_path, port: int) -> tuple[dict, list]:
    with ebpf.load(obj_path, backend="vm") as obj, socket.socket() as s:
        r = obj.programs["pin_source"].test_run(ctx=SockAddrRequest(s, ("127.0.0.1", port)))
        assert r.retval == 1
        s.connect(("127.0.0.1", port))
        return recorded(obj), [s.getsockname()[0], s.getsockopt(socket.SOL_SOCKET, 36)]


def test_vm(obj_path, own_netns):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        facts, source = vm_side(obj_path, port)
    e = -errno.EINVAL
    # an address bound without a port can be bound again (no port was taken)
    assert facts["rets"] == [e, e, -errno.EAFNOSUPPORT, -errno.EADDRNOTAVAIL, 0, 0]
    assert facts["seen"] == [socket.AF_INET, 0x0100007F, socket.htons(port), 1, 6]
    assert source == ["127.0.0.2", 9]
    assert facts["opts"] == [0, 0, 0, e] and facts["mark_out"] == 9


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns, own_cgroup):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        vm = vm_side(obj_path, port)
        with ebpf.load(obj_path, backend="kernel") as obj:
            with obj.programs["pin_source"].attach(cgroup=str(own_cgroup)):
                out = subprocess.run([sys.executable, "-c", CHILD, str(own_cgroup), str(port)],
                                     capture_output=True, text=True, check=True).stdout
            kernel = (recorded(obj), json.loads(out))
    assert kernel == vm
