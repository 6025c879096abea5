"""``ebpf asm``."""

from __future__ import annotations

import json

import pytest

from ebpf.cli import main

SOURCE = "mov32 %r0, 1\nr1 = 5 ll\nif r1 == 0x5 goto +1\nexit\nexit\n"


def test_writes_raw_bytes(tmp_path) -> None:
    src = tmp_path / "p.s"
    src.write_text(SOURCE)
    out = tmp_path / "p.bin"
    assert main(["asm", str(src), "-o", str(out)]) == 0
    assert out.read_bytes().hex() == (
        "b400000001000000" "1801000005000000" "0000000000000000"
        "1501010005000000" "9500000000000000" "9500000000000000")


def test_prints_hex_and_disassembles_it_back(tmp_path, capsys) -> None:
    src = tmp_path / "p.s"
    src.write_text(SOURCE)
    assert main(["asm", str(src)]) == 0
    hex_out = capsys.readouterr().out
    assert hex_out.splitlines()[0] == "b4 00 00 00 01 00 00 00"
    dump = tmp_path / "p.hex"
    dump.write_text(hex_out)
    assert main(["asm", "-d", str(dump), "--decimal"]) == 0
    assert capsys.readouterr().out == "w0 = 1\nr1 = 5 ll\nif r1 == 5 goto +1\nexit\nexit\n"


def test_disassembles_conformance_raw_words(tmp_path, capsys) -> None:
    words = tmp_path / "w.txt"
    words.write_text("0x5566778800000018\n0x1122334400000000\n0x0000000000000095\n")
    assert main(["asm", "-d", str(words)]) == 0
    assert capsys.readouterr().out == "r0 = 0x1122334455667788 ll\nexit\n"


def test_json(tmp_path, capsys) -> None:
    src = tmp_path / "p.s"
    src.write_text(SOURCE)
    assert main(["asm", str(src), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["instructions"] == 5 and doc["slots"] == 6
    assert doc["text"][2] == "if r1 == 0x5 goto +0x1"


@pytest.mark.parametrize("text, message", [
    ("mov %r0, 1\nmov %r0, %r50\n", ":2: Invalid register"),
    ("ja nowhere\nexit\n", ":1: unknown label 'nowhere'"),
])
def test_errors_name_file_and_line(tmp_path, capsys, text: str, message: str) -> None:
    src = tmp_path / "bad.s"
    src.write_text(text)
    assert main(["asm", str(src)]) == 1
    err = capsys.readouterr().err
    assert "bad.s" + message in err


def test_bad_bytecode_is_an_error(tmp_path, capsys) -> None:
    blob = tmp_path / "x.bin"
    blob.write_bytes(b"\xff" * 8)
    assert main(["asm", "-d", str(blob)]) == 1
    assert "unknown opcode 0xff" in capsys.readouterr().err
    assert main(["asm", str(tmp_path / "missing.s")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_kernel_style(tmp_path, capsys) -> None:
    src = tmp_path / "p.s"
    src.write_text(SOURCE)
    assert main(["asm", str(src), "-f", "disasm", "--kernel"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "0: (b4) w0 = 1", "1: (18) r1 = 0x5", "3: (15) if r1 == 0x5 goto pc+1"]
