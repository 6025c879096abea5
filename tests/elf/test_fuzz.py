"""Corrupt, truncated and hostile objects: only ebpf.Error, and fast."""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.elf import read_bytes

SECOND = 10.0  # a hang guard, not a speed limit (the machine may be busy)


@pytest.fixture(scope="module")
def objects(corpus):
    return {name: corpus(name).read_bytes()
            for name in ("bootstrap", "xdp_tail", "mapinmap", "legacy", "subprogs", "externs")}


def parse(data: bytes) -> None:
    t = time.perf_counter()
    try:
        read_bytes(data, name="fuzz.o")
    except ebpf.Error:
        pass
    elapsed = time.perf_counter() - t
    assert elapsed < SECOND, f"took {elapsed:.2f}s"


def shdr_offset(data: bytes) -> tuple[int, int]:
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shnum = struct.unpack_from("<H", data, 0x3C)[0]
    return shoff, shnum


@pytest.mark.parametrize("data,message", [
    (b"", "bad magic"),
    (b"\x7fELF", "truncated ELF header"),
    (b"MZ" + bytes(100), "bad magic"),
])
def test_not_elf(data, message):
    with pytest.raises(ebpf.ELFError, match=message):
        read_bytes(data, name="x.o")


def test_wrong_machine_class_and_endianness(objects):
    data = bytearray(objects["xdp_tail"])
    d = bytearray(data)
    d[0x12:0x14] = struct.pack("<H", 62)  # EM_X86_64
    with pytest.raises(ebpf.ELFError, match="e_machine=62"):
        read_bytes(bytes(d), "x.o")
    d = bytearray(data)
    d[4] = 1
    with pytest.raises(ebpf.ELFError, match="64-bit"):
        read_bytes(bytes(d), "x.o")
    d = bytearray(data)
    d[5] = 2
    with pytest.raises(ebpf.ELFError, match="big-endian"):
        read_bytes(bytes(d), "x.o")
    d = bytearray(data)
    d[0x10:0x12] = struct.pack("<H", 2)  # ET_EXEC
    with pytest.raises(ebpf.ELFError, match="relocatable"):
        read_bytes(bytes(d), "x.o")


def test_section_table_outside_file(objects):
    data = bytearray(objects["bootstrap"])
    data[0x28:0x30] = struct.pack("<Q", len(data) + 64)
    with pytest.raises(ebpf.ELFError, match="outside the file"):
        read_bytes(bytes(data), "x.o")
    data = bytearray(objects["bootstrap"])
    data[0x3C:0x3E] = struct.pack("<H", 0xFFF0)
    with pytest.raises(ebpf.ELFError, match="past the end"):
        read_bytes(bytes(data), "x.o")


def test_section_contents_outside_file(objects):
    data = bytearray(objects["bootstrap"])
    shoff, shnum = shdr_offset(data)
    # section 2's sh_size -> huge
    data[shoff + 2 * 64 + 0x20:shoff + 2 * 64 + 0x28] = struct.pack("<Q", 1 << 60)
    with pytest.raises(ebpf.ELFError, match="outside the file"):
        read_bytes(bytes(data), "x.o")


def test_every_truncation_is_an_elf_error(objects):
    data = objects["mapinmap"]
    step = max(1, len(data) // 300)
    for n in range(0, len(data), step):
        with pytest.raises(ebpf.Error):
            read_bytes(data[:n], "cut.o")


def test_the_error_names_the_file_and_section(objects, tmp_path):
    p = tmp_path / "bad.bpf.o"
    data = bytearray(objects["xdp_tail"])
    shoff, shnum = shdr_offset(data)
    # find the "xdp" section and break its size so it is not a multiple of 8
    from ebpf.elf.file import ELFFile

    elf = ELFFile(bytes(data))
    sec = next(s for s in elf.sections if s.name == "xdp")
    data[shoff + sec.index * 64 + 0x20:shoff + sec.index * 64 + 0x28] = \
        struct.pack("<Q", sec.size - 3)
    p.write_bytes(bytes(data))
    with pytest.raises(ebpf.ELFError) as e:
        ebpf.ObjectSpec.from_file(p)
    assert "bad.bpf.o" in str(e.value) and "'xdp'" in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ebpf.ELFError, match="cannot read"):
        ebpf.ObjectSpec.from_file(tmp_path / "nope.o")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_mutations(objects, data):
    name = data.draw(st.sampled_from(sorted(objects)))
    raw = bytearray(objects[name])
    shoff, shnum = shdr_offset(raw)
    n = data.draw(st.integers(1, 8))
    for _ in range(n):
        # bias towards the headers, where damage is most interesting
        region = data.draw(st.sampled_from(["any", "ehdr", "shdrs", "shdrs"]))
        if region == "ehdr":
            pos = data.draw(st.integers(0, 63))
        elif region == "shdrs":
            pos = data.draw(st.integers(shoff, shoff + shnum * 64 - 1))
        else:
            pos = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["byte", "zero", "ff", "u32", "u64"]))
        if how == "byte":
            raw[pos] = data.draw(st.integers(0, 255))
        elif how == "zero":
            raw[pos] = 0
        elif how == "ff":
            raw[pos] = 0xFF
        elif how == "u32" and pos + 4 <= len(raw):
            raw[pos:pos + 4] = struct.pack("<I", data.draw(st.integers(0, 2**32 - 1)))
        elif how == "u64" and pos + 8 <= len(raw):
            raw[pos:pos + 8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    parse(bytes(raw))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_damaged_section_contents(objects, data):
    """Corrupt the contents of one interesting section (BTF, BTF.ext, code, maps,
    symbols, relocations) rather than random bytes anywhere."""
    from ebpf.elf.file import ELFFile

    name = data.draw(st.sampled_from(sorted(objects)))
    raw = bytearray(objects[name])
    elf = ELFFile(bytes(raw))
    secs = [s for s in elf.sections if s.size and s.type != 8]
    sec = data.draw(st.sampled_from(secs))
    for _ in range(data.draw(st.integers(1, 6))):
        pos = sec.offset + data.draw(st.integers(0, sec.size - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    parse(bytes(raw))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes(blob):
    parse(blob)
    parse(b"\x7fELF\x02\x01\x01" + blob)
