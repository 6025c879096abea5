"""Demangling Rust names: the legacy scheme (``_ZN...17h<hash>E``, the hash
dropped) and v0 (``_R...``)."""

from __future__ import annotations

import re

from .demangle_base import DemangleError

__all__ = ["rust_legacy", "rust_v0"]


_RUST_ESCAPES = {"SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(",
                 "RP": ")", "C": ","}
_RUST_HASH = re.compile(r"^h[0-9a-f]{16}$")


def rust_legacy(name: str) -> str | None:
    s = name[3:] if name.startswith("_ZN") else name[4:]
    parts = []
    i = 0
    while i < len(s) and s[i] != "E":
        m = re.compile(r"\d+").match(s, i)
        if not m:
            return None
        n = int(m.group())
        i = m.end()
        parts.append(s[i:i + n])
        i += n
    if not parts or not _RUST_HASH.match(parts[-1]):
        return None
    out = []
    for p in parts[:-1]:
        if p.startswith("_$"):
            p = p[1:]
        p = re.sub(r"\$([A-Z]{1,2}|u[0-9a-f]+)\$",
                   lambda m: (_RUST_ESCAPES.get(m.group(1)) or
                              (chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else m.group())),
                   p)
        out.append(p.replace("..", "::"))
    return "::".join(out)


# ---- Rust v0 (_R...) -----------------------------------------------------------
_V0_BASIC = {"a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32",
             "h": "u8", "i": "isize", "j": "usize", "l": "i32", "m": "u32", "n": "i128",
             "o": "u128", "s": "i16", "t": "u16", "u": "()", "v": "...", "x": "i64",
             "y": "u64", "z": "!", "p": "_"}


class _RustV0:
    def __init__(self, s: str):
        self.s = s
        self.i = 0
        self.depth = 0

    def eat(self, c: str) -> bool:
        if self.s.startswith(c, self.i):
            self.i += len(c)
            return True
        return False

    def next(self) -> str:
        if self.i >= len(self.s):
            raise DemangleError("end")
        c = self.s[self.i]
        self.i += 1
        return c

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        v = 0
        while True:
            c = self.next()
            if c == "_":
                return v + 1
            v = v * 62 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".index(c)

    def disambiguator(self) -> int:
        return self.base62() + 1 if self.eat("s") else 0

    def ident(self) -> str:
        self.disambiguator()
        self.eat("u")  # punycode: shown raw
        m = re.compile(r"\d+").match(self.s, self.i)
        if not m:
            raise DemangleError("ident")
        n = int(m.group())
        self.i = m.end()
        self.eat("_")
        text = self.s[self.i:self.i + n]
        self.i += n
        return text

    def backref(self, fn):
        here = self.i - 1
        pos = self.base62() + 2  # relative to the text after "_R"
        if pos >= here:
            raise DemangleError("backref")
        self.depth += 1
        if self.depth > 64:
            raise DemangleError("depth")
        saved = self.i
        self.i = pos
        out = fn()
        self.i = saved
        self.depth -= 1
        return out

    def path(self) -> str:
        c = self.next()
        if c == "C":
            return self.ident()
        if c == "N":
            ns = self.next()
            prefix = self.path()
            name = self.ident()
            if ns.isupper():
                kind = {"C": "closure", "S": "shim"}.get(ns, ns)
                return f"{prefix}::{{{kind}{':' + name if name else ''}#0}}"
            return f"{prefix}::{name}" if name else prefix
        if c == "M":
            self.disambiguator()
            self.path()
            return f"<{self.type()}>"
        if c == "X":
            self.disambiguator()
            self.path()
            t = self.type()
            return f"<{t} as {self.path()}>"
        if c == "Y":
            t = self.type()
            return f"<{t} as {self.path()}>"
        if c == "I":
            p = self.path()
            args = []
            while not self.eat("E"):
                args.append(self.generic_arg())
            return f"{p}::<{', '.join(args)}>"
        if c == "B":
            return self.backref(self.path)
        raise DemangleError("path " + c)

    def generic_arg(self) -> str:
        if self.eat("L"):
            self.base62()
            return "'_"
        if self.eat("K"):
            return self.const()
        return self.type()

    def const(self) -> str:
        if self.eat("B"):
            return self.backref(self.const)
        t = self.next()
        if t == "p":
            return "_"
        neg = self.eat("n")
        m = re.compile(r"[0-9a-f]*_").match(self.s, self.i)
        if not m:
            raise DemangleError("const")
        self.i = m.end()
        v = int(m.group()[:-1] or "0", 16)
        if t == "b":
            return "true" if v else "false"
        return str(-v if neg else v)

    def type(self) -> str:
        c = self.next()
        if c in _V0_BASIC:
            return _V0_BASIC[c]
        if c == "R" or c == "Q":
            if self.eat("L"):
                self.base62()
            return ("&" if c == "R" else "&mut ") + self.type()
        if c == "P":
            return "*const " + self.type()
        if c == "O":
            return "*mut " + self.type()
        if c == "A":
            t = self.type()
            return f"[{t}; {self.const()}]"
        if c == "S":
            return f"[{self.type()}]"
        if c == "T":
            items = []
            while not self.eat("E"):
                items.append(self.type())
            return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
        if c == "B":
            return self.backref(self.type)
        if c == "F":
            if self.eat("G"):
                self.base62()
            unsafe = "unsafe " if self.eat("U") else ""
            if self.eat("K"):
                if not self.eat("C"):
                    self.ident()
            args = []
            while not self.eat("E"):
                args.append(self.type())
            ret = self.type()
            return f"{unsafe}fn({', '.join(args)})" + ("" if ret == "()" else f" -> {ret}")
        if c == "D":
            if self.eat("G"):
                self.base62()
            traits = []
            while not self.eat("E"):
                p = self.path()
                while self.eat("p"):
                    name = self.ident()
                    p += f"<{name} = {self.type()}>"
                traits.append(p)
            self.eat("L") and self.base62()
            return "dyn " + " + ".join(traits)
        self.i -= 1
        return self.path()


def rust_v0(name: str) -> str | None:
    base = name.split(".", 1)[0]
    p = _RustV0(base)
    p.i = 2
    m = re.compile(r"\d*").match(base, p.i)
    if m:
        p.i = m.end()
    try:
        out = p.path()
    except (DemangleError, ValueError, IndexError, RecursionError):
        return None
    return out
