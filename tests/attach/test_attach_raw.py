"""Attaching programs made of raw instructions (no compiler, no ELF loader):
every attach kind the kernel here supports, and the links' lifecycle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from attach_raw import count_into_array, exit_, load, mov64_imm, prog_exists

import ebpf
from ebpf.kernel import netlink
from ebpf.kernel import perf as kperf
from ebpf.kernel.links import FDLink, MultiLink, PerfEventLink, detach_all_legacy
from ebpf.uapi import LinkType, ProgramType

pytestmark = pytest.mark.kernel

LO = 1  # lo's ifindex in every network namespace (tests on lo run in their own: own_netns)


@pytest.fixture(scope="module")
def veth():
    """(name, ifindex) of a veth interface of this module's own: XDP tests on
    ``lo`` would race with other suites attaching there at the same time."""
    import uuid

    name = f"kx{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "link", "add", name + "a", "type", "veth", "peer", "name", name + "b"],
                   check=True, capture_output=True)
    try:
        for end in ("a", "b"):
            subprocess.run(["ip", "link", "set", name + end, "up"], check=True,
                           capture_output=True)
        yield name + "a", socket.if_nametoindex(name + "a")
    finally:
        subprocess.run(["ip", "link", "del", name + "a"], capture_output=True)


@pytest.fixture
def counter():
    m = ebpf.Map.create(ebpf.MapSpec(name="cnt", type=ebpf.MapType.ARRAY, key_size=4,
                                     value_size=8, max_entries=1))
    yield m
    m.close()


def _ret(value: int) -> bytes:
    return mov64_imm(0, value) + exit_()


def test_xdp_link_modes(veth):
    ifname, ifindex = veth
    p = load(_ret(2), ProgramType.XDP, name="xdp_pass", section="xdp")
    try:
        with p.attach(ifname=ifname) as link:
            assert isinstance(link, FDLink)
            state = netlink.xdp_query(ifindex)
            assert state.prog_id == p.id and state.attached == 1  # the kernel picks native
            assert link.type == LinkType.XDP
        assert netlink.xdp_query(ifindex).prog_id == 0
        link.close()  # idempotent
        with p.attach(ifname=ifname, mode="skb"):
            state = netlink.xdp_query(ifindex)
            assert state.prog_id == p.id and state.attached == 2  # generic
        assert netlink.xdp_query(ifindex).prog_id == 0
    finally:
        p.close()


def test_xdp_errors_name_whats_missing(veth):
    p = load(_ret(2), ProgramType.XDP, name="xdp_prog", section="xdp")
    try:
        with pytest.raises(ebpf.AttachError, match="XDP program xdp_prog needs ifname= or ifindex="):
            p.attach()
        with pytest.raises(ebpf.AttachError, match="no network interface named 'nosuch0'"):
            p.attach(ifname="nosuch0")
        with pytest.raises(ebpf.AttachError, match="mode must be"):
            p.attach(ifname="lo", mode="turbo")
        with pytest.raises(ebpf.NotSupportedError, match="drv mode"):
            p.attach(ifname="lo", mode="drv")  # lo has no native XDP
        with pytest.raises(ebpf.AttachError, match="unexpected argument"):
            p.attach(ifname="lo", bogus=1)
        with p.attach(ifindex=veth[1], mode="skb"):
            with pytest.raises(ebpf.AttachError, match="already"):
                p.attach(ifname=veth[0])
    finally:
        p.close()


def test_xdp_legacy_netlink_detached_on_close_and_at_exit(veth):
    ifname, ifindex = veth
    p = load(_ret(2), ProgramType.XDP, name="xdp_nl", section="xdp")
    try:
        link = p.attach(ifname=ifname, legacy=True)
        assert netlink.xdp_query(ifindex).prog_id == p.id
        link.close()
        assert netlink.xdp_query(ifindex).prog_id == 0
        link = p.attach(ifname=ifname, legacy=True)
        assert detach_all_legacy() == 1  # what the atexit hook runs
        assert link.closed and netlink.xdp_query(ifindex).prog_id == 0
    finally:
        p.close()


def test_sigkilled_child_leaves_nothing_attached(tmp_path, veth):
    """A process killed with SIGKILL right after attaching XDP must leave the
    program neither attached nor loaded: the link is owned by its fd."""
    here = os.path.dirname(__file__)
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {here!r})
        from attach_raw import load, mov64_imm, exit_
        from ebpf.uapi import ProgramType
        p = load(mov64_imm(0, 2) + exit_(), ProgramType.XDP, name="xdp_orphan", section="xdp")
        link = p.attach(ifname={veth[0]!r})
        print(p.id, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        prog_id = int(child.stdout.readline())
        assert netlink.xdp_query(veth[1]).prog_id == prog_id
        child.kill()
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    deadline = time.monotonic() + 5
    while (netlink.xdp_query(veth[1]).prog_id or prog_exists(prog_id)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel frees programs after an RCU grace period
    assert netlink.xdp_query(veth[1]).prog_id == 0
    assert not prog_exists(prog_id)


def test_socket_filter_drops_then_detaches():
    drop = load(_ret(0), ProgramType.SOCKET_FILTER, name="drop_all", section="socket")
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        srv.bind(("127.0.0.1", 0))
        srv.settimeout(0.2)
        with pytest.raises(ebpf.AttachError, match="needs sock="):
            drop.attach()
        link = drop.attach(sock=srv)
        cli.sendto(b"dropped", srv.getsockname())
        with pytest.raises(socket.timeout):
            srv.recv(100)
        link.close()
        link.close()
        cli.sendto(b"kept", srv.getsockname())
        assert srv.recv(100) == b"kept"
        with pytest.raises(ebpf.AttachError, match="not a socket"):
            r, w = os.pipe()
            try:
                drop.attach(sock=r)
            finally:
                os.close(r)
                os.close(w)
    finally:
        srv.close()
        cli.close()
        drop.close()


def test_raw_tracepoint_counts_and_stops_on_close(counter):
    p = load(count_into_array(counter.fd, only_tgid=os.getpid()), ProgramType.RAW_TRACEPOINT,
             name="rawtp", section="raw_tp/sys_enter")
    try:
        link = p.attach()
        for _ in range(50):
            os.getppid()
        seen = counter[0]
        assert seen >= 50
        link.close()
        for _ in range(50):
            os.getppid()
        # the close(2) that detaches is itself counted; nothing after it is
        after = counter[0]
        assert after - seen <= 2
        assert counter[0] == after
        with pytest.raises(ebpf.AttachError, match="no tracepoint 'no_such_tp'"):
            p.attach(tracepoint="no_such_tp")
    finally:
        p.close()


def test_tracepoint_by_section_and_by_argument(counter):
    p = load(count_into_array(counter.fd, only_tgid=os.getpid()), ProgramType.TRACEPOINT,
             name="tp", section="tracepoint/syscalls/sys_enter_getppid")
    try:
        with p.attach() as link:
            assert isinstance(link, PerfEventLink)
            for _ in range(20):
                os.getppid()
        assert counter[0] == 20
        counter[0] = 0
        with p.attach(tracepoint="syscalls/sys_enter_getppid"):
            os.getppid()
        assert counter[0] == 1
        with p.attach(legacy=True) as link:  # PERF_EVENT_IOC_SET_BPF, as before Linux 5.15
            assert isinstance(link, PerfEventLink) and link.fd == link.perf_fd
            os.getppid()
        os.getppid()
        assert counter[0] == 2
        with pytest.raises(ebpf.NotSupportedError, match="cookies"):
            p.attach(legacy=True, cookie=7)
        with pytest.raises(ebpf.AttachError, match="no tracepoint syscalls/sys_enter_nothing"):
            p.attach(tracepoint="syscalls/sys_enter_nothing")
        with pytest.raises(ebpf.AttachError, match="invalid tracepoint"):
            p.attach(tracepoint="../x")
    finally:
        p.close()


def test_uprobe_on_libc_getpid_versioned_and_retprobe(counter):
    p = load(count_into_array(counter.fd), ProgramType.KPROBE, name="up", section="uprobe")
    try:
        with p.attach(binary="c", symbol="getpid", pid=os.getpid()):
            for _ in range(30):
                os.getpid()
        assert counter[0] == 30
        counter[0] = 0
        with p.attach(binary="libc.so.6", symbol="getpid@@GLIBC_2.2.5", retprobe=True):
            for _ in range(10):
                os.getpid()
        assert counter[0] >= 10
        with pytest.raises(ebpf.AttachError, match="no symbol no_such_function"):
            p.attach(binary="c", symbol="no_such_function")
        with pytest.raises(ebpf.AttachError, match="needs binary="):
            p.attach(symbol="getpid")
    finally:
        p.close()


def test_perf_event_software_clock_on_every_cpu(counter):
    p = load(count_into_array(counter.fd), ProgramType.PERF_EVENT, name="pe", section="perf_event")
    try:
        with p.attach(perf_event=dict(type="software", config="cpu_clock", sample_freq=1000)) as link:
            if len(kperf.online_cpus()) > 1:
                assert isinstance(link, MultiLink) and len(link) == len(kperf.online_cpus())
            t0 = time.monotonic()
            while counter[0] < 20 and time.monotonic() - t0 < 3:
                time.sleep(0.02)
        assert counter[0] >= 20
        n = counter[0]
        time.sleep(0.05)
        assert counter[0] == n
        with p.attach(perf_event=dict(type=1, config=0, sample_period=100000), cpu=0):
            pass
        with pytest.raises(ebpf.AttachError, match="needs perf_event="):
            p.attach()
        with pytest.raises(ebpf.AttachError, match="sample_period= or sample_freq="):
            p.attach(perf_event=dict(type="software", config="cpu_clock"))
        with pytest.raises(ebpf.AttachError, match="unknown perf event config"):
            p.attach(perf_event=dict(type="software", config="nope", sample_period=1))
    finally:
        p.close()


def test_kprobes_not_supported_here():
    p = load(_ret(0), ProgramType.KPROBE, name="kp", section="kprobe/do_sys_openat2")
    try:
        with pytest.raises(ebpf.NotSupportedError, match="built without kprobes"):
            p.attach()
        q = load(_ret(0), ProgramType.KPROBE, name="kpm", section="kprobe.multi/do_*",
                 expected_attach_type=0)
        try:
            with pytest.raises(ebpf.NotSupportedError, match="without kprobes"):
                q.attach()
        finally:
            q.close()
    finally:
        p.close()


def test_tcx_ingress_egress_and_update(own_netns):
    a = load(_ret(0), ProgramType.SCHED_CLS, name="tc_a", section="tc")
    b = load(_ret(0), ProgramType.SCHED_CLS, name="tc_b", section="tc/egress")
    try:
        with pytest.raises(ebpf.AttachError, match="direction="):
            a.attach(ifname="lo")
        with a.attach(ifname="lo", direction="ingress") as link:
            assert link.type == LinkType(11) if 11 in LinkType._value2member_map_ else True
            assert link.info().prog_id == a.id
        with b.attach(ifname="lo") as link:
            assert "egress" in link.description
            link.update(a)
            assert link.info().prog_id == a.id
    finally:
        a.close()
        b.close()


def test_cgroup_skb_link_and_legacy(tmp_path, own_cgroup):
    p = load(_ret(1), ProgramType.CGROUP_SKB, name="cg_egress", section="cgroup_skb/egress",
             expected_attach_type=1)
    try:
        with pytest.raises(ebpf.AttachError, match="needs cgroup="):
            p.attach()
        with pytest.raises(ebpf.AttachError, match="does not exist"):
            p.attach(cgroup=str(tmp_path / "nope"))
        with p.attach(cgroup=str(own_cgroup)) as link:
            assert link.type == LinkType.CGROUP
        legacy = p.attach(cgroup=str(own_cgroup), legacy=True)
        legacy.close()
        legacy.close()
    finally:
        p.close()


def test_link_pin_keeps_attachment(tmp_path, own_netns):
    from ebpf.kernel.links import open_pinned_link
    from ebpf.kernel.tracefs import ensure_bpffs

    ensure_bpffs()
    path = f"/sys/fs/bpf/ebpf_test_link_{uuid.uuid4().hex[:12]}"
    p = load(_ret(2), ProgramType.XDP, name="xdp_pin", section="xdp")
    try:
        link = p.attach(ifname="lo")
        link.pin(path)
        link.close()
        assert netlink.xdp_query(LO).prog_id == p.id  # the pin keeps it attached
        again = open_pinned_link(path)
        again.unpin()
        again.detach()
        assert netlink.xdp_query(LO).prog_id == 0
    finally:
        if os.path.exists(path):
            os.unlink(path)
        p.close()


def test_uprobe_and_usdt_on_a_test_binary(counter, target_binary):
    p = load(count_into_array(counter.fd), ProgramType.KPROBE, name="up_bin", section="uprobe")
    try:
        with p.attach(binary=target_binary, symbol="traced_add"):
            out = subprocess.run([target_binary, "7"], capture_output=True, text=True, check=True)
            assert out.stdout.strip() == "28"
        assert counter[0] == 7
        counter[0] = 0
        with p.attach(binary=target_binary, symbol="traced_mul", retprobe=True):
            subprocess.run([target_binary, "4"], check=True, capture_output=True)
        assert counter[0] == 4
        counter[0] = 0
        with p.attach(binary=target_binary, usdt=("demo", "tick")) as link:
            assert isinstance(link, MultiLink) and len(link) == 1
            out = subprocess.run([target_binary, "5", "sem"], check=True, capture_output=True,
                                 text=True)
            assert out.stdout.split() == ["15", "1"]  # the kernel raised the semaphore
        assert counter[0] == 5
        out = subprocess.run([target_binary, "1", "sem"], check=True, capture_output=True,
                             text=True)
        assert out.stdout.split() == ["1", "0"]
        counter[0] = 0
        # a pid filter: a process that is not us does not count
        with p.attach(binary=target_binary, symbol="traced_add", pid=os.getpid()):
            subprocess.run([target_binary, "3"], check=True, capture_output=True)
        assert counter[0] == 0
    finally:
        p.close()


def test_netns_netfilter_and_cgroup_sock_kinds(own_netns, own_cgroup):
    made = []

    def mk(ptype, name, section, eat):
        p = load(_ret(1) if ptype != ProgramType.FLOW_DISSECTOR else _ret(0), ptype, name=name,
                 section=section, expected_attach_type=eat)
        made.append(p)
        return p
    try:
        with mk(ProgramType.SK_LOOKUP, "skl", "sk_lookup", 36).attach() as link:
            assert link.type == LinkType.NETNS and "netns" in link.description
        with mk(ProgramType.FLOW_DISSECTOR, "fdis", "flow_dissector", 17).attach(
                netns="/proc/self/ns/net") as link:
            assert link.type == LinkType.NETNS
        nf = mk(32, "nf", "netfilter", 45)
        with pytest.raises(ebpf.AttachError, match="needs hook="):
            nf.attach()
        with nf.attach(pf="ipv4", hook="local_in", priority=-128) as link:
            assert int(link.type) == 10  # BPF_LINK_TYPE_NETFILTER
        for ptype, name, section, eat in [(ProgramType.SOCK_OPS, "so", "sockops", 3),
                                          (ProgramType.CGROUP_SOCK, "cs", "cgroup/sock_create", 2)]:
            with mk(ptype, name, section, eat).attach(cgroup=str(own_cgroup)) as link:
                assert link.type == LinkType.CGROUP
    finally:
        for p in made:
            p.close()


def test_perf_event_links_pin_but_do_not_update(counter, tmp_path):
    from ebpf.kernel.tracefs import ensure_bpffs

    p = load(count_into_array(counter.fd), ProgramType.TRACEPOINT, name="tp",
             section="tracepoint/syscalls/sys_enter_getppid")
    try:
        with p.attach() as link:
            with pytest.raises(ebpf.NotSupportedError, match="updating perf event links"):
                link.update(p)
            ensure_bpffs()
            path = f"/sys/fs/bpf/ebpf_test_tp_{os.getpid()}"
            link.pin(path)
            try:
                assert os.path.exists(path)
            finally:
                os.unlink(path)
    finally:
        p.close()


def test_no_fd_leaks_across_attach_cycles_and_errors(counter, own_netns):
    tp = load(count_into_array(counter.fd), ProgramType.TRACEPOINT, name="tp",
              section="tracepoint/syscalls/sys_enter_getppid")
    xdp = load(_ret(2), ProgramType.XDP, name="xdp", section="xdp")
    up = load(count_into_array(counter.fd), ProgramType.KPROBE, name="up", section="uprobe")
    rbm = ebpf.Map.create(ebpf.MapSpec(name="rb", type=ebpf.MapType.RINGBUF, max_entries=4096))
    pbm = ebpf.Map.create(ebpf.MapSpec(name="pb", type=ebpf.MapType.PERF_EVENT_ARRAY,
                                       key_size=4, value_size=4,
                                       max_entries=len(kperf.possible_cpus())))

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))
    try:
        tp.attach().close()  # warm caches (ldconfig, tracefs, ELF symbols)
        up.attach(binary="c", symbol="getpid").close()
        before = fds()
        for _ in range(5):  # detaching waits for RCU: keep the loop short
            tp.attach().close()
            xdp.attach(ifname="lo").close()
            xdp.attach(ifname="lo", legacy=True).close()
            up.attach(binary="c", symbol="getpid", retprobe=True).close()
            with pytest.raises(ebpf.AttachError):
                tp.attach(tracepoint="syscalls/no_such_event")
            with pytest.raises(ebpf.AttachError):
                up.attach(binary="c", symbol="no_such_symbol")
            with pytest.raises(ebpf.AttachError):
                xdp.attach(ifname="lo", mode="skb", flags=1 << 30)  # bad flags: kernel says no
            ebpf.RingBuffer(rbm).close()
            ebpf.PerfBuffer(pbm, page_count=2).close()
        assert fds() == before
    finally:
        for obj in (tp, xdp, up, rbm, pbm):
            obj.close()


def test_uprobe_multi_one_link_many_functions(counter, target_binary):
    p = load(count_into_array(counter.fd), ProgramType.KPROBE, name="um",
             section=f"uprobe.multi/{target_binary}:traced_*", expected_attach_type=48)
    try:
        with p.attach() as link:  # the section names binary and pattern
            assert "2 probes" in link.description
            subprocess.run([target_binary, "4"], check=True, capture_output=True)
        assert counter[0] == 8  # traced_add and traced_mul, 4 times each
        counter[0] = 0
        with p.attach(binary=target_binary, symbols=["traced_mul"], retprobe=True):
            subprocess.run([target_binary, "3"], check=True, capture_output=True)
        assert counter[0] == 3
        counter[0] = 0
        with p.attach(binary="c", symbols=["getpid"], pid=os.getpid()):
            for _ in range(7):
                os.getpid()
        assert counter[0] == 7
        with pytest.raises(ebpf.AttachError, match="nothing to probe"):
            p.attach(binary=target_binary, pattern="nomatch_*")
    finally:
        p.close()


def test_sk_reuseport_drop_then_detach():
    p = load(_ret(0), ProgramType.SK_REUSEPORT, name="rp_drop", section="sk_reuseport",
             expected_attach_type=39)  # SK_REUSEPORT_SELECT; returns SK_DROP
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            s.settimeout(0.2)
        socks[0].bind(("127.0.0.1", 0))
        socks[1].bind(socks[0].getsockname())
        dest = socks[0].getsockname()

        def delivered(payload: bytes) -> bool:
            sender.sendto(payload, dest)
            for s in socks:
                try:
                    if s.recv(100) == payload:
                        return True
                except TimeoutError:
                    pass
            return False
        with pytest.raises(ebpf.AttachError, match="needs sock="):
            p.attach()
        with p.attach(sock=socks[0]) as link:
            assert "sk_reuseport" in link.description
            assert not delivered(b"dropped")
        assert delivered(b"delivered")
        with pytest.raises(ebpf.AttachError, match="unknown attach_type"):
            p.attach(sock=socks[0], attach_type="no_such_type")
    finally:
        for s in (*socks, sender):
            s.close()
        p.close()
