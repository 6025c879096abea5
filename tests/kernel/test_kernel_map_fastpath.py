"""The prepared single-element path of kernel maps (one attr and buffers per map):
every outcome the general path has, from threads too."""

from __future__ import annotations

import errno
import threading

import pytest

import ebpf
from ebpf.errors import KeyExistsError, MapError, MapFullError
from ebpf.maps import BPF_EXIST, BPF_NOEXIST
from ebpf.spec import MapSpec
from ebpf.uapi import MapType

pytestmark = pytest.mark.kernel


def hash_spec(n: int = 4, **kw) -> MapSpec:
    return MapSpec(name="t_fast", type=MapType.HASH, key_size=4, value_size=8, max_entries=n,
                   **kw)


def test_outcomes_match_the_general_path(no_leaks):
    with ebpf.Map.create(hash_spec()) as m:
        assert m.lookup_bytes(b"\1\0\0\0") is None and 1 not in m
        with pytest.raises(KeyError):
            m[1]
        m[1] = 10
        assert m._ops is not None  # the prepared path served these
        assert m[1] == 10 and m.lookup_bytes((1).to_bytes(4, "little")) == (10).to_bytes(8, "little")
        with pytest.raises(KeyExistsError):
            m.put(1, 11, BPF_NOEXIST)
        with pytest.raises(MapError) as e:
            m.put(2, 20, BPF_EXIST)
        assert e.value.errno == errno.ENOENT
        for k in range(2, 5):
            m[k] = k
        with pytest.raises(MapFullError):
            m[5] = 5
        assert m.delete_bytes(b"\1\0\0\0") and not m.delete_bytes(b"\1\0\0\0")
        with pytest.raises(KeyError):
            del m[1]
        with pytest.raises(MapError, match="key is 2 bytes, the map needs 4"):
            m.lookup_bytes(b"\1\0")  # wrong size still explained (general path)
    with pytest.raises(MapError, match="closed"):
        m.lookup_bytes(b"\1\0\0\0")


def test_frozen_map_refuses_updates(no_leaks):
    with ebpf.Map.create(hash_spec()) as m:
        m[1] = 1
        m.freeze()
        with pytest.raises(MapError, match="frozen"):
            m[1] = 2
        assert m[1] == 1


def test_array_delete_and_range_errors(no_leaks):
    spec = MapSpec(name="t_fast_arr", type=MapType.ARRAY, key_size=4, value_size=8, max_entries=4)
    with ebpf.Map.create(spec) as m:
        m[3] = 33
        assert m[3] == 33 and m[0] == 0
        with pytest.raises(MapError, match="cannot be deleted"):
            del m[3]
        with pytest.raises(IndexError):
            m[4] = 1


def test_threads_share_a_map_safely(no_leaks):
    """The prepared buffers are used by one caller at a time: concurrent writers and
    readers on distinct keys never see each other's keys or values."""
    with ebpf.Map.create(hash_spec(4096)) as m:
        errors: list[str] = []

        def work(base: int) -> None:
            for i in range(base, base + 500):
                m[i] = i * 3
                got = m[i]
                if got != i * 3:
                    errors.append(f"{i}: {got}")

        threads = [threading.Thread(target=work, args=(t * 1000,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(m) == 2000
        assert all(m[i] == i * 3 for t in range(4) for i in range(t * 1000, t * 1000 + 500))


PROG = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
enum color { RED = 1, BLUE = 2 };
struct pair { int a; unsigned short b; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8);
         __type(key, int); __type(value, long long); } signed_vals SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8);
         __type(key, unsigned int); __type(value, enum color); } enums SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2);
         __type(key, unsigned int); __type(value, struct pair); } pairs SEC(".maps");
SEC("socket") int prog(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
"""


def test_btf_typed_keys_and_values_decode_as_the_codec_does(bpf_compile, no_leaks):
    from ebpf import codec

    with ebpf.load(bpf_compile(PROG), backend="kernel") as obj:
        sv, en, pr = obj.maps["signed_vals"], obj.maps["enums"], obj.maps["pairs"]
        sv[-5] = -(1 << 40)
        sv[7] = 3
        assert sv[-5] == -(1 << 40) and sv[7] == 3
        assert sorted(sv.keys()) == [-5, 7]
        with pytest.raises(MapError, match="does not fit"):
            sv[1 << 40] = 1  # the key is an int: 4 bytes
        en[1] = 2
        assert en[1] == 2
        pr[1] = {"a": -3, "b": 9}
        assert pr[1].a == -3 and pr[1].b == 9
        for m in (sv, en, pr):
            for k in m.raw_keys():
                raw = m.lookup_bytes(k)
                assert m[m.decode_key(k)] == codec.decode(raw, m.spec.value_type)
