"""Feature probes and map-in-map objects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ebpf
from ebpf.kernel import probes
from ebpf.uapi import HelperId, MapType, ProgramType

PROGS = Path(__file__).parent / "progs"


def test_possible_cpus_and_version():
    n = probes.possible_cpus()
    assert n >= (os.cpu_count() or 1)
    major, minor, _ = probes.kernel_version()
    assert major >= 3
    assert probes.kernel_version_code() >> 16 == major


@pytest.mark.kernel
def test_bpf_usable_and_types():
    assert probes.bpf_usable()
    for t in (MapType.HASH, MapType.ARRAY, MapType.RINGBUF, MapType.LPM_TRIE,
              MapType.HASH_OF_MAPS, MapType.BLOOM_FILTER, MapType.USER_RINGBUF,
              MapType.ARENA):  # 6.9+: an arena is created with its own parameters
        assert probes.map_type_supported(t), t
    assert not probes.map_type_supported(MapType.UNSPEC)
    for t in (ProgramType.SOCKET_FILTER, ProgramType.XDP, ProgramType.TRACEPOINT,
              ProgramType.CGROUP_SOCK_ADDR, ProgramType.SK_LOOKUP, ProgramType.TRACING):
        assert probes.prog_type_supported(t), t
    assert not probes.prog_type_supported(ProgramType.UNSPEC)


@pytest.mark.kernel
def test_helper_probe():
    get_prandom = HelperId(7)
    assert probes.helper_supported(ProgramType.SOCKET_FILTER, get_prandom)
    assert probes.helper_supported(ProgramType.XDP, 44)  # bpf_xdp_adjust_head
    assert not probes.helper_supported(ProgramType.SOCKET_FILTER, 44)
    assert not probes.helper_supported(ProgramType.SOCKET_FILTER, 100000)


@pytest.mark.kernel
def test_map_in_map_object(bpf_compile, no_leaks):
    spec = ebpf.ObjectSpec.from_file(bpf_compile(PROGS / "mapinmap.bpf.c"))
    with ebpf.load(spec, backend="kernel") as obj:
        tenants = obj.maps["tenants"]
        assert tenants[0] == obj.maps["tenant_a"].id
        assert tenants[3] == obj.maps["tenant_b"].id
        assert 1 not in tenants
        assert obj.programs["route"].test_run(b"\0" * 64, repeat=3).retval == 2
        assert obj.maps["tenant_a"][1] == 3
    with ebpf.load(spec, backend="kernel", constants={"tenant": 3}) as obj:
        obj.programs["route"].test_run(b"\0" * 64)
        assert obj.maps["tenant_b"][1] == 1 and 1 not in obj.maps["tenant_a"]
    with ebpf.load(spec, backend="kernel", constants={"tenant": 2}) as obj:
        assert obj.programs["route"].test_run(b"\0" * 64).retval == 0  # no inner map


def test_every_kernel_module_reachable_as_attribute():
    # ebpf.kernel.<module> resolves lazily for every module of the package
    # (a fresh interpreter: in this one, imports may have set the attributes already)
    import subprocess
    import sys

    code = ("import pkgutil, ebpf.kernel as k\n"
            "names = sorted(m.name for m in pkgutil.iter_modules(k.__path__))\n"
            "assert 'netlink' in names\n"
            "for n in names:\n"
            "    assert getattr(k, n).__name__ == 'ebpf.kernel.' + n, n\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
