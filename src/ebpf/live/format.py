"""Formatting decoded map values for the live view: short text, JSON-able
values, columns of a struct, sort weights, aligned tables."""

from __future__ import annotations

from typing import Any

from ..codec import Struct


def text_of(value: Any) -> str:
    """A decoded map value or field as short text: C strings up to their NUL,
    structs as ``field=value`` pairs.

    >>> text_of(b"bash\\0\\0\\0"), text_of([1, 2, 3]), text_of(Struct("k", {"pid": 7}))
    ('bash', '[1, 2, 3]', 'pid=7')
    """
    if isinstance(value, Struct):
        return " ".join(f"{k}={text_of(v)}" for k, v in value._fields.items())
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        head = raw.split(b"\0", 1)[0]
        tail_zero = not raw[len(head):].strip(b"\0")
        if tail_zero and all(32 <= c < 127 or c in (9,) for c in head):
            return head.decode("ascii")
        return raw.hex()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (bytes, bytearray)) for v in value):
            while value and not bytes(value[-1]).strip(b"\0"):  # unused C string slots
                value = value[:-1]
        if len(value) > 16:
            return "[" + ", ".join(text_of(v) for v in value[:16]) + f", ... {len(value)}]"
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sum_per_cpu(values: list[Any]) -> Any:
    """One value from a per-CPU list: integers summed, structs summed field by
    field (non-numeric fields from the first CPU).

    >>> sum_per_cpu([1, 2]), sum_per_cpu([Struct("s", {"n": 1, "c": b"x"}), Struct("s", {"n": 2, "c": b"y"})])
    (3, s(n=3, c=b'x'))
    """
    if not values:
        return 0
    first = values[0]
    if isinstance(first, int):
        return sum(v for v in values if isinstance(v, int))
    if isinstance(first, Struct):
        fields = {}
        for k, v0 in first._fields.items():
            if isinstance(v0, int):
                fields[k] = sum(getattr(v, k, 0) for v in values)
            else:
                fields[k] = v0
        return Struct(first._name, fields)
    return first


def jsonable(value: Any) -> Any:
    """A decoded value as JSON-friendly data (strings for C strings, hex for other bytes)."""
    if isinstance(value, Struct):
        return {k: jsonable(v) for k, v in value._fields.items()}
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        head = raw.split(b"\0", 1)[0]
        if not raw[len(head):].strip(b"\0") and all(32 <= c < 127 or c == 9 for c in head):
            return head.decode("ascii")
        return raw.hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def columns_of(value: Any) -> list[tuple[str, str]]:
    """(column name, text) pairs for a decoded value: one per struct field."""
    if isinstance(value, Struct):
        return [(k, text_of(v)) for k, v in value._fields.items()]
    return [("", text_of(value))]


def sort_weight(value: Any) -> int | None:
    """The number a table row sorts by: the counter (summed over CPUs), or a
    struct's ``count``-like field (else its first integer field)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return sum(value)
    if isinstance(value, Struct):
        fields = value._fields
        for name in ("count", "counts", "cnt", "calls", "packets", "bytes", "total", "value"):
            if isinstance(fields.get(name), int):
                return fields[name]
        for v in fields.values():
            w = sort_weight(v)
            if w is not None:
                return w
    return None


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    """Left-aligned text columns (numbers right-aligned)."""
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    numeric = [all(_isnum(r[i]) for r in rows) if rows else False for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i])
               for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    return [line(header)] + [line(r) for r in rows]


def _isnum(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False
