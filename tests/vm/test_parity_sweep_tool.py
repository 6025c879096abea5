"""tools/parity_sweep.py's comparison of a program's runs on both backends: return
value, output packet, ring buffer records, data maps after the runs (per-CPU values
summed), and differences made only of clock readings kept apart."""

from __future__ import annotations

import importlib.util
import random
import struct
import sys
import time
from pathlib import Path

import pytest

import ebpf

ROOT = Path(__file__).resolve().parents[2]
PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("parity_sweep", ROOT / "tools" / "parity_sweep.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["parity_sweep"] = mod  # dataclasses resolve their module
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "sweep_probe.c")


def test_clock_values(sweep):
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    a = b"\x01" * 4 + struct.pack("<Q", now) + b"\x02"
    b = b"\x01" * 4 + struct.pack("<Q", now + 12345) + b"\x02"
    assert sweep.only_clock_values(a, b)
    assert sweep.only_clock_values(struct.pack(">Q", now), struct.pack(">Q", now + 7))
    assert not sweep.only_clock_values(a, b[:-1] + b"\x03")      # and another byte
    assert not sweep.only_clock_values(struct.pack("<Q", 5), struct.pack("<Q", 6))
    assert not sweep.only_clock_values(a, a)


def test_percpu_total(sweep):
    raw = struct.pack("<QQQ", 1, 2, 2**64 - 1)  # three CPUs' u64 values
    assert sweep._percpu_total(raw, 3, 8) == struct.pack("<Q", 2)
    raw = struct.pack("<IIII", 1, 2, 3, 4)      # two CPUs' 8-byte values of two u32 lanes
    assert sweep._percpu_total(raw, 2, 8) == struct.pack("<II", 4, 6)


@pytest.mark.kernel
def test_runs_compare_as_the_kernel(sweep, obj_path):
    packets = sweep.random_packets(random.Random(5), 40)
    with ebpf.load(obj_path, backend="kernel") as k, ebpf.load(obj_path, backend="vm") as v:
        res = sweep.ProgramResult("sweep_probe.c", "probe", "XDP")
        sweep.compare_runs(k, v, "probe", packets, res)
        assert res.runs == 40 and res.mismatches == []
        # every packet long enough got a clock reading: the only difference
        assert any("clock readings" in c for c in res.clock_only)
        assert sum(1 for p in packets if len(p) >= 24) == len(
            [c for c in res.clock_only if "output packet" in c])
        # a value changed on one side is reported, key and both values
        key = next(iter(v.maps["by_len"].raw_keys()))
        v.maps["by_len"].update_bytes(key, struct.pack("<Q", 999))
        sweep.compare_maps(k, v, res)
        assert len(res.mismatches) == 1 and "map by_len (HASH): 1 values differ" in \
            res.mismatches[0]
