"""Objects built by compile() with clang and with zig load into the real kernel
and behave: packets through XDP / tc / socket filters via BPF_PROG_TEST_RUN,
tail calls through a statically initialised program array, tracepoints that
fire, and vmlinux.h + CO-RE programs."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest
from test_toolchain_compile import check_object
from toolchain_support import COMPILERS, VMLINUX_PROGRAMS

import ebpf

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")
XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX = 0, 1, 2, 3


def eth(proto: int, payload: bytes = b"") -> bytes:
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack(">H", proto) + payload


def ipv4(proto: int, l4: bytes, src=(10, 0, 0, 1)) -> bytes:
    total = 20 + len(l4)
    return bytes([0x45, 0, total >> 8, total & 0xFF, 0, 0, 0, 0, 64, proto, 0, 0,
                  *src, 10, 0, 0, 2]) + l4


def udp(dport: int) -> bytes:
    return struct.pack(">HHHH", 40000, dport, 8, 0)


def tcp_syn(dport: int) -> bytes:
    return struct.pack(">HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)


@pytest.mark.parametrize("name", VMLINUX_PROGRAMS)
@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.skipif(not KERNEL_BTF.exists(), reason="no kernel BTF to generate vmlinux.h from")
def test_vmlinux_programs_compile(build, name, cc):
    built = build(name, cc)
    check_object(built)
    # vmlinux.h came from the generated cache, not from any source dir
    vm = [d for d in built.deps if Path(d).name == "vmlinux.h"]
    assert vm and "ebpf" in vm[0]
    assert ebpf.ObjectSpec.from_file(built.obj).programs


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_xdp_filter_runs(build, cc):
    with ebpf.load(build("xdp_filter", cc).obj, backend="kernel",
                   constants={"blocked_port": 53}) as obj:
        prog = obj.programs["xdp_filter_prog"]
        assert prog.test_run(data=eth(0x0800, ipv4(17, udp(53)))).retval == XDP_DROP
        assert prog.test_run(data=eth(0x0800, ipv4(17, udp(54)))).retval == XDP_PASS
        assert prog.test_run(data=eth(0x0800, ipv4(6, tcp_syn(80)))).retval == XDP_PASS
        assert prog.test_run(data=eth(0x0806, b"\0" * 28)).retval == XDP_PASS
        assert prog.test_run(data=eth(0x0800, b"\x45")).retval == XDP_ABORTED
        # 802.1Q-tagged IPv4/UDP to the blocked port
        tagged = eth(0x8100, struct.pack(">HH", 5, 0x0800) + ipv4(17, udp(53)))
        assert prog.test_run(data=tagged).retval == XDP_DROP
        assert obj.variables["dropped"].value == 2
        assert obj.variables["seen_tcp_syn"].value == 1
        per_cpu = obj.maps["proto_stats"][17]
        assert sum(r.packets for r in per_cpu) == 3
        assert obj.maps["src_addrs"][bytes([10, 0, 0, 1])] == 4


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_tail_calls_through_static_prog_array(build, cc):
    with ebpf.load(build("tail_calls", cc).obj, backend="kernel") as obj:
        dispatch = obj.programs["dispatch"]
        got = [dispatch.test_run(data=eth(p, b"\0" * 40)).retval
               for p in (0x0800, 0x86DD, 0x0806, 0x0800)]
        assert got == [XDP_DROP, XDP_TX, XDP_PASS, XDP_DROP]
        assert list(obj.variables["stage_hits"].value) == [2, 1, 1]


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_socket_filter_with_global_data(build, cc):
    with ebpf.load(build("socket_stats", cc).obj, backend="kernel",
                   constants={"snap_len": 50}) as obj:
        prog = obj.programs["socket_stats"]
        v6 = eth(0x86DD, bytes([0x60]) + b"\0" * 99)
        v4 = eth(0x0800, bytes([0x45]) + b"\0" * 19)
        assert prog.test_run(data=v6).retval == 50            # capped by snap_len
        assert prog.test_run(data=v4).retval == 20            # from the network header on
        assert obj.variables["packets"].value == 2
        flows = {(k.eth_type, k.len_bucket): v for k, v in obj.maps["flows"].items()}
        assert flows == {(0x86DD, 1): 1, (0x0800, 0): 1}


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_tc_classifier(build, cc):
    with ebpf.load(build("tc_ingress", cc).obj, backend="kernel") as obj:
        prog = obj.programs["tc_ingress"]
        assert prog.test_run(data=eth(0x0800, ipv4(17, udp(7)))).retval == 0  # TC_ACT_OK
        assert prog.test_run(data=eth(0x86DD, b"\0" * 40)).retval == 0
        assert obj.maps["counters"][0] == 1
        assert obj.maps["counters"][1] == 64  # the TTL read with bpf_skb_load_bytes


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_minimal_tracepoint_fires(build, cc):
    with ebpf.load(build("minimal", cc).obj, backend="kernel",
                   constants={}) as obj:
        obj.variables["my_pid"].value = os.getpid()
        links = obj.attach()
        try:
            for _ in range(3):
                os.write(2, b"")
                os.write(1, b"")
        finally:
            for link in links:
                link.close()
        assert obj.variables["hits"].value >= 6


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_bootstrap_ring_buffer(build, cc):
    import subprocess

    with ebpf.load(build("bootstrap", cc).obj, backend="kernel") as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        links = obj.attach()
        try:
            subprocess.run(["/bin/true"], check=True)
            records: list[bytes] = []
            deadline = time.monotonic() + 5
            while len(records) < 2 and time.monotonic() < deadline:
                records += rb.poll(timeout=0.5)
        finally:
            for link in links:
                link.close()
            rb.close()
        assert len(records) >= 2  # exec and exit of /bin/true
        pid, ppid, exit_code, dur = struct.unpack_from("<iiIxxxxQ", records[0])
        assert pid > 0 and ppid > 0


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_core_features_tp_btf(build, cc):
    with ebpf.load(build("core_features", cc).obj, backend="kernel") as obj:
        link = obj.programs["on_switch"].attach()
        try:
            for _ in range(20):
                os.sched_yield()
                time.sleep(0.001)
        finally:
            link.close()
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
        assert obj.variables["version_seen"].value >> 8 == (major << 8) + minor
        assert obj.variables["have_active"].value == 1  # schedule found, the other not
        # our own thread switched out while it yielded and slept; other tasks' entries may be
        # real-time ones (migration threads have prio 0), so judge the prio sum on ours
        s = obj.maps["stats"][os.getpid()]
        prio = 120 + os.getpriority(os.PRIO_PROCESS, 0)  # the kernel's prio of a nice-N task
        assert s.switches >= 1 and s.prio_sum == prio * s.switches
        assert s.loop_sum == 28 + 33 + 200  # bpf_for, bpf_for_each, bpf_repeat
        assert s.flags & 8 and s.flags & 16
        assert (s.flags >> 8) == int(ebpf.MapType.RINGBUF)


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_core_bitfields(build, cc):
    with ebpf.load(build("core_bitfields", cc).obj, backend="kernel") as obj:
        link = obj.programs["bits"].attach()
        try:
            for _ in range(20):
                os.sched_yield()
                time.sleep(0.001)
        finally:
            link.close()
        assert obj.variables["samples"].value >= 1
        assert obj.variables["reset_on_fork_seen"].value in (1, 2, 3)
        assert obj.variables["contributes_seen"].value in (1, 2, 3)


SYS_GETPID = {"x86_64": 39, "aarch64": 172}


@pytest.mark.kernel
@pytest.mark.parametrize("flavour", ["vmlinux", "uapi"])
@pytest.mark.parametrize("cc", COMPILERS)
def test_uprobe_arguments_and_return_value(build, cc, flavour):
    """BPF_UPROBE's six register arguments and BPF_URETPROBE's return value, with
    kernel (vmlinux.h) and user (<asm/ptrace.h>) pt_regs field names."""
    import ctypes
    import platform

    nr = SYS_GETPID.get(platform.machine())
    if nr is None:
        pytest.fail(f"no getpid syscall number known for {platform.machine()}")
    defines = {"USE_UAPI_PTREGS": None} if flavour == "uapi" else None
    libc = ctypes.CDLL("libc.so.6")
    libc.syscall.restype = ctypes.c_long
    with ebpf.load(build("uprobe_args", cc, defines).obj, backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        links = [obj.programs["on_call"].attach(binary="libc.so.6", symbol="syscall"),
                 obj.programs["on_return"].attach(binary="libc.so.6", symbol="syscall")]
        try:
            got = libc.syscall(nr, 1, 2, 3, 4, 5)  # getpid, ignoring five extra arguments
        finally:
            for link in links:
                link.close()
        v = obj.variables
        assert got == os.getpid()
        assert list(v["args_seen"].value) == [nr, 1, 2, 3, 4, 5]
        assert v["manual_first"].value == nr
        assert v["ret_seen"].value == os.getpid()
        assert v["calls"].value >= 1 and v["ip_seen"].value != 0


#: offsets of the first two argument registers in the kernel's struct pt_regs
PT_REGS_ARG_OFFSETS = {"x86_64": (112, 104), "aarch64": (0, 8)}


def usdt_arg_spec(val_off: int, arg_type: int, reg_off: int, signed: bool, size: int) -> bytes:
    return struct.pack("<QIh?b", val_off, arg_type, reg_off, signed, 64 - 8 * size)


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_usdt_arguments_from_spec(build, cc):
    """bpf_usdt_arg() follows a spec the way a loader writes it: a register, a
    sign-extended 4-byte value behind a register, and a constant."""
    import ctypes
    import platform

    offsets = PT_REGS_ARG_OFFSETS.get(platform.machine())
    if offsets is None:
        pytest.fail(f"no pt_regs offsets known for {platform.machine()}")
    nr = SYS_GETPID[platform.machine()]
    reg1, reg2 = offsets
    spec = (usdt_arg_spec(0, 1, reg1, True, 8)        # REG: the syscall number
            + usdt_arg_spec(0, 2, reg2, True, 4)      # REG_DEREF: *(int32 *)second arg
            + usdt_arg_spec(42, 0, 0, False, 8)       # CONST
            + b"\0" * 16 * 9 + struct.pack("<Qh6x", 0xFEED, 3))
    libc = ctypes.CDLL("libc.so.6")
    libc.syscall.restype = ctypes.c_long
    with ebpf.load(build("usdt_args", cc).obj, backend="kernel",
                   constants={"target_tgid": os.getpid()}) as obj:
        obj.maps["__bpf_usdt_specs"][0] = spec  # attach cookie 0 -> spec 0
        value = ctypes.c_int32(-5)
        link = obj.programs["on_usdt"].attach(binary="libc.so.6", symbol="syscall")
        try:
            libc.syscall(nr, ctypes.c_void_p(ctypes.addressof(value)), 0, 0)
        finally:
            link.close()
        v = obj.variables
        assert (v["got_a"].value, v["got_b"].value, v["got_c"].value) == (nr, -5, 42)
        assert v["got_cnt"].value == 3 and v["got_cookie"].value == 0xFEED
        assert v["got_missing_err"].value == -2  # -ENOENT: no argument 5


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_task_iterator_seq_printf(build, cc):
    """BPF_SEQ_PRINTF (over four arguments) and BPF_SNPRINTF in an iter/task program."""
    import re

    with ebpf.load(build("task_iter", cc).obj, backend="kernel") as obj:
        link = obj.programs["dump_task"].attach()
        try:
            text = link.read_text()
        finally:
            link.close()
        lines = text.splitlines()
        assert lines[0].split() == ["TGID", "PPID", "COMM", "STATE"]
        rows = {int(ln.split()[0]): ln.split() for ln in lines[1:]}
        me = rows[os.getpid()]
        assert int(me[1]) == os.getppid()
        assert me[2] == Path(f"/proc/{os.getpid()}/comm").read_text().strip()[:15]
        assert obj.variables["tasks_seen"].value >= len(rows)
        last = bytes(obj.variables["last_line"].value).split(b"\0")[0].decode()
        assert re.fullmatch(r"\d+:.+", last)


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_profile_perf_event_stacks(build, cc):
    with ebpf.load(build("profile", cc).obj, backend="kernel") as obj:
        link = obj.programs["profile"].attach(
            perf_event=dict(type="software", config="cpu_clock", sample_freq=997))
        try:
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                pass  # burn CPU here, so samples land in this process
        finally:
            link.close()
        mine = [(k, v) for k, v in obj.maps["counts"].items() if k.pid == os.getpid()]
        assert mine and sum(v for _, v in mine) >= 1
        assert any(k.user_stack >= 0 for k, _ in mine)  # a user stack id in stackmap
        assert all(k.comm.rstrip(b"\0") for k, _ in mine)


@pytest.mark.kernel
@pytest.mark.parametrize("cc", COMPILERS)
def test_opensnoop_perf_buffer(build, cc, tmp_path):
    """libbpf-tools style: syscall tracepoints, args kept in a hash, events through a
    perf event array, a .rodata filter on our own process."""
    present = tmp_path / "present.txt"
    present.write_text("x")
    missing = tmp_path / "missing.txt"
    with ebpf.load(build("opensnoop", cc).obj, backend="kernel",
                   constants={"targ_tgid": os.getpid()}) as obj:
        pb = ebpf.PerfBuffer(obj.maps["events"])
        links = obj.attach()
        try:
            open(present).close()
            with pytest.raises(FileNotFoundError):
                open(missing)
            records: list[bytes] = []
            deadline = time.monotonic() + 5
            while len(records) < 2 and time.monotonic() < deadline:
                records += pb.poll(timeout=0.5)
        finally:
            for link in links:
                link.close()
            pb.close()
    events = {}
    for rec in records:
        ts, pid, uid, ret, flags = struct.unpack_from("<QiIii", rec)
        fname = rec[56:56 + 255].split(b"\0")[0].decode()
        comm = rec[40:56].split(b"\0")[0]
        assert pid == os.getpid() and uid == os.getuid() and ts > 0 and comm
        events[fname] = ret
    assert events[str(present)] >= 0
    assert events[str(missing)] == -2  # -ENOENT
