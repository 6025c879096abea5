"""vm behaviours that must match the kernel (issue #10 §3): read-only maps,
bpf_send_signal from a timer, devmap/cpumap programs, broadcast redirects."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import ebpf

RDONLY = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u32);
} ro SEC(".maps");

SEC("socket")
int upd(struct __sk_buff *skb)
{
	__u32 k = 1, v = 2;

	return bpf_map_update_elem(&ro, &k, &v, BPF_ANY);
}

SEC("socket")
int del(struct __sk_buff *skb)
{
	__u32 k = 1;

	return bpf_map_delete_elem(&ro, &k);
}

SEC("socket")
int look(struct __sk_buff *skb)
{
	__u32 k = 1, *v = bpf_map_lookup_elem(&ro, &k);

	return v ? *v : 7;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.parametrize("backend", ["vm", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_rdonly_prog_map_cannot_be_written_by_programs(bpf_compile, backend):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(RDONLY, name="rdonly_prog"))
    for name in ("upd", "del"):
        # kernel: the verifier refuses the program; vm: the program stops at the call
        with pytest.raises((ebpf.VerifierError, ebpf.RuntimeFault),
                           match="write into map forbidden"):
            with ebpf.load(spec, backend=backend, programs=[name]) as obj:
                obj.programs[name].test_run(bytes(64))
    with ebpf.load(spec, backend=backend, programs=["look"]) as obj:
        obj.maps["ro"][1] = 5                      # user space may still write it
        assert obj.programs["look"].test_run(bytes(64)).retval == 5


SIGNAL_ON_TIMER = textwrap.dedent(r'''
    import sys, time, ebpf
    obj = ebpf.load(sys.argv[1], backend="vm")
    link = obj.programs["tick"].attach(interval=0.01)
    try:
        time.sleep(1.0)           # the main thread, while the timer fires the program
    except KeyboardInterrupt:
        print("KeyboardInterrupt in the main thread")
        sys.exit(1)
    link.close()
    print("runs", obj.maps["runs"][0])
''')

TICK = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

SEC("perf_event")
int tick(void *ctx)
{
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&runs, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_send_signal(2);		/* SIGINT */
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def test_send_signal_sigint_from_a_timer_never_interrupts_the_host(bpf_compile):
    obj = bpf_compile(TICK, name="sigint_tick")
    r = subprocess.run([sys.executable, "-c", SIGNAL_ON_TIMER, str(obj)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KeyboardInterrupt" not in r.stdout + r.stderr
    assert int(r.stdout.split()[-1]) > 0          # the program did run
