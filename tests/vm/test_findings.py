"""Regressions for QA findings on real-world programs (/tmp/qa/FINDINGS.md):
autoload, CGROUP_ARRAY, PERF_EVENT_ARRAY sizing and helper gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


# ---- F2: ProgramSpec.autoload -----------------------------------------------------
@pytest.fixture(scope="module")
def autoload_obj(bpf_compile):
    return bpf_compile(PROGS / "autoload.c")


def _spec(path):
    spec = ebpf.ObjectSpec.from_file(path)
    spec.programs["also_missing_kfunc"].autoload = False  # what libbpf-tools do from C
    return spec


def test_autoload_off_programs_are_not_loaded(autoload_obj):
    spec = _spec(autoload_obj)
    assert not spec.programs["uses_missing_kfunc"].autoload  # SEC("?xdp")
    with ebpf.load(spec, backend="vm") as obj:
        assert set(obj.programs) == {"tail_ok", "xdp_main"}
        main = obj.programs["xdp_main"]
        # slot 0 filled from the initialiser; slot 1 names an unloaded program: empty
        assert main.test_run(_slot(0)).retval == 1  # XDP_DROP
        assert main.test_run(_slot(1)).retval == 2  # fall through


def test_autoload_on_again_fails_like_before(autoload_obj):
    spec = _spec(autoload_obj)
    spec.programs["also_missing_kfunc"].autoload = True
    with pytest.raises(ebpf.LoadError, match="bpf_vm_test_no_such_kfunc"):
        ebpf.load(spec, backend="vm")


def test_programs_option_names_exactly_what_to_load(autoload_obj):
    spec = _spec(autoload_obj)
    with ebpf.load(spec, backend="vm", programs=["xdp_main", "tail_optional"]) as obj:
        assert set(obj.programs) == {"xdp_main", "tail_optional"}
        main = obj.programs["xdp_main"]
        assert main.test_run(_slot(0)).retval == 2  # tail_ok absent
        assert main.test_run(_slot(1)).retval == 3  # XDP_TX
    with pytest.raises(ebpf.LoadError, match="nope"):
        ebpf.load(spec, backend="vm", programs=["nope"])
    with pytest.raises(ebpf.LoadError, match="unknown load option"):
        ebpf.load(spec, backend="vm", no_such_option=1)


@pytest.mark.kernel
def test_autoload_same_programs_as_kernel(autoload_obj):
    for kw in ({}, {"programs": ["xdp_main", "tail_optional"]}):
        seen = []
        for backend in ("kernel", "vm"):
            with ebpf.load(_spec(autoload_obj), backend=backend, **kw) as obj:
                main = obj.programs["xdp_main"]
                seen.append((set(obj.programs), [main.test_run(_slot(i)).retval for i in (0, 1)]))
        assert seen[0] == seen[1]


def _slot(n: int) -> bytes:
    return bytes([n]) + b"\0" * 63
