"""docs/parity.md is the vm's status read off the code, for every name of the UAPI;
what it says "no" to is refused as it says."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf
from ebpf.isa import assemble
from ebpf.uapi import HelperId, MapType, ProgramType
from ebpf.vm import parity

DOC = Path(__file__).resolve().parents[2] / "docs" / "parity.md"


def test_parity_page_is_current():
    generated = DOC.read_text().partition("\n" + parity.HAND_WRITTEN)[0]
    assert generated == parity.markdown(), \
        "docs/parity.md is out of date: run python tools/gen_parity.py"


def test_every_uapi_name_is_listed():
    text = DOC.read_text()
    for h in HelperId:
        if int(h):
            assert f"| {int(h)} | `bpf_{h.name.lower()}` |" in text
    for t in MapType:
        if t != MapType.UNSPEC:
            assert f"| {int(t)} | `{t.name}` |" in text
    for p in ProgramType:
        if p != ProgramType.UNSPEC:
            assert f"| {int(p)} | `{p.name}` |" in text


def test_what_is_missing_is_refused_as_the_page_says():
    missing_helpers = [i for i, _name, ok in parity.helper_rows() if not ok]
    missing_maps = [i for i, _name, cls in parity.map_rows() if cls is None]
    if missing_helpers:
        hid = missing_helpers[0]
        spec = ebpf.ProgramSpec(name="p", type=ProgramType.SOCKET_FILTER, license="GPL",
                                instructions=assemble(f"call {hid}\nr0 = 0\nexit"))
        # the runtime's own refusal (our verifier, on by default, may refuse first
        # for a helper the program type cannot call)
        with pytest.raises(ebpf.LoadError, match="not supported by the vm"):
            ebpf.Program.load(spec, backend="vm", verify=False)
    if missing_maps:
        t = MapType(missing_maps[0])
        with pytest.raises(ebpf.NotSupportedError):
            ebpf.Map.create(ebpf.MapSpec(name="m", type=t, key_size=4, value_size=4,
                                         max_entries=1), backend="vm")
    # and a helper the page says "yes" to loads
    ktime = int(HelperId.ktime_get_ns)
    assert (ktime, "ktime_get_ns", True) in parity.helper_rows()
    spec = ebpf.ProgramSpec(name="p", type=ProgramType.SOCKET_FILTER, license="GPL",
                            instructions=assemble(f"call {ktime}\nr0 = 0\nexit"))
    with ebpf.Program.load(spec, backend="vm") as prog:
        assert prog.test_run(b"\0" * 64).retval == 0


def test_summary_counts_match_rows():
    s = parity.summary()
    assert s["helpers"][1] == len([h for h in HelperId if int(h)])
    assert s["map types"][1] == len(MapType) - 1
    assert 0 < s["helpers"][0] <= s["helpers"][1]
