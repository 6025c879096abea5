"""MapBatch on its own (vm maps, no kernel): the packed layout, decoding on demand
equal to the map's own decoding (plain ints in one call, per-CPU slices, BTF signed
ints, other sizes as bytes), NumPy views; kernel vs vm is in tests/contract."""

from __future__ import annotations

import pytest

import ebpf
from ebpf.btf.types import Int
from ebpf.uapi import MapType as T


def _filled(t: T, key_size: int, value_size: int, **types) -> ebpf.Map:
    m = ebpf.Map.create(ebpf.MapSpec(name="mb", type=t, key_size=key_size,
                                     value_size=value_size, max_entries=64, **types),
                        backend="vm")
    for k in range(1, 40, 3):
        raw = [bytes([(k + c) % 256]) * value_size for c in range(m.num_cpus)]
        m.update_bytes(k.to_bytes(key_size, "little"),
                       b"".join(r.ljust((value_size + 7) // 8 * 8, b"\0") for r in raw)
                       if m.per_cpu else raw[0])
    return m


@pytest.mark.parametrize("t", [T.HASH, T.PERCPU_HASH])
@pytest.mark.parametrize("key_size,value_size", [(4, 8), (8, 4), (2, 2), (4, 1), (3, 12),
                                                 (4, 3)])
def test_decoded_as_the_map_decodes(t, key_size, value_size):
    with _filled(t, key_size, value_size) as m:
        b = m.lookup_batch_packed()
        by_entry = [(m.decode_key(k), m.decode_value(v)) for k, v in b.raw_items()]
        assert b.tolist() == by_entry == [b[i] for i in range(len(b))] == list(b)
        assert len(b) == 13 and b[-1] == by_entry[-1] and b[1:3] == by_entry[1:3]
        stride = (value_size + 7) // 8 * 8 * m.num_cpus if m.per_cpu else value_size
        assert (b.key_size, b.value_size, b.value_stride) == (key_size, value_size, stride)
        assert len(b.key_data) == 13 * key_size and len(b.value_data) == 13 * stride
        with pytest.raises(IndexError):
            b[13]


def test_btf_signed_ints_decode_signed():
    i32 = Int("int", 4, signed=True)
    with _filled(T.HASH, 4, 4, key_type=i32, value_type=i32) as m:
        m[-5] = -7
        b = m.lookup_batch_packed()
        assert dict(b)[-5] == -7 and b.tolist() == [(m.decode_key(k), m.decode_value(v))
                                                  for k, v in b.raw_items()]
        keys, values = b.numpy()
        assert keys.dtype.str == "<i4" and -7 in values.tolist()


def test_numpy_views_structs_and_per_cpu():
    np = pytest.importorskip("numpy")
    with _filled(T.PERCPU_HASH, 4, 3) as m:
        b = m.lookup_batch_packed()
        keys, values = b.numpy()
        assert values.shape == (13, m.num_cpus) and values.dtype == np.dtype("V3")
        assert bytes(values[0, 0]) == b.raw(0)[1][:3]
        u16 = b.numpy(value_dtype="<u2")[1]
        assert u16[0, 0] == int.from_bytes(b.raw(0)[1][:2], "little")
        with pytest.raises(ebpf.MapError, match="does not fit"):
            b.numpy(value_dtype="<u4")
    with _filled(T.HASH, 4, 8) as m:
        m.clear()
        keys, values = m.lookup_batch_packed().numpy()
        assert keys.shape == values.shape == (0,)


def test_delete_takes_entries_out():
    with _filled(T.HASH, 4, 8) as m:
        before = m.lookup_batch()
        assert m.lookup_batch_packed(delete=True).tolist() == before and len(m) == 0
