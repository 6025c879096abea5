"""Shared behaviour of ebpf.load / Object / Map / Program / RingBuffer, run on
both backends: the same input gives the same result or the same error (type
and message)."""

from __future__ import annotations

import os

import pytest

import ebpf

from .compare import same

PROG = "contract_xdp"
SIZES = (14, 15, 16, 60)


def _run_all(obj) -> list[int]:
    p = obj.programs[PROG]
    return [p.test_run(b"\0" * n).retval for n in SIZES]


# ---- each backend on its own -------------------------------------------------
def test_load_test_run_and_globals(contract_obj, backend):
    with ebpf.load(contract_obj, backend=backend) as obj:
        r = obj.programs[PROG].test_run(bytes(range(64)))
        assert r.retval == 2  # the constant's default: XDP_PASS
        assert r.data == b"\xab" + bytes(range(1, 64))
        assert obj.variables["packets_seen"].value == 1
        assert obj.variables["last_len"].value == 64
        assert obj.maps["counts"][0] == 1  # 64 & 3
        assert obj.maps["slots"][0] == 64


def test_pin_where_it_applies(contract_obj, backend, tmp_path):
    with ebpf.load(contract_obj, backend=backend) as obj:
        m = obj.maps["slots"]
        m[3] = 33
        if backend == "vm":
            with pytest.raises(ebpf.NotSupportedError, match="pinning"):
                m.pin(str(tmp_path / "slots"))
            return
        from ebpf.kernel.pin import DEFAULT_PIN_PATH

        path = os.path.join(DEFAULT_PIN_PATH, f"contract_{os.getpid()}_slots")
        m.pin(path)
        try:
            with ebpf.Map.from_pin(path) as again:
                assert again[3] == 33
        finally:
            os.unlink(path)


# ---- both backends, compared ----------------------------------------------------


@pytest.mark.kernel
def test_same_runs_maps_and_globals(contract_obj):
    def run(backend):
        with ebpf.load(contract_obj, backend=backend,
                       constants={"verdict": 1, "seed": 100}) as obj:
            rets = _run_all(obj)
            per_cpu = obj.maps["percpu"][0]
            return (rets, sorted(obj.maps["counts"].items()), obj.maps["slots"][0],
                    obj.variables["packets_seen"].value, obj.variables["last_len"].value,
                    obj.variables["verdict"].value, sum(per_cpu), len(per_cpu))

    rets, counts, slot, seen, last, verdict, per_cpu_sum, ncpu = same(run).value
    assert rets == [1] * len(SIZES) and verdict == 1
    assert counts == [(0, 2), (2, 1), (3, 1)] and slot == 160 and seen == 4 and last == 60
    assert per_cpu_sum == 4 and ncpu >= 1


@pytest.mark.kernel
def test_same_ring_buffer_records(contract_obj):
    def run(backend):
        with ebpf.load(contract_obj, backend=backend, constants={"seed": 5}) as obj:
            _run_all(obj)
            with ebpf.RingBuffer(obj.maps["events"]) as rb:
                return [int.from_bytes(r, "little") for r in rb.poll(timeout=1.0)]

    assert same(run).value == [5 + n for n in SIZES]


@pytest.mark.kernel
@pytest.mark.parametrize("constants, error", [
    ({"nope": 1}, "no global variable 'nope'"),
    ({"packets_seen": 1}, None),      # any global can be set, not only const volatile
    ({"verdict": "x"}, "constant verdict 'x' (str) does not fit"),
    ({"verdict": 1 << 40}, "does not fit in 4 bytes"),
])
def test_same_constants(contract_obj, constants, error):
    def run(backend):
        with ebpf.load(contract_obj, backend=backend, constants=constants):
            return "loaded"

    result = same(run)
    if error is None:
        assert result.value == "loaded"
    else:
        assert result.error[0] == "LoadError" and error in result.error[1]


@pytest.mark.kernel
def test_same_variable_rules(contract_obj):
    def write_rodata(backend):
        with ebpf.load(contract_obj, backend=backend) as obj:
            obj.variables["verdict"].value = 3

    def write_data(backend):
        with ebpf.load(contract_obj, backend=backend) as obj:
            obj.variables["last_len"].value = 99
            _run_all(obj)
            return obj.variables["last_len"].value

    def missing(backend):
        with ebpf.load(contract_obj, backend=backend) as obj:
            return obj.variables["nope"]

    assert same(write_rodata).error is not None
    assert same(write_data).value == 60
    assert same(missing).error is not None


@pytest.mark.kernel
@pytest.mark.parametrize("case", ["missing", "full", "index", "key_type", "value_type",
                                  "array_delete", "get_default", "contains", "len"])
def test_same_map_idioms_and_errors(contract_obj, case):
    def run(backend):
        with ebpf.load(contract_obj, backend=backend) as obj:
            counts, slots = obj.maps["counts"], obj.maps["slots"]
            if case == "missing":
                return counts[9]
            if case == "full":
                for k in range(5):
                    counts[k] = k
            if case == "index":
                slots[8] = 1
            if case == "key_type":
                counts["x"] = 1
            if case == "value_type":
                counts[1] = "x"
            if case == "array_delete":
                del slots[0]
            if case == "get_default":
                return counts.get(9, "default")
            if case == "contains":
                counts[1] = 5
                return (1 in counts, 2 in counts)
            if case == "len":
                counts[1] = 5
                counts[2] = 6
                del counts[1]
                return (len(counts), sorted(counts.keys()))
            return "no error"

    result = same(run)
    if case in ("missing", "full", "index", "key_type", "value_type", "array_delete"):
        assert result.error is not None, result


@pytest.mark.kernel
@pytest.mark.parametrize("spec", [
    ebpf.MapSpec(name="h", type=ebpf.MapType.HASH, key_size=4, value_size=8, max_entries=2),
    ebpf.MapSpec(name="pc", type=ebpf.MapType.PERCPU_HASH, key_size=4, value_size=4,
                 max_entries=2),
    ebpf.MapSpec(name="bad", type=ebpf.MapType.HASH, key_size=0, value_size=8, max_entries=2),
    ebpf.MapSpec(name="bad2", type=ebpf.MapType.ARRAY, key_size=8, value_size=8, max_entries=2),
], ids=["hash", "percpu", "zero_key", "array_key8"])
def test_same_standalone_maps(spec):
    def run(backend):
        with ebpf.Map.create(spec, backend=backend) as m:
            m[1] = 7
            return (m[1], len(m), list(m.keys()))

    same(run)


@pytest.mark.kernel
def test_same_unknown_backend_and_program(contract_obj):
    def unknown_backend(_backend):
        return ebpf.load(contract_obj, backend="nope")

    def unknown_program(backend):
        with ebpf.load(contract_obj, backend=backend, programs=["nope"]):
            return "loaded"

    assert same(unknown_backend).error[0] == "ValueError"
    assert same(unknown_program).error is not None


@pytest.mark.kernel
def test_same_unknown_map_and_program_type():
    from ebpf.isa import assemble

    def program(backend):
        spec = ebpf.ProgramSpec(name="p", type=999, license="GPL",
                                instructions=assemble("r0 = 0\nexit"))
        with ebpf.Program.load(spec, backend=backend) as p:
            return p.type

    def map_(backend):
        spec = ebpf.MapSpec(name="m", type=999, key_size=4, value_size=4, max_entries=1)
        with ebpf.Map.create(spec, backend=backend) as m:
            return m.type

    assert same(program).error == (
        "NotSupportedError",
        "program type 999 is not supported: program 'p': not a program type this library knows")
    assert same(map_).error == (
        "NotSupportedError",
        "map type 999 is not supported: map 'm': not a map type this library knows")


# ---- batch operations: packed lookups, list lookups, updates, deletes -------------
_BATCH_SPECS = [
    ebpf.MapSpec(name="bh", type=ebpf.MapType.HASH, key_size=4, value_size=8, max_entries=64),
    ebpf.MapSpec(name="bpc", type=ebpf.MapType.PERCPU_HASH, key_size=4, value_size=4,
                 max_entries=64),
    ebpf.MapSpec(name="ba", type=ebpf.MapType.ARRAY, key_size=4, value_size=12, max_entries=8),
    ebpf.MapSpec(name="bpa", type=ebpf.MapType.PERCPU_ARRAY, key_size=4, value_size=8,
                 max_entries=8),
]


@pytest.mark.kernel
@pytest.mark.parametrize("spec", _BATCH_SPECS, ids=[s.name for s in _BATCH_SPECS])
def test_same_batch_operations(spec):
    """update_batch / lookup_batch_packed / lookup_batch[_bytes] / delete_batch read and
    write the same entries with the same packed layout on both backends (kernel order
    is the kernel's: compared sorted by key)."""
    def value(m, i):
        one = (i * 3).to_bytes(m.value_size, "little") if m.value_size == 12 else i * 3
        return [one] * m.num_cpus if m.per_cpu else one

    def run(backend):
        with ebpf.Map.create(spec, backend=backend) as m:
            keys = range(1, 8) if m.type in (ebpf.MapType.ARRAY, ebpf.MapType.PERCPU_ARRAY) \
                else range(0, 60, 3)
            written = m.update_batch({k: value(m, k) for k in keys})
            b = m.lookup_batch_packed()
            order = sorted(range(len(b)), key=lambda i: b.raw(i)[0])
            raw = [b.raw(i) for i in order]
            ks, vs = b.key_size, b.value_stride
            # the packed buffers hold exactly those records, back to back
            assert b.key_data.tobytes() == b"".join(b.raw(i)[0] for i in range(len(b)))
            assert b.value_data.tobytes() == b"".join(b.raw(i)[1] for i in range(len(b)))
            assert len(b.key_data) == len(b) * ks and len(b.value_data) == len(b) * vs
            decoded = sorted(b.tolist())
            assert decoded == sorted(b) == sorted(b[i] for i in range(len(b)))
            assert sorted(m.lookup_batch()) == decoded
            assert sorted(m.lookup_batch_bytes()) == raw
            deleted = m.delete_batch([keys[0], keys[1]]) if not m.type.name.endswith(
                "ARRAY") else None
            taken = sorted(m.lookup_batch_packed(delete=True)) if deleted else None
            return (written, len(b), ks, vs, b.cpu_stride, b.num_cpus, raw, decoded,
                    deleted, taken, len(m))

    out = same(run).value
    if spec.type in (ebpf.MapType.PERCPU_HASH, ebpf.MapType.PERCPU_ARRAY):
        # per-CPU: each value is num_cpus slices of round_up(value_size, 8) bytes
        assert out[4] == (spec.value_size + 7) // 8 * 8 and out[3] == out[4] * out[5]
        assert out[7][1][1] == [out[7][1][0] * 3] * out[5]
    if spec.type is ebpf.MapType.HASH:
        assert out[8] == 2 and len(out[9]) == out[1] - 2 and out[10] == 0


@pytest.mark.kernel
def test_same_batch_errors_and_edges():
    def run(backend, case):
        hash_spec = _BATCH_SPECS[0]
        with ebpf.Map.create(hash_spec, backend=backend) as m:
            if case == "empty":
                b = m.lookup_batch_packed()
                return (len(b), b.tolist(), b.key_data.tobytes(), m.lookup_batch_bytes())
            if case == "missing_delete":
                m.update_batch([(1, 1), (2, 2)])
                with pytest.raises(KeyError) as e:
                    m.delete_batch([1, 9, 2])
                return e.value.args, sorted(m.keys())  # deleted up to the missing key
            if case == "index":
                return repr(m.lookup_batch_packed()[0])
        q = ebpf.MapSpec(name="bq", type=ebpf.MapType.QUEUE, value_size=4, max_entries=4)
        with ebpf.Map.create(q, backend=backend) as m:
            return m.lookup_batch_packed()

    assert same(run, "empty").value == (0, [], b"", [])
    assert same(run, "missing_delete").value == ((9,), [2])
    assert same(run, "index").error[0] == "IndexError"
    assert same(run, "keyless").error[0] == "NotSupportedError"


@pytest.mark.kernel
def test_same_batch_numpy_views():
    np = pytest.importorskip("numpy")

    def run(backend):
        with ebpf.Map.create(_BATCH_SPECS[1], backend=backend) as m:
            m.update_batch({k: [k] * m.num_cpus for k in (5, 6, 7)})
            b = m.lookup_batch_packed()
            keys, values = b.numpy()
            assert keys.dtype == np.dtype("<u4") and values.shape == (3, m.num_cpus)
            assert not values.flags.writeable  # a view of the batch, read-only
            assert np.shares_memory(values, np.frombuffer(b.value_data, dtype=np.uint8))
            sk, sv = b.numpy(value_dtype=np.dtype([("lo", "<u2")]))
            return m.num_cpus, sorted(zip(keys.tolist(), values.tolist(),
                                          sv["lo"][:, 0].tolist(), strict=True))

    cpus, rows = same(run).value
    assert rows == [(k, [k] * cpus, k) for k in (5, 6, 7)]
