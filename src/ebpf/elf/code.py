"""An object's code while it is read: code sections (decoded instructions and the
slots they sit at), the functions they are cut into, and the state every reading
step shares (:class:`ReaderState`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ELFError
from ..isa.instruction import Instruction, Reference
from .file import ELFFile, Section

__all__ = ["CodeSection", "Func", "ReaderState"]

#: a LineInfo's fields: file name, line text, line, column
LineFields = tuple[str, str, int, int]
#: an instruction's fields: opcode, dst, src, off, imm, reference, CO-RE record
InsnFields = tuple[int, int, int, int, int, Reference | None, Any]
#: what every copy of a function is made from (see Linker._templates)
Templates = tuple[list[tuple[int, LineFields]], list[InsnFields], list[int]]


@dataclass
class Func:
    """A function: a range of slots in a code section."""

    name: str
    section: Section
    start: int  # first slot in the section
    end: int  # one past the last slot
    is_program: bool
    insns: list[Instruction] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)  # slot of each insn, relative to start
    #: (index in insns, key of the function it calls / takes the address of)
    calls: list[tuple[int, tuple[int, int]]] = field(default_factory=list)
    #: what copies are made from, computed on first use (see _Reader._templates)
    templates: Templates | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.section.index, self.start)

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class CodeSection:
    section: Section
    insns: list[Instruction]
    slots: list[int]  # slot of each instruction
    index_of: dict[int, int]  # slot -> instruction index
    #: insn index -> (section index, target slot) for calls / func addresses
    targets: dict[int, tuple[int, int]] = field(default_factory=dict)
    funcs: list[Func] = field(default_factory=list)
    #: (slot, .BTF.ext line record), sorted by slot
    lines: list[tuple[int, Any]] = field(default_factory=list)
    line_slots: list[int] = field(default_factory=list)
    #: (slot, BTF type id) of .BTF.ext func info, sorted (built on first use)
    func_records: list[tuple[int, int]] | None = None
    func_slots: list[int] = field(default_factory=list)



class ReaderState:
    """What the reading steps share: the ELF file, its BTF and .BTF.ext, and the
    code sections by section index."""

    def __init__(self, data: bytes, name: str):
        self.name = name
        self.elf = ELFFile(data, name)
        self.btf: Any = None
        self.ext: Any = None
        self._code: dict[int, CodeSection] = {}
        # GNU as (bpf-gcc) writes symbol value + addend into an lddw it relocates
        # against a named symbol; LLVM writes the addend alone (see relocate.gas_addends)
        self._gas_addends = False

    def err(self, msg: str) -> ELFError:
        return ELFError(f"{self.name}: {msg}")
