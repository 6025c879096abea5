"""The public API, snapshotted: every name of ``ebpf.__all__`` with its
signature (classes: their bases and public methods and properties). A change
to the public surface fails here until ``tests/api_snapshot.txt`` is updated on
purpose: ``EBPF_UPDATE_API_SNAPSHOT=1 python -m pytest tests/test_api_snapshot.py``."""

from __future__ import annotations

import enum
import inspect
import os
import types
from pathlib import Path

import ebpf

SNAPSHOT = Path(__file__).with_name("api_snapshot.txt")


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"


def _describe(name: str, obj: object) -> list[str]:
    if isinstance(obj, types.ModuleType):
        return [f"{name}: module"]
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return [f"{name}: enum({obj.__mro__[1].__name__})"]
    if isinstance(obj, type):
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        out = [f"{name}({bases})"]
        if issubclass(obj, BaseException):
            return out
        for attr, value in sorted(vars(obj).items()):
            if attr.startswith("_") and attr != "__init__":
                continue
            if isinstance(value, property):
                out.append(f"  .{attr}: property")
            elif isinstance(value, (classmethod, staticmethod)):
                out.append(f"  .{attr}{_signature(value.__func__)}: {type(value).__name__}")
            elif inspect.isfunction(value):
                out.append(f"  .{attr}{_signature(value)}")
        return out
    if callable(obj):
        return [f"{name}{_signature(obj)}"]
    return [f"{name}: {type(obj).__name__}"]


def render() -> str:
    lines: list[str] = []
    for name in sorted(ebpf.__all__):
        lines += _describe(name, getattr(ebpf, name))
    return "\n".join(lines) + "\n"


def test_public_api_matches_snapshot():
    now = render()
    if os.environ.get("EBPF_UPDATE_API_SNAPSHOT") == "1":
        SNAPSHOT.write_text(now)
    assert now == SNAPSHOT.read_text(), (
        "the public API changed; if on purpose, update the snapshot "
        "(EBPF_UPDATE_API_SNAPSHOT=1)")


def test_snapshot_covers_every_public_name():
    text = SNAPSHOT.read_text()
    for name in ebpf.__all__:
        assert f"\n{name}" in "\n" + text, name
