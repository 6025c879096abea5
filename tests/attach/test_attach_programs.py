"""Acceptance: real libbpf-style C programs, compiled, loaded with ebpf.load and
attached to live kernel events."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import ebpf
from ebpf.kernel import netlink

# every test here runs in a network namespace of its own: XDP/tc on its private lo,
# veth pairs and addresses nobody else (another test run) can collide with
pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("own_netns")]

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def build(bpf_compile):
    def b(name: str) -> Path:
        return bpf_compile(PROGS / f"{name}.bpf.c", name=name)
    return b


def _comm() -> bytes:
    return Path("/proc/self/comm").read_bytes().strip()


def _c(comm: bytes) -> bytes:
    return comm.split(b"\0", 1)[0]


class ExecEvent(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("ppid", ctypes.c_uint32),
                ("comm", ctypes.c_char * 16)]


@pytest.mark.parametrize("decode", ["event", ExecEvent])
def test_execve_tracepoint_core_ringbuf(build, decode):
    obj_path = build("execsnoop")
    with ebpf.load(obj_path, backend="kernel", constants={"target_ppid": os.getpid()}) as obj:
        links = obj.attach()
        assert len(links) == 1
        rb = ebpf.RingBuffer(obj.maps["events"], decode=decode)
        child = subprocess.Popen(["/bin/sh", "-c", "exec /bin/true"])
        child.wait()
        events = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(_c(e.comm) == b"sh" for e in events):
            events += rb.poll(0.5)
        rb.close()
    # the forked child exec()s /bin/sh (comm still ours), then sh exec()s /bin/true
    assert [e.pid for e in events] == [child.pid, child.pid]
    assert all(e.ppid == os.getpid() for e in events)
    assert [_c(e.comm) for e in events] == [_comm()[:15], b"sh"]


def test_raw_tracepoint_syscall_counts_stop_on_close(build):
    with ebpf.load(build("syscount"), backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        counts = obj.maps["counts"]
        link = obj.programs["count_sys_enter"].attach()
        for _ in range(200):
            os.getppid()
        during = counts[os.getpid()]
        assert during >= 200
        link.close()
        after_close = counts[os.getpid()]
        for _ in range(200):
            os.getppid()
        assert counts[os.getpid()] == after_close <= during + 3
        assert list(counts) == [os.getpid()]


def _udp_pair(addr: str = "127.0.0.1"):
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind((addr, 0))
    srv.settimeout(0.3)
    return srv


def _received(srv: socket.socket, payload: bytes, sender: socket.socket, dest) -> bool:
    sender.sendto(payload, dest)
    try:
        while True:
            data = srv.recv(65536)
            if data == payload:
                return True
    except TimeoutError:
        return False


def test_xdp_drops_one_udp_port_on_lo(build):
    drop_srv, other_srv = _udp_pair(), _udp_pair()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = drop_srv.getsockname()[1]
    try:
        with ebpf.load(build("xdp_drop_port"), backend="kernel",
                       constants={"drop_port": port}) as obj:
            prog = obj.programs["xdp_drop_udp_port"]
            with pytest.raises(ebpf.AttachError, match="needs ifname= or ifindex="):
                prog.attach()
            with prog.attach(ifname="lo"):
                assert not _received(drop_srv, b"to-drop", sender, drop_srv.getsockname())
                assert _received(other_srv, b"to-pass", sender, other_srv.getsockname())
                assert obj.maps["stats"][1] >= 1 and obj.maps["stats"][0] >= 1
            assert _received(drop_srv, b"after", sender, drop_srv.getsockname())
    finally:
        for s in (drop_srv, other_srv, sender):
            s.close()


@contextlib.contextmanager
def veth_netns():
    """A netns with one end of a veth pair in it: host 10.213.1.1 <-> ns 10.213.1.2.
    The "host" end is in the test's own netns (own_netns), so the addresses and
    interface names cannot collide with other runs; the netns name is unique."""
    tag = uuid.uuid4().hex[:8]
    ns, host_if, ns_if = f"ebpf_t{tag}", f"ebh{tag}", f"ebn{tag}"
    host_ip, ns_ip = "10.213.1.1", "10.213.1.2"

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)
    try:
        ip("netns", "add", ns)
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{host_ip}/24", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("-n", ns, "addr", "add", f"{ns_ip}/24", "dev", ns_if)
        ip("-n", ns, "link", "set", ns_if, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, host_if, host_ip, ns_ip
    finally:
        ip("link", "del", host_if, check=False)
        ip("netns", "del", ns, check=False)


def _send_from_ns(ns: str, dest: tuple[str, int], payload: bytes) -> None:
    code = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.sendto({payload!r}, ({dest[0]!r}, {dest[1]}))")
    subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True,
                   timeout=30)


def _got(srv: socket.socket, payload: bytes) -> bool:
    try:
        while True:
            if srv.recv(65536) == payload:
                return True
    except TimeoutError:
        return False


def test_xdp_drops_one_udp_port_on_veth_in_netns(build):
    with veth_netns() as (ns, host_if, host_ip, ns_ip):
        drop_srv, other_srv = _udp_pair(host_ip), _udp_pair(host_ip)
        try:
            port = drop_srv.getsockname()[1]
            with ebpf.load(build("xdp_drop_port"), backend="kernel",
                           constants={"drop_port": port}) as obj:
                with obj.programs["xdp_drop_udp_port"].attach(ifname=host_if):
                    _send_from_ns(ns, drop_srv.getsockname(), b"drop-me")
                    assert not _got(drop_srv, b"drop-me")
                    _send_from_ns(ns, other_srv.getsockname(), b"keep-me")
                    assert _got(other_srv, b"keep-me")
                    assert obj.maps["stats"][1] >= 1
                _send_from_ns(ns, drop_srv.getsockname(), b"again")
                assert _got(drop_srv, b"again")
                # veth has native XDP: the same program in driver mode
                with obj.programs["xdp_drop_udp_port"].attach(ifname=host_if, mode="drv"):
                    assert netlink.xdp_query(socket.if_nametoindex(host_if)).attached == 1
                    _send_from_ns(ns, drop_srv.getsockname(), b"drop-native")
                    assert not _got(drop_srv, b"drop-native")
        finally:
            drop_srv.close()
            other_srv.close()


def test_socket_filter_by_length_with_tail_call(build):
    srv = _udp_pair()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with ebpf.load(build("sockfilter_len"), backend="kernel",
                       constants={"max_len": 100}) as obj:
            obj.maps["jump_table"][0] = obj.programs["check_length"]
            verdicts = obj.maps["verdicts"]
            with obj.programs["len_filter"].attach(sock=srv):
                assert _received(srv, b"s" * 10, sender, srv.getsockname())
                assert _received(srv, b"m" * 100, sender, srv.getsockname())
                assert not _received(srv, b"L" * 101, sender, srv.getsockname())
                assert not _received(srv, b"L" * 1000, sender, srv.getsockname())
                assert verdicts[0] == 2 and verdicts[1] == 2 and verdicts[2] == 0
            assert _received(srv, b"L" * 1000, sender, srv.getsockname())
            assert verdicts[1] == 2  # detached: no more verdicts
    finally:
        srv.close()
        sender.close()


def test_uprobes_on_test_binary_and_libc_getpid(build, target_binary):
    with ebpf.load(build("uprobe_count"), backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        calls = obj.maps["calls"]
        progs = obj.programs
        with pytest.raises(ebpf.AttachError, match="needs binary="):
            progs["on_traced_add"].attach()
        with progs["on_traced_add"].attach(binary=target_binary, symbol="traced_add"), \
                progs["on_traced_add_ret"].attach(binary=target_binary, symbol="traced_add"):
            subprocess.run([target_binary, "6"], check=True, capture_output=True)
        assert calls[0] == 6 and calls[2] == 6
        assert calls[3] == sum(i + 1 for i in range(6))  # arguments read through pt_regs
        links = obj.attach()  # only on_getpid: its section says where
        assert [link.program.name for link in links] == ["on_getpid"]
        for _ in range(25):
            os.getpid()
        for link in links:
            link.close()
        assert calls[1] == 25


def test_fentry_fexit_and_lsm_run(build, lockdown, assert_lockdown_refusal):
    if lockdown not in ("", "none"):
        # A locked-down kernel (lockdown=integrity, set in this CI kernel's
        # configuration) refuses trampoline programs to root too, before the verifier
        # runs: the error must say so, not blame a capability or the verifier.
        with pytest.raises(ebpf.Error) as ei:
            ebpf.load(build("fentry_sleep"), backend="kernel",
                      constants={"target_tgid": os.getpid()})
        assert_lockdown_refusal(ei, "sleep_entry")
        return
    obj = ebpf.load(build("fentry_sleep"), backend="kernel",
                    constants={"target_tgid": os.getpid()})
    with obj:
        links = obj.attach()
        assert sorted(link.program.name for link in links) == [
            "on_file_open", "sleep_entry", "sleep_exit"]
        for _ in range(5):
            time.sleep(0.001)
        Path("/proc/self/stat").read_bytes()
        v = obj.variables
        assert v["entries"].value >= 5 and v["exits"].value >= 5
        assert v["last_ret"].value == 0
        assert v["opens"].value >= 1
        for link in links:
            link.close()
        entries = v["entries"].value
        time.sleep(0.001)
        assert v["entries"].value == entries


def test_tp_btf_tracing_link(build):
    with ebpf.load(build("tp_btf_getppid"), backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        links = obj.attach()
        assert [link.program.name for link in links] == ["on_sys_enter"]
        assert links[0].type == ebpf.LinkType.RAW_TRACEPOINT  # what tp_btf links are
        for _ in range(40):
            os.getppid()
        links[0].close()
        for _ in range(10):
            os.getppid()
        assert obj.variables["hits"].value == 40


def test_task_iterator(build):
    with ebpf.load(build("iter_task"), backend="kernel") as obj:
        with obj.programs["dump_task"].attach() as link:
            text = link.read_text()
            again = link.read_text()
    lines = [ln.split(" ", 1) for ln in text.splitlines()]
    assert [str(os.getpid()), _comm().decode()] in [[p, c] for p, c in lines]
    assert len(lines) > 10
    assert again.count("\n") > 10  # every read makes a fresh iterator


@pytest.mark.parametrize("legacy", [False, True], ids=["tcx", "clsact"])
def test_tc_ingress_drops_one_udp_port_on_lo(build, legacy):
    drop_srv, other_srv = _udp_pair(), _udp_pair()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = drop_srv.getsockname()[1]
    had_clsact = "clsact" in subprocess.run(["tc", "qdisc", "show", "dev", "lo"],
                                            capture_output=True, text=True).stdout
    try:
        with ebpf.load(build("tc_drop_port"), backend="kernel",
                       constants={"drop_port": port}) as obj:
            prog = obj.programs["tc_drop_udp_port"]
            with prog.attach(ifname="lo", legacy=legacy) as link:
                assert ("tcx" in link.description) != legacy
                assert not _received(drop_srv, b"drop", sender, drop_srv.getsockname())
                assert _received(other_srv, b"pass", sender, other_srv.getsockname())
                assert obj.variables["dropped"].value >= 1
            assert _received(drop_srv, b"after", sender, drop_srv.getsockname())
        qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", "lo"], capture_output=True,
                                text=True).stdout
        assert ("clsact" in qdiscs) == had_clsact  # the legacy path removed what it added
    finally:
        for s in (drop_srv, other_srv, sender):
            s.close()


def test_map_element_iterator(build, lockdown, assert_lockdown_refusal):
    if lockdown not in ("", "none"):
        # lockdown=integrity refuses the map element iterator (the task iterator loads)
        with pytest.raises(ebpf.Error) as ei:
            ebpf.load(build("iter_map"), backend="kernel")
        assert_lockdown_refusal(ei, "dump_table")
        return
    with ebpf.load(build("iter_map"), backend="kernel") as obj:
        table = obj.maps["table"]
        for k in range(5):
            table[k] = k * 100
        prog = obj.programs["dump_table"]
        with pytest.raises(ebpf.AttachError, match="needs map="):
            prog.attach()
        with prog.attach(map=table) as link:
            rows = sorted(tuple(map(int, ln.split())) for ln in link.read_text().splitlines())
    assert rows == [(k, k * 100) for k in range(5)]


def test_usdt_arguments_through_usdt_bpf_h(build, target_binary):
    with ebpf.load(build("usdt_args"), backend="kernel") as obj:
        prog = obj.programs["on_args"]
        with prog.attach(binary=target_binary, provider="demo", name="args", cookie=99) as link:
            assert len(link) == 1
            subprocess.run([target_binary, "4"], check=True, capture_output=True)
        v = obj.variables
        assert v["hits"].value == 4
        assert v["sum_reg"].value == 0 + 1 + 2 + 3  # "-4@%reg"
        assert v["sum_mem"].value == 1000 * (0 + 1 + 2 + 3)  # "8@off(%rsp)"
        assert v["sum_const"].value == -7 * 4  # "-2@$-7"
        assert v["arg_count"].value == 3 and v["cookie"].value == 99
        # argument spec slots are taken while attached and given back on close
        from ebpf.kernel.attach.usdt import USDTSpecs as _USDTSpecs

        with prog.attach(usdt=("demo", "args"), binary=target_binary):
            assert sum(map(len, _USDTSpecs._used.values())) == 1
        assert sum(map(len, _USDTSpecs._used.values())) == 0


def test_process_exec_and_exit_events(build):
    """A libbpf-bootstrap-like tool: exec (file name from __data_loc) and exit
    (exit code, lifetime) events of our children, decoded through BTF."""
    with ebpf.load(build("procwatch"), backend="kernel",
                   constants={"watch_ppid": os.getpid()}) as obj:
        assert sorted(link.program.name for link in obj.attach()) == ["on_exec", "on_exit"]
        with ebpf.RingBuffer(obj.maps["rb"], decode="lifecycle_event") as rb:
            child = subprocess.run(["/bin/sh", "-c", "sleep 0.05; exit 3"])
            assert child.returncode == 3
            events = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(e.exit_event for e in events):
                events += rb.poll(0.5)
    execs = [e for e in events if not e.exit_event]
    exits = [e for e in events if e.exit_event]
    assert execs and _c(execs[0].filename) == b"/bin/sh" and _c(execs[0].comm) == b"sh"
    assert execs[0].ppid == os.getpid()
    assert len(exits) == 1
    ex = exits[0]
    assert ex.pid == execs[0].pid and ex.exit_code == 3 and _c(ex.comm) == b"sh"
    assert 40_000_000 <= ex.duration_ns < 5_000_000_000


def test_opensnoop_through_a_perf_buffer(build, tmp_path):
    import errno

    with ebpf.load(build("opensnoop"), backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        obj.attach()
        lost = []
        with ebpf.PerfBuffer(obj.maps["events"], decode="open_event",
                             lost_callback=lost.append) as pb:
            present = tmp_path / "present.txt"
            present.write_text("x")
            with open(present) as f:
                fd = f.fileno()
            missing = tmp_path / "missing.txt"
            with pytest.raises(FileNotFoundError):
                open(missing)
            events = []
            deadline = time.monotonic() + 5
            want = {str(present).encode(), str(missing).encode()}
            while time.monotonic() < deadline and not want <= {_c(e.path) for e in events}:
                events += pb.poll(0.5)
    by_path = {_c(e.path): e for e in events}
    hit, miss = by_path[str(present).encode()], by_path[str(missing).encode()]
    assert hit.pid == os.getpid() and hit.ret == fd
    assert miss.ret == -errno.ENOENT
    assert not lost


def test_cgroup_skb_egress_policy_for_a_child_cgroup(build, own_cgroup):
    """Only processes in the cgroup are policed: a child moved into a fresh cgroup
    cannot send to the blocked port, while we (outside it) still can."""
    cg = own_cgroup
    srv = _udp_pair()
    port = srv.getsockname()[1]
    sender_code = ("import socket, sys\n"
                   "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                   "try:\n"
                   f"    s.sendto(sys.argv[1].encode(), ('127.0.0.1', {port}))\n"
                   "except PermissionError:\n"
                   "    sys.exit(13)\n")

    def send_from_cgroup(payload: str) -> int:
        def enter():
            (cg / "cgroup.procs").write_text(str(os.getpid()))
        return subprocess.run([sys.executable, "-c", sender_code, payload],
                              preexec_fn=enter, timeout=30).returncode
    try:
        with ebpf.load(build("cgroup_egress"), backend="kernel",
                       constants={"blocked_port": port}) as obj:
            with obj.programs["egress_policy"].attach(cgroup=str(cg)) as link:
                assert link.type == ebpf.LinkType.CGROUP
                # a cgroup egress drop makes sendto() fail with EPERM
                assert send_from_cgroup("from-cgroup") == 13
                assert not _got(srv, b"from-cgroup")
                sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    assert _received(srv, b"from-outside", sender, srv.getsockname())
                finally:
                    sender.close()
                assert obj.variables["blocked"].value == 1
                assert obj.variables["packets"].value >= 1
            assert send_from_cgroup("after-detach") == 0
            assert _got(srv, b"after-detach")
    finally:
        srv.close()
