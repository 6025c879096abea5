"""The bpf_conformance suite against the runtime: every program of the suite
through both executors, the plugin protocol end to end, and refusal of the
suite's malformed raw encodings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from suite_data import MISSING, conformance_dir

from ebpf.errors import Error
from ebpf.isa import assemble, encode
from ebpf.vm.conformance import run_conformance
from ebpf.vm.native import available as native_available

SUITE = conformance_dir() or Path("shared-conformance-not-found")
TESTS = sorted((SUITE / "tests").glob("*.data"))
NEGATIVE = sorted((SUITE / "negative").glob("*.data"))

pytestmark = [pytest.mark.conformance, pytest.mark.skipif(not TESTS, reason=MISSING)]


def parse_data(path: Path) -> dict[str, str]:
    """Sections of a conformance .data file: asm, mem, result, error, raw."""
    sections: dict[str, list[str]] = {}
    cur = None
    for line in path.read_text().splitlines():
        if line.startswith("-- "):
            cur = line[3:].strip()
            sections[cur] = []
        elif cur is not None:
            sections[cur].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def program_bytes(sections: dict[str, str]) -> bytes:
    """The program's encoding, by the toolkit's own assembler."""
    return encode(assemble(sections["asm"]))


def expected(sections: dict[str, str]) -> int:
    return int(sections["result"].split("#")[0].strip(), 0)


def memory(sections: dict[str, str]) -> bytes:
    return bytes.fromhex("".join(sections.get("mem", "").split("#")[0].split()))


def _cases():
    out = []
    for path in TESTS:
        s = parse_data(path)
        out.append((path.stem, s))
    return out


CASES = _cases()


def test_suite_is_complete():
    assert len(CASES) == 313


EXECUTORS = ["translator", "interpreter"] + (["native"] if native_available() else [])


@pytest.mark.parametrize("executor", EXECUTORS)
def test_whole_suite(executor):
    failures = []
    for name, s in CASES:
        try:
            r0 = run_conformance(program_bytes(s), memory(s), executor=executor)
        except Error as e:
            failures.append(f"{name}: {e}")
            continue
        if r0 != expected(s):
            failures.append(f"{name}: r0={r0:#x}, expected {expected(s):#x}")
    assert not failures, "\n".join(failures)
    assert len(CASES) - len(failures) == 313


@pytest.mark.parametrize("path", [p for p in NEGATIVE if "-- raw" in p.read_text()],
                         ids=lambda p: p.stem)
def test_raw_negative_refused(path):
    s = parse_data(path)
    raw = bytes.fromhex("".join(s["raw"].split()))
    with pytest.raises(Error):
        run_conformance(raw, b"")


def _plugin(program: bytes, *args: str) -> subprocess.CompletedProcess:
    hexprog = " ".join(f"{b:02x}" for b in program) + "\n"
    return subprocess.run([sys.executable, "-m", "ebpf", "conformance-plugin", *args],
                          input=hexprog, capture_output=True, text=True, timeout=60)


def test_plugin_protocol_memory_and_result():
    s = dict(CASES)["mem-len"]
    mem_hex = " ".join(f"{b:02x}" for b in memory(s))
    r = _plugin(program_bytes(s), mem_hex)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip(), 16) == 8
    assert r.stdout.strip() == "0x8"


def test_plugin_reports_errors_on_stderr():
    raw = bytes.fromhex("0700010001000000" "9500000000000000")  # add64 with off=1
    r = _plugin(raw)
    assert r.returncode != 0
    assert r.stdout == ""
    assert "off" in r.stderr


def test_plugin_accepts_elf_token_and_unwind():
    s = dict(CASES)["call_unwind_fail"]
    r = _plugin(program_bytes(s), "", "--elf")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout, 16) == 2


def test_plugin_memory_as_separate_tokens():
    prog = bytes.fromhex("6110040000000000" "9500000000000000")  # r0 = *(u32 *)(r1 + 4)
    r = _plugin(prog, *"01 02 03 04 05 06 07 08".split(), "--elf")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout, 16) == 0x08070605
