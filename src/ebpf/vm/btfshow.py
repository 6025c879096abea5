"""Memory shown through a BTF type, as the kernel's ``btf_show`` writes it (for
``bpf_snprintf_btf`` and ``bpf_seq_printf_btf``).

The text follows kernel/bpf/btf.c: ``(type)value`` leaves and ``.member = `` names,
one space of indent per level and a line each (``BTF_F_COMPACT``: neither), no type
or member names with ``BTF_F_NONAME``, zero values and aggregates holding nothing
but zeros left out below the top level unless ``BTF_F_ZERO``; bitfields in hex;
1-byte arrays as characters up to the first NUL (printable ones quoted).
Pointers print their value in hex: the kernel hashes them unless
``BTF_F_PTR_RAW``, so without that flag its text differs in those digits.

>>> from ebpf.btf import types as T
>>> u8 = T.Typedef("__u8", T.Int("unsigned char", 1))
>>> s = T.Struct("pair", 2, [T.Member("a", u8, 0), T.Member("b", u8, 8)])
>>> show(s, bytes([5, 0]), 0)
'(struct pair){\\n .a = (__u8)5,\\n}\\n'
>>> show(s, bytes([5, 0]), COMPACT | NONAME | ZERO)
'{5,0,}'
"""

from __future__ import annotations

from typing import Any

COMPACT, NONAME, PTR_RAW, ZERO = 1, 2, 4, 8
ALL_FLAGS = COMPACT | NONAME | PTR_RAW | ZERO
#: BTF_SHOW_MAX_ITER: how deep a type name is followed
_MAX_ITER = 10


def _kind(t: Any) -> str:
    return getattr(t, "kind", "?")


def _skip_qualifiers(t: Any) -> Any:
    while _kind(t) in ("const", "volatile", "restrict", "type_tag"):
        t = t.type
    return t


def _resolve(t: Any) -> Any:
    while _kind(t) in ("const", "volatile", "restrict", "type_tag", "typedef"):
        t = t.type
    return t


def _size(t: Any) -> int:
    t = _resolve(t)
    k = _kind(t)
    if k == "array":
        return _size(t.type) * t.nelems
    if k == "ptr":
        return 8
    return int(getattr(t, "size", 0))


class _Show:
    def __init__(self, data: bytes, flags: int):
        self.data = data
        self.flags = flags
        self.out: list[str] = []

    # ---- the pieces of a line ---------------------------------------------------
    def indent(self, depth: int) -> str:
        return "" if self.flags & COMPACT else " " * min(depth, 32)

    def nl(self) -> str:
        return "" if self.flags & COMPACT else "\n"

    @staticmethod
    def delim(depth: int) -> str:
        return "" if depth == 0 else ","

    def type_name(self, decl: Any, member: str, array_member: bool) -> str:
        """The kernel's ``btf_show_name``: ``.member = (type)`` plus the opening bracket."""
        if array_member:
            return ""
        kinds: set[str] = set()
        name: str | None = None
        stars = arrays = 0
        parens = ""
        t = decl
        for _ in range(_MAX_ITER):
            k = _kind(t)
            if k == "typedef":
                name = name if name is not None else t.name
                kinds.add(k)
                nxt = t.type
            elif k == "array":
                kinds.add(k)
                parens = "["
                arrays += 1
                nxt = t.type
            elif k == "ptr":
                kinds.add(k)
                stars += 1
                nxt = t.type
            else:
                nxt = None
            if nxt is None or _kind(nxt) == "void":
                break
            t = _skip_qualifiers(nxt)
        else:
            return ""
        if name is None:
            name = getattr(t, "name", "") or ""
        prefix = ""
        k = _kind(t)
        if k in ("struct", "union"):
            prefix = k
            if "array" not in kinds:
                parens = "{"
        elif k in ("enum", "enum64"):
            prefix = "enum"
        if "ptr" in kinds:
            parens = ""
        if "typedef" in kinds:
            prefix = ""
        if self.flags & NONAME:
            return parens
        lead = f".{member} = " if member else ""
        sep = " " if prefix and name else ""
        star = (" " + "*" * stars) if stars else ""
        return f"{lead}({prefix}{sep}{name}{star}{'[]' * arrays}){parens}"

    def value(self, depth: int, name: str, text: str, nonzero: bool) -> bool:
        if nonzero or self.flags & ZERO or depth == 0:
            self.out.append(f"{self.indent(depth)}{name}{text}{self.delim(depth)}{self.nl()}")
            return True
        return False

    # ---- values -----------------------------------------------------------------
    def uint(self, off: int, size: int) -> int:
        return int.from_bytes(self.data[off:off + size], "little")

    def show(self, decl: Any, off: int, bit: int, depth: int, member: str = "",
             array_member: bool = False, bitfield: int = 0, char: list[bool] | None = None
             ) -> bool:
        """Append the lines of the value of type ``decl`` at byte ``off`` (+ ``bit``);
        True when something was shown."""
        t = _resolve(decl)
        k = _kind(t)
        name = self.type_name(decl, member, array_member)
        if bitfield or (k == "int" and (t.offset or bit or t.bits not in (8, 16, 32, 64, 128))):
            nbits = bitfield or t.bits
            shift = bit + (0 if bitfield else t.offset)
            raw = self.uint(off, (shift + nbits + 7) // 8)
            v = (raw >> shift) & ((1 << nbits) - 1)
            return self.value(depth, name, f"0x{v:x}", v != 0)
        if k == "int":
            v = self.uint(off, t.size)
            if char is not None:  # an element of a 1-byte array: characters to a NUL
                if char[0]:
                    return False
                if v == 0:
                    char[0] = True
                    return False
                if 0x20 <= v < 0x7F:
                    return self.value(depth, name, f"'{chr(v)}'", True)
            if t.signed and v >> (t.size * 8 - 1):
                v -= 1 << (t.size * 8)
            text = f"0x{v:x}" if t.size == 16 else str(v)
            return self.value(depth, name, text, v != 0)
        if k in ("enum", "enum64"):
            v = self.uint(off, t.size)
            if getattr(t, "signed", False) and v >> (t.size * 8 - 1):
                v -= 1 << (t.size * 8)
            for ev in t.values:
                if ev.value == v:
                    return self.value(depth, name, ev.name, True)
            return self.value(depth, name, str(v), v != 0)
        if k == "ptr":
            v = self.uint(off, 8)
            return self.value(depth, name, f"0x{v:016x}", v != 0)
        if k in ("struct", "union", "array"):
            return self.aggregate(t, name, off, depth)
        return False

    def aggregate(self, t: Any, name: str, off: int, depth: int) -> bool:
        start = len(self.out)
        self.out.append(f"{self.indent(depth)}{name}{self.nl()}")
        shown = False
        if _kind(t) == "array":
            elem = _resolve(t.type)
            esize = _size(elem)
            char = [False] if _kind(elem) == "int" and esize == 1 else None
            for i in range(t.nelems):
                shown |= self.show(t.type, off + i * esize, 0, depth + 1, array_member=True,
                                   char=char)
            close = "]"
        else:
            for m in t.members:
                shown |= self.show(m.type, off + m.offset // 8, m.offset % 8, depth + 1,
                                   member=m.name, bitfield=m.bitfield_size)
            close = "}"
        if depth > 0 and not shown and not self.flags & ZERO:
            del self.out[start:]  # nothing but zeros inside: the kernel leaves it out
            return False
        self.out.append(f"{self.indent(depth)}{close}{self.delim(depth)}{self.nl()}")
        return True


def show(t: Any, data: bytes, flags: int) -> str:
    """The text of ``data`` (an object of BTF type ``t``) as ``btf_show`` writes it."""
    s = _Show(bytes(data), flags)
    s.show(t, 0, 0, 0)
    return "".join(s.out)


def type_size(t: Any) -> int:
    """How many bytes of memory an object of BTF type ``t`` takes."""
    return _size(t)


__all__ = ["ALL_FLAGS", "COMPACT", "NONAME", "PTR_RAW", "ZERO", "show", "type_size"]
