"""SK_MSG data helpers (bpf_msg_pull_data / push_data / pop_data / apply_bytes /
cork_bytes), kernel against vm on the same object. The kernel cannot test-run
sk_msg programs: its side attaches the program to a sockmap of the test's own
netns, puts a connected TCP socket in it and sends a message, which reaches the
peer as the program left it; the vm runs the program on the same message.
Compared: every helper's return value, what the program saw (data_end - data,
size, the first byte) after each call, and the bytes the peer received."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
MESSAGE = b"abcdefghijklmnopqrst"
MODES = range(7)


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_skmsg.c")


def facts(obj, data: bytes) -> dict:
    v = obj.variables
    return {"rets": v["rets"].value, "seen": v["seen"].value, "sizes": v["sizes"].value,
            "first": bytes(v["first"].value)[:1], "data": data}


def vm_side(obj_path, mode: int) -> dict:
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.variables["mode"].value = mode
        r = obj.programs["rewrite"].test_run(MESSAGE)
        assert r.retval == 1
        return facts(obj, r.data)


def kernel_side(obj_path, mode: int) -> dict:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        with ebpf.load(obj_path, backend="kernel") as obj:
            obj.variables["mode"].value = mode
            with obj.programs["rewrite"].attach(map=obj.maps["socks"]):
                obj.maps["socks"].update_bytes(bytes(4), client.fileno().to_bytes(8, "little"))
                client.sendall(MESSAGE)
                server.settimeout(5)
                got = b""
                while True:  # the whole rewritten message (its length is the program's)
                    got += server.recv(4096)
                    size = obj.variables["sizes"].value[3]
                    if len(got) >= size:
                        break
                return facts(obj, got)
    finally:
        for s in (client, server, listener):
            s.close()


@pytest.mark.parametrize("mode", MODES)
def test_vm(obj_path, mode):
    f = vm_side(obj_path, mode)
    rets, seen, sizes, data = f["rets"], f["seen"], f["sizes"], f["data"]
    assert sizes[0] == seen[0] == len(MESSAGE)
    if mode == 0:
        assert rets[:2] == [0, 0] and data == MESSAGE
    elif mode == 1:
        assert (rets[0], seen[1], data) == (0, 4, b"abXYefghijklmnopqrst")
    elif mode == 2:
        assert rets[:4] == [0, 0, 0, 0] and seen[1:4] == [3, 4, 10]
        assert data == b"abc[[]]defghijklmnopqrst" and sizes[1] == 24
    elif mode == 3:
        assert rets[:2] == [0, 0] and seen[1:3] == [2, 1] and sizes[1:3] == [17, 16]
        assert data == b"bfghijklmnopqrst"
    elif mode == 4:
        assert rets[:3] == [0, 0, 0] and seen[1:4] == [2, 2, 2]
        assert data == b"<<" + MESSAGE + b">>" and f["first"] == b">"
    elif mode == 5:
        e = -errno.EINVAL
        assert rets[:11] == [e, e, e, e, e, 0, e, 0, e, e, e] and data == MESSAGE
    elif mode == 6:
        assert rets[:3] == [0, 0, 0] and seen[1] == 2
        assert data == b"ab+" + MESSAGE[4:] and sizes[1] == len(MESSAGE) - 1


@pytest.mark.kernel
@pytest.mark.parametrize("mode", MODES)
def test_same_as_kernel(obj_path, own_netns, mode):
    assert kernel_side(obj_path, mode) == vm_side(obj_path, mode)
