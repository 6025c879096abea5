"""Aggregated stacks: what a profiler collects (stack -> samples, nanoseconds or
calls), with the folded text format flamegraph.pl, inferno and speedscope read.

>>> from ebpf.symbols import Frame
>>> p = StackProfile(unit="samples")
>>> p.add(Stack((Frame(0x10, "leaf"), Frame(0x20, "main")), comm="demo"), 3)
>>> print(p.folded(), end="")
demo;main;leaf 3
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import Error
from ..symbols.frame import Frame

KERNEL_SUFFIX = "_[k]"


@dataclass(frozen=True)
class Stack:
    """One stack: ``frames`` innermost first (kernel frames, then user frames),
    and the task it was taken in."""

    frames: tuple[Frame, ...]
    comm: str = ""
    pid: int = 0
    tid: int = 0

    def labels(self, *, kernel_suffix: bool = True) -> list[str]:
        """Frame names root first (folded order); kernel frames end in ``_[k]``."""
        out = []
        for f in reversed(self.frames):
            text = f.label().replace(";", ":")
            out.append(text + KERNEL_SUFFIX if (f.kernel and kernel_suffix) else text)
        return out


@dataclass
class StackProfile:
    """Stacks and their values (``unit``: samples, nanoseconds, calls...)."""

    unit: str = "samples"
    counts: dict[Stack, int] = field(default_factory=dict)

    def add(self, stack: Stack, value: int = 1) -> None:
        self.counts[stack] = self.counts.get(stack, 0) + value

    def __len__(self) -> int:
        return len(self.counts)

    def __iter__(self) -> Iterator[tuple[Stack, int]]:
        return iter(self.counts.items())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def top(self, n: int | None = None, pid: int | None = None) -> list[tuple[Stack, int]]:
        """The stacks by value, largest first (``pid``: only that process)."""
        items = [(s, v) for s, v in self.counts.items() if pid is None or s.pid == pid]
        items.sort(key=lambda sv: -sv[1])
        return items[:n] if n is not None else items

    def folded_counts(self, *, comm: bool = True) -> dict[str, int]:
        """``"comm;root;...;leaf" -> value``, stacks with the same names merged."""
        out: dict[str, int] = {}
        for stack, value in self.counts.items():
            labels = stack.labels()
            if comm and stack.comm:
                labels.insert(0, stack.comm.replace(";", ":").replace(" ", "_"))
            key = ";".join(labels) if labels else "[no stack]"
            out[key] = out.get(key, 0) + value
        return out

    def folded(self, *, comm: bool = True) -> str:
        """The folded text: one ``frames value`` line per distinct stack, sorted."""
        return "".join(f"{k} {v}\n" for k, v in sorted(self.folded_counts(comm=comm).items()))


def parse_folded(lines: Iterable[str], source: str = "<folded>") -> dict[str, int]:
    """Read folded text back: ``{"a;b;c": value}`` (values of repeated stacks added)."""
    out: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, value = line.rpartition(" ")
        try:
            v = int(value)
        except ValueError:
            raise Error(f"{source}:{n}: not a folded stack line (want 'a;b;c COUNT'): "
                        f"{line[:80]!r}") from None
        out[stack] = out.get(stack, 0) + v
    return out


__all__ = ["KERNEL_SUFFIX", "Stack", "StackProfile", "parse_folded"]
