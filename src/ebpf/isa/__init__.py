"""The eBPF instruction set (RFC 9669): model, encoding, disassembly, assembly.

>>> from ebpf import isa
>>> insns = isa.assemble("r0 = 1\\nexit")
>>> isa.encode(insns).hex()
'b7000000010000009500000000000000'
>>> print(isa.disassemble(insns))
r0 = 0x1
exit
"""

from . import opcodes
from .instruction import (
    FunctionReference,
    Instruction,
    KconfigReference,
    KsymReference,
    MapReference,
    Reference,
    slot_count,
    slot_offsets,
)

__all__ = [
    "FunctionReference",
    "Instruction",
    "KconfigReference",
    "KsymReference",
    "MapReference",
    "Reference",
    "assemble",
    "decode",
    "disassemble",
    "encode",
    "format_instruction",
    "opcodes",
    "slot_count",
    "slot_offsets",
    "validate",
]


def __getattr__(name: str):
    # decode/encode/disassemble/assemble live in their own modules, imported on use.
    if name in ("decode", "encode", "validate"):
        from . import codec

        return getattr(codec, name)
    if name in ("disassemble", "format_instruction"):
        from . import disasm

        return getattr(disasm, name)
    if name == "assemble":
        from .asm import assemble

        return assemble
    raise AttributeError(f"module 'ebpf.isa' has no attribute {name!r}")
