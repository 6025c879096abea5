"""Compare what one call gives on both backends: its value, or the type and
message of what it raised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """What a call gave: its value, or the type and message of what it raised."""

    value: Any = None
    error: tuple[str, str] | None = None


def outcome(fn, *args: Any, **kw: Any) -> Outcome:
    import ebpf

    try:
        return Outcome(value=fn(*args, **kw))
    except (ebpf.Error, KeyError, ValueError, TypeError, IndexError) as e:
        return Outcome(error=(type(e).__name__, str(e)))


def same(fn, *args: Any, **kw: Any) -> Outcome:
    """Run ``fn(backend, ...)`` on both backends; assert the outcomes are equal."""
    kernel = outcome(fn, "kernel", *args, **kw)
    vm = outcome(fn, "vm", *args, **kw)
    assert kernel == vm, f"kernel: {kernel}\nvm:     {vm}"
    return vm
