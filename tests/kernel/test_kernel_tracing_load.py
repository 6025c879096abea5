"""Loading programs that need kernel BTF: attach_btf_id for tp_btf/iter/fentry/lsm,
kfunc calls (BTF ids of kernel functions), weak kfuncs, task storage maps."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf
from ebpf import btf
from ebpf.kernel.objects import load_object
from ebpf.kernel.programs import attach_btf_target

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def spec(bpf_compile):
    return ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "tracing.bpf.c"))


def test_attach_targets_resolve_in_kernel_btf(spec):
    vmlinux = btf.load_kernel_btf()
    tid, mod = attach_btf_target(spec.programs["on_exec"])
    assert mod == "vmlinux" and vmlinux[tid].name == "btf_trace_sched_process_exec"
    tid, _ = attach_btf_target(spec.programs["dump_task"])
    assert vmlinux[tid].name == "bpf_iter_task"
    tid, _ = attach_btf_target(spec.programs["on_open"])
    assert vmlinux[tid].name == "bpf_lsm_file_open"
    tid, _ = attach_btf_target(spec.programs["on_unlink"])
    assert vmlinux[tid].name == "do_unlinkat"
    assert attach_btf_target(spec.programs["on_switch"]) is None


def test_tp_btf_with_kfuncs_and_task_storage(spec, no_leaks):
    with load_object(spec, programs=["on_exec"]) as obj:
        info = obj.programs["on_exec"].info()
        vmlinux = btf.load_kernel_btf()
        assert vmlinux[info.attach_btf_id].name == "btf_trace_sched_process_exec"
        assert obj.maps["execs"].info().btf_value_type_id != 0  # storage maps need BTF
        assert info.btf_id > 0


def test_iterator_and_classic_tracepoints(spec, no_leaks):
    with load_object(spec, programs=["dump_task", "on_switch", "on_openat"]) as obj:
        assert set(obj.programs) == {"dump_task", "on_switch", "on_openat"}
        assert obj.programs["dump_task"].info().attach_btf_id > 0
        assert obj.maps["rb"].max_entries == 4096


@pytest.mark.parametrize("name", ["on_unlink", "on_open"])
def test_trampoline_programs_load_or_name_lockdown(spec, name, no_leaks, lockdown,
                                                   assert_lockdown_refusal):
    if lockdown not in ("", "none"):
        # lockdown=integrity (this kernel's configuration) refuses trampolines
        with pytest.raises(ebpf.Error) as ei:
            load_object(spec, programs=[name])
        assert_lockdown_refusal(ei, name)
        return
    with load_object(spec, programs=[name]) as obj:
        assert obj.programs[name].info().attach_btf_id > 0


def test_unknown_attach_target_is_a_clear_error(spec):
    ps = spec.programs["on_unlink"].copy()
    ps.attach_to = "no_such_kernel_function_xyz"
    with pytest.raises(ebpf.LoadError, match="no_such_kernel_function_xyz"):
        ebpf.Program.load(ps)


def test_typeless_ksyms_resolve_to_kernel_addresses(bpf_compile, no_leaks):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "ksyms.bpf.c"))
    kallsyms = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            kallsyms.setdefault(parts[2], int(parts[0], 16))
    with ebpf.load(spec, backend="kernel") as obj:
        obj.programs["read_ksyms"].test_run(b"\0" * 20)
        assert obj.variables["addr_put"].value == kallsyms["bpf_prog_put"] != 0
        assert obj.variables["addr_missing"].value == 0


def test_freplace_targets(bpf_compile, no_leaks, lockdown, assert_lockdown_refusal):
    from ebpf.kernel.program_btf import ext_target as _ext_target
    from ebpf.kernel.programs import load_program

    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "freplace.bpf.c"))
    ext = spec.programs["new_check"]
    assert ext.type == ebpf.ProgramType.EXT and ext.attach_to == "check"
    with pytest.raises(ebpf.LoadError, match="attach_target"):
        load_program(ext)
    with load_object(spec, programs=["target"]) as obj:
        target = obj.programs["target"]
        (tid, _), fd = _ext_target(ext, target)
        from ebpf.kernel.btf import btf_spec_by_id

        assert btf_spec_by_id(target.info().btf_id)[tid].name == "check" and fd == target.fd
        bad = ext.copy()
        bad.attach_to = "nope"
        with pytest.raises(ebpf.LoadError, match="no function 'nope'"):
            load_program(bad, attach_target=target)
    if lockdown not in ("", "none"):
        with pytest.raises(ebpf.Error) as ei:
            ebpf.load(spec, backend="kernel")  # target found in the same object
        assert_lockdown_refusal(ei, "new_check")
        return
    with ebpf.load(spec, backend="kernel") as obj:
        assert obj.programs["new_check"].info().attach_btf_id > 0
