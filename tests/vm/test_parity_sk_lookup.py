"""bpf_sk_lookup_tcp/udp and bpf_skc_lookup_tcp from tc: the vm searches the
calling thread's network namespace as the kernel does (the same object on both
backends, in the test's own namespace, with sockets the test opens)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LOCAL = socket.inet_aton("127.0.0.1")
OTHER = socket.inet_aton("127.0.0.2")


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sk_lookup.c")


def facts(path, backend: str) -> list:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", listener.getsockname()[1]))
    lport, cport = listener.getsockname()[1], client.getsockname()[1]
    cases = [  # (saddr, sport, daddr, dport, size, netns, flags)
        (OTHER, 5555, LOCAL, lport, 12, -1, 0),      # a new connection: the listener
        (LOCAL, cport, LOCAL, lport, 12, -1, 0),     # the established connection
        (LOCAL, lport, LOCAL, cport, 12, -1, 0),     # the other end of it
        (OTHER, 5555, LOCAL, 1, 12, -1, 0),          # nothing on that port
        (OTHER, 5555, LOCAL, lport, 12, -1, 1),      # flags
        (OTHER, 5555, LOCAL, lport, 11, -1, 0),      # tuple size
        (OTHER, 5555, LOCAL, lport, 12, 0, 0),       # another namespace id
    ]
    out = []
    try:
        with ebpf.load(path, backend=backend) as obj:
            v = obj.variables
            for sa, sp, da, dp, size, netns, flags in cases:
                v["saddr"].value = int.from_bytes(sa, "little")
                v["daddr"].value = int.from_bytes(da, "little")
                v["sport"].value, v["dport"].value = sp, dp
                v["size_in"].value, v["netns_in"].value, v["flags_in"].value = size, netns, flags
                obj.programs["lookup"].test_run(bytes(64))
                row = {n: list(v[n].value) for n in ("found", "state", "family", "protocol",
                                                      "src_port", "dst_port", "src_ip4",
                                                      "dst_ip4")}
                row["full_listener"] = (v["fullsock"].value, v["listener"].value)
                v["fullsock"].value = v["listener"].value = 9
                for n in ("src_port", "dst_port"):  # the test's ports differ per backend
                    row[n] = [{lport: "L", cport: "C"}.get(p, p) if n == "src_port" else
                              {socket.htons(lport): "L", socket.htons(cport): "C"}.get(p, p)
                              for p in row[n]]
                out.append(row)
                for n in ("state", "family", "protocol", "src_port", "dst_port", "src_ip4",
                          "dst_ip4"):
                    v[n].value = [0, 0, 0]
    finally:
        for s in (listener, client, server, udp):
            s.close()
    return out


def test_vm(own_netns, obj_path):
    f = facts(obj_path, "vm")
    assert f[0]["found"] == [1, 1, 1] and f[0]["state"][:2] == [10, 7]
    assert f[0]["src_port"][:2] == ["L", "L"] and f[0]["protocol"][:2] == [6, 17]
    assert f[1]["state"][0] == 1 and f[1]["dst_port"][0] == "C"
    # both full sockets; only the first a listener
    assert f[0]["full_listener"] == (1, 1) and f[1]["full_listener"] == (1, 0)
    assert f[3]["found"] == [0, 0, 0]
    assert all(row["found"] == [0, 0, 0] for row in f[4:])


@pytest.mark.kernel
def test_same_as_kernel(own_netns, obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
