"""`ebpf run`: compile, load, attach, live view, clean detach."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from own_objects import attached_program_names

from ebpf.cli.run import parse_assignments

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EBPF = [sys.executable, "-m", "ebpf"]

# A libbpf-style tool: ring buffer events and a hash map of counters.
WATCH_C = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* puts struct exec_event in the object's BTF, so tools can decode records */
const struct exec_event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} execs_by_ppid SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int PROGNAME(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	__u64 one = 1, *n;
	struct exec_event *e;

	n = bpf_map_lookup_elem(&execs_by_ppid, &ppid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&execs_by_ppid, &ppid, &one, BPF_NOEXIST);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


def watch_source(tmp_path: Path) -> tuple[Path, str]:
    name = "hw_" + uuid.uuid4().hex[:10]
    src = tmp_path / "watch.bpf.c"
    src.write_text(WATCH_C.replace("PROGNAME", name))
    return src, name


def kernel_program_names() -> set[str]:
    from ebpf.kernel.info import list_programs

    return {p.name for p in list_programs()}


def run_ebpf(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*EBPF, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, **kw)


def test_assignments():
    assert parse_assignments(["N=10", "F=false", "S=abc"], "--const", True) == \
        {"N": 10, "F": 0, "S": "abc"}
    from ebpf.errors import Error

    with pytest.raises(Error, match="NAME=VALUE"):
        parse_assignments(["N"], "--const", True)
    with pytest.raises(Error, match="NAME=VALUE"):
        parse_assignments(["=3"], "-D", False)


def test_missing_target_names_the_option():
    r = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                 "--duration", "0")
    assert r.returncode == 1
    assert "xdp_firewall" in r.stderr and "--ifname" in r.stderr and "--pcap" in r.stderr


def test_missing_file():
    r = run_ebpf("run", "/nonexistent/prog.bpf.c", "--backend", "vm")
    assert r.returncode == 1 and "no such file" in r.stderr


def test_vm_backend_over_pcap(tmp_path):
    from ebpf.demo import firewall_traffic, write_pcap

    pcap = tmp_path / "t.pcap"
    write_pcap(pcap, firewall_traffic(seed=1, count=40))
    r = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                 "--pcap", str(pcap), "--duration", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert "backend vm" in r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    ports = next(o for o in objs if o.get("map") == "port_counters")
    total = sum(e["value"]["passed"] + e["value"]["dropped"] for e in ports["entries"])
    ip_frames = [f for f in firewall_traffic(seed=1, count=40) if f[12:14] == b"\x08\x00"]
    assert total == len(ip_frames) > 20
    actions = next(o for o in objs if o.get("map") == "action_counters")
    assert sum(e["value"] for e in actions["entries"]) == 40


@pytest.mark.kernel
def test_plain_run_streams_events_and_detaches(tmp_path):
    src, progname = watch_source(tmp_path)
    proc = subprocess.Popen([*EBPF, "run", str(src), "--duration", "15", "--plain"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while progname[:15] not in attached_program_names(proc.pid):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "program never attached"
            time.sleep(0.1)
        for _ in range(3):
            subprocess.run(["/bin/true"], check=True)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "backend kernel" in err and "detached 1 link" in err
    me = os.getpid()
    events = [ln for ln in out.splitlines() if ln.startswith("events: ")]
    assert sum(f"ppid={me} comm=true" in ln for ln in events) == 3, out
    assert "execs_by_ppid:" in out
    row = next(ln for ln in out.splitlines() if ln.split()[:1] == [str(me)])
    assert row.split()[1] == "3"
    assert progname[:15] not in kernel_program_names()


def _kernel_usable() -> bool:
    if os.geteuid() != 0:
        return False
    from ebpf.kernel.probes import bpf_usable

    return bpf_usable()


# Not kernel-marked on purpose: without tmux it must skip, and a skipped kernel test
# counts as a failure in CI (EBPF_REQUIRE_KERNEL=1). It needs the kernel all the same.
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_live_view_in_a_terminal_then_ctrl_c(tmp_path):
    if not _kernel_usable():
        pytest.skip("needs the kernel backend (root and bpf(2))")
    src, progname = watch_source(tmp_path)
    session = "ebpf-run-" + uuid.uuid4().hex[:8]
    log = tmp_path / "exit"
    cmd = f"cd {ROOT} && {sys.executable} -m ebpf run {src} --interval 0.5; echo EXIT=$? > {log}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", cmd],
                   check=True)
    try:
        deadline = time.monotonic() + 30
        while progname[:15] not in attached_program_names(anyone=True):  # a unique name
            assert time.monotonic() < deadline, "program never attached"
            time.sleep(0.1)
        screen = ""
        for _ in range(60):
            subprocess.run(["/bin/true"], check=True)
            time.sleep(0.25)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if "execs_by_ppid:" in screen and f"ppid={os.getpid()} comm=true" in screen:
                break
        assert "execs_by_ppid:" in screen, screen
        assert f"ppid={os.getpid()} comm=true" in screen, screen
        assert "(Ctrl-C to stop)" in screen and "[kernel]" in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        deadline = time.monotonic() + 20
        while not log.exists():
            assert time.monotonic() < deadline, "ebpf run did not stop on Ctrl-C"
            time.sleep(0.1)
        assert log.read_text().strip() == "EXIT=0"
        assert progname[:15] not in kernel_program_names()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


PERF_C = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct data_t {
	__u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} perf_events SEC(".maps");

const struct data_t *unused_data __attribute__((unused));
const volatile __u32 target_pid = 0;
__u64 calls = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct data_t d = {};

	d.pid = bpf_get_current_pid_tgid() >> 32;
	if (d.pid != target_pid)
		return 0;
	bpf_get_current_comm(d.comm, sizeof(d.comm));
	__sync_fetch_and_add(&calls, 1);
	bpf_printk("getppid from %d", d.pid);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &d, sizeof(d));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
def test_json_perf_buffer_trace_printk_and_globals(tmp_path):
    src = tmp_path / "perf.bpf.c"
    src.write_text(PERF_C)
    marker = tmp_path / "go"
    # the child waits for the marker file, then calls getppid() 4 times
    child = subprocess.Popen([sys.executable, "-c",
                              "import os, time, sys\n"
                              f"while not os.path.exists({str(marker)!r}): time.sleep(0.05)\n"
                              "[os.getppid() for _ in range(4)]\n"])
    try:
        proc = subprocess.Popen([*EBPF, "run", str(src), "--json", "--duration", "15",
                                 "--const", f"target_pid={child.pid}"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while "on_getppid" not in attached_program_names(proc.pid):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        marker.write_text("")
        out, err = proc.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert proc.returncode == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    events = [o for o in objs if o["type"] == "event"]
    assert len(events) == 4
    assert all(e["map"] == "perf_events" and e["data"]["pid"] == child.pid and
               e["data"]["comm"].startswith("python") for e in events)
    traces = [o for o in objs if o["type"] == "trace" and f"getppid from {child.pid}" in
              o["message"]]
    assert len(traces) == 4
    assert {"type": "globals", "values": {"calls": 4}} in objs
    summary = next(o for o in objs if o["type"] == "summary")
    assert summary["events"]["perf_events"] == 4


@pytest.mark.kernel
def test_make_run_demo_on_the_kernel(own_netns):  # the demo's XDP goes on a private lo
    r = subprocess.run([sys.executable, "-m", "ebpf.demo", "--duration", "1.5"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "ebpf demo: backend kernel" in out
    assert re.search(r"^uname\s+\d+\s+\d+\s+0 \S*uname -r$", out, re.M), out
    assert re.search(r"^(newfstatat|read|openat|close|mmap|wait4)\s+\d+$", out, re.M)
    assert "     usecs               : count    distribution" in out
    assert re.search(r"port \d+ \(blocked\) received 0 of 5; port \d+ received 5 of 5", out)
    assert out.rstrip().endswith("ebpf demo: done")


@pytest.mark.kernel
def test_pin_keeps_maps_after_exit():
    pin = Path("/sys/fs/bpf") / ("ebpf_run_" + uuid.uuid4().hex[:8])
    try:
        r = run_ebpf("run", str(EXAMPLES / "syscount" / "syscount.bpf.c"), "--pin", str(pin),
                      "--duration", "0.5", "--plain", "--const", f"target_pid={os.getpid()}")
        assert r.returncode == 0, r.stderr
        assert (pin / "counts").exists()
        import ebpf

        with ebpf.Map.from_pin(str(pin / "counts")) as m:
            assert m.key_size == 8 and m.value_size == 8
    finally:
        if pin.exists():
            for f in pin.iterdir():
                f.unlink()
            pin.rmdir()


def test_program_selection_errors_name_the_programs():
    r = run_ebpf("run", str(EXAMPLES / "xdpfw" / "xdpfw.bpf.c"), "--backend", "vm",
                 "--program", "nope", "--duration", "0")
    assert r.returncode == 1
    assert "--program nope: no such program (the object has xdp_firewall)" in r.stderr


PKT_EVENTS_C = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct pkt_event {
	__u32 len;
	__u16 proto;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} pkt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bytes_seen SEC(".maps");

const struct pkt_event *unused_pkt_event __attribute__((unused));

SEC("xdp")
int xdp_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct pkt_event *e;
	__u32 zero = 0;
	__u64 *b;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	b = bpf_map_lookup_elem(&bytes_seen, &zero);
	if (b)
		__sync_fetch_and_add(b, data_end - data);
	e = bpf_ringbuf_reserve(&pkt_events, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	e->len = data_end - data;
	e->proto = bpf_ntohs(eth->h_proto);
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_ring_buffer_events_from_a_pcap_in_the_runtime(tmp_path):
    from ebpf.demo import tcp_frame, udp_frame, write_pcap

    src = tmp_path / "pkt.bpf.c"
    src.write_text(PKT_EVENTS_C)
    frames = [udp_frame(53, payload=b"x" * 10), tcp_frame(80), udp_frame(9, payload=b"")]
    pcap = write_pcap(tmp_path / "p.pcap", frames)
    r = run_ebpf("run", str(src), "--backend", "vm", "--pcap", str(pcap), "--duration", "1",
                 "--json")
    assert r.returncode == 0, r.stderr
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    events = [o["data"] for o in objs if o["type"] == "event"]
    assert events == [{"len": len(f), "proto": 0x0800, "pad": 0} for f in frames]
    seen = next(o for o in objs if o.get("map") == "bytes_seen")
    assert seen["entries"] == [{"key": 0, "value": sum(map(len, frames))}]


PRINTK_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_print(struct xdp_md *ctx)
{
	bpf_printk("packet of %d bytes", (int)(ctx->data_end - ctx->data));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def test_printk_lines_in_the_runtime(tmp_path):
    from ebpf.demo import udp_frame, write_pcap

    src = tmp_path / "printk.bpf.c"
    src.write_text(PRINTK_C)
    frames = [udp_frame(1, payload=b"a" * n) for n in (1, 2, 3)]
    pcap = write_pcap(tmp_path / "p.pcap", frames)
    r = run_ebpf("run", str(src), "--backend", "vm", "--pcap", str(pcap), "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("trace: ")]
    assert lines == [f"trace: xdp_print: packet of {len(f)} bytes" for f in frames]
    assert "packets: packets 3/3; xdp_print: XDP_PASS 3" in r.stdout
