"""What `make fuzz` checks on each input, one function per target, shared with the
regression tests (tests/test_fuzz_regressions.py) so a crash found by the fuzzer
is replayed by the same code in `make test`.

Every target takes raw bytes. The rule for all of them: bad input may raise an
``ebpf.Error`` subclass (a clear error of our own), nothing else may escape, and
nothing may hang; a few invariants are checked on inputs that are accepted.
"""

from __future__ import annotations

import ebpf
from ebpf import isa

#: cap on the work one input may ask for (types rendered, instructions disassembled)
MAX_TYPES = 200


def elf(data: bytes) -> None:
    """Parse an ELF object; what parses must also give a usable spec summary."""
    from ebpf.elf import read_bytes

    try:
        spec = read_bytes(data, name="fuzz.o")
    except ebpf.Error:
        return
    for prog in spec.programs.values():
        isa.encode(prog.instructions)
    for m in spec.maps.values():
        _ = (m.name, m.type, m.key_size, m.value_size, m.max_entries)


def btf(data: bytes) -> None:
    """Parse BTF, then walk what parsed: names, sizes, C, raw dump, the header."""
    from ebpf.btf import Spec, render_c, sizeof, type_name, vmlinux_h
    from ebpf.btf.dump import dump_raw

    try:
        spec = Spec.from_bytes(data)
    except ebpf.Error:
        return
    n = min(len(spec), MAX_TYPES)
    for tid in range(1, n + 1):
        try:
            t = spec[tid]
            type_name(t)
            repr(t)
            list(dump_raw(spec, [tid]))
        except ebpf.Error:
            continue
        for walk in (sizeof, lambda t: render_c(t, spec)):
            try:
                walk(t)
            except ebpf.Error:
                pass
    if len(spec) <= MAX_TYPES:
        try:
            vmlinux_h(spec)
        except ebpf.Error:
            pass
        try:
            spec.to_bytes()
        except ebpf.Error:
            pass


def decoder(data: bytes) -> None:
    """Decode instructions; what decodes encodes back to the same bytes and
    disassembles to text."""
    try:
        insns = isa.decode(data[: 8 * 512])
    except ebpf.Error:
        return
    raw = isa.encode(insns)
    assert raw == data[: len(raw)], "encode(decode(x)) != x"
    try:
        isa.disassemble(insns)
    except ebpf.Error:
        pass


def assembler(data: bytes) -> None:
    """Assemble text; what assembles encodes, and its disassembly assembles again
    to the same bytes (symbolic references such as ``r1 = map ll`` are not in the
    encoding, so bytes are compared, not instruction objects)."""
    text = data[:4096].decode("utf-8", "replace")
    try:
        insns = isa.assemble(text)
    except ebpf.Error:
        return
    raw = isa.encode(insns)
    try:
        again = isa.disassemble(insns)
    except ebpf.Error:
        return
    assert isa.encode(isa.assemble(again)) == raw, "assemble(disassemble(x)) != x"


TARGETS = {"elf": elf, "btf": btf, "decoder": decoder, "assembler": assembler}
