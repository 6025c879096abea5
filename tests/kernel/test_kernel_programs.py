"""Kernel programs from hand-built specs: load, test_run, verifier errors,
privilege errors, introspection."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import ebpf
from ebpf import isa
from ebpf.errors import LoadError, PrivilegeError, VerifierError
from ebpf.kernel.programs import FIRST_LOG_SIZE, KernelProgram, load_program
from ebpf.spec import MapSpec, ProgramSpec
from ebpf.uapi import MapType, ProgramType

pytestmark = pytest.mark.kernel

COUNT = """
r6 = r1
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = 0 ll
call 1
if r0 == 0 goto +4
r1 = 1
lock *(u64 *)(r0 + 0) += r1
r0 = 2
exit
r0 = 1
exit
"""


def counting_program() -> ProgramSpec:
    insns = isa.assemble(COUNT)
    lddw = next(i for i in insns if i.is_lddw)
    lddw.reference = isa.MapReference("counter")
    return ProgramSpec(name="xdp_counter", type=ProgramType.XDP, instructions=insns,
                       section="xdp")


def test_load_and_test_run(no_leaks):
    spec = ProgramSpec(name="ret", type=ProgramType.XDP, instructions=isa.assemble("r0 = 3\nexit"))
    with ebpf.Program.load(spec) as prog:
        assert isinstance(prog, KernelProgram) and prog.fd > 0
        r = prog.test_run(b"\xaa" * 64, repeat=10)
        assert r.retval == 3 and r.data == b"\xaa" * 64 and r.duration_ns >= 0
        info = prog.info()
        assert info.name == "ret" and info.type_name == "xdp" and info.id == prog.id
        assert info.xlated_size == 16 and len(info.tag) == 16


def test_map_reference_relocated(no_leaks):
    with ebpf.Map.create(MapSpec(name="counter", type=MapType.ARRAY, key_size=4, value_size=8,
                                 max_entries=1)) as m:
        with load_program(counting_program(), {"counter": m}) as prog:
            assert prog.test_run(b"x" * 64, repeat=7).retval == 2
            assert m[0] == 7
            assert prog.info().map_ids == [m.id]
            text = prog.xlated()
            assert "lock" in text and text.rstrip().endswith("exit")


def test_missing_map_is_a_clear_error(no_leaks):
    with pytest.raises(LoadError, match="counter"):
        load_program(counting_program(), {})


def test_verifier_error_carries_the_log(no_leaks):
    bad = ProgramSpec(name="bad_ctx", type=ProgramType.XDP,
                      instructions=isa.assemble("r0 = *(u64 *)(r1 + 1000)\nexit"))
    with pytest.raises(VerifierError) as ei:
        ebpf.Program.load(bad)
    e = ei.value
    assert "invalid bpf_context access" in e.log
    assert "processed" in e.log  # the whole log, statistics included
    assert "invalid bpf_context access" in str(e) and "bad_ctx" in str(e)
    assert e.errno is not None and e.program == "bad_ctx"


def test_verifier_log_grows_for_long_logs(no_leaks):
    # a long straight-line program whose level-2 log exceeds the first buffer
    body = "\n".join("r0 += 1" for _ in range(20000))
    spec = ProgramSpec(name="long", type=ProgramType.SOCKET_FILTER,
                       instructions=isa.assemble(f"r0 = 0\n{body}\nexit"))
    with load_program(spec, log_level=2, log_size=4096) as prog:
        assert prog.verifier_log.count("r0 += 1") >= 20000
        assert len(prog.verifier_log) > FIRST_LOG_SIZE  # grew past the first buffer


def test_unreachable_code_rejected(no_leaks):
    spec = ProgramSpec(name="unreach", type=ProgramType.SOCKET_FILTER,
                       instructions=isa.assemble("r0 = 0\nexit\nr0 = 1\nexit"))
    with pytest.raises(VerifierError, match="unreachable"):
        ebpf.Program.load(spec)


def test_test_run_bad_input_is_an_error(no_leaks):
    spec = ProgramSpec(name="ret", type=ProgramType.XDP, instructions=isa.assemble("r0 = 2\nexit"))
    with ebpf.Program.load(spec) as prog:
        with pytest.raises(ebpf.SystemCallError):
            prog.test_run(b"")  # XDP needs at least an Ethernet header


def test_jited_dump(no_leaks):
    pytest.importorskip("capstone")
    spec = ProgramSpec(name="ret", type=ProgramType.XDP, instructions=isa.assemble("r0 = 2\nexit"))
    with ebpf.Program.load(spec) as prog:
        text = prog.jited()
        assert "ret" in text or "jmp" in text or "leave" in text


DROP_CAPS = textwrap.dedent("""
    import ctypes, json, os
    libc = ctypes.CDLL(None, use_errno=True)
    class Hdr(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    hdr = Hdr(0x20080522, 0)
    data = (Data * 2)()
    assert libc.capset(ctypes.byref(hdr), data) == 0, ctypes.get_errno()
    import ebpf
    from ebpf import isa
    out = {}
    def attempt(key, fn):
        try:
            fn()
            out[key] = "ok"
        except ebpf.PrivilegeError as e:
            out[key] = [type(e).__name__, e.capability, e.errno, str(e)]
        except Exception as e:
            out[key] = [type(e).__name__, str(e)]
    attempt("map", lambda: ebpf.Map.create(ebpf.MapSpec(name="m", type=ebpf.MapType.HASH,
            key_size=4, value_size=4, max_entries=1)))
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.XDP,
                            instructions=isa.assemble("r0 = 2\\nexit"))
    attempt("xdp", lambda: ebpf.Program.load(spec))
    spec2 = ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.TRACEPOINT,
                             instructions=isa.assemble("r0 = 0\\nexit"))
    attempt("tracepoint", lambda: ebpf.Program.load(spec2))
    spec3 = ebpf.ProgramSpec(name="f", type=ebpf.ProgramType.TRACING, section="fentry/do_nanosleep",
                             attach_type=ebpf.AttachType.TRACE_FENTRY, attach_to="do_nanosleep",
                             instructions=isa.assemble("r0 = 0\\nexit"))
    attempt("fentry", lambda: ebpf.Program.load(spec3))
    attempt("list", lambda: list(ebpf.kernel.info.list_programs()))
    print(json.dumps(out))
""")


def test_missing_privileges_raise_privilege_error():
    r = subprocess.run([sys.executable, "-c", DROP_CAPS], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
        unprivileged_allowed = f.read().strip() == "0"
    if unprivileged_allowed:  # plain maps are open to everyone then
        assert out["map"] == "ok", out
    else:
        assert out["map"][:3] == ["PrivilegeError", "CAP_BPF", 1], out
        assert "needs CAP_BPF" in out["map"][3]
    assert out["xdp"][:2] == ["PrivilegeError", "CAP_NET_ADMIN"], out
    assert out["tracepoint"][:2] == ["PrivilegeError", "CAP_PERFMON"], out
    # without capabilities, a missing capability is the answer even under lockdown
    assert out["fentry"][:2] == ["PrivilegeError", "CAP_PERFMON"], out
    assert "lockdown" not in out["fentry"][3], out
    assert out["list"][0] == "PrivilegeError", out
    assert issubclass(PrivilegeError, PermissionError)


def test_test_run_context_in_and_out(no_leaks):
    # tc program: skb->mark = skb->mark + 1, returns skb->len
    text = """
r2 = *(u32 *)(r1 + 8)
r2 += 1
*(u32 *)(r1 + 8) = r2
r0 = *(u32 *)(r1 + 0)
exit
"""
    spec = ProgramSpec(name="mark", type=ProgramType.SCHED_CLS, instructions=isa.assemble(text))
    ctx = bytearray(192)  # struct __sk_buff
    ctx[8:12] = (41).to_bytes(4, "little")
    with ebpf.Program.load(spec) as prog:
        r = prog.test_run(b"\x01" * 60, ctx=bytes(ctx))
        assert r.retval == 60
        assert r.ctx is not None and len(r.ctx) == 192
        assert int.from_bytes(r.ctx[8:12], "little") == 42


def test_xdp_adjust_head_grows_data_out(no_leaks):
    # bpf_xdp_adjust_head(ctx, -16): the packet comes back 16 bytes longer
    text = """
r2 = -16
call 44
r0 = 2
exit
"""
    spec = ProgramSpec(name="grow", type=ProgramType.XDP, instructions=isa.assemble(text))
    with ebpf.Program.load(spec) as prog:
        r = prog.test_run(b"\xab" * 64)
        assert r.retval == 2 and len(r.data) == 80 and r.data.endswith(b"\xab" * 64)
        r = prog.test_run(b"\xab" * 64, data_size_out=70)  # too small: grown and retried
        assert len(r.data) == 80


def test_open_pinned_program(no_leaks, pin_dir):
    from ebpf.kernel.programs import open_pinned_program

    spec = ProgramSpec(name="ret7", type=ProgramType.SOCKET_FILTER,
                       instructions=isa.assemble("r0 = 7\nexit"))
    path = f"{pin_dir}/ret7"
    with ebpf.Program.load(spec) as prog:
        prog.pin(path)
        pid = prog.id
    with open_pinned_program(path) as again:
        assert again.id == pid and again.type == ProgramType.SOCKET_FILTER
        assert again.name == "ret7"
        assert again.test_run(b"\0" * 20).retval == 7
    with pytest.raises(LoadError, match="not a program"):
        with ebpf.Map.create(MapSpec(name="m", type=MapType.ARRAY, key_size=4, value_size=4,
                                     max_entries=1)) as m:
            m.pin(f"{pin_dir}/m")
            open_pinned_program(f"{pin_dir}/m")
    from ebpf.kernel.maps import open_pinned_map

    with pytest.raises(ebpf.MapError, match="is pinned, but not a map"):
        open_pinned_map(path)
    with pytest.raises(LoadError, match="no pinned object"):
        open_pinned_program(f"{pin_dir}/missing")


def test_unknown_program_type_is_not_supported(no_leaks):
    spec = ProgramSpec(name="x", type=999, instructions=isa.assemble("r0 = 0\nexit"))
    with pytest.raises(ebpf.NotSupportedError, match="program type 999"):
        ebpf.Program.load(spec)
    spec = ProgramSpec(name="x", type=1, instructions=isa.assemble("r0 = 0\nexit"))
    with ebpf.Program.load(spec) as prog:
        assert prog.type is ProgramType.SOCKET_FILTER


def test_empty_program_is_a_clear_error():
    with pytest.raises(LoadError, match="no instructions"):
        ebpf.Program.load(ProgramSpec(name="empty", type=ProgramType.XDP))


CTX_ONLY_SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct args { int a; int b; int sum; };

SEC("raw_tp/sys_enter")
int rawtp_sum(struct bpf_raw_tracepoint_args *ctx)
{
	return (int)(ctx->args[0] + ctx->args[1]);
}

SEC("syscall")
int syscall_sum(struct args *ctx)
{
	ctx->sum = ctx->a + ctx->b;
	return ctx->sum * 2;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_test_run_raw_tracepoint_and_syscall(no_leaks, bpf_compile):
    # the kernel's raw_tp/syscall test-run handlers take ctx_in only (no repeat,
    # no ctx_out); a syscall program's writes come back through ctx_in
    import struct

    obj_path = bpf_compile(CTX_ONLY_SRC, name="ctx_only")
    with ebpf.load(obj_path, backend="kernel") as obj:
        r = obj.programs["rawtp_sum"].test_run(ctx=struct.pack("<QQ", 3, 4))
        assert r.retval == 7
        r = obj.programs["rawtp_sum"].test_run(ctx=struct.pack("<QQ", 30, 4), cpu=0)
        assert r.retval == 34
        r = obj.programs["syscall_sum"].test_run(ctx=struct.pack("<iii", 5, 6, 0))
        assert r.retval == 22
        assert struct.unpack("<iii", r.ctx) == (5, 6, 11)
        with pytest.raises(ebpf.Error, match="repeat"):
            obj.programs["syscall_sum"].test_run(ctx=bytes(12), repeat=5)
        with pytest.raises(ebpf.Error, match="packet data"):
            obj.programs["rawtp_sum"].test_run(b"\0" * 16)


def test_expected_attach_type_falls_back_to_section_number(no_leaks):
    # a spec whose attach_type is None (ebpf.uapi had no member for it) still
    # loads with the kernel number the section name gives
    spec = ProgramSpec(name="conn4", type=ProgramType.CGROUP_SOCK_ADDR, section="cgroup/connect4",
                       attach_type=None, instructions=isa.assemble("r0 = 1\nexit"),
                       license="GPL")
    with ebpf.Program.load(spec) as prog:  # expected_attach_type 0 is EINVAL for this type
        assert prog.type == ProgramType.CGROUP_SOCK_ADDR
