"""Same object, same input: our kernel backend against libbpf (through Debian's
bpftool, used here for comparison only). Return values, output packets and map
contents must match."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

import ebpf

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"
BPFTOOL = shutil.which("bpftool")

if BPFTOOL is None:  # comparison needs the reference implementation
    pytest.skip("bpftool (libbpf) not installed: nothing to compare with",
                allow_module_level=True)


def packet(size: int, proto: int) -> bytes:
    import struct

    eth = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 1, 0, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + ip + bytes((i * 7) & 0xFF for i in range(size - len(eth) - len(ip)))


@pytest.fixture
def libbpf_loaded(tmp_path):
    """Load an object with libbpf (bpftool prog loadall ... pinmaps); yields
    (programs dir, maps dir); removes the pins."""
    base = Path(f"/sys/fs/bpf/ebpf-parity-{uuid.uuid4().hex[:8]}")
    made: list[Path] = []

    def load(obj: Path) -> tuple[Path, Path]:
        progs, maps = base / "progs", base / "maps"
        base.mkdir(exist_ok=True)
        made.append(base)
        r = subprocess.run([BPFTOOL, "prog", "loadall", str(obj), str(progs), "pinmaps",
                            str(maps)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return progs, maps

    yield load
    for b in made:
        shutil.rmtree(b, ignore_errors=True)


def bpftool_run(prog_pin: Path, data: bytes, tmp: Path) -> tuple[int, bytes]:
    din, dout = tmp / "in.bin", tmp / "out.bin"
    din.write_bytes(data)
    r = subprocess.run([BPFTOOL, "prog", "run", "pinned", str(prog_pin), "data_in", str(din),
                        "data_out", str(dout)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"Return value:\s*(\d+)", r.stdout + r.stderr)
    assert m, r.stdout
    return int(m.group(1)), dout.read_bytes()


INPUTS = [packet(64, 17), packet(100, 6), packet(90, 17), packet(64, 1), packet(200, 17)]


@pytest.mark.parametrize("source,program,maps", [
    ("counter.bpf.c", "xdp_count", ["sizes", "stats"]),
    ("sockfilter.bpf.c", "udp_only", ["bytes_by_proto"]),
    ("structs.bpf.c", "count_flow", ["flows"]),
])
def test_same_results_as_libbpf(bpf_compile, libbpf_loaded, tmp_path, source, program, maps):
    obj = bpf_compile(PROGS / source)
    progs_dir, maps_dir = libbpf_loaded(obj)
    theirs = [bpftool_run(progs_dir / program, data, tmp_path) for data in INPUTS]
    with ebpf.load(obj, backend="kernel") as mine:
        ours = []
        for data in INPUTS:
            r = mine.programs[program].test_run(data)
            ours.append((r.retval, r.data))
        assert ours == theirs
        for name in maps:
            with ebpf.Map.from_pin(str(maps_dir / name)) as ref:
                assert sorted(mine.maps[name].items(), key=repr) == \
                    sorted(ref.items(), key=repr), name
