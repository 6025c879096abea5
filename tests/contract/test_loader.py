"""The shared loader (ebpf.loader) on both backends: relocation of map references
and the filling of program arrays and maps of maps give the same result, or the
same error (type and message), whichever backend loads the object."""

from __future__ import annotations

import pytest

import ebpf
from ebpf.isa import Instruction, assemble
from ebpf.isa import opcodes as op
from ebpf.isa.instruction import KconfigReference, KsymReference

from .compare import same

ENTRY = """
    r2 = jumps ll
    r3 = 0
    call 12
    r0 = 2
    exit
"""


def _spec(*, slot0: str = "ret1", inner: str = "inner", extra_program: str | None = None,
          extra_ref: object = None, autoload_ret1: bool = True) -> ebpf.ObjectSpec:
    """An object made in Python: ``entry`` tail-calls slot 0 of ``jumps`` (falls
    back to 2); ``outer`` holds ``inner``."""
    xdp = ebpf.ProgramType.XDP
    progs = {
        "entry": ebpf.ProgramSpec(name="entry", type=xdp, instructions=assemble(ENTRY),
                                  license="GPL", section="xdp"),
        "ret1": ebpf.ProgramSpec(name="ret1", type=xdp, instructions=assemble("r0 = 1\nexit"),
                                 license="GPL", section="xdp", autoload=autoload_ret1),
    }
    if extra_program is not None:
        progs["extra"] = ebpf.ProgramSpec(name="extra", type=xdp, license="GPL", section="xdp",
                                          instructions=assemble(extra_program))
    if extra_ref is not None:  # r1 = <a kernel symbol or kconfig extern>; r0 = 0
        insns = assemble("r0 = 0\nexit")
        insns.insert(0, Instruction(op.LD_IMM64, dst=1, reference=extra_ref))
        progs["extra"] = ebpf.ProgramSpec(name="extra", type=xdp, license="GPL", section="xdp",
                                          instructions=insns)
    inner_spec = ebpf.MapSpec(name="inner", type=ebpf.MapType.ARRAY, key_size=4, value_size=4,
                              max_entries=1)
    maps = {  # the map of maps first: created last on both backends
        "outer": ebpf.MapSpec(name="outer", type=ebpf.MapType.ARRAY_OF_MAPS, key_size=4,
                              value_size=4, max_entries=1, inner=inner_spec.copy(),
                              contents=[(0, inner)]),
        "jumps": ebpf.MapSpec(name="jumps", type=ebpf.MapType.PROG_ARRAY, key_size=4,
                              value_size=4, max_entries=2, contents=[(0, slot0)]),
        "inner": inner_spec,
    }
    return ebpf.ObjectSpec(programs=progs, maps=maps, license="GPL", path="loader_contract")


def _run(spec: ebpf.ObjectSpec):
    def run(backend):
        with ebpf.load(spec, backend=backend, verify=False) as obj:
            return sorted(obj.programs), obj.programs["entry"].test_run(b"\0" * 64).retval
    return run


@pytest.mark.kernel
def test_same_prog_array_and_map_in_map_filled():
    assert same(_run(_spec())).value == (["entry", "ret1"], 1)


@pytest.mark.kernel
def test_same_map_order():
    def run(backend):
        with ebpf.load(_spec(), backend=backend, verify=False) as obj:
            return list(obj.maps)

    assert same(run).value == ["jumps", "inner", "outer"]


@pytest.mark.kernel
def test_same_slot_of_a_program_left_out_stays_empty():
    assert same(_run(_spec(autoload_ret1=False))).value == (["entry"], 2)


@pytest.mark.kernel
@pytest.mark.parametrize("kw, message", [
    ({"slot0": "nope"}, "program array jumps: slot 0 names program 'nope', which was not loaded"),
    ({"inner": "nope"}, "map-in-map outer: slot 0 names map 'nope', which was not created"),
    ({"extra_program": "r1 = nope ll\nr0 = 0\nexit"},
     "program extra: instruction 0 refers to map 'nope', which was not created "
     "(maps: inner, jumps, outer)"),
    ({"extra_ref": KconfigReference("CONFIG_NOPE")},
     "program extra: kconfig extern 'CONFIG_NOPE' has no place in a .kconfig map"),
    ({"extra_ref": KsymReference("ebpf_no_such_symbol")},
     "program extra: kernel symbol 'ebpf_no_such_symbol' (slot 0) not found in kernel BTF "
     "or /proc/kallsyms"),
], ids=["missing_program", "missing_inner_map", "missing_map_reference", "kconfig_no_place",
        "missing_ksym"])
def test_same_loader_errors(kw, message):
    kind, text = same(_run(_spec(**kw))).error
    assert kind == "LoadError" and text.startswith(message), text


@pytest.mark.kernel
def test_same_core_relocation_without_btf():
    from ebpf.btf.ext import CoreKind, CORERelocation

    spec = _spec(extra_program="r0 = 0\nexit")
    spec.programs["extra"].instructions[0].core = CORERelocation(0, 1, "0:0",
                                                                 CoreKind.FIELD_BYTE_OFFSET)
    assert same(_run(spec)).error == (
        "LoadError", "program extra has CO-RE relocations but the object has no BTF")


@pytest.mark.kernel
def test_same_weak_ksym_missing_reads_zero():
    assert same(_run(_spec(extra_ref=KsymReference("ebpf_no_such_symbol", weak=True)))).value \
        == (["entry", "extra", "ret1"], 1)


@pytest.mark.kernel
def test_same_missing_kfunc_error():
    """A call of a kfunc neither machine has: one error from the shared loader
    (a __weak one would load, its call poisoned)."""
    spec = _spec(extra_program="r0 = 0\nexit")
    spec.programs["extra"].instructions.insert(0, Instruction(
        op.CALL, src=op.BPF_PSEUDO_KFUNC_CALL, imm=-1,
        reference=KsymReference("ebpf_no_such_kfunc")))
    assert same(_run(spec)).error == (
        "LoadError", "program extra: kfunc 'ebpf_no_such_kfunc' (slot 0) not found (a __weak "
        "one, guarded by bpf_ksym_exists(), may be absent)")
