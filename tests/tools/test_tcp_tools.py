"""TCP tools against connections on loopback in a private network namespace."""

from __future__ import annotations

import pytest

from .workloads import go, python_child

pytestmark = pytest.mark.kernel

# a client sends 100000 bytes, the server answers 5000, both close (one process)
SESSION = f"""
unshare({0x40000000})
import socket, subprocess, threading
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
port = srv.getsockname()[1]
def serve():
    conn, _ = srv.accept()
    got = 0
    while got < 100000:
        got += len(conn.recv(65536))
    conn.sendall(b"y" * 5000)
    conn.close()
t = threading.Thread(target=serve)
t.start()
c = socket.create_connection(("127.0.0.1", port))
c.sendall(b"x" * 100000)
got = 0
while got < 5000:
    got += len(c.recv(65536))
t.join()
assert c.recv(10) == b""
c.close()
print(port, c.getsockname()[1] if False else "")
"""


def _session():
    child = python_child(SESSION)
    return child, lambda: go(child)


def test_tcplife(run_tool):
    child, workload = _session()
    r = run_tool("tcplife", "-p", str(child.pid), "-j", "--duration", "0.5",
                 workload=workload)
    assert child.returncode == 0, child.err
    port = int(child.out.split()[0])
    client = [x for x in r.records if x["rport"] == port]
    server = [x for x in r.records if x["lport"] == port]
    assert len(client) == 1 and len(server) == 1, r.records
    # as the kernel counts them (tcp_sock bytes_acked/bytes_received, as the classic
    # tool reads them): the connecting side's SYN and each FIN take one sequence number
    assert (client[0]["tx_bytes"], client[0]["rx_bytes"]) == (100000 + 2, 5000 + 1)
    assert (server[0]["tx_bytes"], server[0]["rx_bytes"]) == (5000 + 1, 100000 + 1), server
    assert client[0]["laddr"] == client[0]["raddr"] == "127.0.0.1"
    assert client[0]["comm"] == "python" or client[0]["comm"].startswith("python")
    child, workload = _session()
    r = run_tool("tcplife", "-p", str(child.pid), "--duration", "0.5", workload=workload)
    assert r.lines[0].split() == ["PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB",
                                  "RX_KB", "MS"]
    port = int(child.out.split()[0])
    row = next(ln.split() for ln in r.lines[1:] if ln.split()[5] == str(port))
    assert row[0] == str(child.pid) and row[6:8] == ["97", "4"]


def test_tcpstates(run_tool):
    child, workload = _session()
    r = run_tool("tcpstates", "-4", "-j", "--duration", "0.5", workload=workload)
    port = int(child.out.split()[0])
    client = [x for x in r.records if x["dport"] == port and x["lport"] != port]
    path = [(x["oldstate"], x["newstate"]) for x in client]
    assert path[:2] == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED")], path
    assert path[-1][1] in ("CLOSE", "TIME_WAIT", "FIN_WAIT2"), path
    assert client[0]["pid"] == child.pid and len({x["skaddr"] for x in client}) == 1
    server = [x for x in r.records if x["lport"] == port and x["dport"] != 0]
    assert ("CLOSE_WAIT", "LAST_ACK") in [(x["oldstate"], x["newstate"]) for x in server] or \
        ("ESTABLISHED", "FIN_WAIT1") in [(x["oldstate"], x["newstate"]) for x in server]


def test_tcptop(run_tool):
    child, workload = _session()
    r = run_tool("tcptop", "-C", "-p", str(child.pid), "-j", "0.4", "1", workload=workload)
    port = int(child.out.split()[0])
    client = next(x for x in r.records if x["raddr"] == f"127.0.0.1:{port}")
    server = next(x for x in r.records if x["laddr"] == f"127.0.0.1:{port}")
    assert (client["tx_bytes"], client["rx_bytes"]) == (100000, 5000)
    assert (server["tx_bytes"], server["rx_bytes"]) == (5000, 100000)
    assert client["pid"] == child.pid


# the accept queue of a backlog-0 listener holds one connection: the second
# client's SYN is dropped and retransmitted after the initial RTO (1 s)
RETRANS = f"""
unshare({0x40000000})
import socket, subprocess, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(0)
port = srv.getsockname()[1]
a = socket.create_connection(("127.0.0.1", port))
b = socket.socket()
b.setblocking(False)
b.connect_ex(("127.0.0.1", port))
print(port, b.getsockname()[1], flush=True)
time.sleep(1.5)
"""


def test_tcpretrans(run_tool):
    child = python_child(RETRANS)
    r = run_tool("tcpretrans", "-j", "--duration", "0.2", workload=lambda: go(child))
    port, sport = map(int, child.out.split())
    ours = [x for x in r.records if x["rport"] == port and x["lport"] == sport]
    assert len(ours) == 1, r.records
    assert ours[0]["state"] == "SYN_SENT" and ours[0]["laddr"] == "127.0.0.1"
    child = python_child(RETRANS)
    r = run_tool("tcpretrans", "-c", "--duration", "0.2", workload=lambda: go(child))
    port, sport = map(int, child.out.split())
    assert f"127.0.0.1:{sport}" in r.out
    row = next(ln.split() for ln in r.lines if ln.startswith(f"127.0.0.1:{sport} "))
    assert row == [f"127.0.0.1:{sport}", f"127.0.0.1:{port}", "1"]


def test_bindsnoop(run_tool):
    import os
    import socket

    ports = {}

    def workload():
        with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                socket.socket(socket.AF_INET6) as t6, socket.socket() as clash:
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind(("127.0.0.1", 0))
            ports["tcp"] = t.getsockname()[1]
            t.listen()
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            u.bind(("0.0.0.0", ports["tcp"]))
            t6.bind(("::1", 0))
            try:
                clash.bind(("127.0.0.1", ports["tcp"]))
            except OSError:
                pass

    r = run_tool("bindsnoop", "-p", str(os.getpid()), "-j", "--duration", "0.3",
                 workload=workload)
    got = [(x["proto"], x["addr"], x["port"], x["opts"], x["ret"]) for x in r.records]
    assert got == [("TCP", "127.0.0.1", 0, "R...", 0), ("UDP", "0.0.0.0", ports["tcp"], ".r..", 0),
                   ("TCP", "::1", 0, "....", 0), ("TCP", "127.0.0.1", ports["tcp"], "....", -98)]
    r = run_tool("bindsnoop", "-x", "-p", str(os.getpid()), "--duration", "0.3",
                 workload=workload)
    assert r.lines[0].split() == ["PID", "COMM", "RET", "PROTO", "OPTS", "IF", "PORT", "ADDR"]
    (row,) = [ln.split() for ln in r.lines[1:]]
    assert row[2:] == ["-98", "TCP", "....", "0", str(ports["tcp"]), "127.0.0.1"]
