"""The :class:`Instruction` model and the symbolic references carried on it.

One ``Instruction`` is one eBPF instruction as RFC 9669 defines it. The wide
``lddw`` (LD_IMM64) is a *single* ``Instruction`` occupying two 8-byte slots; its
``imm`` holds the whole 64-bit constant (unsigned, 0 <= imm < 2**64). Every other
instruction occupies one slot and has a signed 32-bit ``imm``.

Jump and call offsets (``off``, and ``imm`` of a BPF-to-BPF call / ``gotol``) are
in *slots*, exactly as encoded. Use :func:`slot_offsets` to map list indices to
slot positions.

Relocations are kept symbolic: ``reference`` says what a backend must patch in
(a map's fd, the address of a global variable, a kernel symbol), ``core`` holds a
CO-RE relocation record to resolve against the target kernel's BTF. The ELF
reader sets them; backends resolve them; encode() ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import opcodes as op


@dataclass(frozen=True, slots=True)
class MapReference:
    """``lddw`` of a map: the backend patches in the map's fd (src=1,
    BPF_PSEUDO_MAP_FD) or, with ``value=True``, the address of ``offset`` bytes
    into its value (src=2, BPF_PSEUDO_MAP_VALUE; global data)."""

    map: str
    offset: int = 0
    value: bool = False


@dataclass(frozen=True, slots=True)
class FunctionReference:
    """A BPF-to-BPF call (``call local``) or an ``lddw`` of a function address
    (src=4, BPF_PSEUDO_FUNC), by subprogram name. The ELF reader has already
    set the slot offset; the name is kept for display and re-linking."""

    function: str


@dataclass(frozen=True, slots=True)
class KsymReference:
    """A reference to a kernel symbol: an ``lddw`` of a ``__ksym`` variable
    (src=3, BPF_PSEUDO_BTF_ID) or a kfunc call (src=2, BPF_PSEUDO_KFUNC_CALL).
    ``weak`` symbols resolve to 0 when missing instead of failing."""

    name: str
    weak: bool = False
    kfunc: bool = False


@dataclass(frozen=True, slots=True)
class KconfigReference:
    """A load of a ``.kconfig`` extern (``CONFIG_*``, ``LINUX_KERNEL_VERSION``)."""

    name: str


Reference = MapReference | FunctionReference | KsymReference | KconfigReference


@dataclass(slots=True)
class Instruction:
    """One eBPF instruction.

    >>> from ebpf.isa import Instruction, opcodes as op
    >>> Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=1)
    Instruction(r0 = 0x1)
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    #: what a backend must patch in (see module docs)
    reference: Reference | None = None
    #: a CO-RE relocation record (ebpf.btf.CORERelocation), resolved at load
    core: Any = None
    #: BTF line info for this instruction, when known (ebpf.btf.LineInfo)
    line: Any = field(default=None, compare=False)

    # Class-level views of the opcode ------------------------------------
    @property
    def cls(self) -> int:
        """Instruction class (BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_JMP32, BPF_ALU64)."""
        return self.opcode & 0x07

    @property
    def size(self) -> int:
        """Number of 8-byte slots: 2 for lddw, else 1."""
        return 2 if self.opcode == op.LD_IMM64 else 1

    @property
    def is_lddw(self) -> bool:
        return self.opcode == op.LD_IMM64

    @property
    def is_exit(self) -> bool:
        return self.opcode == op.EXIT

    @property
    def is_call(self) -> bool:
        return self.opcode == op.CALL

    @property
    def is_local_call(self) -> bool:
        """A BPF-to-BPF call (src = BPF_PSEUDO_CALL)."""
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_CALL

    @property
    def is_helper_call(self) -> bool:
        return self.opcode == op.CALL and self.src == 0

    @property
    def is_kfunc_call(self) -> bool:
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_KFUNC_CALL

    @property
    def is_jump(self) -> bool:
        """A conditional or unconditional jump with an offset (not call/exit)."""
        if self.cls not in (op.BPF_JMP, op.BPF_JMP32):
            return False
        code = self.opcode & 0xF0
        return code not in (op.BPF_CALL, op.BPF_EXIT)

    def jump_target(self, slot: int) -> int:
        """The slot this jump or local call lands on, given its own slot."""
        if self.opcode == op.BPF_JMP32 | op.BPF_JA:  # gotol: 32-bit offset in imm
            return slot + 1 + self.imm
        if self.is_local_call:
            return slot + 1 + self.imm
        return slot + 1 + self.off

    def copy(self) -> Instruction:
        return Instruction(self.opcode, self.dst, self.src, self.off, self.imm,
                           self.reference, self.core, self.line)

    def __repr__(self) -> str:
        try:
            from .disasm import format_instruction

            text = format_instruction(self)
        except Exception:  # noqa: BLE001 - repr must never fail
            text = (f"opcode={self.opcode:#04x} dst={self.dst} src={self.src} "
                    f"off={self.off} imm={self.imm}")
        extra = f", reference={self.reference!r}" if self.reference is not None else ""
        return f"Instruction({text}{extra})"


def slot_offsets(insns: list[Instruction]) -> list[int]:
    """Slot position of each instruction (lddw takes two slots)."""
    out = []
    pos = 0
    for ins in insns:
        out.append(pos)
        pos += ins.size
    return out


def slot_count(insns: list[Instruction]) -> int:
    """Total length in 8-byte slots."""
    return sum(ins.size for ins in insns)
