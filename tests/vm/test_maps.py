"""Runtime maps: the kernel's semantics through the dict API (checked against
the kernel's maps with random operation sequences), per-CPU values, LRU, LPM,
queues, program arrays, map-in-maps, and atomics under concurrency."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.isa import Instruction, MapReference
from ebpf.isa import opcodes as op
from ebpf.maps import BPF_ANY, BPF_EXIST, BPF_NOEXIST
from ebpf.vm.maps import create_map, possible_cpus
from ebpf.vm.programs import load_program

T = ebpf.MapType


def spec(t, key=4, value=8, n=4, **kw):
    return ebpf.MapSpec(name="m", type=t, key_size=key, value_size=value, max_entries=n, **kw)


def test_hash_flags_and_errors():
    m = create_map(spec(T.HASH, n=2))
    m.put(1, 10, BPF_NOEXIST)
    with pytest.raises(ebpf.KeyExistsError):
        m.put(1, 11, BPF_NOEXIST)
    with pytest.raises(ebpf.MapError) as e:
        m.put(5, 1, BPF_EXIST)
    assert e.value.errno == 2
    m[2] = 20
    with pytest.raises(ebpf.MapFullError) as e:
        m[3] = 30
    assert e.value.errno == 7
    m[2] = 21  # replacing never needs room
    assert dict(m.items()) == {1: 10, 2: 21}
    assert m.get(3) is None and 3 not in m
    with pytest.raises(KeyError):
        del m[3]
    m.close()


def test_array_semantics():
    m = create_map(spec(T.ARRAY, n=3))
    assert list(m.items()) == [(0, 0), (1, 0), (2, 0)]
    with pytest.raises(ebpf.KeyExistsError):
        m.put(0, 1, BPF_NOEXIST)
    with pytest.raises(ebpf.MapError) as e:
        del m[0]
    assert e.value.errno == 22
    with pytest.raises(ebpf.MapIndexError):  # E2BIG past the end, with the index named
        m[3] = 1
    with pytest.raises(ebpf.MapError, match="key must be 4 bytes"):
        m.update_bytes(b"\0", bytes(8))


def test_percpu_values():
    m = create_map(spec(T.PERCPU_HASH))
    n = possible_cpus()
    m[1] = 7
    assert m[1] == [7] * n
    m[2] = list(range(n))
    assert m[2] == list(range(n))
    with pytest.raises(ebpf.MapError, match="per-CPU value needs"):
        m[3] = [1] * (n + 1)


def test_lru_evicts_least_recently_used():
    m = create_map(spec(T.LRU_HASH, n=3))
    for k in (1, 2, 3):
        m[k] = k
    m.lookup_bytes((1).to_bytes(4, "little"))  # user lookups do not refresh (like the kernel)
    m[4] = 4
    assert sorted(m) == [2, 3, 4]


def test_lpm_trie():
    m = create_map(spec(T.LPM_TRIE, key=8, value=4, n=8))
    m[bytes([8, 0, 0, 0, 10, 0, 0, 0])] = 1
    m[bytes([16, 0, 0, 0, 10, 1, 0, 0])] = 2
    assert m[bytes([32, 0, 0, 0, 10, 1, 9, 9])] == 2
    assert m[bytes([32, 0, 0, 0, 10, 2, 9, 9])] == 1
    assert bytes([32, 0, 0, 0, 11, 0, 0, 0]) not in m
    with pytest.raises(ebpf.MapError):
        m[bytes([33, 0, 0, 0, 10, 0, 0, 0])] = 1


def test_queue_and_stack():
    q = create_map(spec(T.QUEUE, key=0, value=4, n=2))
    s = create_map(spec(T.STACK, key=0, value=4, n=2))
    for x in (1, 2):
        q.push(x)
        s.push(x)
    with pytest.raises(ebpf.MapFullError):
        q.push(3)
    q.push(3, BPF_EXIST)
    assert [q.pop(), q.pop()] == [2, 3]
    assert [s.peek(), s.pop(), s.pop()] == [2, 2, 1]
    with pytest.raises(KeyError):
        s.pop()
    assert s.pop(None) is None


def test_bad_specs_refused():
    with pytest.raises(ebpf.LoadError, match="key_size must be 4"):
        create_map(spec(T.ARRAY, key=8))
    with pytest.raises(ebpf.LoadError, match="power of 2"):
        create_map(ebpf.MapSpec(name="rb", type=T.RINGBUF, max_entries=5000))
    with pytest.raises(ebpf.MapError, match="REUSEPORT_SOCKARRAY has 4-byte keys"):
        create_map(spec(T.REUSEPORT_SOCKARRAY, key=8))


def lookup_add_program(m, jit=True):
    """r0 = lookup(m, key 0); atomically add 1 to *(u64 *)r0; return 0."""
    insns = [
        Instruction(op.BPF_ST | op.BPF_MEM | op.BPF_W, dst=10, off=-4, imm=0),
        Instruction(op.LD_IMM64, dst=1, src=1, reference=MapReference("m")),
        Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst=2, src=10),
        Instruction(op.BPF_ALU64 | op.BPF_ADD, dst=2, imm=-4),
        Instruction(op.CALL, imm=1),
        Instruction(op.BPF_JMP | op.BPF_JEQ, dst=0, off=2),
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=1, imm=1),
        Instruction(op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW, dst=0, src=1, imm=op.BPF_ADD),
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=0, imm=0),
        Instruction(op.EXIT),
    ]
    return load_program(ebpf.ProgramSpec(name="add", type=ebpf.ProgramType.SOCKET_FILTER,
                                         instructions=insns), {"m": m}, jit=jit)


def test_atomics_are_atomic_across_threads():
    m = create_map(spec(T.ARRAY, n=1))
    prog = lookup_add_program(m)

    def worker():
        for _ in range(300):
            prog.test_run(bytes(14))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m[0] == 1200


def test_percpu_array_from_programs_uses_the_run_cpu():
    m = create_map(spec(T.PERCPU_ARRAY, n=1))
    prog = lookup_add_program(m, jit=False)
    prog.test_run(bytes(14), cpu=0)
    prog.test_run(bytes(14), cpu=1 % possible_cpus())
    values = m[0]
    assert sum(values) == 2 and values[0] >= 1


def test_map_in_map_and_prog_array_hold_vm_objects():
    inner = create_map(spec(T.ARRAY, n=1))
    outer = create_map(ebpf.MapSpec(name="o", type=T.ARRAY_OF_MAPS, key_size=4, value_size=4,
                                    max_entries=2))
    outer[0] = inner
    assert 0 in outer and 1 not in outer
    with pytest.raises(ebpf.MapError):
        outer[1] = 12345  # not an object the vm knows
    pa = create_map(ebpf.MapSpec(name="p", type=T.PROG_ARRAY, key_size=4, value_size=4,
                                 max_entries=2))
    with pytest.raises(ebpf.MapError):
        pa[0] = inner  # a map is no program


# ---- differential: random operation sequences against the kernel's maps ------------
ops = st.lists(st.tuples(st.sampled_from(["put", "get", "del", "iter"]), st.integers(0, 5),
                         st.integers(0, 2**64 - 1),
                         st.sampled_from([BPF_ANY, BPF_NOEXIST, BPF_EXIST])),
               max_size=25)


def apply(m, seq):
    out = []
    for name, k, v, flags in seq:
        try:
            if name == "put":
                m.put(k, v, flags)
                out.append("ok")
            elif name == "get":
                out.append(m.get(k))
            elif name == "del":
                del m[k]
                out.append("ok")
            else:
                out.append(sorted(m.items()))
        except KeyError:
            out.append("KeyError")
        except ebpf.MapError as e:
            out.append((type(e).__name__, e.errno))
    out.append(sorted(m.items()))
    return out


@pytest.mark.kernel
@settings(max_examples=40, deadline=None)
@given(mtype=st.sampled_from([T.HASH, T.ARRAY, T.PERCPU_HASH, T.PERCPU_ARRAY]), seq=ops)
def test_map_semantics_match_kernel(mtype, seq):
    s = spec(mtype, n=4)
    with ebpf.Map.create(s, backend="kernel") as km, ebpf.Map.create(s, backend="vm") as vm:
        assert apply(vm, seq) == apply(km, seq)


@pytest.mark.parametrize("mtype,key,value", [
    (T.HASH, 4, 8), (T.ARRAY, 4, 8), (T.PERCPU_HASH, 4, 8), (T.LRU_HASH, 4, 8),
    (T.LPM_TRIE, 8, 4), (T.QUEUE, 0, 4), (T.STACK, 0, 4), (T.BLOOM_FILTER, 0, 4),
    (T.PROG_ARRAY, 4, 4), (T.ARRAY_OF_MAPS, 4, 4), (T.HASH_OF_MAPS, 4, 4), (T.DEVMAP, 4, 4),
    (T.STACK_TRACE, 4, 64)])
def test_dict_api_on_every_map_type(mtype, key, value):
    """The MutableMapping methods work on every runtime map (no attribute of a
    map shadows them)."""
    flags = ebpf.spec.BPF_F_NO_PREALLOC if mtype == T.LPM_TRIE else 0
    m = create_map(spec(mtype, key=key, value=value, n=4, flags=flags))
    assert isinstance(list(m.items()), list)
    assert isinstance(list(m.values()), list)
    assert isinstance(list(m.keys()), list)
    assert m.get(b"\0" * key if key not in (0, 4) else 0, "d") in ("d", 0)
    assert len(m) >= 0
    m.close()


def test_local_storage_values_is_the_map_method():
    # the map's per-owner table once shadowed Map.values(): calling it raised TypeError
    m = create_map(ebpf.MapSpec(name="ts", type=ebpf.MapType.TASK_STORAGE, key_size=4,
                                value_size=8, max_entries=0, flags=1))
    with pytest.raises(ebpf.MapError, match="no keys to walk"):
        list(m.values())  # a view: the map is walked when iterated
