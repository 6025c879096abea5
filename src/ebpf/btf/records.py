"""The per-instruction records of .BTF.ext: function starts and source lines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LineInfo:
    """Source location of an instruction (from .BTF.ext line info)."""

    insn_off: int  # slot offset within the program
    file_name: str
    line_text: str
    line: int
    column: int


@dataclass
class FuncInfo:
    """A function start within a program (from .BTF.ext func info)."""

    insn_off: int  # slot offset within the program
    type_id: int  # BTF id of the FUNC type in the object's BTF
    name: str = ""
