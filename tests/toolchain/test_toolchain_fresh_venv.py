"""From nothing but `pip install .` in a new virtual environment: with no clang
on PATH, `ebpf compile` uses the zig compiler of the ziglang wheel, generates
vmlinux.h from the kernel's BTF, and the object loads and runs in the kernel."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IPV6 0x86DD

__u64 seen = 0;

SEC("xdp")
int only_v6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	seen++;
	return eth->h_proto == bpf_htons(ETH_P_IPV6) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
"""

LOADER = textwrap.dedent("""
    import sys, ebpf
    with ebpf.load(sys.argv[1], backend="kernel") as obj:
        p = obj.programs["only_v6"]
        eth = lambda proto: b"\\x02" * 12 + proto + b"\\x00" * 50
        print(p.test_run(data=eth(b"\\x86\\xdd")).retval, p.test_run(data=eth(b"\\x08\\x00")).retval,
              obj.variables["seen"].value)
""")


@pytest.mark.slow
@pytest.mark.kernel
def test_pip_install_then_compile_with_zig_and_load(tmp_path):
    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.fail("kernel BTF missing: cannot generate vmlinux.h")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        str(ROOT)], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    src = tmp_path / "only_v6.bpf.c"
    src.write_text(PROGRAM)
    # nothing on PATH but the venv: no clang, no gcc, no system zig
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8"}
    r = subprocess.run([str(venv / "bin" / "ebpf"), "-v", "compile", str(src)],
                       capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "zig" in r.stderr  # the -v log names the compiler used
    obj = tmp_path / "only_v6.bpf.o"
    assert obj.is_file()
    assert any((tmp_path / "cache" / "ebpf" / "btf").glob("*/vmlinux.h"))
    r = subprocess.run([str(py), "-c", LOADER, str(obj)], capture_output=True, text=True,
                       timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["2", "1", "2"]  # XDP_PASS, XDP_DROP, two packets seen
