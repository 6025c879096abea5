"""Each example tool runs and prints what the classic tool would (kernel tests
drive real activity while the tool runs and check the lines it printed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest
from own_objects import attached_program_names

from ebpf.demo import firewall_traffic, load_example, write_pcap


def when_attached(progname: str, action, timeout: float = 30.0) -> threading.Thread:
    """Run ``action`` in a thread once a kernel program named ``progname`` that this
    process holds is attached (other test runs attach programs of the same names)."""
    progname = progname[:15]  # the kernel keeps 15 characters

    def worker():
        deadline = time.monotonic() + timeout
        while progname not in attached_program_names() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        action()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    return t


@pytest.mark.kernel
def test_execsnoop(capsys):
    marker = "marker-" + uuid.uuid4().hex[:8]
    t = when_attached("handle_exit_execve",
                      lambda: subprocess.run(["/bin/echo", marker, "two"], check=True,
                                             stdout=subprocess.DEVNULL))
    assert load_example("execsnoop").main(["--duration", "4", "--ppid", str(os.getpid())]) == 0
    t.join()
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PCOMM", "PID", "PPID", "RET", "ARGS"]
    line = next(ln for ln in out if marker in ln)
    comm, pid, ppid, ret, *args = line.split()
    assert comm == "echo" and int(ppid) == os.getpid() and ret == "0"
    assert args == ["/bin/echo", marker, "two"]


@pytest.mark.kernel
def test_opensnoop(capsys, tmp_path):
    present = tmp_path / ("present-" + uuid.uuid4().hex[:6])
    present.write_text("x")
    missing = tmp_path / "missing-file"

    def activity():
        with open(present):
            pass
        try:
            open(missing)
        except FileNotFoundError:
            pass

    t = when_attached("trace_exit_openat", activity)
    assert load_example("opensnoop").main(["--duration", "3", "--pid", str(os.getpid())]) == 0
    t.join()
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PID", "COMM", "FD", "ERR", "PATH"]
    rows = {ln.split()[-1]: ln.split() for ln in out[1:] if str(tmp_path) in ln}
    ok = rows[str(present)]
    assert int(ok[0]) == os.getpid() and int(ok[2]) >= 0 and ok[3] == "0"
    bad = rows[str(missing)]
    assert bad[2:4] == ["-1", "2"]  # ENOENT


@pytest.mark.kernel
def test_syscount(capsys):
    t = when_attached("count_sys_enter", lambda: [os.getppid() for _ in range(500)])
    assert load_example("syscount").main(["--duration", "3", "--pid", str(os.getpid()),
                                          "--top", "50"]) == 0
    t.join()
    out = capsys.readouterr().out.splitlines()
    head = out.index("SYSCALL                     COUNT")
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in out[head + 1:] if ln.strip()}
    assert 500 <= counts["getppid"] < 600


@pytest.mark.kernel
def test_sleeplat_histogram(capsys):
    def activity():
        for _ in range(5):
            time.sleep(0.02)  # 20 ms: slot 16384..32767 us

    t = when_attached("sleep_exit", activity)
    assert load_example("sleeplat").main(["--duration", "3", "--pid", str(os.getpid())]) == 0
    t.join()
    out = capsys.readouterr().out
    assert "     usecs               : count    distribution" in out
    rows = {int(lo): int(n) for lo, hi, n in
            re.findall(r"^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|\**\s*\|$", out, re.M)}
    # a sleep never ends early, and a loaded machine may make it end late: the five
    # 20 ms sleeps are in the 16384..32767 us slot or above (other threads of this
    # process may sleep too, so at least five)
    assert sum(n for lo, n in rows.items() if lo >= 16384) >= 5, out


@pytest.mark.kernel
def test_xdpfw_on_lo(capsys, own_netns):  # its own lo: other runs attach XDP to the host's
    port = 40000 + os.getpid() % 20000
    assert load_example("xdpfw").main(["--ifname", "lo", "--block", str(port),
                                       "--self-test"]) == 0
    out = capsys.readouterr().out
    assert f"port {port} (blocked) received 0 of 5; port {port - 1} received 5 of 5" in out
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.strip()[:1].isdigit()}
    assert rows[str(port)] == ["0", "5"] and rows[str(port - 1)] == ["5", "0"]
    assert "XDP_DROP 5" in out


def _xdpfw_pcap_output(tmp_path, backend, capsys):
    pcap = write_pcap(tmp_path / "t.pcap", firewall_traffic(seed=3, count=120))
    assert load_example("xdpfw").main(["--pcap", str(pcap), "--block", "22,8080",
                                       "--backend", backend]) == 0
    return capsys.readouterr().out


def test_xdpfw_on_a_pcap_in_the_runtime(tmp_path, capsys):
    out = _xdpfw_pcap_output(tmp_path, "vm", capsys)
    frames = firewall_traffic(seed=3, count=120)
    ip = [f for f in frames if f[12:14] == b"\x08\x00"]
    dport = {p: sum(1 for f in ip if int.from_bytes(f[36:38], "big") == p)
             for p in (22, 53, 80, 443, 8080)}
    rows = {int(ln.split()[0]): ln.split()[1:] for ln in out.splitlines()
            if ln.strip()[:1].isdigit()}
    assert rows[22] == ["0", str(dport[22])] and rows[8080] == ["0", str(dport[8080])]
    assert rows[53] == [str(dport[53]), "0"]
    dropped = dport[22] + dport[8080]
    assert f"total: XDP_DROP {dropped}, XDP_PASS {len(frames) - dropped}" in out


@pytest.mark.kernel
def test_xdpfw_pcap_same_on_kernel_and_runtime(tmp_path, capsys):
    vm = _xdpfw_pcap_output(tmp_path, "vm", capsys).replace("[vm]", "")
    kernel = _xdpfw_pcap_output(tmp_path, "kernel", capsys).replace("[kernel]", "")
    assert vm == kernel


@pytest.mark.kernel
def test_sockfilter(capsys):
    assert load_example("sockfilter").main(["--send", "6", "--block-source", "40001",
                                            "--min-payload", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["SPORT", "PACKETS", "BYTES", "DROPPED", "RECEIVED"]
    rows = {ln.split()[0]: ln.split()[1:] for ln in out[2:]}
    # 6 datagrams per source: 4 of 7/8 bytes ("hello N"), 2 of 1 byte (dropped: too short)
    assert rows["40001"] == ["6", "30", "6", "0"]
    assert rows["40002"] == ["6", "30", "2", "4"]
    assert rows["40003"] == ["6", "30", "2", "4"]


@pytest.mark.kernel
def test_mallocsize_uprobe(capsys):
    code = "x = [bytearray(5000) for _ in range(300)]"
    assert load_example("mallocsize").main(["--", sys.executable, "-c", code]) == 0
    out = capsys.readouterr().out
    row = re.search(r"^\s+4096 -> 8191\s+: (\d+)", out, re.M)
    assert row and int(row.group(1)) >= 300, out
    assert re.search(r"^\d+\s+\d+\s+\d+$", out, re.M)


def test_demo_in_the_runtime(capsys):
    from ebpf.demo import main

    assert main(["--backend", "vm"]) == 0
    out = capsys.readouterr().out
    assert "backend vm" in out and "total: XDP_DROP" in out and "ebpf demo: done" in out


@pytest.mark.kernel
def test_tcpconnect(capsys):
    import socket

    ports = {}

    def activity():
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen()
            ports["open"] = srv.getsockname()[1]
            socket.create_connection(("127.0.0.1", ports["open"])).close()
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            ports["closed"] = probe.getsockname()[1]
        try:
            socket.create_connection(("127.0.0.1", ports["closed"]), timeout=2).close()
        except OSError:
            pass

    t = when_attached("handle_set_state", activity)
    assert load_example("tcpconnect").main(["--duration", "3", "--pid", str(os.getpid()),
                                            "--count"]) == 0
    t.join()
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PID", "COMM", "SADDR", "SPORT", "DADDR", "DPORT", "RESULT"]
    rows = [ln.split() for ln in out[1:] if ln.split()[:1] == [str(os.getpid())]]
    by_port = {int(r[5]): r for r in rows}
    ok, refused = by_port[ports["open"]], by_port[ports["closed"]]
    assert ok[2] == ok[4] == "127.0.0.1" and int(ok[3]) > 0 and ok[6] == "connected"
    assert refused[6] == "failed"
    assert f"{ports['open']:>5}         1" in out
