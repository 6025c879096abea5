"""Compiled objects kept between runs, so a second ``ebpf run``/``ebpf tool`` start
does not compile again.

An entry is found by the compile command (compiler, flags, include directories, the
source's path) and holds, besides the object, every file the compiler read (its
``-MD`` dependency list: the source, our headers, the project's, ``vmlinux.h`` and
the system's) with a hash of each. It is used only while every one of those files
still has that hash, so an edited header, another compiler or flag, or a new
kernel's ``vmlinux.h`` (whose cache directory is keyed by the kernel's BTF) all
compile afresh. Entries live in ``$XDG_CACHE_HOME/ebpf/objects`` (``~/.cache``);
``EBPF_COMPILE_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from .._internal.digest import blake2b, hexdigest
from .._internal.files import atomic_write

log = logging.getLogger(__name__)


def enabled() -> bool:
    """False when ``EBPF_COMPILE_CACHE=0`` (or ``off``/``no``)."""
    return os.environ.get("EBPF_COMPILE_CACHE", "1").lower() not in ("0", "off", "no", "false")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ebpf" / "objects"


def _tool_identity(exe: str) -> str:
    """Which compiler binary this is: its resolved path, size and mtime."""
    path = shutil.which(exe) or exe
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"


def key(command: Sequence[str]) -> str:
    """The entry name for a compile ``command`` (output and dependency-file
    arguments left out by the caller)."""
    h = blake2b(digest_size=12)
    h.update(_tool_identity(command[0]).encode() + b"\0")
    for a in command:
        h.update(a.encode() + b"\0")
    return h.hexdigest()[:24]


#: stands for a dependency whose path names its content (a generated vmlinux.h lives
#: in a directory keyed by the BTF it was made from): it only has to exist
_KEYED = "keyed-by-path"


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hexdigest(f.read(), 64)
    except OSError:
        return None


def _keyed_by_path(path: str) -> bool:
    from ..btf.cache import cache_root

    try:
        return Path(path).resolve().is_relative_to(cache_root().resolve())
    except OSError:
        return False


def lookup(entry: str) -> bytes | None:
    """The cached object of ``entry`` when every file it was built from is unchanged."""
    d = cache_dir()
    try:
        manifest = json.loads((d / f"{entry}.json").read_text())
        deps, obj_name = manifest["deps"], manifest["object"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(deps, dict) or not deps or not isinstance(obj_name, str):
        return None
    for path, digest in deps.items():
        ok = os.path.exists(path) if digest == _KEYED else _digest(path) == digest
        if not ok:
            log.info("compile cache: %s changed, compiling again", path)
            return None
    try:
        data = (d / obj_name).read_bytes()
    except OSError:
        return None
    # the object's name is its own hash: a torn or stale file is never served
    return data if obj_name == f"{hexdigest(data)}.o" else None


def kept_object(obj: Path) -> Path | None:
    """Where the cache keeps an object with the same bytes as ``obj`` (files there are
    named by their content and never rewritten: a caller may load from that path
    for as long as it likes), or None when it keeps none."""
    try:
        data = obj.read_bytes()
    except OSError:
        return None
    kept = cache_dir() / f"{hexdigest(data)}.o"
    return kept if kept.is_file() else None


def parse_depfile(text: str) -> list[str]:
    """The prerequisites of a make-style dependency file (``-MD`` output).

    >>> parse_depfile("out.o: a.c /x/b\\\\ c.h \\\\\\n  d.h\\n")
    ['a.c', '/x/b c.h', 'd.h']
    """
    _, _, body = text.partition(": ")
    body = body.replace("\\\n", " ")
    words: list[str] = []
    cur = ""
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == " ":
            cur += " "
            i += 2
            continue
        if ch.isspace():
            if cur:
                words.append(cur)
                cur = ""
        else:
            cur += ch
        i += 1
    if cur:
        words.append(cur)
    return words


def store(entry: str, obj: Path, depfile: Path, cwd: Path | None = None) -> None:
    """Keep ``obj`` under ``entry`` with the hashes of the files in ``depfile``.
    Best effort: a cache that cannot be written is logged and skipped."""
    try:
        deps = parse_depfile(depfile.read_text())
    except OSError as e:
        log.info("compile cache: no dependency list (%s); not cached", e)
        return
    digests: dict[str, str] = {}
    for dep in deps:
        path = dep if os.path.isabs(dep) or cwd is None else str(cwd / dep)
        digest = _KEYED if _keyed_by_path(path) else _digest(path)
        if digest is None:
            return  # a file we cannot read again cannot be checked: do not cache
        digests[os.path.abspath(path)] = digest
    if not digests:
        return
    d = cache_dir()
    try:
        data = obj.read_bytes()
        obj_name = f"{hexdigest(data)}.o"
        d.mkdir(parents=True, exist_ok=True)
        if not (d / obj_name).is_file():
            atomic_write(d / obj_name, data)
        atomic_write(d / f"{entry}.json",
                      json.dumps({"deps": digests, "object": obj_name}).encode())
    except OSError as e:
        log.info("compile cache: cannot write %s (%s)", d, e)


__all__ = ["cache_dir", "enabled", "kept_object", "key", "lookup", "parse_depfile", "store"]
