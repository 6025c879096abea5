"""Socket storage (bpf_sk_storage_get / bpf_sk_storage_delete) on sockets a tc
program looks up, kernel against vm on the same object (test runs on both, in the
test's own netns, on a connection and a listener of its own): each socket keeps
its own value across runs, created from the initial value, and deleting it
answers as the kernel's."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LO = bytes([127, 0, 0, 1])


def frame(sport: int, dport: int) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 40, 0, 0, 64, 6, 0) + LO + LO
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def results(obj_path, backend: str) -> list:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    server, _ = listener.accept()
    to_server = frame(client.getsockname()[1], port)   # finds the accepted socket
    to_listener = frame(55555, port)                  # finds the listener
    out = []
    try:
        with ebpf.load(obj_path, backend=backend) as obj:
            prog, v = obj.programs["count"], obj.variables

            def run(pkt, forget=0):
                v["forget"].value = forget
                assert prog.test_run(pkt).retval == 0
                return {n: v[n].value for n in ("found", "runs", "seed", "deleted",
                                               "delete_again", "after_delete")}

            for pkt in (to_server, to_server, to_listener, to_server):
                out.append(run(pkt))
            out.append(run(to_server, forget=1))
            out.append(run(to_server))   # created again
    finally:
        for s in (client, server, listener):
            s.close()
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sk_storage.c")


def test_vm(obj_path, own_netns):
    r = results(obj_path, "vm")
    assert [x["runs"] for x in r] == [1, 2, 1, 3, 3, 1]
    assert (r[4]["deleted"], r[4]["delete_again"], r[4]["after_delete"]) == (0, -2, 0)
    assert {x["seed"] for x in r} == {7}


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert results(obj_path, "kernel") == results(obj_path, "vm")
