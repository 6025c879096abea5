"""Errors that tell the truth and CLI rough edges (issue #10 §2/§3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ebpf

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EBPF = [sys.executable, "-m", "ebpf"]

BAD_XDP = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int bad(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return XDP_DROP;
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
""".lstrip("\n")


def run_ebpf(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*EBPF, *args], capture_output=True, text=True, timeout=timeout,
                          **kw)


@pytest.mark.kernel
def test_verifier_error_names_the_source_line(tmp_path, bpf_compile):
    obj = bpf_compile(BAD_XDP, name="bad_bounds")
    with pytest.raises(ebpf.VerifierError) as e:
        ebpf.load(obj, backend="kernel")
    first, source = str(e.value).splitlines()[:2]
    assert "loading program bad" in first
    assert source.startswith("; if (eth->h_proto == bpf_htons(ETH_P_IP))")
    assert source.endswith(".c:11")
    assert "processed " in e.value.log and "bad_bounds.c:9" in e.value.log  # .log: everything
    # the CLI: the summary by default, the whole log with -v
    r = run_ebpf("run", str(obj), "--ifname", "lo", "--duration", "0")
    assert r.returncode == 1 and "@ bad_bounds.c:11" in r.stderr and "processed " not in r.stderr
    assert "ebpf -v run" in r.stderr
    r = run_ebpf("-v", "run", str(obj), "--ifname", "lo", "--duration", "0")
    assert r.returncode == 1 and "processed " in r.stderr and "bad_bounds.c:9" in r.stderr


# A child process with only the given capabilities (numbers), then `ebpf ARGS...`
# or a Python snippet: the way tests/kernel/test_kernel_programs.py drops them.
CAPS_CHILD = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]
data = (Data * 2)()
for cap in [int(c) for c in sys.argv[1].split(",") if c]:
    data[cap // 32].effective |= 1 << (cap % 32)
    data[cap // 32].permitted |= 1 << (cap % 32)
assert libc.capset(ctypes.byref(Hdr(0x20080522, 0)), data) == 0, ctypes.get_errno()
if sys.argv[2] == "-c":
    exec(sys.argv[3])
else:
    from ebpf.cli import main
    sys.exit(main(sys.argv[2:]))
"""
CAP_BPF = 39


def with_caps(caps: list[int], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CAPS_CHILD, ",".join(map(str, caps)), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def execsnoop_obj(tmp_path_factory):
    return ebpf.compile(EXAMPLES / "execsnoop" / "execsnoop.bpf.c",
                        tmp_path_factory.mktemp("execsnoop") / "execsnoop.bpf.o")


@pytest.fixture(scope="module")
def xdpfw_obj(tmp_path_factory):
    return ebpf.compile(EXAMPLES / "xdpfw" / "xdpfw.bpf.c",
                        tmp_path_factory.mktemp("xdpfw") / "xdpfw.bpf.o")


@pytest.mark.kernel
def test_unprivileged_run_of_a_tracing_program_says_what_it_needs(execsnoop_obj):
    """Without privileges `ebpf run` no longer switches silently to the vm and
    shows an empty screen: it says what is needed and how to run on the vm."""
    r = with_caps([], "run", str(execsnoop_obj), "--plain", "--duration", "5")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "needs kernel events" not in r.stdout
    assert "handle_enter_execve" in r.stderr and "need kernel events" in r.stderr
    assert "CAP_BPF and CAP_PERFMON" in r.stderr and "--backend vm" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.kernel
def test_xdp_with_only_cap_bpf_names_cap_net_admin(xdpfw_obj):
    r = with_caps([CAP_BPF], "run", str(xdpfw_obj), "--ifname", "lo", "--duration", "0")
    assert r.returncode == 1
    assert "needs CAP_NET_ADMIN" in r.stderr and "--backend vm --pcap FILE" in r.stderr
    code = ("import ebpf\ntry:\n    ebpf.load(sys.argv[4], backend='kernel')\n"
            "except ebpf.PrivilegeError as e:\n    print(e.capability)\n")
    r = with_caps([CAP_BPF], "-c", code, str(xdpfw_obj))
    assert r.stdout.strip() == "CAP_NET_ADMIN", r.stderr


@pytest.mark.kernel
def test_python_api_warns_once_for_tracing_on_the_vm(execsnoop_obj):
    """The README's tracing snippet without privileges: ebpf.load() picks the vm;
    attach() warns (once) that kernel events never reach the program."""
    code = ("import warnings, ebpf\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    for _ in range(2):\n"
            "        with ebpf.load(sys.argv[4]) as obj:\n"
            "            print(obj.programs['handle_enter_execve'].backend)\n"
            "            obj.attach()\n"
            "for x in w:\n"
            "    print(x.category.__name__, x.message)\n")
    r = with_caps([], "-c", code, str(execsnoop_obj))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["vm", "vm"]
    warned = [ln for ln in lines[2:] if ln.startswith("RuntimeWarning")]
    assert len(warned) == 1, lines
    assert "kernel events never reach it" in warned[0] and "CAP_PERFMON" in warned[0]


def test_object_without_programs_is_an_error(bpf_compile):
    obj = bpf_compile('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                      'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1);'
                      ' __type(key, __u32); __type(value, __u32); } only_a_map SEC(".maps");\n',
                      name="maps_only")
    r = run_ebpf("run", str(obj), "--backend", "vm", timeout=60)
    assert r.returncode == 1 and "no programs" in r.stderr


def test_pcap_run_ends_with_the_capture_and_map_set_blocks(tmp_path):
    """`ebpf run --pcap` stops once every packet ran (no --duration), and
    --map-set fills a map first, so the firewall blocks on the vm."""
    from ebpf.demo import firewall_traffic, write_pcap

    pcap = tmp_path / "t.pcap"
    frames = firewall_traffic(seed=3, count=60)
    write_pcap(pcap, frames)
    r = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                 "--pcap", str(pcap), "--map-set", "blocked_ports", "22=1",
                 "--map-set", "blocked_ports", "hex:3500=1", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    import json

    objs = [json.loads(line) for line in r.stdout.splitlines()]
    ports = {e["key"]: e["value"] for e in
             next(o for o in objs if o.get("map") == "port_counters")["entries"]}
    assert ports[22]["dropped"] > 0 and ports[22]["passed"] == 0
    assert ports[53]["dropped"] > 0 and ports[53]["passed"] == 0
    assert all(v["dropped"] == 0 for k, v in ports.items() if k not in (22, 53))
    bad = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                   "--pcap", str(pcap), "--map-set", "nope", "1=1")
    assert bad.returncode == 1 and "nope: no such map" in bad.stderr
    bad = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                   "--pcap", str(pcap), "--map-set", "blocked_ports", "22")
    assert bad.returncode == 1 and "KEY=VALUE" in bad.stderr


@pytest.mark.kernel
def test_pin_again_reuses_the_maps_or_replaces_them(tmp_path):
    import uuid

    from ebpf.demo import firewall_traffic, write_pcap

    pcap = tmp_path / "t.pcap"
    write_pcap(pcap, firewall_traffic(seed=3, count=40))
    pin = Path("/sys/fs/bpf") / ("ebpf_pin_again_" + uuid.uuid4().hex[:8])
    base = ["run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "kernel",
            "--pcap", str(pcap), "--pin", str(pin), "--plain"]

    def total() -> int:
        with ebpf.Map.from_pin(str(pin / "action_counters")) as m:
            return sum(sum(v) for v in m.values())
    try:
        r = run_ebpf(*base, timeout=120)
        assert r.returncode == 0, r.stderr
        assert total() == 40
        r = run_ebpf(*base, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "reusing map action_counters pinned at" in r.stderr
        assert total() == 80                      # the second run's data is kept
        r = run_ebpf(*base, "--pin-replace", timeout=120)
        assert r.returncode == 0, r.stderr and "reusing" not in r.stderr
        assert total() == 40
    finally:
        if pin.exists():
            for f in pin.iterdir():
                f.unlink()
            pin.rmdir()


def test_no_cyclic_gc_while_starting_then_back_on():
    """The CLI starts without cyclic garbage collection and turns it back on, so a
    long run collects; a caller that had it off keeps it off."""
    import gc
    import time

    from ebpf.cli import _no_gc_while_starting

    assert gc.isenabled()
    try:
        _no_gc_while_starting(0.05)
        assert not gc.isenabled()
        deadline = time.monotonic() + 10
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.isenabled()
        gc.disable()
        _no_gc_while_starting(0.01)
        time.sleep(0.1)
        assert not gc.isenabled()
    finally:
        gc.enable()
