"""SOCKMAP/SOCKHASH: what user space may store and reads back (the same operations
on both backends: the kernel's results are the reference), and the redirect
helpers of SK_SKB/SK_MSG programs (vm-only: the kernel cannot test-run those
program types)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
SO_COOKIE = 57


def cookie(s: socket.socket) -> bytes:
    return s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8)


def outcome(fn):
    try:
        r = fn()
    except ebpf.Error as e:
        return errno.errorcode.get(e.errno, e.errno)
    return r if r is None or isinstance(r, (bool, list)) else bytes(r)


def k4(i: int) -> bytes:
    return i.to_bytes(4, "little")


def facts(backend: str) -> dict:
    def make(mtype, key_size=4, value_size=8, max_entries=4):
        return ebpf.Map.create(ebpf.MapSpec(name="socks", type=mtype, key_size=key_size,
                                            value_size=value_size, max_entries=max_entries),
                               backend=backend)

    out: dict = {}
    for name, kw in (("vs12", {"value_size": 12}), ("ks8", {"key_size": 8}),
                     ("empty", {"max_entries": 0})):
        out[f"create_{name}"] = outcome(lambda kw=kw: make(ebpf.MapType.SOCKMAP, **kw).close())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bound.bind(("127.0.0.1", 0))
    kinds = {
        "listen": listener, "client": client,
        "udp": socket.socket(socket.AF_INET, socket.SOCK_DGRAM), "udp_bound": bound,
        "tcp_closed": socket.socket(),
        "unix_stream": socket.socketpair()[0],
        "unix_dgram": socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)[0],
        "unix_seqpacket": socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)[0],
    }
    r, w = os.pipe()
    with make(ebpf.MapType.SOCKMAP) as m, make(ebpf.MapType.SOCKMAP, value_size=4) as m4, \
            make(ebpf.MapType.SOCKHASH, key_size=8, max_entries=2) as h:
        for name, s in kinds.items():
            out[f"store_{name}"] = outcome(
                lambda s=s: m.update_bytes(k4(0), s.fileno().to_bytes(8, "little")))
            outcome(lambda: m.delete_bytes(k4(0)))
        for name, bad in (("pipe", r), ("closed_fd", w + 100)):
            out[f"store_{name}"] = outcome(
                lambda bad=bad: m.update_bytes(k4(0), bad.to_bytes(8, "little")))
        fd = client.fileno().to_bytes(8, "little")
        out["past_end"] = outcome(lambda: m.update_bytes(k4(4), fd))
        out["bad_flags"] = outcome(lambda: m.update_bytes(k4(1), fd, 3))
        out["exist_empty"] = outcome(lambda: m.update_bytes(k4(1), fd, 2))
        out["noexist"] = outcome(lambda: m.update_bytes(k4(1), fd, 1))
        out["noexist_taken"] = outcome(lambda: m.update_bytes(k4(1), server.fileno().to_bytes(8, "little"), 1))
        out["twice"] = outcome(lambda: m.update_bytes(k4(2), fd))
        out["lookup_is_cookie"] = m.lookup_bytes(k4(1)) == cookie(client)
        out["lookup_empty"] = outcome(lambda: m.lookup_bytes(k4(0)))
        out["lookup_past_end"] = outcome(lambda: m.lookup_bytes(k4(9)))
        out["next_keys"] = [outcome(lambda k=k: m.next_key_bytes(k))
                            for k in (None, k4(1), k4(3), k4(9))]
        out["delete_empty"] = outcome(lambda: m.delete_bytes(k4(0)))
        out["delete_past_end"] = outcome(lambda: m.delete_bytes(k4(9)))
        m4.update_bytes(k4(0), client.fileno().to_bytes(4, "little"))
        out["lookup_4byte_value"] = outcome(lambda: m4.lookup_bytes(k4(0)))
        hk = [i.to_bytes(8, "little") for i in range(4)]
        out["hash_store"] = [outcome(lambda: h.update_bytes(hk[1], fd)),
                             outcome(lambda: h.update_bytes(hk[2], server.fileno().to_bytes(8, "little"))),
                             outcome(lambda: h.update_bytes(hk[3], listener.fileno().to_bytes(8, "little")))]
        out["hash_lookup"] = (h.lookup_bytes(hk[1]) == cookie(client), outcome(lambda: h.lookup_bytes(hk[3])))
        out["hash_delete_missing"] = outcome(lambda: h.delete_bytes(hk[3]))
        out["hash_keys"] = sorted(h.keys()) if hasattr(h, "keys") else None
        client.close()
        # a closed socket leaves every map it was in
        out["after_close"] = (outcome(lambda: m.lookup_bytes(k4(1))),
                              outcome(lambda: h.lookup_bytes(hk[1])), len(list(h.keys())))
    for s in (*kinds.values(), server):
        s.close()
    os.close(r)
    os.close(w)
    return out


def test_sockmap_user_space_vm():
    f = facts("vm")
    assert f["create_vs12"] == f["create_ks8"] == f["create_empty"] == "EINVAL"
    # (errno.errorcode names EOPNOTSUPP "ENOTSUP": the same number on Linux)
    assert {k[6:]: v for k, v in f.items() if k.startswith("store_")} == {
        "listen": None, "client": None, "udp": "ENOTSUP", "udp_bound": None,
        "tcp_closed": "ENOTSUP", "unix_stream": None, "unix_dgram": None,
        "unix_seqpacket": "ENOTSUP", "pipe": "ENOTSOCK", "closed_fd": "EBADF"}
    assert (f["past_end"], f["bad_flags"], f["exist_empty"], f["noexist"], f["noexist_taken"],
            f["twice"]) == ("E2BIG", "EINVAL", "ENOENT", None, "EEXIST", None)
    assert f["lookup_is_cookie"] and f["lookup_empty"] is None and f["lookup_past_end"] is None
    assert f["next_keys"] == [k4(0), k4(2), None, k4(0)]
    assert f["delete_empty"] == f["delete_past_end"] == "EINVAL"
    assert f["lookup_4byte_value"] == "ENOSPC"
    assert f["hash_store"] == [None, None, "E2BIG"] and f["hash_lookup"] == (True, None)
    assert f["hash_delete_missing"] is False
    assert f["after_close"] == (None, None, 1)


@pytest.mark.kernel
def test_sockmap_user_space_same_as_kernel(own_netns):
    assert facts("kernel") == facts("vm")


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sockmap.c")


def test_redirect_helpers_vm_only(obj_path):
    # SK_SKB/SK_MSG programs cannot be test-run on the kernel: the vm alone is checked
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    with ebpf.load(obj_path, backend="vm") as obj:
        socks, by_key = obj.maps["socks"], obj.maps["by_key"]
        socks.update_bytes(k4(1), server.fileno().to_bytes(8, "little"))
        socks.update_bytes(k4(2), listener.fileno().to_bytes(8, "little"))
        by_key.update_bytes((7).to_bytes(8, "little"), client.fileno().to_bytes(8, "little"))
        verdict, msg, v = obj.programs["verdict"], obj.programs["msg"], obj.variables
        # the selector byte fills the frame: the program reads the first byte it sees
        r = verdict.test_run(bytes([1]) * 64)
        assert r.retval == 1 and r.redirect.map == "socks"
        assert r.redirect.socket.to_bytes(8, "little") == cookie(server)
        assert verdict.test_run(bytes([2]) * 64).retval == 0   # a listener: no
        assert verdict.test_run(bytes([3]) * 64).retval == 0   # empty slot
        v["flags_in"].value = 1                                        # BPF_F_INGRESS
        assert verdict.test_run(bytes([1]) * 64).retval == 1
        v["flags_in"].value = 2
        assert verdict.test_run(bytes([1]) * 64).retval == 0   # unknown flag
        v["flags_in"].value = 0
        v["hash_key"].value = 7
        assert msg.run(bytes(80)) == 1
        v["hash_key"].value = 8
        assert msg.run(bytes(80)) == 0
        server.close()
        assert verdict.test_run(bytes([1]) * 64).retval == 0   # closed: gone
    for s in (client, listener):
        s.close()


@pytest.mark.kernel
def test_redirect_object_loads_on_kernel(obj_path):
    # the same object passes the kernel's verifier (its runs are checked on the vm)
    with ebpf.load(obj_path, backend="kernel") as obj:
        assert set(obj.programs) == {"verdict", "msg"}
