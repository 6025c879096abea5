r"""BTF as C: one declaration (:func:`render_c`) or a whole ``vmlinux.h``
(:func:`vmlinux_h`, cached on disk by :func:`vmlinux_h_path`).

The header declares every named struct, union, enum and typedef in dependency
order: a struct is defined before anything embeds it by value, and merely
forward-declared where a pointer is enough. Layout is checked member by
member against the offsets BTF records: where the natural C layout would put a
member elsewhere the struct gets explicit padding (unnamed bit-fields) or
``__attribute__((packed))``, so ``sizeof``/``offsetof`` agree with the kernel.

>>> from ebpf.btf import Spec, Struct, Member, Int, render_c
>>> i = Int("int", 4, signed=True)
>>> render_c(Struct("pair", 8, [Member("a", i, 0), Member("b", i, 32)])).splitlines()
['struct pair {', '\tint a;', '\tint b;', '};']
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..errors import BTFError
from . import types as T
from .parse import Spec

log = logging.getLogger(__name__)

_MODE = {1: "QI", 2: "HI", 4: "SI", 8: "DI"}


def _align_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


class _Plan:
    """How a struct/union is written: packed or not, and where padding goes."""

    __slots__ = ("packed", "items", "align")

    def __init__(self, packed: bool, items: list, align: int) -> None:
        self.packed = packed
        self.items = items  # Member, or ("pad", start_bit, nbits)
        self.align = align


def _bitfield(m: T.Member) -> tuple[int, int]:
    """(bit offset, bit-field width or 0) of a member, legacy int bit-fields included."""
    if m.bitfield_size:
        return m.offset, m.bitfield_size
    r = T.resolve(m.type)
    if isinstance(r, T.Int) and (r.offset or r.bits != r.size * 8):
        return m.offset + r.offset, r.bits
    return m.offset, 0


class Renderer:
    """Renders types of one spec as C, tracking names and layout plans."""

    def __init__(self, spec: Spec | None = None, unique_names: bool = False) -> None:
        self.spec = spec
        self.unique = unique_names and spec is not None
        self._plans: dict[int, _Plan] = {}
        self._planning: set[int] = set()
        self._nesting = 0
        self._names: dict[int, str] = {}
        self._enumerators: dict[str, int] = {}
        self.out: list[str] = []
        self.warnings: list[str] = []

    # -- names ----------------------------------------------------------------
    def name(self, t: T.Type) -> str:
        """C name of a named type, with ___N suffixes for same-named duplicates."""
        n = self._names.get(id(t))
        if n is not None:
            return n
        n = t.name
        if isinstance(t, T.Typedef) and n.startswith("__builtin_"):
            n = "__ebpf" + n  # the compiler owns __builtin_* names
        if self.unique and n and self.spec is not None:  # (unique implies a spec)
            tag = isinstance(t, (T.Composite, T.Enum))
            ordinary = isinstance(t, T.Typedef)
            if tag or ordinary:
                same = []
                for other in self.spec.types_by_name(n):
                    if (tag and isinstance(other, (T.Composite, T.Enum))) or \
                            (ordinary and isinstance(other, T.Typedef)):
                        same.append(other)
                idx = next((i for i, o in enumerate(same) if o is t), 0)
                if idx:
                    n = f"{n}___{idx + 1}"
        self._names[id(t)] = n
        return n

    def enumerator(self, name: str) -> str:
        if not self.unique:
            return name
        count = self._enumerators.get(name, 0)
        self._enumerators[name] = count + 1
        return name if count == 0 else f"{name}___{count + 1}"

    # -- layout -----------------------------------------------------------------
    def align(self, t: T.Type) -> int:
        """Alignment C gives the type as we write it."""
        t = T.follow(t, (T.Typedef, T.Qualifier, T.TypeTag, T.Array), "computing an alignment for C")
        if isinstance(t, (T.Int, T.Float, T.Enum)):
            return t.size if t.size in (1, 2, 4, 8, 16) else 1
        if isinstance(t, T.Pointer):
            return 8
        if isinstance(t, T.Composite):
            return self.plan(t).align
        raise BTFError(f"{T.type_name(t)} cannot be embedded by value")

    def plan(self, t: T.Composite) -> _Plan:
        p = self._plans.get(id(t))
        if p is None:
            if id(t) in self._planning:
                raise BTFError(f"{T.type_name(t)} contains itself by value")
            self._planning.add(id(t))
            try:
                p = self._plan(t, False) or self._plan(t, True)
            finally:
                self._planning.discard(id(t))
            if p is None:
                msg = f"{T.type_name(t)}: layout cannot be reproduced in C; written as is"
                log.warning(msg)
                self.warnings.append(msg)
                p = _Plan(False, list(t.members), 1)
            self._plans[id(t)] = p
        return p

    def _plan(self, t: T.Composite, packed: bool) -> _Plan | None:
        items: list = []
        max_align = 1
        size_bits = t.size * 8
        if isinstance(t, T.Union):
            end = 0
            for m in t.members:
                off, bf = _bitfield(m)
                if off:
                    return None
                try:
                    a = self.align(m.type)
                    sz = bf or T.sizeof(m.type) * 8
                except BTFError:
                    return None
                if not packed:
                    max_align = max(max_align, a)
                end = max(end, sz)
                items.append(m)
            natural = _align_up(end, 8 * max_align)
            if natural > size_bits:
                return None
            if natural < size_bits:
                if size_bits % (8 * max_align):
                    return None
                items.append(("upad", 0, size_bits))
            return _Plan(packed, items, max_align)
        cur = 0
        for m in t.members:
            off, bf = _bitfield(m)
            try:
                a = self.align(m.type)
                sz = T.sizeof(m.type) * 8
            except BTFError:
                return None
            if bf:
                unit = a * 8
                if packed:
                    pos = cur
                elif bf and cur // unit != (cur + bf - 1) // unit:
                    pos = _align_up(cur, unit)
                else:
                    pos = cur
                if not packed and m.name:
                    max_align = max(max_align, a)
            else:
                pos = cur if packed else _align_up(cur, a * 8)
                if not packed:
                    max_align = max(max_align, a)
            if off < pos:
                return None
            if off > pos:
                # padding from cur to off, then the member must land exactly at off
                if bf and not packed:
                    unit = a * 8
                    if off // unit != (off + bf - 1) // unit:
                        return None
                elif not bf and not packed and off % (a * 8):
                    return None
                items.append(("pad", cur, off - cur))
            items.append(m)
            cur = off + (bf or sz)
        natural = _align_up(cur, 8 if packed else 8 * max_align)
        if natural > size_bits or size_bits % (8 * max_align):
            return None
        if natural < size_bits:
            items.append(("pad", cur, size_bits - cur))
        return _Plan(packed, items, 1 if packed else max_align)

    # -- declarations -----------------------------------------------------------
    def decl(self, t: T.Type, inner: str, indent: int = 0) -> str:
        """C declaration of ``inner`` (a name, or "" for an abstract declarator)
        with type ``t``."""
        self._nesting += 1
        try:
            if self._nesting > 200:
                raise BTFError("type nesting too deep (a reference loop?) while rendering C")
            return self._decl(t, inner, indent)
        finally:
            self._nesting -= 1

    def _decl(self, t: T.Type, inner: str, indent: int) -> str:
        depth = 0
        while True:
            depth += 1
            if depth > 512:
                raise BTFError("type reference loop while rendering C")
            if isinstance(t, T.TypeTag):
                t = t.type
                continue
            if isinstance(t, T.Pointer):
                target = t.type
                inner = "*" + inner
                probe = T.skip_qualifiers(target)
                if isinstance(probe, (T.Array, T.FuncProto)):
                    inner = f"({inner})"
                t = target
                continue
            if isinstance(t, T.Qualifier):
                q = t.kind
                probe = T.follow(t.type, (T.TypeTag,), "rendering C")
                if isinstance(probe, T.Pointer):
                    inner = f" {q} {inner}" if inner else f" {q}"
                    t = probe
                    continue
                if isinstance(probe, T.FuncProto):
                    t = probe  # qualified function types do not exist in C
                    continue
                if isinstance(probe, T.Array):
                    # a qualified array is an array of qualified elements
                    t = T.Array(_requalify(type(t), probe.type), probe.index_type, probe.nelems)
                    continue
                base = self.decl(probe, inner, indent)
                return base if base.startswith(q + " ") else f"{q} {base}"
            if isinstance(t, T.Array):
                inner = f"{inner}[{t.nelems}]"
                t = t.type
                continue
            if isinstance(t, T.FuncProto):
                params = self.params(t, indent)
                inner = f"{inner}({params})"
                t = t.return_type
                continue
            base = self.base(t, indent)
            if not inner:
                return base
            return f"{base} {inner.lstrip()}"

    def params(self, fp: T.FuncProto, indent: int) -> str:
        if not fp.params:
            return "void"
        parts = []
        for p in fp.params:
            if isinstance(p.type, T.Void) and not p.name:
                parts.append("...")
            else:
                parts.append(self.decl(p.type, p.name, indent))
        return ", ".join(parts)

    def base(self, t: T.Type, indent: int) -> str:
        """The specifier part of a declaration."""
        if isinstance(t, T.Void):
            return "void"
        if isinstance(t, (T.Int, T.Float)):
            return t.name
        if isinstance(t, T.Typedef):
            return self.name(t)
        if isinstance(t, T.Fwd):
            return f"{'union' if t.is_union else 'struct'} {t.name}"
        if isinstance(t, (T.Composite, T.Enum)):
            if t.name:
                return f"{t.kind} {self.name(t)}"
            return self.body(t, indent)
        if isinstance(t, (T.Func, T.Var, T.Datasec, T.DeclTag)):
            raise BTFError(f"{T.type_name(t)} ({t.kind}) is not a C type")
        raise BTFError(f"cannot render {t!r} as C")

    def body(self, t: T.Composite | T.Enum, indent: int) -> str:
        """``struct name { ... } attrs`` / ``enum name { ... }`` (no semicolon)."""
        head = f"{t.kind} {self.name(t)} " if t.name else f"{t.kind} "
        pad = "\t" * (indent + 1)
        lines = [head + "{"]
        if isinstance(t, T.Enum):
            n = len(t.values)
            for i, v in enumerate(t.values):
                comma = "," if i + 1 < n else ""
                lines.append(f"{pad}{self.enumerator(v.name)} = {_literal(v.value)}{comma}")
            lines.append("\t" * indent + "}" + self.enum_attrs(t))
            return "\n".join(lines)
        plan = self.plan(t)
        for item in plan.items:
            if isinstance(item, tuple):
                lines.extend(pad + s for s in _padding(*item))
                continue
            off, bf = _bitfield(item)
            d = self.decl(item.type, item.name, indent + 1)
            if bf:
                d += f": {bf}"
            lines.append(f"{pad}{d};")
        attrs = " __attribute__((packed))" if plan.packed else ""
        lines.append("\t" * indent + "}" + attrs)
        return "\n".join(lines)

    def enum_attrs(self, t: T.Enum) -> str:
        natural = 4
        if any(v.value > 0xFFFFFFFF or v.value < -(1 << 31) for v in t.values) or \
                (any(v.value > 0x7FFFFFFF for v in t.values) and any(v.value < 0 for v in t.values)):
            natural = 8
        if t.size != natural and t.size in _MODE:
            return f" __attribute__((mode({_MODE[t.size]})))"
        return ""


def _requalify(cls: type, t: T.Type) -> T.Type:
    probe = t
    for _ in range(T.MAX_CHAIN):
        if not isinstance(probe, (T.Qualifier, T.TypeTag)):
            return cls(t)
        if isinstance(probe, cls):
            return t  # already qualified that way
        probe = probe.type
    raise BTFError("type reference loop in a qualifier chain while rendering C")


def _literal(v: int) -> str:
    if v > 0x7FFFFFFFFFFFFFFF:
        return f"{v}ULL"
    if v < -0x7FFFFFFFFFFFFFFF:
        return f"({v + 1}LL - 1)"
    return str(v)


def _padding(kind: str, start: int, nbits: int) -> list[str]:
    """Unnamed bit-fields filling ``nbits`` from bit ``start`` (never straddling)."""
    if kind == "upad":
        return [f"char __pad_{nbits // 8}[{nbits // 8}];"]
    out = []
    cur, end = start, start + nbits
    while cur < end:
        if cur % 64 == 0 and end - cur >= 64 * 8:
            # a big hole: one array rather than hundreds of bit-fields
            n = (end - cur) // 8
            out.append(f"char __pad_{start // 8 + (cur - start) // 8}[{n}];")
            cur += n * 8
            continue
        k = min(64 - cur % 64, end - cur)
        out.append(f"long: {k};")
        cur += k
    return out


def render_c(t: T.Type, spec: Spec | None = None) -> str:
    """One C declaration for ``t``: the full definition of a struct/union/enum,
    ``typedef ...;`` for a typedef, a prototype for a function, a declaration for
    a variable; an anonymous type is written as a type name.

    >>> from ebpf.btf import Enum, EnumValue, render_c
    >>> render_c(Enum("color", 4, values=[EnumValue("RED", 0), EnumValue("BLUE", 2)])).split()
    ['enum', 'color', '{', 'RED', '=', '0,', 'BLUE', '=', '2', '};']
    """
    r = Renderer(spec)
    if isinstance(t, (T.Composite, T.Enum)) and t.name:
        return r.body(t, 0) + ";"
    if isinstance(t, T.Typedef):
        return f"typedef {r.decl(t.type, r.name(t))};"
    if isinstance(t, T.Func):
        return f"{'static ' if t.linkage == T.Linkage.STATIC else ''}" \
               f"{'extern ' if t.linkage == T.Linkage.EXTERN else ''}{r.decl(t.type, t.name)};"
    if isinstance(t, T.Var):
        return f"{'static ' if t.linkage == T.Linkage.STATIC else ''}" \
               f"{'extern ' if t.linkage == T.Linkage.EXTERN else ''}{r.decl(t.type, t.name)};"
    if isinstance(t, T.Fwd):
        return f"{'union' if t.is_union else 'struct'} {t.name};"
    if isinstance(t, T.Datasec):
        lines = [f"/* section {t.name}, {t.size} bytes */"]
        for v in t.vars:
            var = v.type
            text = render_c(var, spec) if isinstance(var, T.Var) else f"/* {T.type_name(var)} */"
            lines.append(f"/* +{v.offset} size {v.size} */ {text}")
        return "\n".join(lines)
    if isinstance(t, T.DeclTag):
        return f"/* decl_tag {t.name!r} on {T.type_name(t.type)} (component {t.component_idx}) */"
    return r.decl(t, "")


# --- whole header --------------------------------------------------------------

#: Python frames a deep chain of by-value embeddings may need while ordering
_RECURSION = 20_000

_HEADER_KINDS = {"struct", "union", "enum", "typedef", "fwd"}


class _HeaderWriter:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.r = Renderer(spec, unique_names=True)
        self.state: dict[int, int] = {}  # id(type) -> 1 emitting, 2 done
        self.declared: set[int] = set()  # forward-declared composites
        self._walking: set[int] = set()  # anonymous types being walked
        self._inlined: set[int] = set()  # anonymous types written inside another
        self.out: list[str] = []

    # A "strong" need means the complete type must be known (by-value use);
    # a "weak" need only a declaration (use through a pointer).
    def strong(self, t: T.Type) -> None:
        for _ in range(T.MAX_CHAIN):
            if isinstance(t, (T.Qualifier, T.TypeTag)):
                t = t.type
            elif isinstance(t, T.Array):
                t = t.type
            elif isinstance(t, T.Typedef):
                self.typedef(t)
                t = t.type
            else:
                break
        else:
            raise BTFError("type reference loop (typedef/qualifier/array chain)")
        if isinstance(t, T.Composite) and t.name:
            self.composite(t)
        elif isinstance(t, T.Enum):
            if t.name:
                self.enum(t)
        elif isinstance(t, T.Fwd):
            self.forward(t)
        elif isinstance(t, (T.Composite, T.Pointer, T.FuncProto)):
            # anonymous types have no state of their own: guard against cycles
            if id(t) in self._walking:
                return
            self._walking.add(id(t))
            try:
                if isinstance(t, T.Composite):
                    for m in t.members:
                        self.strong(m.type)
                elif isinstance(t, T.Pointer):
                    self.weak(t.type)
                else:
                    self.weak(t.return_type)
                    for p in t.params:
                        self.weak(p.type)
            finally:
                self._walking.discard(id(t))

    def weak(self, t: T.Type) -> None:
        t = T.skip_qualifiers(t)
        if isinstance(t, T.Composite) and t.name:
            if self.state.get(id(t)) != 2:
                self.forward(t)
        elif isinstance(t, T.Fwd):
            self.forward(t)
        elif isinstance(t, T.Typedef):
            self.typedef(t)
        else:
            self.strong(t)  # arrays, enums, anonymous types, pointers, prototypes

    def forward(self, t: T.Composite | T.Fwd) -> None:
        if id(t) in self.declared or self.state.get(id(t)) == 2:
            return
        self.declared.add(id(t))
        if isinstance(t, T.Fwd):
            kind = "union" if t.is_union else "struct"
            self.out.append(f"{kind} {t.name};\n")
        else:
            self.out.append(f"{t.kind} {self.r.name(t)};\n")

    def composite(self, t: T.Composite) -> None:
        st = self.state.get(id(t))
        if st:
            return
        self.state[id(t)] = 1
        for m in t.members:
            self.strong(m.type)
        self.out.append(self.r.body(t, 0) + ";\n")
        self.state[id(t)] = 2
        for m in t.members:
            self._mark_inline(m.type)

    def enum(self, t: T.Enum) -> None:
        if self.state.get(id(t)):
            return
        self.state[id(t)] = 2
        self.out.append(self.r.body(t, 0) + ";\n")

    def typedef(self, t: T.Typedef) -> None:
        if self.state.get(id(t)):
            return
        self.state[id(t)] = 1
        target = t.type
        # what the typedef itself needs: named structs only declared; anonymous
        # ones (written inline) need their members; arrays need elements complete
        probe = T.skip_qualifiers(target)
        if isinstance(probe, T.Composite) and probe.name:
            self.weak(probe)
        else:
            self.strong(target)
        self.out.append(f"typedef {self.r.decl(target, self.r.name(t))};\n")
        self.state[id(t)] = 2
        # anonymous enums/structs written inline now belong to this typedef
        self._mark_inline(target)

    def _mark_inline(self, t: T.Type) -> None:
        t = T.follow(t, (T.Qualifier, T.TypeTag, T.Array), "ordering types for C")
        if isinstance(t, (T.Composite, T.Enum)) and not t.name:
            if self.state.get(id(t)) == 2 and id(t) in self._inlined:
                return
            self._inlined.add(id(t))
            self.state[id(t)] = 2
            if isinstance(t, T.Composite):
                for m in t.members:
                    self._mark_inline(m.type)

    def kfuncs(self) -> list[str]:
        """``extern`` prototypes of the functions tagged ``bpf_kfunc``."""
        spec = self.spec
        tags: dict[int, set[str]] = {}
        funcs: list[T.Func] = []
        ids = spec.own_ids() if spec.base is None else range(1, len(spec) + 1)
        for tid in ids:
            if spec.kind_of(tid) != "decl_tag":
                continue
            tag = spec[tid]
            if (not isinstance(tag, T.DeclTag) or tag.component_idx != -1
                    or not isinstance(tag.type, T.Func)):
                continue
            fn = tag.type
            if id(fn) not in tags:
                tags[id(fn)] = set()
                funcs.append(fn)
            tags[id(fn)].add(tag.name)
        helpers: set[str] = set()
        if funcs:
            from ..uapi import HelperId

            helpers = {"bpf_" + h.name for h in HelperId}
        out = []
        seen: set[str] = set()
        for fn in funcs:
            if "bpf_kfunc" not in tags[id(fn)] or fn.name in seen or fn.name in helpers:
                continue
            if not isinstance(fn.type, T.FuncProto):
                continue
            seen.add(fn.name)
            try:
                decl = self.r.decl(fn.type, fn.name)
            except BTFError as e:
                log.debug("kfunc %s not declared: %s", fn.name, e)
                continue
            attrs = " __bpf_fastcall" if "bpf_fastcall" in tags[id(fn)] else ""
            out.append(f"extern {decl}{attrs} __weak __ksym;")
        return out

    def write(self) -> str:
        spec = self.spec
        anon_enums: list[T.Enum] = []
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, _RECURSION))
        try:
            ids = spec.own_ids() if spec.base is None else range(1, len(spec) + 1)
            for tid in ids:
                if spec.kind_of(tid) not in _HEADER_KINDS:
                    continue
                t = spec[tid]
                if isinstance(t, T.Composite):
                    if t.name:
                        self.composite(t)
                    else:
                        for m in t.members:
                            self._mark_inline(m.type)
                elif isinstance(t, T.Enum):
                    if t.name:
                        self.enum(t)
                    else:
                        anon_enums.append(t)
                elif isinstance(t, T.Typedef):
                    self.typedef(t)
                elif isinstance(t, T.Fwd):
                    self.forward(t)
            for t in anon_enums:
                if not self.state.get(id(t)):
                    self.state[id(t)] = 2
                    self.out.append(self.r.body(t, 0) + ";\n")
            kfuncs = self.kfuncs()
        except RecursionError:
            raise BTFError("types nest too deeply to be ordered for C") from None
        finally:
            sys.setrecursionlimit(old)
        head = [
            "/* Generated by ebpf (Python) from BTF: do not edit. */",
            "#ifndef __VMLINUX_H__",
            "#define __VMLINUX_H__",
            "",
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX",
            "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)",
            "#endif",
            "",
            "#ifndef __ksym",
            '#define __ksym __attribute__((section(".ksyms")))',
            "#endif",
            "",
            "#ifndef __weak",
            "#define __weak __attribute__((weak))",
            "#endif",
            "",
            "#ifndef __bpf_fastcall",
            "#if __has_attribute(bpf_fastcall)",
            "#define __bpf_fastcall __attribute__((bpf_fastcall))",
            "#else",
            "#define __bpf_fastcall",
            "#endif",
            "#endif",
            "",
        ]
        if kfuncs:
            kfuncs = ["", "#ifndef BPF_NO_KFUNC_PROTOTYPES", *kfuncs, "#endif", ""]
        tail = [
            *kfuncs,
            "",
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX",
            "#pragma clang attribute pop",
            "#endif",
            "",
            "#endif /* __VMLINUX_H__ */",
            "",
        ]
        return "\n".join(head) + "\n".join(self.out) + "\n".join(tail)


def vmlinux_h(spec: Spec | None = None) -> str:
    """A complete C header for ``spec`` (default: the running kernel's BTF)."""
    if spec is None:
        from . import load_kernel_btf

        spec = load_kernel_btf()
    return _HeaderWriter(spec).write()


def vmlinux_h_path(spec: Spec | None = None, cache_dir: str | Path | None = None) -> Path:
    """Path of a ``vmlinux.h`` for ``spec`` (default: the running kernel), generated
    once and cached per BTF blob and renderer (:mod:`ebpf.btf.cache`).

    >>> from ebpf.btf import vmlinux_h_path
    >>> vmlinux_h_path().name                      # doctest: +SKIP
    'vmlinux.h'
    """
    from .cache import cached_path

    if spec is None:
        from . import load_kernel_btf

        spec = load_kernel_btf()
    s = spec
    return cached_path(s, "vmlinux.h", lambda: vmlinux_h(s), cache_dir)
