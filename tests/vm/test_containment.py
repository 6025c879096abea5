"""The runtime's containment, a second net under the verifier: the hostile
programs of issue #12 are refused by our verifier at load, and, loaded with
``verify=False``, stopped by every executor (a RuntimeFault or a load error)."""

from __future__ import annotations

import threading
import warnings

import pytest

import ebpf
from ebpf.isa import assemble
from ebpf.isa.instruction import MapReference
from ebpf.spec import ObjectSpec
from ebpf.verifier import verify_program

EXECUTORS = ["interpreter", "translator", "native"]

SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val { struct bpf_spin_lock lock; __u64 n; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct val);
} locked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} mine SEC(".maps");

/* set at load: an address or a map pointer of another object */
const volatile __u64 target = 0;

static __always_inline struct val *get(__u32 k)
{
	return bpf_map_lookup_elem(&locked, &k);
}

/* two spin locks taken in opposite orders: on two threads, a deadlock */
SEC("tc") int lock_ab(struct __sk_buff *skb)
{
	struct val *a = get(0), *b = get(1);
	if (!a || !b) return 0;
	bpf_spin_lock(&a->lock);
	bpf_spin_lock(&b->lock);
	a->n++;
	bpf_spin_unlock(&b->lock);
	bpf_spin_unlock(&a->lock);
	return 1;
}

SEC("tc") int lock_ba(struct __sk_buff *skb)
{
	struct val *a = get(0), *b = get(1);
	if (!a || !b) return 0;
	bpf_spin_lock(&b->lock);
	bpf_spin_lock(&a->lock);
	b->n++;
	bpf_spin_unlock(&a->lock);
	bpf_spin_unlock(&b->lock);
	return 1;
}

/* another object's map value through a constant address: read, then overwrite */
SEC("tc") int read_other(struct __sk_buff *skb)
{
	return *(volatile __u64 *)target;
}

SEC("tc") int write_other(struct __sk_buff *skb)
{
	*(volatile __u64 *)target = 0x66;
	return 0;
}

/* another object's map through a constant map pointer */
SEC("tc") int lookup_other(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem((void *)target, &k);
	if (!v) return 0;
	*v = 0x66;
	return 1;
}

/* a socket filter calling helpers only tracing programs may call */
SEC("socket") int filter_override(struct __sk_buff *skb)
{
	bpf_override_return((void *)skb, 0);
	return 0;
}

SEC("socket") int filter_probe_write(struct __sk_buff *skb)
{
	__u64 v = 0;
	bpf_probe_write_user((void *)target, &v, sizeof(v));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""

VICTIM = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} secrets SEC(".maps");

SEC("tc") int victim(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "GPL";
"""

#: our verifier's reason for each hostile program
REJECT = {
    "lock_ab": "Locking two bpf_spin_locks are not allowed",
    "lock_ba": "Locking two bpf_spin_locks are not allowed",
    "read_other": "invalid mem access 'scalar'",
    "write_other": "invalid mem access 'scalar'",
    "lookup_other": "R1 type=scalar expected=map_ptr",
    "filter_override": "cannot use helper bpf_override_return",
    "filter_probe_write": "cannot use helper bpf_probe_write_user",
}


@pytest.fixture(scope="module")
def hostile(bpf_compile):
    return bpf_compile(SRC, name="vm_hostile")


@pytest.fixture(scope="module")
def victim(bpf_compile):
    path = bpf_compile(VICTIM, name="vm_victim")
    with ebpf.load(path, backend="vm") as obj:
        obj.maps["secrets"][0] = 0x5EC12E7
        yield obj


def _load(path, executor, program, **constants):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ebpf.load(path, backend="vm", verify=False, executor=executor,
                         programs=[program], constants=constants)


@pytest.mark.parametrize("name", sorted(REJECT))
def test_our_verifier_refuses(hostile, name):
    spec = ObjectSpec.from_file(hostile)
    res = verify_program(spec.programs[name], spec.maps)
    assert not res.accepted
    assert REJECT[name] in res.error, res.error


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(REJECT))
def test_the_kernel_refuses_them_too(hostile, name):
    from ebpf.verifier.compare import kernel_verdict

    kv = kernel_verdict(ObjectSpec.from_file(hostile), name)
    assert kv.accepted is False, f"{name}: the kernel accepts it"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_another_objects_memory_is_unmapped(hostile, victim, executor):
    secrets = victim.maps["secrets"]
    addr = secrets.regions[0].base   # where the victim's value lives in the vm
    for name in ("read_other", "write_other"):
        with _load(hostile, executor, name, target=addr) as obj:
            with pytest.raises(ebpf.RuntimeFault, match="address space"):
                obj.programs[name].test_run(bytes(64))
    assert secrets[0] == 0x5EC12E7
    # its map pointer is no map to this program either
    with _load(hostile, executor, "lookup_other", target=secrets.handle) as obj:
        with pytest.raises(ebpf.RuntimeFault, match="not a map pointer"):
            obj.programs["lookup_other"].test_run(bytes(64))
    assert secrets[0] == 0x5EC12E7


@pytest.mark.parametrize("executor", EXECUTORS)
def test_own_maps_stay_reachable_by_address(hostile, executor):
    # the same program, pointed at a map of its own object, runs
    with _load(hostile, executor, "read_other") as obj:
        obj.maps["mine"][0] = 77
        addr = obj.maps["mine"].regions[0].base
    with _load(hostile, executor, "read_other", target=addr) as obj:
        # a fresh object: its own "mine" is elsewhere, so this address is not its
        with pytest.raises(ebpf.RuntimeFault):
            obj.programs["read_other"].test_run(bytes(64))


def test_constant_map_pointer_of_another_object_is_a_load_error(victim):
    secrets = victim.maps["secrets"]
    insns = assemble(f"r1 = {secrets.handle} ll\nr0 = 0\nexit")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    with pytest.raises(ebpf.LoadError, match="not one of its maps"):
        ebpf.Program.load(spec, backend="vm", verify=False)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_two_spin_locks_cannot_deadlock(hostile, executor):
    # one object: both programs use the same map, the same two locks
    faults: list[str] = []

    def hammer(prog):
        for _ in range(200):
            try:
                prog.test_run(bytes(64))
            except ebpf.RuntimeFault as e:
                faults.append(str(e))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = ebpf.load(hostile, backend="vm", verify=False, executor=executor,
                        programs=["lock_ab", "lock_ba"])
    with obj:
        threads = [threading.Thread(target=hammer, args=(obj.programs[n],), daemon=True)
                   for n in ("lock_ab", "lock_ba")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "spin locks deadlocked the host"
    assert len(faults) == 400
    assert all("nested locks are not allowed" in f for f in faults)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_helper_call_under_a_spin_lock_faults(executor):
    # (bpf_get_current_pid_tgid: the native executor's in-code helpers, map
    # lookups and updates, tail calls, the clock, the CPU id and random numbers,
    # cannot block and are not checked)
    m = ebpf.Map.create(ebpf.MapSpec(name="l", type=ebpf.MapType.ARRAY, key_size=4,
                                     value_size=8, max_entries=1), backend="vm")
    insns = assemble("r1 = 0 ll\nr2 = r10\nr2 += -4\nr3 = 0\n*(u32 *)(r2 + 0) = r3\n"
                     "call 1\nif r0 == 0 goto +6\nr6 = r0\nr1 = r0\ncall 93\n"
                     "call 14\nr1 = r6\ncall 94\nr0 = 1\nexit")
    insns[0].reference = MapReference("l")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SCHED_CLS, instructions=insns,
                            license="GPL")
    with ebpf.Program.load(spec, backend="vm", verify=False, executor=executor,
                           maps={"l": m}) as p:
        with pytest.raises(ebpf.RuntimeFault, match="not allowed while holding a lock"):
            p.test_run(bytes(64))
        with pytest.raises(ebpf.RuntimeFault, match="not allowed while holding a lock"):
            p.test_run(bytes(64))   # the lock was released after the fault


@pytest.mark.parametrize("name", ["filter_override", "filter_probe_write"])
def test_socket_filter_helpers_refused_at_load(hostile, name):
    with pytest.raises(ebpf.LoadError, match="socket_filter cannot use helper"):
        _load(hostile, "interpreter", name)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_socket_filter_helper_through_callx_faults(executor):
    # callx reaches helpers by a register's value: refused when the call is made
    insns = assemble("r2 = 0\nr3 = 36\ncallx r3\nexit")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    with ebpf.Program.load(spec, backend="vm", verify=False, executor=executor) as p:
        with pytest.raises(ebpf.RuntimeFault, match="cannot use helper bpf_probe_write_user"):
            p.test_run(bytes(64))


FOR_EACH = "r1 = 0 ll\nr2 = cb ll\nr3 = 0\nr4 = 0\ncall 164\nexit\ncb:\nr0 = 0\nexit"


def _for_each(executor: str, entries: int):
    m = ebpf.Map.create(ebpf.MapSpec(name="big", type=ebpf.MapType.ARRAY, key_size=4,
                                     value_size=8, max_entries=entries), backend="vm")
    insns = assemble(FOR_EACH)
    insns[0].reference = MapReference("big")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    return m, ebpf.Program.load(spec, backend="vm", executor=executor, maps={"big": m})


@pytest.mark.parametrize("executor", EXECUTORS)
def test_for_each_work_is_charged(executor):
    m, p = _for_each(executor, 1000)
    with m, p:
        r = p.test_run(bytes(64))
    assert r.retval == 1000
    # the program's 6 instructions, and per element: one for the helper's
    # step and the callback's two
    assert r.instructions == 6 + 1000 * 3


@pytest.mark.parametrize("executor", EXECUTORS)
def test_for_each_on_4m_entries_exhausts_the_budget(executor):
    m, p = _for_each(executor, 4 << 20)
    with m, p:
        with pytest.raises(ebpf.RuntimeFault, match="budget exhausted"):
            p.test_run(bytes(64), budget=30_000)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_bpf_loop_work_is_charged(executor):
    insns = assemble("r1 = 100\nr2 = cb ll\nr3 = 0\nr4 = 0\ncall 181\nexit\ncb:\nr0 = 0\nexit")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    with ebpf.Program.load(spec, backend="vm", executor=executor) as p:
        r = p.test_run(bytes(64))
    assert (r.retval, r.instructions) == (100, 6 + 100 * 3)


# ---- bounds per element ------------------------------------------------------------
def _element_prog(executor: str, m, text: str):
    insns = assemble("r1 = 0 ll\nr2 = r10\nr2 += -4\nr3 = 0\n*(u32 *)(r2 + 0) = r3\n"
                     "call 1\nif r0 == 0 goto out\n" + text + "\nout:\nexit")
    for ins in insns:
        if ins.opcode == 0x18:   # every lddw: the map
            ins.reference = MapReference("m")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ebpf.Program.load(spec, backend="vm", verify=False, executor=executor,
                                 maps={"m": m})


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("kind", [ebpf.MapType.ARRAY, ebpf.MapType.HASH])
def test_a_value_pointer_stays_in_its_element(executor, kind):
    m = ebpf.Map.create(ebpf.MapSpec(name="m", type=kind, key_size=4, value_size=4,
                                     max_entries=8), backend="vm")
    with m:
        for k in range(3):
            m[k] = 100 + k
        if kind == ebpf.MapType.HASH:
            del m[1]   # the slot after element 0's
        cases = {"r0 = *(u32 *)(r0 + 0)": 100,                       # the value itself
                 "r0 = *(u64 *)(r0 + 0)": "crosses the end of element 0",  # 4 bytes too many
                 "r0 = *(u32 *)(r0 + 4)": "padding after element 0",
                 "r1 = 7\n*(u32 *)(r0 + 4) = r1": "padding after element 0"}
        if kind == ebpf.MapType.HASH and executor != "native":
            cases["r0 = *(u32 *)(r0 + 8)"] = "element 1 of map m values is not in the map"
        for text, want in cases.items():
            with _element_prog(executor, m, text) as p:
                if isinstance(want, int):
                    assert p.test_run(bytes(64)).retval == want
                else:
                    with pytest.raises(ebpf.RuntimeFault, match=want):
                        p.test_run(bytes(64))
        if kind == ebpf.MapType.HASH and executor == "native":
            # generated code inserts into slots Python readies (zeroed) ahead of
            # time, the deleted element's among them: its value is gone either way
            with _element_prog(executor, m, "r0 = *(u32 *)(r0 + 8)") as p:
                try:
                    assert p.test_run(bytes(64)).retval == 0
                except ebpf.RuntimeFault as e:
                    assert "not in the map" in str(e)  # noqa: PT017 - either outcome holds


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_value_deleted_during_the_run_stays_readable(executor):
    # the kernel's RCU rule: a program may use the value it deleted until it returns
    m = ebpf.Map.create(ebpf.MapSpec(name="m", type=ebpf.MapType.HASH, key_size=4, value_size=8,
                                     max_entries=8), backend="vm")
    with m:
        text = ("r6 = r0\nr1 = 0 ll\nr2 = r10\nr2 += -4\ncall 3\n"   # delete key 0
                "r0 = *(u64 *)(r6 + 0)")
        with _element_prog(executor, m, text) as p:
            assert p.test_run(bytes(64)).retval == 0   # not found: deleted before the run
        m[0] = 42
        with _element_prog(executor, m, text) as p:
            assert p.test_run(bytes(64)).retval == 42
        assert 0 not in m


# ---- resource caps -------------------------------------------------------------------
def test_map_memory_cap():
    from ebpf.vm.maps import map_memory_limit, set_map_memory_limit
    from ebpf.vm.maps.limits import charged

    before, limit = charged(), map_memory_limit()
    set_map_memory_limit(before + (1 << 20))
    try:
        spec = ebpf.MapSpec(name="huge", type=ebpf.MapType.ARRAY, key_size=4, value_size=8,
                            max_entries=1 << 20)
        with pytest.raises(ebpf.MapError, match="huge: needs 8388608 bytes") as ei:
            ebpf.Map.create(spec, backend="vm")
        assert ei.value.errno == 12   # ENOMEM
        spec.max_entries = 1 << 10
        with ebpf.Map.create(spec, backend="vm"):
            assert charged() == before + 8192
        assert charged() == before   # given back on close
    finally:
        set_map_memory_limit(limit)


def test_perf_buffer_drops_when_full_and_counts_lost():
    m = ebpf.Map.create(ebpf.MapSpec(name="ev", type=ebpf.MapType.PERF_EVENT_ARRAY), backend="vm")
    insns = assemble("r2 = r10\nr2 += -504\nr0 = 0\n" +
                     "".join(f"*(u64 *)(r10 - {8 * i}) = r0\n" for i in range(1, 64)) +
                     "r4 = r2\nr2 = 0 ll\nr3 = 0xffffffff ll\nr5 = 500\ncall 25\nexit")
    insns[67].reference = MapReference("ev")
    spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.SCHED_CLS, instructions=insns,
                            license="GPL")
    lost: list[int] = []
    with m, ebpf.Program.load(spec, backend="vm", maps={"ev": m}) as p:
        pb = ebpf.PerfBuffer(m, page_count=1, lost_callback=lost.append)
        try:
            # one page holds eight records of 500 bytes (and their 12 of headers)
            rcs = [p.test_run(bytes(64)).retval for _ in range(10)]
            assert rcs == [0] * 8 + [2**32 - 28] * 2   # -ENOSPC
            assert len(pb.poll(timeout=1.0)) == 8
            assert lost == [2] and pb.lost == 2
            assert p.test_run(bytes(64)).retval == 0   # read: room again
        finally:
            pb.close()


def test_a_program_too_long_to_compile_runs_on_the_interpreter():
    # (translating costs memory per instruction: a 1M-instruction program loads
    # in seconds on the interpreter, see benchmarks/)
    from ebpf.isa import Instruction
    from ebpf.isa import opcodes as op
    from ebpf.vm.executors import MAX_COMPILED_SLOTS

    add = (op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1)
    insns = [*assemble("r0 = 0"), *(Instruction(*add) for _ in range(100_000)),
             *assemble("exit")]
    spec = ebpf.ProgramSpec(name="big", type=ebpf.ProgramType.SOCKET_FILTER, instructions=insns,
                            license="GPL")
    assert len(insns) > MAX_COMPILED_SLOTS
    with ebpf.Program.load(spec, backend="vm", verify=False, executor="translator") as p:
        assert p.executor_name == "interpreter"
        assert p.test_run(bytes(64)).retval == 100_000


# ---- signals -------------------------------------------------------------------------
def test_no_signal_to_the_host_from_a_background_thread():
    import signal

    got: list[int] = []
    old = signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    try:
        insns = assemble(f"r1 = {int(signal.SIGUSR1)}\ncall 109\nexit")
        spec = ebpf.ProgramSpec(name="p", type=ebpf.ProgramType.KPROBE, instructions=insns,
                                license="GPL")
        with ebpf.Program.load(spec, backend="vm") as p:
            out: list[int] = []
            t = threading.Thread(target=lambda: out.append(p.run(bytes(168))))
            t.start()
            t.join()
            assert out == [2**64 - 1]   # -EPERM
            assert got == []
            assert p.run(bytes(168)) == 0   # from the main thread: delivered
    finally:
        signal.signal(signal.SIGUSR1, old)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_tail_called_program_reaches_its_own_maps(executor):
    # the callee's maps become part of the caller's address space through the
    # program array, whichever executor makes the tail call
    own = ebpf.Map.create(ebpf.MapSpec(name="own", type=ebpf.MapType.ARRAY, key_size=4,
                                       value_size=8, max_entries=1), backend="vm")
    jumps = ebpf.Map.create(ebpf.MapSpec(name="jumps", type=ebpf.MapType.PROG_ARRAY, key_size=4,
                                         value_size=4, max_entries=1), backend="vm")
    own[0] = 1234
    callee = assemble("r1 = 0 ll\nr2 = r10\nr2 += -4\nr3 = 0\n*(u32 *)(r2 + 0) = r3\n"
                      "call 1\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nexit")
    callee[0].reference = MapReference("own")
    caller = assemble("r2 = 0 ll\nr3 = 0\ncall 12\nr0 = 99\nexit")
    caller[0].reference = MapReference("jumps")

    def spec(name, insns):
        return ebpf.ProgramSpec(name=name, type=ebpf.ProgramType.SCHED_CLS, instructions=insns,
                                license="GPL")

    with own, jumps, \
            ebpf.Program.load(spec("callee", callee), backend="vm", executor=executor,
                              maps={"own": own}) as b, \
            ebpf.Program.load(spec("caller", caller), backend="vm", executor=executor,
                              maps={"jumps": jumps}) as a:
        assert a.test_run(bytes(64)).retval == 99   # empty slot: falls through
        jumps[0] = b
        assert a.test_run(bytes(64)).retval == 1234


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_deleted_value_is_unreachable_afterwards(executor):
    # deleted by the program (natively, in generated code, on the native executor):
    # once the run is over its slot is no longer mapped, whatever the address
    m = ebpf.Map.create(ebpf.MapSpec(name="m", type=ebpf.MapType.HASH, key_size=4, value_size=8,
                                     max_entries=8), backend="vm")
    with m:
        m[0] = 0x5EC12E7
        addr = m.prog_lookup(bytes(4), 0)
        delete = assemble("r1 = 0 ll\nr2 = r10\nr2 += -4\nr3 = 0\n*(u32 *)(r2 + 0) = r3\n"
                          "call 3\nexit")
        delete[0].reference = MapReference("m")
        peek = assemble(f"r1 = {addr} ll\nr0 = *(u64 *)(r1 + 0)\nexit")
        progs = [ebpf.Program.load(ebpf.ProgramSpec(name=n, type=ebpf.ProgramType.SOCKET_FILTER,
                                                    instructions=i, license="GPL"),
                                   backend="vm", verify=False, executor=executor, maps={"m": m})
                 for n, i in (("delete", delete), ("peek", peek))]
        with progs[0], progs[1]:
            assert progs[1].test_run(bytes(64)).retval == 0x5EC12E7   # live: its own map
            assert progs[0].test_run(bytes(64)).retval == 0
            with pytest.raises(ebpf.RuntimeFault, match="not in the map"):
                progs[1].test_run(bytes(64))
