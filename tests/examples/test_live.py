"""The live view of `ebpf run` on synthetic maps and events (no kernel needed)."""

from __future__ import annotations

import io
import json

from ebpf.codec import Struct
from ebpf.live import (
    Event,
    EventSource,
    LiveView,
    columns_of,
    jsonable,
    snapshot,
    sum_per_cpu,
    text_of,
)
from ebpf.spec import MapSpec
from ebpf.uapi import MapType


class FakeMap:
    def __init__(self, name, entries, type=MapType.ARRAY):
        self.spec = MapSpec(name=name, type=type, key_size=4, value_size=8, max_entries=64)
        self.name = name
        self.type = type
        self.per_cpu = type in (MapType.PERCPU_ARRAY, MapType.PERCPU_HASH)
        self._entries = dict(entries)

    def items(self):
        return list(self._entries.items())


class FakeObj:
    def __init__(self, maps):
        self.maps = {m.name: m for m in maps}
        self.variables = {}


class ListSource(EventSource):
    def __init__(self, name, batches):
        self.name = name
        self.batches = list(batches)
        self.closed = False

    def poll(self, timeout):
        return [Event(self.name, d) for d in self.batches.pop(0)] if self.batches else []

    def close(self):
        self.closed = True


def test_text_and_json_of_values():
    ev = Struct("event", {"pid": 42, "comm": b"bash\0\0\0\0", "raw": b"\x01\x02"})
    assert text_of(ev) == "pid=42 comm=bash raw=0102"
    assert jsonable(ev) == {"pid": 42, "comm": "bash", "raw": "0102"}
    assert columns_of(ev) == [("pid", "42"), ("comm", "bash"), ("raw", "0102")]
    assert sum_per_cpu([Struct("v", {"n": 1}), Struct("v", {"n": 5})]).n == 6


def test_counters_sorted_largest_first():
    m = FakeMap("counts", {1: 5, 2: 50, 3: 7}, type=MapType.HASH)
    snap = snapshot(m)
    assert [k for k, _ in snap.entries] == [2, 3, 1]
    lines = snap.lines()
    assert lines[0] == "counts: 3 entries"
    assert lines[1].split() == ["KEY", "VALUE"]
    assert lines[2].split() == ["2", "50"]


def test_struct_keys_become_columns():
    m = FakeMap("per_proc", {Struct("key", {"pid": 1, "comm": b"init\0"}): [3, 4],
                             Struct("key", {"pid": 9, "comm": b"sh\0\0\0"}): [10, 0]},
                type=MapType.PERCPU_HASH)
    lines = snapshot(m).lines()
    assert lines[1].split() == ["PID", "COMM", "VALUE"]
    assert lines[2].split() == ["9", "sh", "10"]
    assert lines[3].split() == ["1", "init", "7"]


def test_histogram_maps_render_as_bars():
    m = FakeMap("lat_hist", {0: 0, 1: 4, 2: 8})
    snap = snapshot(m, unit="usecs")
    assert snap.kind == "histogram"
    text = "\n".join(snap.lines())
    assert "usecs" in text and "|" + "*" * 40 + "|" in text
    assert snap.to_json()["histograms"][""][2] == [4, 7, 8]


def test_plain_mode_streams_events_then_tables():
    m = FakeMap("counts", {7: 3}, type=MapType.HASH)
    src = ListSource("events", [[Struct("e", {"pid": 1})], [], [Struct("e", {"pid": 2})]])
    out = io.StringIO()
    view = LiveView(FakeObj([m]), sources=[src], out=out, interval=0.05)
    assert view.mode == "plain"
    view.run(duration=0.3)
    view.summary()
    view.close()
    text = out.getvalue()
    assert "events: pid=1\nevents: pid=2\n" in text
    assert "events received: events=2" in text
    assert text.splitlines()[-1].split() == ["7", "3"]
    assert src.closed


def test_json_mode_lines_parse():
    m = FakeMap("counts", {1: 2}, type=MapType.HASH)
    src = ListSource("rb", [[Struct("e", {"comm": b"ls\0"})]])
    out = io.StringIO()
    view = LiveView(FakeObj([m]), sources=[src], out=out, mode="json", interval=0.05)
    view.run(duration=0.15)
    view.summary()
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert objs[0] == {"type": "event", "map": "rb", "data": {"comm": "ls"}, "ts": objs[0]["ts"]}
    assert {"type": "map", "map": "counts", "entries": [{"key": 1, "value": 2}]} in objs
    assert any(o["type"] == "summary" and o["events"] == {"rb": 1} for o in objs)


def test_tty_screen_shows_maps_and_events():
    m = FakeMap("counts", {1: 2}, type=MapType.HASH)
    out = io.StringIO()
    view = LiveView(FakeObj([m]), sources=[ListSource("rb", [[b"hello\0"]])], out=out,
                    mode="tty", title="ebpf run x.c", interval=0.05)
    view.run(duration=0.2)
    raw = out.getvalue()
    assert raw.startswith("\x1b[?1049h") and raw.rstrip().endswith("\x1b[?1049l")
    assert "ebpf run x.c" in raw and "counts: 1 entries" in raw and "rb: hello" in raw


def test_reader_going_away_stops_quietly():
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError

    view = LiveView(FakeObj([FakeMap("counts", {1: 1}, type=MapType.HASH)]),
                    sources=[ListSource("rb", [[b"x\0"]] * 100)], out=Closed(), mode="plain",
                    interval=0.05)
    assert view.run(duration=5) < 4  # stopped early, not after the 5 s asked
    assert view.broken
    view.summary()  # nothing written, no error


def test_periodic_plain_tables_and_globals():
    class Var:
        readonly = False
        spec = type("S", (), {"type": None})()
        value = 7

    obj = FakeObj([FakeMap("counts", {3: 9}, type=MapType.HASH)])
    obj.variables = {"packets_seen": Var()}
    out = io.StringIO()
    view = LiveView(obj, out=out, mode="plain", interval=0.1, periodic=True)
    view.run(duration=0.35)
    text = out.getvalue()
    assert text.count("--- ") >= 3 and text.count("counts: 1 entries") >= 3
    assert "globals: packets_seen=7" in text


def test_event_type_guess_is_kept_per_kernel(tmp_path, monkeypatch):
    """The record type guessed for a ring buffer is kept with the kernel's BTF
    identity, so the first event of a later start is decoded without reading the
    kernel's BTF; another kernel guesses afresh."""
    import pytest

    from ebpf import btf as B
    from ebpf.btf import cache
    from ebpf.live import sources

    if cache.kernel_identity() is None:
        pytest.skip("no kernel BTF: nothing to keep the guess against")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    spec = B.Spec()
    u32 = B.Int("unsigned int", 4)
    spec.add(u32)
    spec.add(B.Struct("other", 12, [B.Member("a", u32, 0)]))
    event = B.Struct("my_event", 12, [B.Member("pid", u32, 0), B.Member("uid", u32, 32),
                                      B.Member("ret", u32, 64)])
    spec.add(event)
    assert sources.guess_event_type(spec, 12, "events") is event
    assert len(list((tmp_path / "ebpf" / "btf" / "facts").glob("event-type-*.json"))) == 1

    def no_kernel_btf():
        raise AssertionError("kernel BTF read for a kept guess")

    monkeypatch.setattr(sources, "_kernel_btf", no_kernel_btf)
    assert sources.guess_event_type(spec, 12, "events") is event
    assert sources.EventDecoder("events", spec).decode(bytes(range(12)))["pid"] == 0x03020100
    monkeypatch.setattr(cache, "kernel_identity", lambda: "another kernel")
    monkeypatch.setattr(sources, "_kernel_btf", lambda: None)
    assert sources.guess_event_type(spec, 24, "events") is None  # no struct of 17-24 bytes
    assert sources.guess_event_type(spec, 12, "events") is event
    assert len(list((tmp_path / "ebpf" / "btf" / "facts").glob("event-type-*.json"))) == 3
