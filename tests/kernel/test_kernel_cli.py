"""`ebpf prog`, `ebpf map` and `ebpf test-run` against live kernel objects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import ebpf
from ebpf.cli import main

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def counter_obj(bpf_compile):
    return bpf_compile(PROGS / "counter.bpf.c")


@pytest.fixture
def loaded(counter_obj):
    with ebpf.load(counter_obj, backend="kernel") as obj:
        yield obj


def test_prog_list_show_dump(capsys, loaded):
    prog = loaded.programs["xdp_count"]
    rc, out, _ = run(capsys, "prog", "list")
    assert rc == 0 and "xdp_count" in out and out.startswith("ID")
    rc, out, _ = run(capsys, "prog", "list", "--json")
    rows = json.loads(out)
    mine = [r for r in rows if r["id"] == prog.id]
    assert mine and mine[0]["name"] == "xdp_count" and mine[0]["type"] == "xdp"
    rc, out, _ = run(capsys, "prog", "show", str(prog.id), "--json")
    info = json.loads(out)
    assert info["tag"] == prog.info().tag and set(info["map_ids"]) >= {loaded.maps["sizes"].id}
    rc, out, _ = run(capsys, "prog", "show", str(prog.id))
    assert f"{prog.id}: xdp  name xdp_count" in out
    rc, out, _ = run(capsys, "prog", "dump", "xlated", "id", str(prog.id))
    assert rc == 0 and out.rstrip().endswith("exit") and "call" in out
    rc, out, _ = run(capsys, "prog", "dump", "jited", str(prog.id))
    assert rc == 0 and "push" in out


def test_prog_pin_and_pinned_target(capsys, loaded, pin_dir):
    prog = loaded.programs["tail_target"]
    path = os.path.join(pin_dir, "tail")
    rc, _, err = run(capsys, "prog", "pin", str(prog.id), path)
    assert rc == 0, err
    rc, out, _ = run(capsys, "prog", "show", "pinned", path, "--json")
    assert json.loads(out)["id"] == prog.id


def test_prog_errors(capsys):
    rc, _, err = run(capsys, "prog", "show", "name", "no_such_program_x")
    assert rc == 1 and "no program named 'no_such_program_x'" in err
    rc, _, err = run(capsys, "prog", "show", "abc")
    assert rc == 1 and "bad program id" in err
    rc, _, err = run(capsys, "prog", "show", "2147483000")
    assert rc == 1 and "ENOENT" in err


def test_map_commands(capsys, loaded, pin_dir):
    sizes = loaded.maps["sizes"]
    sizes[64] = 3
    mid = str(sizes.id)
    rc, out, _ = run(capsys, "map", "list")
    assert rc == 0 and "sizes" in out
    rc, out, _ = run(capsys, "map", "show", mid, "--json")
    assert json.loads(out)["max_entries"] == 1024
    rc, out, _ = run(capsys, "map", "lookup", mid, "64")
    assert rc == 0 and "value: 3" in out
    rc, out, _ = run(capsys, "map", "update", mid, "0x05", "0x00", "0x00", "0x00", "value", "77")
    assert rc == 0 and sizes[5] == 77
    rc, out, _ = run(capsys, "map", "update", mid, "key", "6", "value", "hex:0900000000000000")
    assert rc == 0 and sizes[6] == 9
    rc, out, _ = run(capsys, "map", "update", mid, "7", "8")
    assert rc == 0 and sizes[7] == 8
    rc, out, _ = run(capsys, "map", "dump", mid, "--json")
    entries = {e["key"]: e["value"] for e in json.loads(out)}
    assert entries == {64: 3, 5: 77, 6: 9, 7: 8}
    rc, out, _ = run(capsys, "map", "dump", mid)
    assert "Found 4 elements" in out
    dumped = next(ln for ln in out.splitlines() if ln.startswith("key: 6 "))
    rc, out, _ = run(capsys, "map", "lookup", mid, "6")   # one formatting for both
    assert out.strip() == dumped.strip(), (out, dumped)
    rc, out, _ = run(capsys, "map", "lookup", mid, "6", "--json")
    assert json.loads(out)["key"] == 6
    rc, _, _ = run(capsys, "map", "delete", mid, "5")
    assert rc == 0 and 5 not in sizes
    rc, _, err = run(capsys, "map", "delete", mid, "5")
    assert rc == 1 and "no entry" in err
    rc, _, err = run(capsys, "map", "update", mid, "1", "value", "0x01", "0x02")
    assert rc == 1 and "value is 2 bytes, the map needs 8" in err
    path = os.path.join(pin_dir, "sizes")
    sizes.pin(path)
    rc, out, _ = run(capsys, "map", "lookup", "pinned", path, "7", "--json")
    assert json.loads(out)["value"] == 8
    rc, out, _ = run(capsys, "map", "show", "name", "sizes", "--json")
    assert rc == 0


def test_test_run_command(capsys, counter_obj, tmp_path):
    rc, out, err = run(capsys, "test-run", str(counter_obj), "xdp_count", "--data-size", "64",
                       "--repeat", "4", "--backend", "kernel")
    assert rc == 0, err
    assert "retval: 2 (0x2)" in out and "mean of 4 runs" in out and "0030:" in out
    pkt = tmp_path / "pkt.bin"
    pkt.write_bytes(bytes(range(60)))
    rc, out, _ = run(capsys, "test-run", str(counter_obj), "xdp_count", "--data", str(pkt),
                     "--const", "verdict=1", "--json")
    res = json.loads(out)
    assert res["retval"] == 1 and res["data"] == bytes(range(60)).hex()
    assert res["backend"] == "kernel"
    rc, _, err = run(capsys, "test-run", str(counter_obj), "missing_prog")
    assert rc == 1 and "no program 'missing_prog'" in err and "xdp_count" in err
    rc, _, err = run(capsys, "test-run", str(counter_obj), "xdp_count", "--data-hex", "zz")
    assert rc == 1 and "not hex" in err


def test_test_run_compiles_c_without_littering(capsys, tmp_path):
    src = tmp_path / "ret.bpf.c"
    src.write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                   'SEC("xdp") int ret(struct xdp_md *ctx) { return XDP_TX; }\n'
                   'char LICENSE[] SEC("license") = "GPL";\n')
    rc, out, err = run(capsys, "test-run", str(src), "ret", "--data-size", "14", "--json")
    assert rc == 0, err
    assert json.loads(out)["retval"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ret.bpf.c"]


def test_prog_run_and_map_pin_freeze(capsys, loaded, pin_dir):
    prog = loaded.programs["xdp_count"]
    rc, out, err = run(capsys, "prog", "run", str(prog.id), "--data-size", "64", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["retval"] == 2 and res["data"] == "00" * 64 and res["id"] == prog.id
    assert loaded.maps["sizes"][64] >= 1
    stats = loaded.maps["stats"]
    path = os.path.join(pin_dir, "stats")
    rc, _, err = run(capsys, "map", "pin", str(stats.id), path)
    assert rc == 0 and os.path.exists(path), err
    rc, _, err = run(capsys, "map", "freeze", "pinned", path)
    assert rc == 0, err
    assert stats.info().frozen
    rc, _, err = run(capsys, "map", "update", str(stats.id), "0", "1")
    assert rc == 1 and "frozen" in err
