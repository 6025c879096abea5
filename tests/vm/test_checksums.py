"""Checksum helpers: csum_diff (16-bit folded, any sizes, as current kernels),
l3/l4_csum_replace with their flags, checked against the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
FRAMES = [bytes((j * 37 + i) & 255 for j in range(60)) for i in (0, 7, 200)] + [bytes(60)]


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "csum.c")


def results(obj):
    out = []
    for f in FRAMES:
        a = obj.programs["xdp_csum"].test_run(f)
        b = obj.programs["tc_csum"].test_run(f)
        out.append((a.retval, b.retval, b.data, dict(obj.maps["out"].items())))
    return out


def test_checksums_in_vm(path):
    with ebpf.load(path, backend="vm") as obj:
        res = results(obj)
    zeros = res[-1][3]
    assert zeros[0] == 0xFFFF          # csum_sub of zeros keeps the all-ones form
    assert zeros[1] == 0x2346          # push: the seed 0x12345 folded to 16 bits
    assert all(r[3][3] == 7 for r in res)  # equal from and to: the seed
    assert all(r[3][9] == -22 and r[3][10] == -14 for r in res)  # bad size / past the end
    data = res[0][2]
    assert data != FRAMES[0] and data[:24] == FRAMES[0][:24]  # checksums rewritten in place


@pytest.mark.kernel
def test_checksums_match_kernel(path):
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend) as obj:
            out[backend] = results(obj)
    assert out["vm"] == out["kernel"]
