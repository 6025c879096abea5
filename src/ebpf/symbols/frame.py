"""One symbolized stack frame."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN = "[unknown]"


@dataclass(frozen=True)
class Frame:
    """An address and what it resolved to.

    ``name`` is the (demangled) function, or ``[unknown]`` when nothing matched;
    ``module`` the kernel module (``[kernel]`` for the kernel image) or the
    mapped file's path; ``offset`` the distance from the symbol's start.
    ``file``/``line`` come from DWARF when it was asked for; ``inlined`` marks a
    frame DWARF says was inlined into the one after it (same address).
    """

    address: int
    name: str = UNKNOWN
    module: str = ""
    offset: int = 0
    file: str = ""
    line: int = 0
    inlined: bool = False
    kernel: bool = False

    @property
    def resolved(self) -> bool:
        return self.name != UNKNOWN

    def label(self, *, with_module: bool = False, with_offset: bool = False) -> str:
        """The text a folded stack or a flame graph shows for this frame:
        ``name``, ``[unknown] (module)`` when unresolved."""
        if not self.resolved:
            return f"{UNKNOWN} ({self.module})" if self.module else UNKNOWN
        text = self.name
        if with_offset and self.offset:
            text += f"+{self.offset:#x}"
        if self.file and self.line:
            text += f" ({self.file}:{self.line})" if with_offset else ""
        if with_module and self.module:
            text += f" [{self.module}]"
        return text

    def __str__(self) -> str:
        return self.label(with_offset=True, with_module=not self.kernel)
