"""bpf_skc_to_* casts, bpf_tcp_sock, bpf_sk_cgroup_id and bpf_sk_ancestor_cgroup_id,
kernel against vm on the same cgroup_skb object and the same sockets: a process
in a cgroup of the test's own (and in its own netns) holds a listener, an
established connection and a time-wait socket; both backends test-run the program
on packets whose lookup finds each of them (or nothing). Compared: what the
lookup found, which casts give a pointer, the cgroup ids, and the established
connection's TCP counters (a listener's counters are not compared: TCP_INFO tells
none)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LO = bytes([127, 0, 0, 1])
COUNTERS = ("cwnd", "mss", "segs_in", "segs_out", "data_segs_in", "data_segs_out",
            "total_retrans", "bytes_acked", "bytes_received")

CHILD = """
import json, os, socket, sys, time
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
c.sendall(b"x" * 1000)
s.recv(1000)
c2 = socket.create_connection(l.getsockname())
s2, _ = l.accept()
tw = c2.getsockname()[1]
c2.close()
s2.close()
time.sleep(0.2)
print(json.dumps({"port": l.getsockname()[1], "client": c.getsockname()[1], "tw": tw}),
      flush=True)
sys.stdin.readline()
"""


def packet(sport: int, dport: int) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 40, 0, 0, 64, 6, 0) + LO + LO
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp  # the program sees it from ip on


def facts(obj_path, backend: str, ports: dict) -> dict:
    out = {}
    with ebpf.load(obj_path, backend=backend) as obj:
        prog, v = obj.programs["classify"], obj.variables
        for name, (sport, dport) in {
                "established": (ports["client"], ports["port"]),
                "listener": (55555, ports["port"]),
                "time-wait": (ports["port"], ports["tw"]),
                "nothing": (55555, ports["port"] ^ 1)}.items():
            v["found"].value = v["has_tp"].value = 0
            assert prog.test_run(packet(sport, dport)).retval == 1
            f = {n: v[n].value for n in ("found", "state", "kinds", "cg", "has_tp")}
            f["anc"] = list(v["anc"].value)
            if name == "established":
                f.update({n: v[n].value for n in COUNTERS})
            out[name] = f
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sockcasts.c")


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns, own_cgroup):
    import os

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(own_cgroup)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(child.stdout.readline())
        vm = facts(obj_path, "vm", ports)
        kernel = facts(obj_path, "kernel", ports)
    finally:
        child.communicate("\n", timeout=10)
    assert kernel == vm
    cg = os.stat(own_cgroup).st_ino
    root = os.stat(own_cgroup.parent).st_ino
    est, lis, tw = vm["established"], vm["listener"], vm["time-wait"]
    assert (est["found"], est["state"], est["kinds"], est["has_tp"]) == (1, 1, 0b1, 1)
    assert (est["cg"], est["anc"]) == (cg, [root, cg, 0])
    assert est["mss"] > 0 and est["bytes_received"] == 1000
    assert (lis["state"], lis["kinds"], lis["has_tp"], lis["cg"]) == (10, 0b1, 1, cg)
    assert (tw["found"], tw["state"], tw["kinds"], tw["has_tp"], tw["cg"]) == (1, 6, 0b100, 0, 0)
    assert vm["nothing"]["found"] == 0
