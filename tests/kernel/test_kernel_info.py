"""Introspection: listing programs/maps/BTF, run statistics, BTF-decoded maps
reopened by id or pin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ebpf
from ebpf.kernel import info

pytestmark = pytest.mark.kernel
PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def structs_obj(bpf_compile):
    return bpf_compile(PROGS / "structs.bpf.c")


def test_listings_include_our_objects(structs_obj, no_leaks):
    with ebpf.load(structs_obj, backend="kernel") as obj:
        prog = obj.programs["count_flow"]
        flows = obj.maps["flows"]
        progs = {p.id: p for p in info.list_programs()}
        assert progs[prog.id].name == "count_flow" and progs[prog.id].type_name == "xdp"
        assert flows.id in progs[prog.id].map_ids
        maps = {m.id: m for m in info.list_maps()}
        assert maps[flows.id].name == "flows" and maps[flows.id].key_size == 12
        btfs = {b.id: b for b in info.list_btf()}
        assert btfs[flows.info().btf_id].kernel_btf is False
        assert any(b.name == "vmlinux" and b.kernel_btf for b in btfs.values())
        assert info.program_info(prog.id).tag == prog.info().tag
        assert info.map_info(flows.id).max_entries == 128
        assert abs(progs[prog.id].loaded_at - __import__("time").time()) < 600


def test_run_stats(structs_obj, no_leaks):
    with ebpf.load(structs_obj, backend="kernel") as obj:
        prog = obj.programs["count_flow"]
        with info.enable_stats():
            prog.test_run(b"\0" * 64, repeat=50)
            i = prog.info()
        assert i.run_count == 50 and i.run_time_ns > 0


def test_btf_decoding_survives_reopening(structs_obj, no_leaks, pin_dir):
    with ebpf.load(structs_obj, backend="kernel") as obj:
        prog = obj.programs["count_flow"]
        prog.test_run(b"\0" * 60)
        prog.test_run(b"\0" * 40)
        flows = obj.maps["flows"]
        (key, value), = flows.items()
        assert (key.saddr, key.daddr, key.sport, key.dport) == (1, 2, 3, 4)
        assert value.packets == 2 and value.bytes == 100 and value.label == b"first\0\0\0"
        flows[{"saddr": 9, "daddr": 9, "sport": 9, "dport": 9}] = {
            "packets": 5, "bytes": 6, "label": b"manual"}
        path = os.path.join(pin_dir, "flows")
        flows.pin(path)
        with ebpf.Map.from_id(flows.id) as again:  # spec and BTF rebuilt from the kernel
            assert again.spec.value_type is not None
            got = {k.saddr: v for k, v in again.items()}
            assert got[9].packets == 5 and got[9].label.rstrip(b"\0") == b"manual"
    with ebpf.Map.from_pin(path) as pinned:
        got = {k.saddr: v.bytes for k, v in pinned.items()}
        assert got == {1: 100, 9: 6}


def test_dump_xlated_and_jited(structs_obj, no_leaks):
    with ebpf.load(structs_obj, backend="kernel") as obj:
        prog = obj.programs["count_flow"]
        text = info.dump_xlated(prog.id)
        lines = [ln for ln in text.splitlines() if not ln.startswith("; ")]  # source lines
        assert lines[0].startswith("   0: ") and lines[-1].endswith("exit")
        insns = info.xlated_instructions(prog)
        assert len(insns) >= 10
        code, ksyms, lens = info.jited_bytes(prog.id)
        assert len(code) == prog.info().jited_size and sum(lens) == len(code)
        text = info.dump_jited(prog)
        assert len(text.splitlines()) >= 5 and all(": " in ln for ln in text.splitlines())


def test_listings_skip_objects_other_processes_are_creating_or_freeing(monkeypatch):
    """An id listed by *_GET_NEXT_ID may be gone (ENOENT) or not settled yet (EAGAIN:
    a link another process is still creating) when we open it: skip it."""
    import errno

    from ebpf.errors import SystemCallError
    from ebpf.kernel import commands

    real = commands.get_fd_by_id
    fail = {"others": 0, "ours": 0}  # errno for other processes' links / for ours
    ours = []

    def flaky(cmd, obj_id, *a, **kw):
        err = fail["ours" if obj_id in ours else "others"]
        if err:
            raise SystemCallError(f"opening id {obj_id}", err)
        return real(cmd, obj_id, *a, **kw)

    monkeypatch.setattr(commands, "get_fd_by_id", flaky)
    with _raw_tp_prog() as prog, prog.attach() as link:
        ours.append(link.id)
        for err in (errno.EAGAIN, errno.ENOENT):
            fail.update(others=err, ours=0)
            assert [li.id for li in info.list_links()] == [link.id]
            fail.update(ours=err)
            assert list(info.list_links()) == []
        fail.update(others=0, ours=errno.EACCES)  # anything else is still an error
        with pytest.raises(SystemCallError, match="EACCES"):
            list(info.list_links())


def _raw_tp_prog():
    spec = ebpf.ProgramSpec(name="listed", type=ebpf.ProgramType.RAW_TRACEPOINT,
                            attach_to="sys_enter", section="raw_tracepoint/sys_enter",
                            instructions=ebpf.isa.assemble("r0 = 0\nexit"))
    return ebpf.Program.load(spec, backend="kernel")


CHURN = """
import sys, ebpf
from ebpf import isa
spec = ebpf.ProgramSpec(name="churn", type=ebpf.ProgramType.RAW_TRACEPOINT,
                        attach_to="sys_enter", section="raw_tracepoint/sys_enter",
                        instructions=isa.assemble("r0 = 0\\nexit"))
with ebpf.Program.load(spec, backend="kernel") as p:
    print("ready", flush=True)
    while True:
        p.attach().close()
"""


def test_listing_links_while_another_process_makes_and_drops_them():
    import subprocess
    import sys
    import time

    churn = subprocess.Popen([sys.executable, "-c", CHURN], stdout=subprocess.PIPE, text=True)
    try:
        assert churn.stdout.readline().strip() == "ready"
        with _raw_tp_prog() as prog, prog.attach() as link:  # one link that stays
            end = time.monotonic() + 2
            rounds = 0
            while time.monotonic() < end or rounds < 20:
                assert link.id in {li.id for li in info.list_links()}
                assert prog.id in {p.id for p in info.list_programs()}
                rounds += 1
        assert churn.poll() is None  # it kept making and dropping links all along
    finally:
        churn.kill()
        churn.wait()
