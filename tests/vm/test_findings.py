"""Regressions for QA findings on real-world programs (/tmp/qa/FINDINGS.md):
autoload, CGROUP_ARRAY, PERF_EVENT_ARRAY sizing and helper gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


# ---- F2: ProgramSpec.autoload -----------------------------------------------------
@pytest.fixture(scope="module")
def autoload_obj(bpf_compile):
    return bpf_compile(PROGS / "autoload.c")


def _spec(path):
    spec = ebpf.ObjectSpec.from_file(path)
    spec.programs["also_missing_kfunc"].autoload = False  # what libbpf-tools do from C
    return spec


def test_autoload_off_programs_are_not_loaded(autoload_obj):
    spec = _spec(autoload_obj)
    assert not spec.programs["uses_missing_kfunc"].autoload  # SEC("?xdp")
    with ebpf.load(spec, backend="vm") as obj:
        assert set(obj.programs) == {"tail_ok", "xdp_main"}
        main = obj.programs["xdp_main"]
        # slot 0 filled from the initialiser; slot 1 names an unloaded program: empty
        assert main.test_run(_slot(0)).retval == 1  # XDP_DROP
        assert main.test_run(_slot(1)).retval == 2  # fall through


def test_autoload_on_again_fails_like_before(autoload_obj):
    spec = _spec(autoload_obj)
    spec.programs["also_missing_kfunc"].autoload = True
    with pytest.raises(ebpf.LoadError, match="bpf_vm_test_no_such_kfunc"):
        ebpf.load(spec, backend="vm")


def test_programs_option_names_exactly_what_to_load(autoload_obj):
    spec = _spec(autoload_obj)
    with ebpf.load(spec, backend="vm", programs=["xdp_main", "tail_optional"]) as obj:
        assert set(obj.programs) == {"xdp_main", "tail_optional"}
        main = obj.programs["xdp_main"]
        assert main.test_run(_slot(0)).retval == 2  # tail_ok absent
        assert main.test_run(_slot(1)).retval == 3  # XDP_TX
    with pytest.raises(ebpf.LoadError, match="nope"):
        ebpf.load(spec, backend="vm", programs=["nope"])
    with pytest.raises(ebpf.LoadError, match="unknown load option"):
        ebpf.load(spec, backend="vm", no_such_option=1)


@pytest.mark.kernel
def test_autoload_same_programs_as_kernel(autoload_obj):
    for kw in ({}, {"programs": ["xdp_main", "tail_optional"]}):
        seen = []
        for backend in ("kernel", "vm"):
            with ebpf.load(_spec(autoload_obj), backend=backend, **kw) as obj:
                main = obj.programs["xdp_main"]
                seen.append((set(obj.programs), [main.test_run(_slot(i)).retval for i in (0, 1)]))
        assert seen[0] == seen[1]


def _slot(n: int) -> bytes:
    return bytes([n]) + b"\0" * 63


# ---- F3: CGROUP_ARRAY + bpf_current_task_under_cgroup / bpf_skb_under_cgroup -------
@pytest.fixture
def cgroup_dirs():
    """(cgroup v2 root, a new child cgroup, a new sibling of it); removed after."""
    import os

    from ebpf.vm.cgroups import cgroup2_mount

    root = cgroup2_mount()
    if root is None or os.geteuid() != 0:
        pytest.skip("needs a cgroup v2 hierarchy and root to make cgroups")
    made = [os.path.join(root, f"ebpf_vm_test_{os.getpid()}_{n}") for n in ("a", "b")]
    for d in made:
        os.makedirs(d, exist_ok=True)
    yield root, made[0], made[1]
    for d in made:
        os.rmdir(d)


@pytest.fixture(scope="module")
def cgroup_obj(bpf_compile):
    return bpf_compile(PROGS / "cgroup_filter.c")


def _cgroup_run(path, backend: str, slots: dict[int, str], filter_cg: bool = True):
    """Answers of both helpers for slots 0..4 and whether the filter let the event by."""
    import os

    out = {}
    with ebpf.load(path, backend=backend, constants={"filter_cg": filter_cg}) as obj:
        m = obj.maps["cgroup_map"]
        for i, d in slots.items():
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                m[i] = fd
            finally:
                os.close(fd)  # the map keeps the cgroup, not the fd
        for prog, kw in (("task_filter", {"ctx": bytes(8)}), ("skb_filter", {"data": bytes(64)})):
            assert obj.programs[prog].test_run(**kw).retval == 0
            out[prog] = [obj.maps["answers"][i] for i in range(5)]
        out["events"] = obj.variables["events"].value
    return out


def test_cgroup_filter_vm(cgroup_obj, cgroup_dirs):
    root, child, _ = cgroup_dirs
    got = _cgroup_run(cgroup_obj, "vm", {0: root, 1: child, 3: root})
    # under the root: 1; not in the child: 0; empty slot: -EAGAIN; past the end: -E2BIG
    assert got["task_filter"] == got["skb_filter"] == [1, 0, -11, 1, -7]
    assert got["events"] == 1
    got = _cgroup_run(cgroup_obj, "vm", {0: child})
    assert got["events"] == 0  # the filter drops what is not in its cgroup


def test_cgroup_array_user_side_vm(cgroup_dirs):
    _cgroup_array_user_side("vm", cgroup_dirs[0])


@pytest.mark.kernel
def test_cgroup_array_user_side_kernel(cgroup_dirs):
    _cgroup_array_user_side("kernel", cgroup_dirs[0])


def _cgroup_array_user_side(backend: str, root: str) -> None:
    import errno
    import os

    m = ebpf.Map.create(ebpf.MapSpec(name="cg", type=ebpf.MapType.CGROUP_ARRAY, key_size=4,
                                     value_size=4, max_entries=2), backend=backend)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    not_cg = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        m[0] = fd
        with pytest.raises(ebpf.MapError) as e:
            m.update_bytes(b"\1\0\0\0", fd.to_bytes(4, "little"), 1)  # BPF_NOEXIST
        assert e.value.errno == errno.EINVAL
        with pytest.raises(ebpf.MapError) as e:
            m[2] = fd
        assert e.value.errno == errno.E2BIG
        with pytest.raises(ebpf.MapError) as e:
            m[1] = not_cg
        assert e.value.errno == errno.EBADF
        with pytest.raises(ebpf.MapError) as e:
            m[0]
        assert e.value.errno == 524  # ENOTSUPP: values are not readable
        assert list(m.keys()) == [0, 1]
        del m[0]
        with pytest.raises(KeyError):
            del m[0]
    finally:
        os.close(fd)
        os.close(not_cg)
        m.close()


_IN_CGROUP = """
import json, os, sys
sys.path[:0] = {paths!r}
with open(os.path.join({child!r}, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
from tests.vm.test_findings import _cgroup_run
out = {{be: _cgroup_run({obj!r}, be, {{0: {root!r}, 1: {child!r}, 3: {sibling!r}}})
       for be in ("kernel", "vm")}}
print(json.dumps(out))
"""


@pytest.mark.kernel
def test_cgroup_helpers_match_kernel_inside_a_child_cgroup(cgroup_obj, cgroup_dirs):
    import json
    import subprocess
    import sys

    root, child, sibling = cgroup_dirs
    here = _cgroup_run(cgroup_obj, "kernel", {0: root, 1: child, 3: sibling})
    assert here == _cgroup_run(cgroup_obj, "vm", {0: root, 1: child, 3: sibling})
    repo = str(Path(__file__).resolve().parents[2])
    code = _IN_CGROUP.format(paths=[repo, repo + "/src"], child=child, obj=str(cgroup_obj),
                             root=root, sibling=sibling)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=repo)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kernel"] == out["vm"]
    assert out["vm"]["task_filter"] == [1, 1, -11, 0, -7]  # in the child, not the sibling


# ---- PERF_EVENT_ARRAY without max_entries: one slot per CPU -----------------------
PERF_SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	u64 v = 0x1122334455667788;

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def _perf_facts(path, backend: str):
    import errno

    with ebpf.load(path, backend=backend) as obj:
        m = obj.maps["events"]
        facts = [m.max_entries, list(m.keys())]
        with pytest.raises(ebpf.MapError) as e:
            m[0]
        facts.append(e.value.errno in (524, errno.EOPNOTSUPP))
        pb = ebpf.PerfBuffer(m)
        try:
            assert obj.programs["emit"].test_run(bytes(64)).retval == 2
            facts.append(pb.poll(1.0))
        finally:
            pb.close()
    return facts


def test_perf_event_array_sized_by_cpus_vm(bpf_compile):
    from ebpf.vm.maps import possible_cpus

    path = bpf_compile(PERF_SRC, name="perf_unsized")
    assert ebpf.ObjectSpec.from_file(path).maps["events"].max_entries == 0
    n, keys, unreadable, records = _perf_facts(path, "vm")
    assert n == possible_cpus() and keys == list(range(n)) and unreadable
    assert records[0][:8] == (0x1122334455667788).to_bytes(8, "little")


@pytest.mark.kernel
def test_perf_event_array_sized_like_kernel(bpf_compile):
    path = bpf_compile(PERF_SRC, name="perf_unsized")
    assert _perf_facts(path, "kernel") == _perf_facts(path, "vm")


# ---- F4: helper gaps --------------------------------------------------------------
def _helper_gap_facts(path, backend: str) -> dict:
    import os

    st = os.stat("/proc/self/ns/pid")
    with ebpf.load(path, backend=backend,
                   constants={"ns_dev": st.st_dev, "ns_ino": st.st_ino}) as obj:
        assert obj.programs["ns_info"].test_run(ctx=bytes(16)).retval == 0
        v = obj.variables
        facts = {k: v[k].value for k in (
            "ns_ret", "ns_pid", "ns_tgid", "bad_ret", "stack_ret_bad_flags",
            "stack_ret_bad_size", "stack_ret_build_id_kernel", "stack_buf")}
        facts["bad_info"] = (v["bad_info"].value.pid, v["bad_info"].value.tgid)
        cookies = []
        for _ in range(2):
            obj.programs["cookies"].test_run(bytes(64), repeat=3)
            cookies.append((v["cookie1"].value, v["cookie2"].value))
        (a1, a2), (b1, b2) = cookies
        # never 0, stable for one socket, a new socket in each test run
        facts["cookies"] = (a1 != 0, a1 == a2, b1 == b2, a1 != b1)
    return facts


@pytest.fixture(scope="module")
def helper_gaps(bpf_compile):
    return bpf_compile(PROGS / "helper_gaps.c")


def test_helper_gaps_vm(helper_gaps):
    import os

    f = _helper_gap_facts(helper_gaps, "vm")
    assert (f["ns_ret"], f["ns_tgid"]) == (0, os.getpid())
    assert f["ns_pid"] > 0
    assert f["bad_ret"] == -22 and f["bad_info"] == (0, 0)
    assert f["stack_ret_bad_flags"] == f["stack_ret_bad_size"] == -22
    assert f["stack_ret_build_id_kernel"] == -22 and f["stack_buf"] == [0, 0, 0, 0]
    assert f["cookies"] == (True, True, True, True)


@pytest.mark.kernel
def test_helper_gaps_match_kernel(helper_gaps):
    assert _helper_gap_facts(helper_gaps, "kernel") == _helper_gap_facts(helper_gaps, "vm")


def test_task_stack_is_the_call_chain_on_vm(bpf_compile):
    src = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
long ret = -1;
__u64 buf[8] = {9, 9, 9, 9, 9, 9, 9, 9};
SEC("raw_tp/sys_enter")
int st(void *ctx)
{
	ret = bpf_get_task_stack(bpf_get_current_task_btf(), buf, sizeof(buf), 0);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""
    with ebpf.load(bpf_compile(src, name="task_stack"), backend="vm") as obj:
        obj.programs["st"].test_run(ctx=bytes(16))
        # the runtime's stack is the program's call chain: here the helper call alone
        from ebpf.vm.code import CODE_BASE

        assert obj.variables["ret"].value == 8
        buf = obj.variables["buf"].value
        slot = (buf[0] - CODE_BASE) // 8
        ins = obj.programs["st"].code.slots[slot]
        assert (ins.opcode, ins.imm) == (0x85, 141)  # call bpf_get_task_stack
        assert buf[1:] == [0] * 7


_IN_PIDNS = """
import json, sys
sys.path[:0] = {paths!r}
from tests.vm.test_findings import _helper_gap_facts
print(json.dumps({{be: _helper_gap_facts({obj!r}, be) for be in ("kernel", "vm")}}))
"""


@pytest.mark.kernel
def test_ns_pid_tgid_inside_a_new_pid_namespace(helper_gaps):
    import json
    import shutil
    import subprocess
    import sys

    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is part of the test environment"
    repo = str(Path(__file__).resolve().parents[2])
    code = _IN_PIDNS.format(paths=[repo, repo + "/src"], obj=str(helper_gaps))
    r = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=60, cwd=repo)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kernel"] == out["vm"]
    assert (out["vm"]["ns_ret"], out["vm"]["ns_pid"], out["vm"]["ns_tgid"]) == (0, 1, 1)


# ---- F4: open-coded iterators (bpf_for, bpf_repeat, bpf_for_each) ------------------
_ITER_VARS = ("sum", "reps", "each_sum", "neg_sum", "ret_ok", "ret_empty", "ret_backwards",
              "ret_too_big", "next_after_error", "next_empty")


def _iter_facts(path, backend: str, **kw) -> dict:
    with ebpf.load(path, backend=backend, constants={"lo": 3, "hi": 7}, **kw) as obj:
        for name in ("loops", "raw_kfuncs"):
            assert obj.programs[name].test_run(bytes(64)).retval == 2
        return {k: obj.variables[k].value for k in _ITER_VARS}


@pytest.fixture(scope="module")
def iters(bpf_compile):
    return bpf_compile(PROGS / "iters.c")


@pytest.mark.parametrize("jit", [True, False], ids=["translator", "interpreter"])
def test_open_coded_iterators_vm(iters, jit):
    f = _iter_facts(iters, "vm", jit=jit)
    assert f == {"sum": 9 + 16 + 25 + 36, "reps": 7, "each_sum": -3, "neg_sum": -14,
                 "ret_ok": 0, "ret_empty": 0, "ret_backwards": -22, "ret_too_big": -7,
                 "next_after_error": 0, "next_empty": 0}


@pytest.mark.kernel
def test_open_coded_iterators_match_kernel(iters):
    assert _iter_facts(iters, "kernel") == _iter_facts(iters, "vm")


# ---- F4: skb flow hash --------------------------------------------------------------
def _tcp_frame(src: str, dst: str, sport: int, dport: int) -> bytes:
    import socket
    import struct

    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 0x50, 0x02, 8192, 0, 0)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def _hash_facts(path, backend: str) -> dict:
    frames = {"a": _tcp_frame("10.0.0.1", "10.0.0.2", 1000, 80),
              "a_again": _tcp_frame("10.0.0.1", "10.0.0.2", 1000, 80),
              "a_reply": _tcp_frame("10.0.0.2", "10.0.0.1", 80, 1000),
              "b": _tcp_frame("10.0.0.1", "10.0.0.2", 1001, 80)}
    hashes = {}
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for name, frame in frames.items():
            assert obj.programs["hash_it"].test_run(frame).retval == 0
            assert v["field_before"].value == 0
            assert v["recalc"].value == v["field_after"].value != 0
            assert (v["after_invalid"].value, v["set_ret"].value, v["after_set"].value) == \
                (0, 0, 0x1234)
            hashes[name] = v["recalc"].value
    return {"same_flow": hashes["a"] == hashes["a_again"],
            "both_directions": hashes["a"] == hashes["a_reply"],
            "other_flow_differs": hashes["a"] != hashes["b"]}


@pytest.fixture(scope="module")
def skb_hash(bpf_compile):
    return bpf_compile(PROGS / "skb_hash.c")


def test_skb_flow_hash_vm(skb_hash):
    assert _hash_facts(skb_hash, "vm") == {"same_flow": True, "both_directions": True,
                                           "other_flow_differs": True}


@pytest.mark.kernel
def test_skb_flow_hash_like_kernel(skb_hash):
    assert _hash_facts(skb_hash, "kernel") == _hash_facts(skb_hash, "vm")


# ---- F4: kfunc bpf_task_from_pid (sigsnoop) ------------------------------------------
def _task_facts(path, backend: str, target: int) -> dict:
    with ebpf.load(path, backend=backend, constants={"target": target}) as obj:
        assert obj.programs["lookup"].test_run(ctx=bytes(16)).retval == 0
        return {k: obj.variables[k].value
                for k in ("found", "missing_found", "pid", "tgid", "ppid", "comm")}


@pytest.fixture(scope="module")
def task_from_pid(bpf_compile):
    return bpf_compile(PROGS / "task_from_pid.c")


@pytest.fixture
def sleeper():
    import subprocess

    p = subprocess.Popen(["sleep", "30"])
    yield p
    p.kill()
    p.wait()


def test_task_from_pid_vm(task_from_pid, sleeper):
    import os

    f = _task_facts(task_from_pid, "vm", sleeper.pid)
    assert f == {"found": 1, "missing_found": 0, "pid": sleeper.pid, "tgid": sleeper.pid,
                 "ppid": os.getpid(), "comm": b"sleep".ljust(16, b"\0")}
    assert _task_facts(task_from_pid, "vm", 0x7FFF_FFF0)["found"] == 0


@pytest.mark.kernel
def test_task_from_pid_match_kernel(task_from_pid, sleeper):
    for target in (sleeper.pid, 0x7FFF_FFF0):
        assert _task_facts(task_from_pid, "kernel", target) == \
            _task_facts(task_from_pid, "vm", target)


# ---- F5: FLOW_DISSECTOR test runs ----------------------------------------------------
def _flow_frames() -> dict[str, tuple[bytes, bytes | None]]:
    import socket
    import struct

    eth = b"\x02" * 6 + b"\x04" * 6
    tcp = _tcp_frame("10.1.2.3", "10.3.2.1", 4321, 443)
    udp6_hdr = struct.pack("!IHBB16s16s", (6 << 28) | 0xABCDE, 8, 17, 64,
                           socket.inet_pton(socket.AF_INET6, "fd00::1"),
                           socket.inet_pton(socket.AF_INET6, "fd00::2"))
    udp6 = eth + b"\x86\xdd" + udp6_hdr + struct.pack("!HHHH", 53, 5353, 8, 0)
    first_frag = bytearray(tcp)
    first_frag[20:22] = b"\x20\x00"  # MF
    vlan = eth + b"\x81\x00\x00\x05" + tcp[12:]
    flags = struct.pack("<48sI4s", b"", 1, b"")  # BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG
    stop_label = struct.pack("<48sI4s", b"", 2, b"")  # F_STOP_AT_FLOW_LABEL
    return {"tcp4": (tcp, None), "udp6": (udp6, None), "udp6_stop": (udp6, stop_label),
            "frag": (bytes(first_frag), None), "frag_parse": (bytes(first_frag), flags),
            "vlan": (vlan, None), "arp": (eth + b"\x08\x06" + bytes(28), None),
            "short": (tcp[:20], None)}


def _flow_facts(path, backend: str) -> dict:
    out = {}
    with ebpf.load(path, backend=backend) as obj:
        prog = obj.programs["dissect"]
        for name, (frame, ctx) in _flow_frames().items():
            r = prog.test_run(frame, ctx=ctx, repeat=2)
            out[name] = (r.retval, r.data.hex(), None if r.ctx is None else r.ctx.hex())
        out["runs"] = obj.variables["runs"].value
    return out


@pytest.fixture(scope="module")
def flow_dissector(bpf_compile):
    return bpf_compile(PROGS / "flow_dissector.c")


def test_flow_dissector_vm(flow_dissector):
    import struct

    f = _flow_facts(flow_dissector, "vm")
    retval, keys, _ = f["tcp4"]
    keys = bytes.fromhex(keys)
    assert retval == 0 and len(keys) == 56
    nhoff, thoff, addr_proto = struct.unpack_from("<HHH", keys)
    assert (nhoff, thoff, addr_proto, keys[9]) == (14, 34, 0x0800, 6)
    assert struct.unpack_from("!HH", keys, 12) == (4321, 443)
    assert f["arp"][0] == 2 and struct.unpack_from("<HH", bytes.fromhex(f["arp"][1])) == (14, 42)
    assert f["runs"] == 2 * len(_flow_frames())


@pytest.mark.kernel
def test_flow_dissector_matches_kernel(flow_dissector):
    assert _flow_facts(flow_dissector, "kernel") == _flow_facts(flow_dissector, "vm")


# ---- F9: CO-RE against the same target BTF as the kernel backend ---------------------
_CORE_VARS = ("off_pid", "sz_task", "has_missing", "has_pid", "has_old_state", "ringbuf_value",
              "nope_exists", "type_missing_exists", "pid", "tgid", "missing")


def _core_facts(path, backend: str) -> dict:
    spec = ebpf.ObjectSpec.from_file(path)
    spec.programs["unguarded"].autoload = False  # the kernel refuses it (reachable poison)
    with ebpf.load(spec, backend=backend) as obj:
        assert obj.programs["flavors"].test_run(ctx=bytes(16)).retval == 0
        return {k: obj.variables[k].value for k in _CORE_VARS}


@pytest.fixture(scope="module")
def core_flavors(bpf_compile):
    return bpf_compile(PROGS / "core_flavors.c")


def test_core_flavors_vm(core_flavors):
    import os
    import threading

    from ebpf.btf import load_kernel_btf

    task = load_kernel_btf().type_by_name("task_struct", "struct")
    f = _core_facts(core_flavors, "vm")
    assert f["off_pid"] == task.member("pid").offset // 8 and f["sz_task"] == task.size
    assert (f["has_missing"], f["has_pid"], f["type_missing_exists"]) == (0, 1, 0)
    assert (f["ringbuf_value"], f["nope_exists"]) == (int(ebpf.MapType.RINGBUF), 0)
    # the task_struct stand-in is laid out as the kernel's, where CO-RE sent the reads
    assert (f["pid"], f["tgid"]) == (threading.get_native_id(), os.getpid())
    assert f["missing"] == -1  # guarded by the existence check: never read


def test_core_unsatisfied_relocation_faults_only_when_reached(core_flavors):
    spec = ebpf.ObjectSpec.from_file(core_flavors)
    # the verifier refuses the reachable poisoned instruction at load, as the kernel's
    with pytest.raises(ebpf.VerifierError, match="invalid func unknown#195896080"):
        ebpf.load(spec, backend="vm", programs=["unguarded"])
    # unverified, the runtime faults only when the path is taken
    with ebpf.load(spec, backend="vm", verify=False) as obj:
        with pytest.raises(ebpf.RuntimeFault, match="vm_test_no_such_field"):
            obj.programs["unguarded"].test_run(ctx=bytes(16))


def test_core_against_the_programs_own_btf(core_flavors):
    spec = ebpf.ObjectSpec.from_file(core_flavors)
    with ebpf.load(spec, backend="vm", core_btf=spec.btf) as obj:
        obj.programs["flavors"].test_run(ctx=bytes(16))
        v = obj.variables
        # compiled (local) answers: the flavor type is its own target
        assert (v["off_pid"].value, v["sz_task"].value, v["has_missing"].value) == (0, 12, 1)
        assert v["ringbuf_value"].value == 1234


@pytest.mark.kernel
def test_core_flavors_match_kernel(core_flavors):
    assert _core_facts(core_flavors, "kernel") == _core_facts(core_flavors, "vm")


# ---- F10: missing __weak kfuncs guarded by bpf_ksym_exists ---------------------------
@pytest.fixture(scope="module")
def weak_kfunc(bpf_compile):
    return bpf_compile(PROGS / "weak_kfunc.c")


def _weak_facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        r = obj.programs["guarded"].test_run(bytes(64)).retval
        return r, obj.variables["has_missing"].value, obj.variables["has_iter"].value


def test_weak_kfunc_guarded_vm(weak_kfunc):
    assert _weak_facts(weak_kfunc, "vm") == (2, 0, 1)
    with ebpf.load(weak_kfunc, backend="vm", programs=["unguarded"]) as obj:
        with pytest.raises(ebpf.RuntimeFault, match="bpf_vm_test_missing_kfunc"):
            obj.programs["unguarded"].test_run(bytes(64))


@pytest.mark.kernel
def test_weak_kfunc_guarded_matches_kernel(weak_kfunc):
    assert _weak_facts(weak_kfunc, "kernel") == _weak_facts(weak_kfunc, "vm")


# ---- F4: bpf_skb_ecn_set_ce, bpf_send_signal(_thread) ----------------------------------
def _ip4(tos: int) -> bytes:
    import struct

    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20, 1, 0, 64, 17, 0,
                                b"\x0a\0\0\1", b"\x0a\0\0\2"))
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    hdr[10:12] = (~s & 0xFFFF).to_bytes(2, "big")
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + bytes(hdr)


def _ip6(tclass: int) -> bytes:
    import struct

    hdr = struct.pack("!IHBB16s16s", (6 << 28) | (tclass << 20) | 0x12345, 0, 59, 64,
                      b"\xfd" + bytes(15), b"\xfd" + bytes(14) + b"\1")
    return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + hdr


def _ecn_facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend, programs=["ecn"]) as obj:
        for frame in [_ip4(t) for t in (0, 1, 2, 3, 0xB9, 0xBA)] + \
                     [_ip6(t) for t in (0, 1, 2, 3)] + [b"\x02" * 12 + b"\x08\x06" + bytes(28)]:
            r = obj.programs["ecn"].test_run(frame)
            out.append((obj.variables["ecn_ret"].value, r.data.hex()))
    return out


@pytest.fixture(scope="module")
def misc_helpers(bpf_compile):
    return bpf_compile(PROGS / "misc_helpers.c")


def test_ecn_set_ce_vm(misc_helpers):
    facts = _ecn_facts(misc_helpers, "vm")
    assert [r for r, _ in facts] == [0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0]
    marked = bytes.fromhex(facts[2][1])
    assert marked[15] == 3  # ECT(0) -> CE
    s = sum(int.from_bytes(marked[i:i + 2], "big") for i in range(14, 34, 2))
    assert (s & 0xFFFF) + (s >> 16) == 0xFFFF  # the IPv4 checksum still verifies


@pytest.mark.kernel
def test_ecn_set_ce_matches_kernel(misc_helpers):
    assert _ecn_facts(misc_helpers, "kernel") == _ecn_facts(misc_helpers, "vm")


def _signal_facts(path, backend: str) -> tuple:
    import signal
    import time

    got = []
    old = signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    try:
        with ebpf.load(path, backend=backend, programs=["signal_me"],
                       constants={"sig": int(signal.SIGUSR1)}) as obj:
            obj.programs["signal_me"].test_run(ctx=bytes(16))
            v = obj.variables
            rets = (v["sig_ret"].value, v["sig_thread_ret"].value, v["bad_sig_ret"].value)
        for _ in range(100):  # Python runs handlers between bytecodes
            if got:
                break
            time.sleep(0.01)
    finally:
        # a late signal must not kill the test process: ignore rather than default
        signal.signal(signal.SIGUSR1, signal.SIG_IGN if old == signal.SIG_DFL else old)
    # (Python runs one handler for signals that arrive before it looks: count >= 1)
    return rets, bool(got)


def test_send_signal_vm(misc_helpers):
    assert _signal_facts(misc_helpers, "vm") == ((0, 0, -22), True)


@pytest.mark.kernel
def test_send_signal_matches_kernel(misc_helpers):
    assert _signal_facts(misc_helpers, "kernel") == _signal_facts(misc_helpers, "vm")


def test_probe_write_user_vm(misc_helpers):
    # the runtime's "user memory" is its own memory: writable places take the write
    with ebpf.load(misc_helpers, backend="vm", programs=["write_user"]) as obj:
        obj.programs["write_user"].test_run(ctx=bytes(16))
        v = obj.variables
        assert (v["write_ret"].value, v["bad_write_ret"].value) == (0, -14)
        assert v["target_word"].value == 0x1122334455667788


# ---- local storage maps (TASK_STORAGE) ------------------------------------------------
def _task_storage_facts(path, backend: str) -> dict:
    import os

    with ebpf.load(path, backend=backend) as obj:
        for _ in range(3):
            assert obj.programs["count"].test_run(ctx=bytes(16)).retval == 0
        v = obj.variables
        facts = {k: v[k].value for k in ("runs", "seed", "bad_flags")}
        pidfd = os.pidfd_open(os.getpid())
        try:
            value = obj.maps["per_task"][pidfd]  # user space: keyed by pidfd
            facts["user_runs"] = value.runs if hasattr(value, "runs") else value
            obj.programs["forget"].test_run(ctx=bytes(16))
            with pytest.raises(KeyError):
                obj.maps["per_task"][pidfd]
        finally:
            os.close(pidfd)
        facts.update({k: v[k].value for k in ("deleted", "delete_again", "after_delete")})
    return facts


@pytest.fixture(scope="module")
def task_storage(bpf_compile):
    return bpf_compile(PROGS / "task_storage.c")


def test_task_storage_vm(task_storage):
    assert _task_storage_facts(task_storage, "vm") == {
        "runs": 3, "seed": 42, "bad_flags": 0, "user_runs": 3, "deleted": 0,
        "delete_again": -2, "after_delete": 0}


@pytest.mark.kernel
def test_task_storage_matches_kernel(task_storage):
    assert _task_storage_facts(task_storage, "kernel") == _task_storage_facts(task_storage, "vm")


# ---- F4: bpf_fib_lookup (answers that need no routing table) --------------------------
def _fib_facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        assert obj.programs["route"].test_run(bytes(64)).retval == 2
        return {k: obj.variables[k].value
                for k in ("rc_ok", "rc_small", "rc_flags", "rc_nodev", "rc_family", "rc_v6")}


@pytest.fixture(scope="module")
def fib(bpf_compile):
    return bpf_compile(PROGS / "fib.c")


def _lo_forwarding() -> bool:
    return any(Path(f"/proc/sys/net/{p}/conf/lo/forwarding").read_text().strip() != "0"
               for p in ("ipv4", "ipv6"))


def test_fib_lookup_vm(fib):
    if _lo_forwarding():
        with ebpf.load(fib, backend="vm") as obj:
            with pytest.raises(ebpf.RuntimeFault, match="routing"):
                obj.programs["route"].test_run(bytes(64))
        return
    assert _fib_facts(fib, "vm") == {"rc_ok": 5, "rc_small": -22, "rc_flags": -22,
                                     "rc_nodev": -19, "rc_family": -97, "rc_v6": 5}


@pytest.mark.kernel
def test_fib_lookup_matches_kernel(fib):
    assert not _lo_forwarding(), "this comparison needs forwarding off on lo (the default)"
    assert _fib_facts(fib, "kernel") == _fib_facts(fib, "vm")


# ---- F4: bpf_skb_adjust_room ------------------------------------------------------------
_ADJ_CASES = [
    # (len_diff, mode, flags)
    (8, 0, 0), (8, 1, 0), (-4, 0, 0), (-4, 1, 0), (0, 0, 0), (0x1000, 0, 0), (8, 2, 0),
    (20, 1, 1 << 1), (40, 1, 1 << 2), (28, 1, (1 << 1) | (1 << 4)),
    (8, 1, (1 << 1) | (1 << 2)), (8, 1, (1 << 3) | (1 << 4) | (1 << 1)),
    (8, 1, 1 << 4), (-20, 1, 1 << 7), (-20, 1, 1 << 8), (20, 1, 1 << 7), (-20, 1, (1 << 7) | (1 << 8)),
    (8, 1, 1 << 9), (-30, 0, 0), (-8, 1, 1 << 1), (32, 1, (1 << 1) | (14 << 56) | (1 << 6)),
    (32, 1, (1 << 1) | (12 << 56) | (1 << 6)), (10, 1, (1 << 1) | (14 << 56)),
]


def _adjust_facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for frame in (_tcp_frame("10.0.0.1", "10.0.0.2", 1, 2), _ip6(0) + bytes(16),
                      b"\x02" * 12 + b"\x08\x06" + bytes(28)):
            for diff, mode, flags in _ADJ_CASES:
                v["len_diff"].value, v["mode"].value, v["flags"].value = diff, mode, flags
                r = obj.programs["adjust"].test_run(frame)
                out.append((diff, mode, hex(flags), v["ret"].value, v["proto_after"].value,
                            v["len_after"].value, r.data.hex()))
    return out


@pytest.fixture(scope="module")
def adjust_room(bpf_compile):
    return bpf_compile(PROGS / "adjust_room.c")


def test_adjust_room_vm(adjust_room):
    facts = {(d, m, f): rest for d, m, f, *rest in _adjust_facts(adjust_room, "vm")[:2]}
    ret, proto, length, data = facts[(8, 0, "0x0")]
    frame = _tcp_frame("10.0.0.1", "10.0.0.2", 1, 2)
    assert ret == 0 and length == len(frame) + 8
    assert bytes.fromhex(data) == frame[:34] + bytes(8) + frame[34:]  # after the IP header
    ret, proto, length, data = facts[(8, 1, "0x0")]
    assert bytes.fromhex(data) == frame[:14] + bytes(8) + frame[14:]  # after the MAC header


@pytest.mark.kernel
def test_adjust_room_matches_kernel(adjust_room):
    kernel, vm = _adjust_facts(adjust_room, "kernel"), _adjust_facts(adjust_room, "vm")
    assert [k for k, v in zip(kernel, vm, strict=True) if k != v] == []


# ---- F4: bpf_skb_change_proto ------------------------------------------------------------
def _change_proto_facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for frame in (_tcp_frame("10.0.0.1", "10.0.0.2", 1, 2), _ip6(0) + bytes(16),
                      b"\x02" * 12 + b"\x08\x06" + bytes(28)):
            for to, flags in ((0x86DD, 0), (0x0800, 0), (0x0806, 0), (0x86DD, 1)):
                v["to"].value, v["flags"].value = to, flags
                r = obj.programs["change"].test_run(frame)
                out.append((hex(to), flags, v["ret"].value, v["proto_after"].value,
                            v["len_after"].value, r.data.hex()))
    return out


@pytest.fixture(scope="module")
def change_proto(bpf_compile):
    return bpf_compile(PROGS / "change_proto.c")


def test_change_proto_vm(change_proto):
    facts = _change_proto_facts(change_proto, "vm")
    frame = _tcp_frame("10.0.0.1", "10.0.0.2", 1, 2)
    to6 = facts[0]
    assert to6[2:5] == (0, 0xDD86, len(frame) + 20)  # skb->protocol reads in network order
    assert bytes.fromhex(to6[5]) == frame[:14] + bytes(20) + frame[14:]
    assert facts[1][2] == -524 and facts[3][2] == -22


@pytest.mark.kernel
def test_change_proto_matches_kernel(change_proto):
    assert _change_proto_facts(change_proto, "kernel") == _change_proto_facts(change_proto, "vm")


# ---- F4: string kfuncs (bpf_strstr & co, eunomia 43-kfuncs) -------------------------------
def _str_facts(path, backend: str) -> list:
    with ebpf.load(path, backend=backend) as obj:
        assert obj.programs["strings"].test_run(bytes(64)).retval == 2
        return obj.variables["r"].value[:22]


@pytest.fixture(scope="module")
def str_kfuncs(bpf_compile):
    return bpf_compile(PROGS / "str_kfuncs.c")


def test_string_kfuncs_vm(str_kfuncs):
    r = _str_facts(str_kfuncs, "vm")
    assert r[:18] == [21, 4, 0, 1, -1, 0, 4, -2, 21, -2, 18, 5, 10, -2, 0, -2, 5, 0]
    assert r[18] == -34 and r[19] == 1 and r[20] == -14 and r[21] == 8


@pytest.mark.kernel
def test_string_kfuncs_match_kernel(str_kfuncs):
    assert _str_facts(str_kfuncs, "kernel") == _str_facts(str_kfuncs, "vm")


# ---- __ksym variables ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def ksyms(bpf_compile):
    return bpf_compile(PROGS / "ksyms.c")


def _ksym_facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        assert obj.programs["untyped"].test_run(bytes(64)).retval == 2
        return tuple(obj.variables[k].value for k in ("init_addr", "put_addr", "missing_addr"))


def _kallsyms(name: str) -> int:
    with open("/proc/kallsyms") as f:
        return next(int(line.split()[0], 16) for line in f if line.split()[2] == name)


def test_ksyms_vm(ksyms):
    init, put, missing = _ksym_facts(ksyms, "vm")
    assert (init, put, missing) == (_kallsyms("bpf_init"), _kallsyms("bpf_prog_put"), 0)
    # typed per-CPU ksym: a zero-filled stand-in (the vm has no run queues)
    with ebpf.load(ksyms, backend="vm", programs=["typed"]) as obj:
        obj.programs["typed"].test_run(bytes(64))
        assert (obj.variables["nr_running"].value, obj.variables["cpu_far"].value) == (0, 0)


@pytest.mark.kernel
def test_ksyms_match_kernel(ksyms):
    assert _ksym_facts(ksyms, "kernel") == _ksym_facts(ksyms, "vm")


def test_send_signal_never_kills_the_host_process():
    """A signal whose default action ends the process (SIGHUP, SIGABRT, SIGKILL)
    is not delivered to the Python process hosting the runtime."""
    import subprocess
    import sys

    code = (
        "import ebpf, signal\n"
        "for sig in (signal.SIGHUP, signal.SIGABRT, signal.SIGKILL, signal.SIGSTOP):\n"
        "    insns = ebpf.isa.assemble(f'r1 = {int(sig)}\\ncall 109\\nexit')\n"
        "    spec = ebpf.ProgramSpec(name='sig', type=ebpf.ProgramType.SOCKET_FILTER,\n"
        "                            instructions=insns, license='GPL')\n"
        "    # any program type may call it (Linux 6.14+): the runtime contains it\n"
        "    for verify in (True, False):\n"
        "        with ebpf.Program.load(spec, backend='vm', verify=verify) as p:\n"
        "            assert p.test_run(bytes(64)).retval == 0\n"
        "print('alive')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "alive"
