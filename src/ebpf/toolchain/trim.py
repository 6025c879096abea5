"""A trimmed ``vmlinux.h``: only the kernel types one program uses.

The full header (:mod:`ebpf.toolchain.vmlinux`) declares every kernel type,
about 2.8 MB of C that the compiler parses on every cold compile. A program
names a few dozen of them. This module cuts the full header down to what the
program's identifiers reach:

* a type named in the program (or in the headers it includes) is kept whole,
  with every type it holds by value;
* a type reached only through a pointer is declared (``struct X;``), unless
  the program names the pointer member (``task->mm`` names ``mm``), in which
  case the type it points to is kept whole, so ``BPF_CORE_READ(task, mm, ...)``
  still sees the whole ``struct mm_struct``;
* typedefs and enums are kept whole; kfunc prototypes are kept when named.

Declarations keep the full header's order, which already puts each type after
what it needs. The object compiled against the trimmed header is the same
program (same instructions, same BTF types) as against the full one; the
compiler driver falls back to the full header when a trimmed one fails.

The cut works on the full header's text (declarations are separated by blank
lines, see :mod:`ebpf.btf.render`), through an index built once per header and
cached beside it. Set ``EBPF_TRIM_VMLINUX=0`` to always use the full header.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
from collections.abc import Iterable
from pathlib import Path

from .._internal.files import atomic_write

#: the index format; a new value makes old cached indexes be rebuilt
_INDEX_VERSION = 1
_FIRST_DECL = "typedef "  # the head (macros, pragmas) ends where declarations start
_KFUNC_START = "\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n"
_ID = re.compile(r"[A-Za-z_]\w*")
_TAG_REF = re.compile(r"\b(struct|union|enum)\s+(\w+)((?:\s*(?:const|volatile)\b)*\s*)(\*?)")
_TAG_DEF = re.compile(r"(struct|union|enum) (\w+)")
_ENUMERATOR = re.compile(r"^\t(\w+)", re.M)
_PTR_MEMBER = re.compile(r"\*+\s*(?:const\s+)?(\w+)\s*(?:\[[^\]]*\]\s*)*(?::\s*\d+\s*)?;")
_FUNC_NAME = re.compile(r"(\w+)\s*\(")
_PTR_DECLARATOR = re.compile(r"\(\s*\*\s*(\w+)\s*\)")
_LAST_NAME = re.compile(r"(\w+)\s*(?:\[[^\]]*\]\s*)*;\s*$")
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while _Bool __attribute__ packed aligned".split())

# An index: (version, declarations, tag owners, name owners, kfuncs)
#   declarations: list of (start, end, strong tags, strong names, weak tags, pointer members)
#   pointer members: list of (member name, tag) pairs
#   tag owners: tag -> declaration number; name owners: typedef/enumerator -> number
#   kfuncs: list of (line, function name, strong tags, strong names, weak tags)
_Decl = tuple[int, int, list[str], list[str], list[str], list[tuple[str, str]]]


def _typedef_name(decl: str) -> str | None:
    if "{" not in decl:
        m = _PTR_DECLARATOR.search(decl) or _FUNC_NAME.search(decl[len("typedef "):])
        if m:
            return m.group(1)
    m = _LAST_NAME.search(decl)
    return m.group(1) if m else None


def _refs(line: str, strong_tags: set[str], names: set[str], weak_tags: set[str],
          members: list[tuple[str, str]] | None) -> None:
    """Sort the types ``line`` uses into what must be complete and what a pointer
    reaches; record ``member -> tag`` for pointer members."""
    in_proto = "(" in line  # function (pointer) types: every struct only declared
    tagged = set()
    for m in _TAG_REF.finditer(line):
        kind, tag, _, star = m.groups()
        tagged.add(m.start(2))
        if kind == "enum":
            strong_tags.add(tag)
        elif star or in_proto:
            weak_tags.add(tag)
            if star and members is not None and not in_proto:
                pm = _PTR_MEMBER.match(line, m.end(3))
                if pm:
                    members.append((pm.group(1), tag))
        else:
            strong_tags.add(tag)
    for m in _ID.finditer(line):
        if m.start() not in tagged and m.group() not in _C_KEYWORDS:
            names.add(m.group())


def build_index(text: str) -> tuple:
    """Index the declarations of a full ``vmlinux.h`` (see the module docstring)."""
    start = text.find(_FIRST_DECL)
    kf = text.find(_KFUNC_START)
    body_end = kf if kf >= 0 else text.rfind("\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX")
    if start < 0 or body_end < start:
        raise ValueError("not a vmlinux.h written by ebpf.btf.render")
    decls: list[_Decl] = []
    tag_owner: dict[str, int] = {}
    name_owner: dict[str, int] = {}
    pos = start
    while pos < body_end:
        end = text.find("\n\n", pos, body_end)
        if end < 0:
            end = body_end
        chunk = text[pos:end]
        if chunk.strip():
            n = len(decls)
            st: set[str] = set()
            nm: set[str] = set()
            wk: set[str] = set()
            members: list[tuple[str, str]] = []
            if chunk.startswith("typedef"):
                name = _typedef_name(chunk)
                if name:
                    name_owner.setdefault(name, n)
                lines = chunk.splitlines()
                for line in lines:
                    _refs(line, st, nm, wk, None)
                nm.discard(name or "")
            else:
                m = _TAG_DEF.match(chunk)
                is_def = "{" in chunk
                if m and is_def:
                    tag_owner.setdefault(m.group(2), n)
                if chunk.startswith("enum"):
                    for e in _ENUMERATOR.findall(chunk):
                        name_owner.setdefault(e, n)
                elif is_def:
                    for line in chunk.splitlines()[1:]:
                        _refs(line, st, nm, wk, members)
                else:
                    pos = end + 2
                    continue  # a forward declaration: trimmed headers write their own
            if m := _TAG_DEF.match(chunk):
                st.discard(m.group(2))
            decls.append((pos, end, sorted(st), sorted(nm), sorted(wk), members))
        pos = end + 2
    kfuncs = []
    if kf >= 0:
        kend = text.find("\n#endif", kf + len(_KFUNC_START))
        for line in text[kf + len(_KFUNC_START):kend].splitlines():
            fm = _FUNC_NAME.search(line)
            if not line.startswith("extern") or not fm:
                continue
            st, nm, wk = set(), set(), set()
            _refs(line, st, nm, wk, None)
            kfuncs.append((line, fm.group(1), sorted(st), sorted(nm), sorted(wk)))
    return (_INDEX_VERSION, start, body_end, decls, tag_owner, name_owner, kfuncs)


def load_index(full: Path, text: str) -> tuple:
    """The index of ``full`` (a full header whose text is ``text``), cached beside it."""
    path = full.with_name(full.name + ".idx")
    try:
        idx = marshal.loads(path.read_bytes())
        if idx[0] == _INDEX_VERSION:
            return idx
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        pass
    idx = build_index(text)
    try:
        atomic_write(path, marshal.dumps(idx))
    except OSError:
        pass  # a read-only cache still works, it just indexes again next time
    return idx


def trim(text: str, index: tuple, identifiers: Iterable[str]) -> str:
    """The part of the full header ``text`` that ``identifiers`` reach."""
    _, start, body_end, decls, tag_owner, name_owner, kfuncs = index
    want = set(identifiers)
    keep: set[int] = set()
    declared: set[str] = set()
    todo: list[int] = []

    def need_tag(tag: str) -> None:
        n = tag_owner.get(tag)
        if n is not None and n not in keep:
            keep.add(n)
            todo.append(n)

    def need_name(name: str) -> None:
        n = name_owner.get(name)
        if n is not None and n not in keep:
            keep.add(n)
            todo.append(n)

    for ident in want:
        need_tag(ident)
        need_name(ident)
    kept_kfuncs = []
    for line, fname, st, nm, wk in kfuncs:
        if fname in want:
            kept_kfuncs.append(line)
            for t in st:
                need_tag(t)
            for x in nm:
                need_name(x)
            declared.update(wk)
    while todo:
        _, _, st, nm, wk, members = decls[todo.pop()]
        for t in st:
            need_tag(t)
        for x in nm:
            need_name(x)
        declared.update(wk)
        for member, tag in members:
            if member in want:
                need_tag(tag)
    forward = []
    for tag in sorted(declared):
        n = tag_owner.get(tag)
        if n is None:
            continue  # not a kernel type: the program declares it
        kind = text[decls[n][0]:decls[n][0] + 6]
        forward.append(f"{'union' if kind.startswith('union') else 'struct'} {tag};\n")
    body = "\n".join(text[decls[n][0]:decls[n][1]] + "\n" for n in sorted(keep))
    tail = text[body_end:]
    if kfuncs:
        kend = tail.find("\n#endif", len(_KFUNC_START))
        tail = tail[:len(_KFUNC_START)] + "".join(line + "\n" for line in kept_kfuncs) \
            + tail[kend + 1:]
    return text[:start] + "".join(forward) + "\n" + body + tail


_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_FORWARD_ONLY = re.compile(r"\b(?:struct|union)\s+\w+")


def identifiers(src: Path, search: Iterable[Path], ours: Path) -> set[str]:
    """Identifiers in ``src`` and the headers it includes, found in ``src``'s
    directory, ``search`` or ``ours`` (our libbpf-compatible headers), comments
    left out. ``bpf_helper_defs.h`` declares every struct its prototypes use, so
    only its other names count."""
    dirs = [src.parent, *search, ours]
    seen: set[Path] = set()
    out: set[str] = set()
    todo = [src]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        text = _COMMENT.sub(" ", text)
        if path.name == "bpf_helper_defs.h":
            text = _FORWARD_ONLY.sub(" ", text)
        out.update(_ID.findall(text))
        for inc in _INCLUDE.findall(text):
            if inc == "vmlinux.h":
                continue
            for d in (path.parent, *dirs):
                cand = d / inc
                if cand.is_file():
                    todo.append(cand)
                    break
    return out


def enabled() -> bool:
    """Trimming is on unless ``EBPF_TRIM_VMLINUX=0``."""
    return os.environ.get("EBPF_TRIM_VMLINUX", "1") not in ("0", "no", "off", "false")


def trimmed_dir(full_dir: Path, src: Path, search: Iterable[Path], ours: Path) -> Path | None:
    """A directory holding a ``vmlinux.h`` trimmed for ``src`` from ``full_dir``'s,
    written once per set of kept declarations; ``None`` when it cannot be made."""
    full = full_dir / "vmlinux.h"
    try:
        text = full.read_text()
        index = load_index(full, text)
        header = trim(text, index, identifiers(src, search, ours))
    except (OSError, ValueError):
        return None
    digest = hashlib.blake2b(header.encode(), digest_size=12).hexdigest()
    d = full_dir / "trimmed" / digest
    out = d / "vmlinux.h"
    if not out.is_file():
        try:
            atomic_write(out, header)
        except OSError:
            return None
    return d


__all__ = ["build_index", "enabled", "identifiers", "load_index", "trim", "trimmed_dir"]
