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
what it needs; the declared-only types come first. The object compiled against
the trimmed header is the same program as against the full one (same
instructions, same CO-RE relocations; its BTF lists only the types the program
uses, where the full header's pulled in every type a used struct reaches); the
compiler driver falls back to the full header when a trimmed one fails.

The cut works on the full header's text (declarations are separated by blank
lines, see :mod:`ebpf.btf.render`), through an index built once per header and
cached beside it. Set ``EBPF_TRIM_VMLINUX=0`` to always use the full header.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
from array import array
from collections.abc import Iterable
from pathlib import Path

from .._internal.digest import hexdigest
from .._internal.files import atomic_write

log = logging.getLogger(__name__)

#: the index format; a new value makes old cached indexes be rebuilt
_INDEX_VERSION = 3
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

# An index: (version, body start, body end, declaration offsets, tag owners, name owners)
#   declaration offsets: array("I") of (start, end) pairs, as bytes (fast to load)
#   tag owners: struct/union/enum tag -> declaration number
#   name owners: typedef name or enumerator -> declaration number
# What each declaration needs is read from its text when a trim reaches it.


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


def _needs(chunk: str) -> tuple[set[str], set[str], set[str], list[tuple[str, str]]]:
    """What declaration ``chunk`` needs: (complete tags, names, declared-only tags,
    pointer members as (member, tag))."""
    st: set[str] = set()
    nm: set[str] = set()
    wk: set[str] = set()
    members: list[tuple[str, str]] = []
    if chunk.startswith("typedef"):
        for line in chunk.splitlines():
            _refs(line, st, nm, wk, None)
        nm.discard(_typedef_name(chunk) or "")
    elif not chunk.startswith("enum"):
        for line in chunk.splitlines()[1:]:
            _refs(line, st, nm, wk, members)
        if m := _TAG_DEF.match(chunk):
            st.discard(m.group(2))
    return st, nm, wk, members


def build_index(text: str) -> tuple:
    """Index the declarations of a full ``vmlinux.h`` (see the module docstring)."""
    start = text.find(_FIRST_DECL)
    kf = text.find(_KFUNC_START)
    body_end = kf if kf >= 0 else text.rfind("\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX")
    if start < 0 or body_end < start:
        raise ValueError("not a vmlinux.h written by ebpf.btf.render")
    offsets = array("I")
    tag_owner: dict[str, int] = {}
    name_owner: dict[str, int] = {}
    pos = start
    while pos < body_end:
        end = text.find("\n\n", pos, body_end)
        if end < 0:
            end = body_end
        head = text[pos:min(end, pos + 200)]
        n = len(offsets) // 2
        if head.startswith("typedef"):
            name = _typedef_name(text[pos:end])
            if name:
                name_owner.setdefault(name, n)
        elif head.startswith("enum") and "{" in head:  # named or anonymous
            if m := _TAG_DEF.match(head):
                tag_owner.setdefault(m.group(2), n)
            for e in _ENUMERATOR.findall(text, pos, end):
                name_owner.setdefault(e, n)
        else:
            m = _TAG_DEF.match(head)
            if m is None or "{" not in head:
                pos = end + 2
                continue  # blank, or a forward declaration: trims write their own
            tag_owner.setdefault(m.group(2), n)
        offsets.extend((pos, end))
        pos = end + 2
    return (_INDEX_VERSION, start, body_end, offsets.tobytes(), tag_owner, name_owner)


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
    _, start, body_end, raw_offsets, tag_owner, name_owner = index
    offsets = array("I")
    offsets.frombytes(raw_offsets)
    want = set(identifiers)
    keep: set[int] = set()
    declared: set[str] = set()
    todo: list[int] = []

    def need(owner: dict[str, int], name: str) -> None:
        n = owner.get(name)
        if n is not None and n not in keep:
            keep.add(n)
            todo.append(n)

    def take(st: Iterable[str], nm: Iterable[str], wk: Iterable[str]) -> None:
        for t in st:
            need(tag_owner, t)
        for x in nm:
            need(name_owner, x)
        declared.update(wk)

    for ident in want:
        need(tag_owner, ident)
        need(name_owner, ident)
    kept_kfuncs = []
    kfunc_end = -1
    if text.startswith(_KFUNC_START, body_end):
        kfunc_end = text.find("\n#endif", body_end + len(_KFUNC_START))
        for line in text[body_end + len(_KFUNC_START):kfunc_end].splitlines():
            fm = _FUNC_NAME.search(line)
            if line.startswith("extern") and fm and fm.group(1) in want:
                kept_kfuncs.append(line + "\n")
                st: set[str] = set()
                nm: set[str] = set()
                wk: set[str] = set()
                _refs(line, st, nm, wk, None)
                take(st, nm, wk)
    while todo:
        n = todo.pop()
        st, nm, wk, members = _needs(text[offsets[2 * n]:offsets[2 * n + 1]])
        take(st, nm, wk)
        for member, tag in members:
            if member in want:
                need(tag_owner, tag)
    forward = []
    for tag in sorted(declared):
        n = tag_owner.get(tag)
        if n is None or text.startswith("enum", offsets[2 * n]):
            continue  # not a kernel struct: the program declares it
        kind = "union" if text.startswith("union", offsets[2 * n]) else "struct"
        forward.append(f"{kind} {tag};\n")
    body = "\n".join(text[offsets[2 * n]:offsets[2 * n + 1]] + "\n" for n in sorted(keep))
    tail = text[body_end:]
    if kfunc_end >= 0:
        tail = _KFUNC_START + "".join(kept_kfuncs) + text[kfunc_end + 1:]
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
        idents = identifiers(src, search, ours)
        # the cut depends only on the full header (its directory is keyed by the BTF it
        # was made from), these identifiers and this code: the answer is kept by them
        st = os.stat(__file__)
        by_ids = full_dir / "trimmed" / ("ids-" + hexdigest(
            f"{_INDEX_VERSION}:{st.st_size}:{st.st_mtime_ns}\0{chr(0).join(sorted(idents))}"
            .encode(), 24))
        kept = _kept_dir(full_dir, by_ids)
        if kept is not None:
            return kept
        text = full.read_text()
        index = load_index(full, text)
        header = trim(text, index, idents)
    except (OSError, ValueError, IndexError, KeyError, TypeError, EOFError,
            UnicodeDecodeError) as e:  # a header or index not as expected: use the full one
        log.debug("no trimmed vmlinux.h for %s: %s", src, e)
        return None
    digest = hexdigest(header.encode(), 24)
    d = full_dir / "trimmed" / digest
    out = d / "vmlinux.h"
    if not out.is_file():
        try:
            atomic_write(out, header)
        except OSError:
            return None
    try:
        atomic_write(by_ids, digest)
    except OSError:
        pass  # a read-only cache still works, it just cuts again next time
    return d


def _kept_dir(full_dir: Path, by_ids: Path) -> Path | None:
    """The trimmed header's directory an earlier cut for the same identifiers
    recorded in ``by_ids``, when it is still there."""
    try:
        digest = by_ids.read_text().strip()
    except OSError:
        return None
    if not re.fullmatch(r"[0-9a-f]{24}", digest):
        return None
    d = full_dir / "trimmed" / digest
    return d if (d / "vmlinux.h").is_file() else None


__all__ = ["build_index", "enabled", "identifiers", "load_index", "trim", "trimmed_dir"]
