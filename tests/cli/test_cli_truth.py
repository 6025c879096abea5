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
