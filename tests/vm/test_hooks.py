"""Hooks of the runtime: pcap files and packet iterables, timers, fired events,
and Object.attach() on the vm backend."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ebpf
from ebpf.vm import hooks

from .packets import ipv4, ipv6

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "hooks.c")


@given(st.lists(st.binary(max_size=300), max_size=8), st.sampled_from(["<", ">"]))
def test_pcap_round_trip_any_byte_order(frames, endian):
    f = io.BytesIO()
    hooks.write_pcap(f, frames)
    raw = f.getvalue()
    if endian == ">":  # rewrite as a big-endian capture
        out = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", raw[:24])))
        pos = 24
        while pos < len(raw):
            hdr = struct.unpack("<IIII", raw[pos:pos + 16])
            out += struct.pack(">IIII", *hdr) + raw[pos + 16:pos + 16 + hdr[2]]
            pos += 16 + hdr[2]
        raw = bytes(out)
    assert [p for _, p in hooks.read_pcap(io.BytesIO(raw))] == frames


def test_pcap_errors_are_clear():
    with pytest.raises(ebpf.Error, match="bad magic"):
        list(hooks.read_pcap(io.BytesIO(b"\0" * 24)))
    f = io.BytesIO()
    hooks.write_pcap(f, [b"abcdef"])
    with pytest.raises(ebpf.Error, match="truncated"):
        list(hooks.read_pcap(io.BytesIO(f.getvalue()[:-2])))


def test_attach_pcap_runs_every_packet(obj_path, tmp_path):
    pcap = tmp_path / "t.pcap"
    frames = [ipv4(), ipv4(17), ipv6(), ipv4()]
    hooks.write_pcap(pcap, frames)
    with ebpf.load(obj_path, backend="vm") as obj:
        link = obj.programs["count_types"].attach(pcap=str(pcap))
        assert link.results == [2, 2, 1, 2]
        assert dict(obj.maps["by_type"].items()) == {0x0800: 3, 0x86DD: 1}
        link2 = obj.programs["count_types"].attach(packets=iter([ipv6()] * 3), background=True)
        assert link2.wait(10)
        assert obj.maps["by_type"][0x86DD] == 4
        link.close()
        link2.close()


def test_timer_hook(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj:
        link = obj.programs["sample"].attach(interval=0.01)
        deadline = time.monotonic() + 5
        while obj.maps["ticks"][0] < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        link.close()
        n = obj.maps["ticks"][0]
        assert n >= 5
        time.sleep(0.05)
        assert obj.maps["ticks"][0] == n  # stopped


def test_object_attach_and_fire(obj_path):
    event = "tracepoint/syscalls/sys_enter_execve"
    ctx = struct.pack("<QiIQ", 0, 59, 0, 0)
    with ebpf.load(obj_path, backend="vm") as obj:
        links = obj.attach()
        assert [link.program.name for link in links] == ["on_execve"]
        assert hooks.attached(event) == 1
        assert hooks.fire(event, ctx) == [0]
        hooks.fire(event, ctx)
        assert obj.maps["ticks"][1] == 118
    assert hooks.attached(event) == 0  # closing the object detached it
    assert hooks.fire(event, ctx) == []


def test_attach_to_what_the_vm_lacks(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj:
        with pytest.raises(ebpf.AttachError, match="ifname"):
            obj.programs["count_types"].attach(ifname="lo")


def test_truncated_frames_in_a_capture_are_skipped(obj_path, caplog):
    # snaplen-truncated captures hold frames no kernel would run a program on
    frames = [ipv4(), ipv4()[:10], ipv6()]
    with ebpf.load(obj_path, backend="vm") as obj:
        with caplog.at_level("WARNING", logger="ebpf.vm"):
            link = obj.programs["count_types"].attach(packets=frames)
        assert link.results == [2, 1]
        assert "skipped" in caplog.text
        link.close()
