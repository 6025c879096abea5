"""bpf_tcp_send_ack from a BPF congestion control, kernel against vm on the same
object: registered on the kernel, the control runs for a real connection of the
test's own netns and records what the helper returned; on the vm its program runs
on arguments the test gives."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_tcp_send_ack.c")


def vm_ret(obj_path) -> int:
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.programs["ack_cong_avoid"].run([0, 1, 1])
        assert obj.variables["acks"].value == 1
        return obj.variables["ack_ret"].value


def test_vm(obj_path):
    assert vm_ret(obj_path) == 0


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    with ebpf.load(obj_path, backend="kernel") as obj:
        links = obj.attach()
        try:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            client = socket.socket()
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"ebpf_ack_cc")
            client.connect(listener.getsockname())
            server, _ = listener.accept()
            for _ in range(50):  # ACKs for the client's data drive congestion avoidance
                client.sendall(b"x" * 65536)
                got = 0
                while got < 65536:
                    got += len(server.recv(65536))
                if obj.variables["acks"].value:
                    break
            for s in (client, server, listener):
                s.close()
            assert obj.variables["acks"].value > 0
            kernel = obj.variables["ack_ret"].value
        finally:
            for link in links:
                link.close()
    assert kernel == vm_ret(obj_path)
