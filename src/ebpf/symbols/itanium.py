"""Demangling C++ names (the Itanium ABI, the common subset): ``_ZNK3Foo4sizeEv``
→ ``Foo::size() const``."""

from __future__ import annotations

import re

from .demangle_base import DemangleError

__all__ = ["itanium"]

_BUILTIN = {
    "v": "void", "w": "wchar_t", "b": "bool", "c": "char", "a": "signed char",
    "h": "unsigned char", "s": "short", "t": "unsigned short", "i": "int",
    "j": "unsigned int", "l": "long", "m": "unsigned long", "x": "long long",
    "y": "unsigned long long", "n": "__int128", "o": "unsigned __int128", "f": "float",
    "d": "double", "e": "long double", "g": "__float128", "z": "...",
}
_BUILTIN_D = {"n": "decltype(nullptr)", "s": "char16_t", "i": "char32_t", "u": "char8_t",
              "a": "auto", "c": "decltype(auto)", "f": "decimal32", "d": "decimal64"}
_TRAITS = "std::char_traits<char>"
_STD_SUBS = {"t": "std", "a": "std::allocator", "b": "std::basic_string",
             "s": f"std::basic_string<char, {_TRAITS}, std::allocator<char> >",
             "i": f"std::basic_istream<char, {_TRAITS} >",
             "o": f"std::basic_ostream<char, {_TRAITS} >",
             "d": f"std::basic_iostream<char, {_TRAITS} >"}


def _last_component(name: str) -> str:
    """The last ``::`` component of ``name`` without its template arguments."""
    depth = 0
    cut = 0
    for i, ch in enumerate(name):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == ":" and depth == 0 and name[i + 1:i + 2] == ":":
            cut = i + 2
    last = name[cut:].split("[abi:")[0]
    lt = last.find("<")
    return last[:lt] if lt > 0 and not last.startswith("operator") else last
_OPERATORS = {
    "nw": "new", "na": "new[]", "dl": "delete", "da": "delete[]", "ps": "+", "ng": "-",
    "ad": "&", "de": "*", "co": "~", "pl": "+", "mi": "-", "ml": "*", "dv": "/", "rm": "%",
    "an": "&", "or": "|", "eo": "^", "aS": "=", "pL": "+=", "mI": "-=", "mL": "*=",
    "dV": "/=", "rM": "%=", "aN": "&=", "oR": "|=", "eO": "^=", "ls": "<<", "rs": ">>",
    "lS": "<<=", "rS": ">>=", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=",
    "ge": ">=", "ss": "<=>", "nt": "!", "aa": "&&", "oo": "||", "pp": "++", "mm": "--",
    "cm": ",", "pm": "->*", "pt": "->", "cl": "()", "ix": "[]", "qu": "?",
}



class _Itanium:
    def __init__(self, s: str):
        self.s = s
        self.i = 0
        self.subs: list[str] = []
        self.tparams: list[str] = []
        self.level = 0  # > 0 inside a type: template args there are not the function's
        self.no_return = False  # the last name was a constructor/destructor/conversion

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def eat(self, t: str) -> bool:
        if self.s.startswith(t, self.i):
            self.i += len(t)
            return True
        return False

    def need(self, t: str) -> None:
        if not self.eat(t):
            raise DemangleError(t)

    def digits_to(self, end: str) -> str:
        """The decimal digits here (maybe none), then ``end``."""
        start = self.i
        while self.i < len(self.s) and self.s[self.i].isdigit():
            self.i += 1
        digits = self.s[start:self.i]
        self.need(end)
        return digits

    def number(self) -> int:
        m = re.compile(r"n?\d+").match(self.s, self.i)
        if not m:
            raise DemangleError("number")
        self.i = m.end()
        t = m.group()
        return -int(t[1:]) if t[0] == "n" else int(t)

    def seq_id(self) -> int:
        """The <seq-id> of S<seq-id>_ / T<seq-id>_: base 36, empty = 0, +1."""
        m = re.compile(r"[0-9A-Z]*").match(self.s, self.i)
        assert m is not None
        self.i = m.end()
        self.need("_")
        return int(m.group(), 36) + 1 if m.group() else 0

    # <encoding>
    def encoding(self) -> str:
        special = self.special()
        if special is not None:
            return special
        name, is_template, cv = self.name()
        if self.i >= len(self.s) or self.peek() in "E.":
            return name
        ret = ""
        if is_template and not self.no_return:
            ret = self.type() + " "
        params = self.bare_function_type()
        return f"{ret}{name}({params}){cv}"

    def special(self) -> str | None:
        """Virtual tables, typeinfo, guard variables, thunks, transaction clones."""
        for code, text in (("TV", "vtable for "), ("TT", "VTT for "), ("TI", "typeinfo for "),
                           ("TS", "typeinfo name for ")):
            if self.eat(code):
                return text + self.type()
        if self.eat("GV"):
            return "guard variable for " + self.name()[0]
        if self.eat("GTt"):
            return "transaction clone for " + self.encoding()
        if self.eat("Th"):
            self.number()
            self.need("_")
            return "non-virtual thunk to " + self.encoding()
        if self.eat("Tv"):
            self.number()
            self.need("_")
            self.number()
            self.need("_")
            return "virtual thunk to " + self.encoding()
        return None

    def bare_function_type(self) -> str:
        args = []
        while self.i < len(self.s) and self.peek() not in "E.":
            args.append(self.type())
        if args == ["void"]:
            args = []
        return ", ".join(args)

    # <name>: returns (text, ends in template args, cv-qualifiers of a member)
    def name(self) -> tuple[str, bool, str]:
        if self.eat("N"):
            return self.nested()
        if self.eat("Z"):
            enc = self.encoding()
            self.need("E")
            if self.eat("s"):
                return enc + "::string literal", False, ""
            inner, tmpl, cv = self.name()
            if self.eat("_"):
                self.number()
            return f"{enc}::{inner}", tmpl, cv
        if self.peek(2) == "St":
            self.i += 2
            n = "std::" + self.unqualified("")
        elif self.peek() == "S":
            n = self.substitution()
            if self.peek() != "I":
                return n, False, ""
        else:
            n = self.unqualified("")
        if self.peek() == "I":
            self.subs.append(n)
            return self.add_args(n), True, ""
        return n, False, ""

    def cv(self) -> str:
        out = ""
        if self.eat("r"):
            out += " restrict"
        if self.eat("V"):
            out += " volatile"
        if self.eat("K"):
            out += " const"
        return out

    def nested(self) -> tuple[str, bool, str]:
        cv = self.cv()
        if self.eat("R"):
            cv += " &"
        elif self.eat("O"):
            cv += " &&"
        parts: list[str] = []
        tmpl = ctor = False
        while not self.eat("E"):
            if self.i >= len(self.s):
                raise DemangleError("nested")
            c = self.peek()
            tmpl = False
            if c == "S" and self.peek(2) != "St":
                piece = self.substitution()
                parts = [piece]
                if self.peek() != "I":
                    continue
                args = self.template_args()
                parts[-1] += args
                tmpl = True
                if self.peek() != "E":
                    self.subs.append("::".join(parts))
                continue
            if self.eat("St"):
                parts = ["std"]
                continue
            if c == "I":
                parts[-1] = self.add_args(parts[-1])
                tmpl = True
            elif c == "T":
                parts.append(self.template_param())
            elif c == "D" and self.peek(2) in ("DT", "Dt"):
                raise DemangleError("decltype")
            elif c == "M":
                self.i += 1
                continue
            else:
                piece = self.unqualified("::".join(parts))
                ctor = self.no_return
                parts.append(piece)
            if self.peek() != "E":
                self.subs.append("::".join(parts))
        self.no_return = ctor
        return "::".join(parts), tmpl, cv

    def unqualified(self, enclosing: str) -> str:
        c = self.peek()
        self.no_return = c in "CD" or self.peek(2) == "cv"
        if c.isdigit():
            n = self.source_name()
        elif c == "C" and self.peek(2)[1:] in ("1", "2", "3", "4", "5", "I"):
            self.i += 2
            if self.s[self.i - 1] == "I":
                self.i += 1
                self.type()
            n = _last_component(enclosing)
        elif c == "D" and self.peek(2)[1:] in ("0", "1", "2", "4", "5"):
            self.i += 2
            n = "~" + _last_component(enclosing)
        elif c == "U" and self.peek(2) == "Ut":
            self.i += 2
            n = f"{{unnamed type#{int(self.digits_to('_') or -1) + 2}}}"
        elif c == "U" and self.peek(2) == "Ul":
            self.i += 2
            args = self.bare_function_type()
            self.need("E")
            n = f"{{lambda({args})#{int(self.digits_to('_') or -1) + 2}}}"
        elif c == "L":
            self.i += 1
            n = self.source_name()
        else:
            n = self.operator()
        while self.eat("B"):
            n += f"[abi:{self.source_name()}]"
        return n

    def source_name(self) -> str:
        length = self.number()
        if length <= 0 or self.i + length > len(self.s):
            raise DemangleError("source name")
        n = self.s[self.i:self.i + length]
        self.i += length
        return "(anonymous namespace)" if n.startswith("_GLOBAL__N") else n

    def operator(self) -> str:
        two = self.peek(2)
        if two == "cv":
            self.i += 2
            return "operator " + self.type()
        if two == "li":
            self.i += 2
            return 'operator"" ' + self.source_name()
        if two in _OPERATORS:
            self.i += 2
            op = _OPERATORS[two]
            return "operator" + (" " if op[0].isalpha() else "") + op
        raise DemangleError("operator " + two)

    def substitution(self) -> str:
        self.need("S")
        c = self.peek()
        if c in _STD_SUBS and not c.isupper():
            self.i += 1
            return _STD_SUBS[c]
        idx = self.seq_id()
        if idx >= len(self.subs):
            raise DemangleError("substitution")
        return self.subs[idx]

    def template_param(self) -> str:
        self.need("T")
        idx = self.seq_id()
        if idx < len(self.tparams):
            return self.tparams[idx]
        return f"T{idx}"

    def template_args(self) -> str:
        self.need("I")
        args = []
        while not self.eat("E"):
            if self.i >= len(self.s):
                raise DemangleError("template args")
            args.append(self.template_arg())
        if self.level == 0:
            self.tparams = args
        text = ", ".join(args)
        return f"<{text}{' ' if text.endswith('>') else ''}>"

    def add_args(self, name: str) -> str:
        """``name`` followed by template arguments (``operator< <T>`` spaced)."""
        args = self.template_args()
        return name + (" " if name.endswith("<") else "") + args

    def template_arg(self) -> str:
        if self.eat("L"):
            return self.literal()
        if self.eat("J"):
            items = []
            while not self.eat("E"):
                items.append(self.template_arg())
            return ", ".join(items)
        if self.peek() == "X":
            raise DemangleError("expression")
        return self.type()

    def literal(self) -> str:
        if self.eat("_Z"):
            v = self.encoding()
            self.need("E")
            return v
        t = self.type()
        m = re.compile(r"n?[0-9a-f]*").match(self.s, self.i)
        assert m is not None
        self.i = m.end()
        self.need("E")
        v = m.group().replace("n", "-")
        if t == "bool":
            return "true" if v == "1" else "false"
        suffix = {"int": "", "unsigned int": "u", "long": "l", "unsigned long": "ul",
                  "long long": "ll", "unsigned long long": "ull"}.get(t)
        return v + suffix if suffix is not None else f"({t}){v}"

    def type(self) -> str:
        self.level += 1
        try:
            return self._type()
        finally:
            self.level -= 1

    def _type(self) -> str:
        c = self.peek()
        if not c:
            raise DemangleError("type")
        if c in _BUILTIN:
            self.i += 1
            return _BUILTIN[c]
        if c == "u":
            self.i += 1
            return self.source_name()
        start = self.i
        if c in "rVK":
            q = self.cv()
            t = self.type()
            out = self._qualify(t, q)
        elif c == "P":
            self.i += 1
            out = self._pointer(self.type(), "*")
        elif c == "R":
            self.i += 1
            out = self._pointer(self.type(), "&")
        elif c == "O":
            self.i += 1
            out = self._pointer(self.type(), "&&")
        elif c == "D":
            d = self.peek(2)[1:]
            if d == "e":
                self.i += 2
                return "decimal128"
            if d in _BUILTIN_D:
                self.i += 2
                return _BUILTIN_D[d]
            if d == "p":
                self.i += 2
                out = self.type() + "..."
            else:
                raise DemangleError("D type")
        elif c == "F":
            self.i += 1
            self.eat("Y")
            ret = self.type()
            args = self.bare_function_type()
            self.need("E")
            out = f"{ret} ({args})"
        elif c == "A":
            self.i += 1
            size = self.digits_to("_")
            out = f"{self.type()} [{size}]"
        elif c == "M":
            self.i += 1
            cls = self.type()
            mem = self.type()
            if mem.endswith(")") and " (" in mem:
                ret, _, args = mem.partition(" (")
                out = f"{ret} ({cls}::*)({args}"
            else:
                out = f"{mem} {cls}::*"
        elif c == "T":
            out = self.template_param()
            if self.peek() == "I":
                self.subs.append(out)
                out += self.template_args()
        elif c == "S":
            if self.peek(2) == "St":
                self.i += 2
                out = "std::" + self.unqualified("")
                if self.peek() == "I":
                    self.subs.append(out)
                    out += self.template_args()
            else:
                out = self.substitution()
                if self.peek() == "I":
                    out += self.template_args()
                else:
                    return out
        elif c in "NZ" or c.isdigit():
            out, _t, _cv = self.name()
        else:
            raise DemangleError("type " + c)
        if self.s[start:self.i] and out:
            self.subs.append(out)
        return out

    @staticmethod
    def _qualify(t: str, q: str) -> str:
        q = q.strip()
        if t.endswith(")") and "(" in t:
            return t + " " + q
        return f"{t} {q}"

    @staticmethod
    def _pointer(t: str, sym: str) -> str:
        if t.endswith(")") and " (" in t:  # function type: ret (*)(args)
            ret, _, args = t.partition(" (")
            return f"{ret} ({sym})({args}"
        return t + sym


def itanium(name: str) -> str | None:
    base, dot, clone = name.partition(".")
    p = _Itanium(base)
    p.i = 2
    try:
        out = p.encoding()
    except (DemangleError, IndexError, ValueError, RecursionError):
        return None
    if p.i != len(base):
        return None
    if dot:
        out += f" [clone .{clone}]"
    return out
