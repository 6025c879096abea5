"""`ebpf inspect` and `ebpf disasm`."""

from __future__ import annotations

import json
import re

import pytest

from ebpf.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_inspect_table(corpus, capsys):
    rc, out, _ = run(capsys, "inspect", str(corpus("bootstrap")))
    assert rc == 0
    assert re.search(r"handle_exec\s+tp/sched/sched_process_exec\s+TRACEPOINT\s+-\s+"
                     r"sched/sched_process_exec\s+\d+", out)
    assert re.search(r"exec_start\s+HASH\s+4 \(int\)\s+8 \(unsigned long long\)\s+8192", out)
    assert re.search(r"rb\s+RINGBUF\s+0\s+0\s+262144", out)
    assert re.search(r"\.rodata\s+ARRAY\s+4\s+12 \(\.rodata\)\s+1\s+RDONLY_PROG\|MMAPABLE", out)
    assert re.search(r"min_duration_ns\s+\.rodata\s+0\s+8\s+const volatile unsigned long long"
                     r"\s+const", out)
    assert "CO-RE relocations 3" in out or re.search(r"CO-RE relocations [1-9]", out)


def test_inspect_json(corpus, capsys):
    rc, out, _ = run(capsys, "inspect", "--json", str(corpus("xdp_tail")))
    assert rc == 0
    d = json.loads(out)
    progs = {p["name"]: p for p in d["programs"]}
    assert progs["xdp_entry"]["type"] == "XDP" and progs["xdp_entry"]["needs_target"]
    assert progs["xdp_entry"]["functions"] == ["xdp_entry", "count"]
    assert progs["xdp_frags_prog"]["flags"] == "XDP_HAS_FRAGS"
    maps = {m["name"]: m for m in d["maps"]}
    assert maps["jmp_table"]["contents"] == [[0, "xdp_pass_tail"], [2, "xdp_drop_tail"]]
    assert maps["tx_port"]["pinning"] == "BY_NAME"
    assert d["btf"]["func_info"] >= 4 and d["license"] == "GPL"


def test_inspect_map_in_map_and_externs(corpus, capsys):
    rc, out, _ = run(capsys, "inspect", str(corpus("mapinmap")))
    assert rc == 0 and "inner ARRAY 4/4/16" in out and "init [0]=inner_a, [2]=inner_b" in out
    rc, out, _ = run(capsys, "inspect", str(corpus("externs")))
    assert "kconfig: CONFIG_BPF_SYSCALL, CONFIG_HZ, LINUX_KERNEL_VERSION" in out
    assert "bpf_rcu_read_lock" in out


def test_disasm_program_with_subprograms(corpus, capsys):
    rc, out, _ = run(capsys, "disasm", str(corpus("subprogs")), "-p", "prog_a")
    assert rc == 0
    assert out.startswith("prog_a: section 'raw_tp/sys_enter', RAW_TRACEPOINT -> sys_enter")
    for fn in ("loop_cb", "add_total", "global_helper", "mix"):
        assert f"<{fn}>:" in out
    assert re.search(r"^\s+\d+:\tld_pseudo\tr2, 0x4, 0x[0-9a-f]+\t; func: loop_cb$", out, re.M)
    assert re.search(r"^\s+\d+:\tr1 = 0x0 ll\t; map: totals$", out, re.M)
    assert re.search(r"^\s+\d+:\tr1 = 0x0 ll\t; map value: \.bss$", out, re.M)
    assert re.search(r"call 0x1\t; bpf_map_lookup_elem", out)
    assert "; bpf_loop(16, loop_cb, &sum, 0);" in out
    # slot numbers count lddw as two
    slots = [int(m) for m in re.findall(r"^\s+(\d+):\t", out, re.M)]
    assert slots[0] == 0 and slots == sorted(slots)


def test_disasm_sections_and_core(corpus, capsys):
    rc, out, _ = run(capsys, "disasm", str(corpus("bootstrap")), "-s",
                     "tp/sched/sched_process_exec", "--no-source")
    assert rc == 0
    assert "handle_exec" in out and "handle_exit" not in out
    assert "CO-RE field_byte_offset struct task_struct" in out
    assert not re.search(r"^; ", out, re.M)


@pytest.mark.parametrize("name", ["minimal", "bootstrap", "externs", "legacy"])
def test_disasm_matches_llvm_objdump(corpus, capsys, name):
    """For programs without subprograms, the text is llvm-objdump's (after the
    ``<label>`` annotations both add)."""
    import os
    import shutil
    import subprocess

    objdump = shutil.which("llvm-objdump-19") or "/usr/lib/llvm-19/bin/llvm-objdump"
    if not os.path.exists(objdump):
        pytest.skip("llvm-objdump 19 not installed")
    path = corpus(name)
    strip = re.compile(r"\s+<[^<>\s]*>$")
    ref = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(path)], capture_output=True,
                         text=True, check=True).stdout
    theirs: dict[str, list[str]] = {}
    current: list[str] = []
    for ln in ref.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", ln)
        if m:
            current = theirs.setdefault(m.group(1), [])
        elif re.match(r"^\s+\d+:\t", ln):
            current.append(strip.sub("", ln.split(":\t", 1)[1]).strip())
    rc, out, _ = run(capsys, "disasm", str(path), "--no-source")
    ours: dict[str, list[str]] = {}
    for ln in out.splitlines():
        m = re.match(r"^<(.+)>:$", ln)
        if m:
            current = ours.setdefault(m.group(1), [])
        elif re.match(r"^\s+\d+:\t", ln):
            current.append(strip.sub("", ln.split("\t")[1]))
    assert rc == 0 and ours
    for prog, text in ours.items():
        assert text == theirs[prog], prog


@pytest.mark.parametrize("argv,msg", [
    (["disasm", "{obj}", "-p", "nope"], "no program named 'nope'"),
    (["disasm", "{obj}", "-s", "kprobe/none"], "no programs in section"),
    (["inspect", "/etc/hostname"], "not an ELF file"),
    (["inspect", "/no/such/file.o"], "cannot read"),
])
def test_errors(corpus, capsys, argv, msg):
    argv = [a.replace("{obj}", str(corpus("minimal"))) for a in argv]
    rc, out, err = run(capsys, *argv)
    assert rc == 1 and msg in err and "Traceback" not in err
