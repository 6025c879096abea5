"""Pieces of attaching that need no kernel: ELF symbols → file offsets, USDT
notes, library lookup, trace_pipe parsing, perf attr layout, CPU lists."""

from __future__ import annotations

import ctypes
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.kernel import perf, uprobe
from ebpf.kernel.attach import usdt_args
from ebpf.trace import parse_line


def _nm(path: str) -> dict[str, int]:
    out = subprocess.run(["nm", path], capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def test_symbol_offsets_match_nm_and_program_headers(target_binary):
    syms = _nm(target_binary)
    elf = uprobe.ELFFile(target_binary)
    for name in ("traced_add", "traced_mul", "main"):
        off = uprobe.symbol_offset(target_binary, name)
        assert off == elf.vaddr_to_offset(syms[name])
        # the bytes at that file offset are the function's code: same as at the vaddr
        assert elf.data[off:off + 8] == _code_at(elf, syms[name])
    assert uprobe.symbol_offset(target_binary, "traced_add+0x4") == \
        uprobe.symbol_offset(target_binary, "traced_add") + 4
    with pytest.raises(ebpf.AttachError, match="no symbol traced_div"):
        uprobe.symbol_offset(target_binary, "traced_div")


def _code_at(elf: uprobe.ELFFile, vaddr: int) -> bytes:
    for s in elf.sections:
        if s.addr <= vaddr < s.addr + s.size and s.type != 8:  # not NOBITS
            off = s.offset + vaddr - s.addr
            return elf.data[off:off + 8]
    raise AssertionError("no section holds the address")


def test_versioned_libc_symbols():
    libc = uprobe.resolve_binary("c")
    assert "libc" in libc
    plain = uprobe.symbol_offset(libc, "getpid")
    assert uprobe.symbol_offset(libc, "getpid@@GLIBC_2.2.5") == plain
    with pytest.raises(ebpf.AttachError, match="no symbol getpid@GLIBC_9.9"):
        uprobe.symbol_offset(libc, "getpid@GLIBC_9.9")
    syms = uprobe.open_elf(libc).symbols()
    versioned = [s for s in syms if s.name == "getpid" and s.table == ".dynsym"]
    assert versioned and versioned[0].version.startswith("GLIBC_")
    import os

    assert os.path.realpath(uprobe.resolve_binary("libc.so.6")) == os.path.realpath(libc)


def test_usdt_note_parsing(target_binary):
    probes = uprobe.usdt_probes(target_binary)
    assert [(p.provider, p.name) for p in probes] == [("demo", "tick"), ("demo", "args")]
    p, q = probes
    assert p.args.startswith("-4@%") and q.args.endswith(" -2@$-7")
    assert q.semaphore == 0 and q.semaphore_offset == 0
    assert [a.kind for a in usdt_args.parse_usdt_args(q.args)] == [
        usdt_args.USDT_ARG_REG, usdt_args.USDT_ARG_REG_DEREF, usdt_args.USDT_ARG_CONST]
    elf = uprobe.ELFFile(target_binary)
    assert elf.data[p.offset] == 0x90  # the nop the probe sits on
    assert p.semaphore == _nm(target_binary)["demo_tick_semaphore"]
    assert p.semaphore_offset == elf.vaddr_to_offset(p.semaphore)
    assert uprobe.find_usdt(target_binary, "demo", "tick") == [p]
    with pytest.raises(ebpf.AttachError, match="no USDT probe demo:tock .*has: demo:args, demo:tick"):
        uprobe.find_usdt(target_binary, "demo", "tock")


def test_resolve_binary_errors(tmp_path):
    with pytest.raises(ebpf.AttachError, match="does not exist"):
        uprobe.resolve_binary(str(tmp_path / "missing"))
    with pytest.raises(ebpf.AttachError, match="cannot find binary or library"):
        uprobe.resolve_binary("surely_no_such_library_xyz")
    (tmp_path / "notelf").write_bytes(b"#!/bin/sh\n")
    with pytest.raises(ebpf.AttachError, match="not an ELF file"):
        uprobe.symbol_offset(str(tmp_path / "notelf"), "main")
    assert uprobe.parse_target("/usr/lib/libc.so.6:malloc") == ("/usr/lib/libc.so.6", "malloc")


def test_parse_trace_pipe_lines():
    ev = parse_line("           <...>-4242    [001] d..31  1523.123456: bpf_trace_printk: "
                    "hello: 7")
    assert (ev.task, ev.pid, ev.cpu, ev.timestamp, ev.function, ev.message) == \
        ("<...>", 4242, 1, 1523.123456, "bpf_trace_printk", "hello: 7")
    ev = parse_line(" kworker/u4:2-31 [000] ....  5.000001: bpf_trace_printk: x")
    assert ev.task == "kworker/u4:2" and ev.pid == 31 and ev.message == "x"
    ev = parse_line("  my task-7 (    7) [003] 9.5: bpf_trace_printk: with tgid")
    assert ev.task == "my task" and ev.cpu == 3 and ev.flags == "" and ev.message == "with tgid"
    assert parse_line("CPU:1 [LOST 5 EVENTS]") is None
    assert parse_line("") is None


@given(task=st.from_regex(r"[A-Za-z0-9_:/.<>\- ]{1,16}", fullmatch=True).filter(
           lambda s: s.strip() == s and s),
       pid=st.integers(0, 4194304), cpu=st.integers(0, 4095),
       ts=st.integers(0, 10**12), msg=st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                              max_size=60))
def test_parse_trace_pipe_roundtrip(task, pid, cpu, ts, msg):
    secs = f"{ts // 10**6}.{ts % 10**6:06d}"
    line = f"{task:>16}-{pid:<7} [{cpu:03d}] d..1. {secs}: bpf_trace_printk: {msg}"
    ev = parse_line(line)
    assert ev is not None
    assert (ev.task, ev.pid, ev.cpu, ev.message) == (task, pid, cpu, msg)
    assert ev.timestamp == float(secs)


def test_perf_attr_layout_and_names():
    assert ctypes.sizeof(perf.PerfEventAttr) == 136
    assert perf.PerfEventAttr.config1.offset == 56 and perf.PerfEventAttr.config2.offset == 64
    a = perf.PerfEventAttr.software(perf.SW_CPU_CLOCK, sample_freq=99)
    assert a.flags & perf.FLAG_FREQ and a.sample_period == 99 and a.size == 136
    with pytest.raises(ebpf.AttachError, match="not both"):
        perf.PerfEventAttr().set_sampling(1, 2)
    assert perf.parse_event_type("Hardware") == perf.TYPE_HARDWARE
    assert perf.parse_event_config(perf.TYPE_SOFTWARE, "page_faults") == perf.SW_PAGE_FAULTS
    with pytest.raises(ebpf.AttachError, match="unknown perf event type"):
        perf.parse_event_type("quantum")


def test_cpu_lists():
    assert perf._parse_cpu_list("0-3,5,7-8\n") == [0, 1, 2, 3, 5, 7, 8]
    assert perf._parse_cpu_list("0") == [0]
    assert perf.online_cpus() and set(perf.online_cpus()) <= set(perf.possible_cpus())


def test_usdt_argument_specs():
    args = usdt_args.parse_usdt_args("-4@%edi 8@-16(%rbp) 4@$5 2@(%r12) 1@%r9b 8@0x10(%rsp)")
    assert [(a.kind, a.size, a.signed, a.val_off, a.reg_off) for a in args] == [
        (usdt_args.USDT_ARG_REG, 4, True, 0, 112),
        (usdt_args.USDT_ARG_REG_DEREF, 8, False, -16, 32),
        (usdt_args.USDT_ARG_CONST, 4, False, 5, 0),
        (usdt_args.USDT_ARG_REG_DEREF, 2, False, 0, 24),
        (usdt_args.USDT_ARG_REG, 1, False, 0, 64),
        (usdt_args.USDT_ARG_REG_DEREF, 8, False, 16, 152)]
    assert args[0].pack() == bytes.fromhex("0000000000000000" "01000000" "7000" "01" "20")
    spec = usdt_args.pack_usdt_spec(args[:2], usdt_cookie=7)
    assert len(spec) == 208 and spec[192:200] == (7).to_bytes(8, "little")
    assert spec[200:202] == (2).to_bytes(2, "little")
    for bad, why in [("4@%xmm0", "unknown x86-64 register"), ("3@%eax", "size 3"),
                     ("8@sym(%rip)", "not supported"), ("8@4(%rip)", "rip-relative"),
                     ("eax", "SIZE@LOCATION")]:
        with pytest.raises(ebpf.AttachError, match=why):
            usdt_args.parse_usdt_args(bad)
    with pytest.raises(ebpf.AttachError, match="at most 12"):
        usdt_args.parse_usdt_args(" ".join(["4@%eax"] * 13))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                      max_size=24),
       cut=st.one_of(st.none(), st.integers(0, 1 << 16)))
def test_corrupt_elf_files_raise_attach_error_only(target_binary, tmp_path_factory, edits, cut):
    data = bytearray(open(target_binary, "rb").read())
    for pos, value in edits:
        # mostly the headers and tables at the front, where corruption matters
        data[pos % min(len(data), 0x1000 if value % 3 else len(data))] = value
    if cut is not None:
        data = data[:cut % len(data)]
    path = tmp_path_factory.mktemp("corrupt") / "bin"
    path.write_bytes(bytes(data))
    try:
        elf = uprobe.ELFFile(str(path))
        elf.symbols()
        elf.usdt_probes()
        uprobe.symbol_offset(str(path), "traced_add")
    except ebpf.AttachError:
        pass
