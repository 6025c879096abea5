"""`ebpf prog dump xlated` shows what bpftool does: helper names, map ids and
names, source lines from the program's line info (issue #10 §3)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import ebpf

pytestmark = pytest.mark.kernel

SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} xl_counts SEC(".maps");

SEC("socket")
int xl_prog(struct __sk_buff *skb)
{
	__u32 k = bpf_get_prandom_u32() & 3;
	__u64 *n = bpf_map_lookup_elem(&xl_counts, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
""".lstrip("\n")


def test_dump_xlated_names_helpers_maps_and_source_lines(bpf_compile):
    obj_file = bpf_compile(SRC, name="xlated_dump")
    with ebpf.load(obj_file, backend="kernel") as obj:
        prog, m = obj.programs["xl_prog"], obj.maps["xl_counts"]
        r = subprocess.run([sys.executable, "-m", "ebpf", "prog", "dump", "xlated",
                            str(prog.id)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        text = r.stdout
        assert re.search(r"call bpf_user_rnd_u32#-?\d+", text), text   # the helper's kernel function
        assert re.search(r"call \w*htab\w*lookup\w*#-?\d+", text), text
        assert f"map[id:{m.id}] xl_counts ll" in text
        assert "; __u64 *n = bpf_map_lookup_elem(&xl_counts, &k); @ xlated_dump.c:15" in text
        assert prog.xlated() == text.rstrip("\n")
