"""Inputs `make fuzz` (tools/fuzz.py) found, and hostile inputs from reviews, replayed
through the same checks (tests/fuzz_targets.py): only ebpf.Error may escape, and
the invariants hold. Add every new crash here (hex of the input) before fixing it."""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS

import ebpf

CASES = [
    # assembler: `r1 = NAME ll` is a map reference the encoding does not carry, so its
    # disassembly is `r1 = 0x0 ll`; the round trip compares bytes (fuzz, first run)
    ("assembler", b"r1 = BBBBBBBBBBBBBBBB0x0 ll\nexit\n".hex()),
    # assembler: an operator lock does not take was a bare KeyError (issue #10)
    ("assembler", b"lock *(u64 *)(r1 + 0) -= r2".hex()),
    ("assembler", b"lock *(u32 *)(r1 + 0) -= w2\nexit".hex()),
    # decoder: a lone first half of lddw, an opcode that is not an instruction
    ("decoder", "18010000000000000000000000000000"[:16]),
    ("decoder", "ff00000000000000"),
    ("elf", ""),
    ("elf", "7f454c46"),
    ("btf", ""),
]


def _loop_blobs():
    from btf.btf_craft import loops

    return [("btf", blob.hex()) for blob in loops().values()]


@pytest.mark.parametrize("target, data", CASES + _loop_blobs())
def test_fuzz_regression(target: str, data: str) -> None:
    TARGETS[target](bytes.fromhex(data))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_targets_take_any_bytes(target: str) -> None:
    import random

    rnd = random.Random(10)
    for n in (0, 1, 7, 8, 24, 64, 200):
        TARGETS[target](bytes(rnd.getrandbits(8) for _ in range(n)))


def test_lock_minus_is_an_ebpf_error() -> None:
    with pytest.raises(ebpf.InstructionError):
        ebpf.isa.assemble("lock *(u64 *)(r1 + 0) -= r2")
