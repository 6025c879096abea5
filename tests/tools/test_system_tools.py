"""mountsnoop (tmpfs in a private mount namespace), capable, oomkill (a memory hog in
its own cgroup)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from .workloads import go, memory_cgroup, python_child

pytestmark = pytest.mark.kernel


def test_mountsnoop_tmpfs_in_a_private_mount_namespace(run_tool, tmp_path):
    where = tmp_path / "mnt"
    where.mkdir()
    child = python_child(f"""
unshare({0x00020000})
MS_REC, MS_PRIVATE, MS_NOSUID = 16384, 1 << 18, 2
assert libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0
assert libc.mount(b"ebpf-test-src", {str(where).encode()!r}, b"tmpfs", MS_NOSUID,
                  b"size=1m") == 0
assert libc.umount({str(where).encode()!r}) == 0
assert libc.umount(b"/nonexistent-mountpoint") == -1
""")
    r = run_tool("mountsnoop", "-p", str(child.pid), "--duration", "0.3",
                 workload=lambda: go(child))
    assert child.returncode == 0, child.err
    assert r.lines[0].split() == ["COMM", "PID", "TID", "MNT_NS", "CALL"]
    calls = [ln.split(None, 4)[4] for ln in r.lines[1:]]
    assert calls[1:] == [
        f'mount("ebpf-test-src", "{where}", "tmpfs", MS_NOSUID, "size=1m") = 0',
        f'umount("{where}", 0) = 0',
        'umount("/nonexistent-mountpoint", 0) = -2']
    assert calls[0] == 'mount("none", "/", "", MS_REC|MS_PRIVATE, "") = 0'
    ns = {ln.split()[3] for ln in r.lines[1:]}
    assert len(ns) == 1 and ns != {str(os.stat("/proc/self/ns/mnt").st_ino)}


def test_capable(run_tool):
    raw = "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"

    def allowed():
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()

    r = run_tool("capable", "-p", str(os.getpid()), "-j", "--duration", "0.3",
                 workload=allowed)
    assert {"cap": 13, "name": "CAP_NET_RAW", "verdict": "allow"}.items() <= \
        next(x for x in r.records if x["cap"] == 13).items()
    child = python_child(f"import socket\nos.setuid(65534)\ntry:\n    {raw}\nexcept PermissionError:\n"
                         "    print('denied')\n")
    r = run_tool("capable", "-p", str(child.pid), "-x", "--duration", "0.3",
                 workload=lambda: go(child))
    rows = [ln.split() for ln in r.lines[1:]]
    assert any(row[5:] == ["13", "CAP_NET_RAW", "deny"] and row[1] == "65534" for row in rows)
    assert all(row[-1] == "deny" for row in rows)


@pytest.mark.slow
def test_oomkill_memory_hog_in_its_own_cgroup(run_tool):
    with memory_cgroup(48 << 20) as procs:
        hog = python_child(f"open({str(procs)!r}, 'w').write(str(os.getpid()))\n"
                           "blocks = []\nwhile True:\n    blocks.append(b'x' * (8 << 20))\n")
        r = run_tool("oomkill", "-j", "--duration", "0.5", workload=lambda: go(hog))
        assert hog.returncode == -9
    ours = [x for x in r.records if x["victim_pid"] == hog.pid]
    assert len(ours) == 1, r.records
    assert ours[0]["trigger_pid"] == hog.pid and ours[0]["victim_comm"] == \
        os.path.basename(sys.executable)[:15]
    assert 40 << 20 <= ours[0]["rss_pages"] * os.sysconf("SC_PAGE_SIZE") <= 64 << 20
