"""ebpf.Histogram: slots, rendering as the classic tools print it, reading maps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ebpf
from ebpf.codec import Struct
from ebpf.histogram import Histogram, looks_like_histogram, slot_of, slot_range
from ebpf.spec import MapSpec
from ebpf.uapi import MapType


class FakeMap:
    """Just enough of ebpf.Map for reading: items() and a spec."""

    def __init__(self, name, entries, type=MapType.ARRAY, key_size=4, value_size=8,
                 value_type=None):
        self.spec = MapSpec(name=name, type=type, key_size=key_size, value_size=value_size,
                            max_entries=max(len(entries), 1), value_type=value_type)
        self.name = name
        self.type = type
        self.per_cpu = type in (MapType.PERCPU_ARRAY, MapType.PERCPU_HASH)
        self._entries = dict(entries)

    def items(self):
        return list(self._entries.items())

    def __getitem__(self, k):
        return self._entries[k]


def test_exported_lazily():
    assert ebpf.Histogram is Histogram


def test_slots_and_ranges():
    assert [slot_of(v) for v in (0, 1, 2, 3, 4, 7, 8, 1 << 40)] == [0, 0, 1, 1, 2, 2, 3, 40]
    assert slot_range(0) == (0, 1)
    assert slot_range(3) == (8, 15)
    with pytest.raises(ValueError):
        slot_of(-1)


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_value_lies_in_its_slot(v):
    lo, hi = slot_range(slot_of(v))
    assert lo <= v <= hi


@given(st.lists(st.integers(min_value=0, max_value=(1 << 64) - 1), max_size=200))
def test_from_values_counts_everything(values):
    h = Histogram.from_values(values, unit="ns")
    assert h.total == len(values)
    for b in h.buckets:
        assert b.count == sum(1 for v in values if b.low <= v <= b.high)
    text = h.render()
    assert text.splitlines()[0].split()[:2] == ["ns", ":"]


def test_render_matches_classic_layout():
    h = Histogram([0, 0, 3, 12, 6], unit="usecs")
    lines = h.render().splitlines()
    assert lines[0] == "     usecs               : count    distribution"
    assert lines[1] == "         0 -> 1          : 0        |" + " " * 40 + "|"
    assert lines[3] == "         4 -> 7          : 3        |" + "*" * 10 + " " * 30 + "|"
    assert lines[4] == "         8 -> 15         : 12       |" + "*" * 40 + "|"
    assert lines[5] == "        16 -> 31         : 6        |" + "*" * 20 + " " * 20 + "|"
    assert len(lines) == 6


def test_trim_leaves_out_leading_empty_slots():
    lines = Histogram([0, 0, 0, 5, 0, 1]).render(trim=True).splitlines()
    assert len(lines) == 4 and lines[1].split()[:3] == ["8", "->", "15"]
    assert lines[2].split()[4] == "0"


def test_wide_ranges_use_wide_columns():
    h = Histogram({40: 2})
    lines = h.render().splitlines()
    assert "1099511627776 -> 2199023255551" in lines[-1]
    assert lines[-1].endswith("|" + "*" * 20 + "|")


def test_empty_histogram():
    h = Histogram([], unit="ms")
    assert h.total == 0 and h.buckets == []
    assert "no values" in h.render()


def test_percentile_and_arithmetic():
    a = Histogram([1, 1, 2])
    b = Histogram([0, 0, 0, 4])
    assert (a + b).counts == [1, 1, 2, 4]
    assert ((a + b) - a).counts == [0, 0, 0, 4]
    assert a.percentile(50) == 3
    assert a.percentile(75) == 7
    assert a.percentile(100) == 7
    assert a.percentile(25) == 1


def test_from_array_map_with_per_cpu_values():
    m = FakeMap("lat_hist", {i: [i, 1] for i in range(5)}, type=MapType.PERCPU_ARRAY)
    h = Histogram.from_map(m, unit="usecs")
    assert h.counts == [1, 2, 3, 4, 5]
    assert h.title == "lat_hist"


def test_from_hash_keyed_by_slot():
    h = Histogram.from_map(FakeMap("dist", {3: 5, 1: 2}, type=MapType.HASH))
    assert h.counts == [0, 2, 0, 5]


def test_from_struct_with_slots():
    m = FakeMap("hists", {0: Struct("hist", {"slots": [0, 4, 1], "comm": b"x"})})
    assert Histogram.from_map(m).counts == [0, 4, 1]
    per = Histogram.per_key(FakeMap("h", {7: Struct("hist", {"slots": [1]}),
                                          9: Struct("hist", {"slots": [0, 2]})}))
    assert per[7].total == 1 and per[9].counts == [0, 2]


def test_bad_maps_raise_map_errors():
    with pytest.raises(ebpf.MapError, match="not a slot"):
        Histogram.from_map(FakeMap("h", {b"ab": 1}, type=MapType.HASH))
    with pytest.raises(ebpf.MapError, match="beyond"):
        Histogram.from_map(FakeMap("h", {100: 1}, type=MapType.HASH))
    with pytest.raises(ebpf.MapError, match="no histogram at key"):
        Histogram.from_map(FakeMap("h", {}), key=3)


def test_big_array_with_spare_zero_slots():
    m = FakeMap("hist", {i: (1 if i == 2 else 0) for i in range(128)})
    assert [b.count for b in Histogram.from_map(m).buckets] == [0, 0, 1]


def test_detection_by_name_and_shape():
    assert looks_like_histogram(FakeMap("read_lat_hist", {}))
    assert not looks_like_histogram(FakeMap("counts", {}))
    assert not looks_like_histogram(FakeMap("hist", {}, key_size=8))


def test_save_png(tmp_path):
    h = Histogram([1, 5, 2], unit="usecs", title="read latency")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ebpf.NotSupportedError, match=r"pip install ebpf\[plot\]"):
            h.save_png(tmp_path / "h.png")
        return
    out = h.save_png(tmp_path / "h.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_linear_histogram():
    h = Histogram.from_values([0, 3, 10, 14, 19, 25], step=10, unit="ms")
    assert h.counts == [2, 3, 1]
    assert h.buckets[1] == (10, 19, 3)
    lines = h.render(width=6).splitlines()
    assert lines[0] == "     ms            : count     distribution"
    assert lines[2] == "        10         : 3        |******|"
    assert h.percentile(50) == 19
    m = FakeMap("lin", {0: 1, 2: 4})
    assert Histogram.from_map(m, step=5).buckets[-1] == (10, 14, 4)
    with pytest.raises(ValueError, match="different slots"):
        h + Histogram([1])
    with pytest.raises(ValueError, match="positive step"):
        Histogram([1], step=0)
