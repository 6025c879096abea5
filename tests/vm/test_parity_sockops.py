"""SOCK_OPS socket helpers (bpf_setsockopt, bpf_getsockopt, bpf_sock_hash_update,
bpf_sock_map_update), kernel against vm on the same object. The kernel cannot
test-run sock_ops programs: its side attaches the program to a cgroup of the
test's own, where a process (in the test's own netns) listens, connects and
accepts, so the kernel calls the program on each socket; the vm runs it on a
SockOpsRequest for each of the test's own sockets with the same callbacks.
Compared: every helper's return value and the bytes getsockopt filled, the ports
the context showed, the options user space then reads on the client, and which
socket each map key holds."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import SockOpsRequest

PROGS = Path(__file__).parent / "progs"
CONNECT, ACTIVE, PASSIVE, LISTEN = 3, 4, 5, 11
SO_COOKIE = 57

CHILD = """
import json, os, socket, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
socks = {"listen": l, "client": c, "server": s}
print(json.dumps({
    "cookies": {k: int.from_bytes(v.getsockopt(1, 57, 8), "little") for k, v in socks.items()},
    "ports": {k: [v.getsockname()[1], v.getpeername()[1] if k != "listen" else 0]
              for k, v in socks.items()},
    "client": [c.getsockopt(6, 1), c.getsockopt(1, 36), c.getsockopt(0, 1),
               c.getsockopt(6, 13, 16).rstrip(b"\\0").decode()]}), flush=True)
sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sockops.c")


def recorded(obj, ports: dict, cookies: dict) -> dict:
    v = obj.variables
    rets, ints, cc, dev, seen = (v[n].value for n in ("rets", "ints", "cc", "dev", "ports"))
    who = {CONNECT: "client", ACTIVE: "client", PASSIVE: "server", LISTEN: "listen"}
    by_cookie = {c: k for k, c in cookies.items()}
    conns = obj.maps["conns"]
    held = {}
    for key in (CONNECT, ACTIVE, PASSIVE, LISTEN):
        got = conns.lookup_bytes(key.to_bytes(4, "little"))
        held[key] = None if got is None else by_cookie.get(int.from_bytes(got, "little"), "?")
    return {
        "rets": {op: rets[op] for op in who}, "ints": ints[ACTIVE],
        "cc": bytes(cc[ACTIVE]), "dev": bytes(dev[ACTIVE]),
        # the ports the context showed are the socket's own
        "ports": {op: list(seen[op]) == ports[who[op]] for op in who},
        "held": held, "slot1": obj.maps["slots"].lookup_bytes((1).to_bytes(4, "little")),
    }


def kernel_side(obj_path, cgroup: Path) -> tuple[dict, list]:
    with ebpf.load(obj_path, backend="kernel") as obj:
        with obj.programs["tune"].attach(cgroup=str(cgroup)):
            child = subprocess.Popen([sys.executable, "-c", CHILD, str(cgroup)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                seen = json.loads(child.stdout.readline())
                facts = recorded(obj, seen["ports"], seen["cookies"])
            finally:
                child.communicate("\n", timeout=10)
        return facts, seen["client"]


def vm_side(obj_path) -> tuple[dict, list]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    socks = {"listen": listener, "client": client, "server": server}
    try:
        with ebpf.load(obj_path, backend="vm") as obj:
            prog = obj.programs["tune"]
            for sock, op in ((listener, LISTEN), (client, CONNECT), (client, ACTIVE),
                             (server, PASSIVE)):
                assert prog.test_run(ctx=SockOpsRequest(sock, op)).retval == 1
            ports = {k: [v.getsockname()[1], v.getpeername()[1] if k != "listen" else 0]
                     for k, v in socks.items()}
            cookies = {k: int.from_bytes(v.getsockopt(1, SO_COOKIE, 8), "little")
                       for k, v in socks.items()}
            facts = recorded(obj, ports, cookies)
        c = client
        user = [c.getsockopt(6, 1), c.getsockopt(1, 36), c.getsockopt(0, 1),
                c.getsockopt(6, 13, 16).rstrip(b"\0").decode()]
        return facts, user
    finally:
        for s in socks.values():
            s.close()


def test_vm(obj_path, own_netns):
    facts, user = vm_side(obj_path)
    e = -errno.EINVAL
    assert facts["rets"][CONNECT][0] == -errno.EOPNOTSUPP
    assert facts["rets"][LISTEN][0] == facts["rets"][PASSIVE][0] == 0
    assert facts["rets"][ACTIVE] == [0, -errno.EEXIST, e, -errno.E2BIG, -errno.ENOENT,
                                     0, 0, e, e, 0, e, 0, -524, -errno.ENOENT, e, 0, 0, e, e,
                                     0, 0, 0, 0, e]
    assert facts["ints"][:3] == [1, 7, 0x10] and facts["cc"].rstrip(b"\0") == b"reno"
    assert facts["dev"] == bytes(8) and all(facts["ports"].values())
    assert facts["held"] == {CONNECT: None, ACTIVE: "client", PASSIVE: "server",
                             LISTEN: "listen"}
    assert user == [1, 7, 0x10, "reno"]


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns, own_cgroup):
    assert kernel_side(obj_path, own_cgroup) == vm_side(obj_path)
