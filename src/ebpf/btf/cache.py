"""Text made from a BTF blob (``vmlinux.h``, ``ebpf btf dump`` listings), kept on disk.

Rendering the kernel's BTF (tens of thousands of types) costs a second or more in
Python; the result depends only on the BTF bytes and on this package's renderer, so it
is made once and kept under ``$XDG_CACHE_HOME/ebpf/btf/<key>/`` (``~/.cache`` when
unset), where ``<key>`` hashes both. A new kernel build or a changed renderer gets a
new key; nothing is ever served stale. An unwritable cache directory falls back to a
private directory under the system's temporary directory.

>>> from ebpf.btf import Spec, Int
>>> import tempfile
>>> s = Spec(); _ = s.add(Int("int", 4, signed=True))
>>> d = tempfile.mkdtemp()
>>> p = cached_path(s, "demo.txt", lambda: "hello\\n", cache_dir=d)
>>> p.read_text(), cached_path(s, "demo.txt", lambda: "not called", cache_dir=d) == p
('hello\\n', True)
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._internal.digest import blake2b, hexdigest
from .._internal.files import atomic_write
from ..errors import BTFError
from .parse import Spec

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ebpf/btf`` (or ``~/.cache/ebpf/btf``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ebpf" / "btf"


@functools.lru_cache(maxsize=1)
def renderer_fingerprint() -> bytes:
    """Identifies the ``ebpf.btf`` package's sources (each file's name, size and
    modification time): changes whenever the code that turns BTF into text changes,
    so a fixed renderer never serves an older result."""
    h = blake2b()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        try:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        except OSError:  # pragma: no cover - a package file vanished under us
            h.update(f.name.encode())
    return h.digest()


def file_identity(path: str | os.PathLike[str]) -> str | None:
    """What identifies a BTF file without reading it: path, size, inode and times,
    with the running kernel's build (``/sys/kernel/btf`` files change only with a
    boot), and the renderer. None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    u = os.uname()
    return (f"{os.path.realpath(path)}:{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:"
            f"{st.st_ctime_ns}:{u.release}:{u.version}:{renderer_fingerprint().hex()}")


def known_key(identity: str) -> str | None:
    """The key recorded for a file identity by :func:`remember_key`, if any."""
    try:
        index = json.loads((cache_root() / "index.json").read_text())
    except (OSError, ValueError):
        return None
    k = index.get(identity) if isinstance(index, dict) else None
    return k if isinstance(k, str) else None


def remember_key(identity: str, k: str) -> None:
    """Record that the file with ``identity`` has content key ``k`` (best effort)."""
    root = cache_root()
    try:
        index = json.loads((root / "index.json").read_text())
        if not isinstance(index, dict):
            index = {}
    except (OSError, ValueError):
        index = {}
    index[identity] = k
    try:
        atomic_write(root / "index.json", json.dumps(dict(list(index.items())[-64:])))
    except OSError as e:
        log.info("cannot record BTF cache index in %s: %s", root, e)


def blob(spec: Spec) -> bytes:
    """The BTF bytes behind ``spec``, its base's first (what a cache key hashes)."""
    parts: list[bytes] = []
    s: Spec | None = spec
    while s is not None:
        parts.append(s.raw if s.raw is not None and not s._added else s.to_bytes())
        s = s.base
    return b"".join(reversed(parts))


def key(btf: Spec | bytes) -> str:
    """The cache key of a spec or of raw BTF bytes: the bytes and the renderer."""
    data = btf if isinstance(btf, bytes) else blob(btf)
    import hashlib  # (SHA-256 as ever: a new hash would re-render every cached text)

    return hashlib.sha256(renderer_fingerprint() + data).hexdigest()[:24]


def cached_path(btf: Spec | bytes, name: str, produce: Callable[[], str],
                cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the file ``name`` made from ``btf`` (a spec, or raw BTF bytes, which
    need no parsing when the file is cached) by ``produce()``; made on first use.

    The file lives in a directory of its own per key (so ``vmlinux.h`` can be put on a
    compiler's include path as it is)."""
    k = key(btf)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    path = root / k / name
    if path.is_file():
        return path
    text = produce()
    try:
        atomic_write(path, text)
    except OSError as e:
        fallback = Path(tempfile.gettempdir()) / f"ebpf-btf-{os.getuid()}" / k / name
        log.warning("cannot write BTF cache %s (%s); using %s", path, e, fallback)
        try:
            atomic_write(fallback, text)
        except OSError as e2:
            raise BTFError(f"cannot write {name} to {path} or {fallback}: {e2}") from None
        path = fallback
    log.info("wrote %s", path)
    return path


def cached_text(btf: Spec | bytes, name: str, produce: Callable[[], str]) -> str:
    """The text of :func:`cached_path` (read back from the cache when it is there)."""
    path = cached_path(btf, name, produce)
    try:
        return path.read_text()
    except OSError as e:  # pragma: no cover - removed between write and read
        raise BTFError(f"cannot read {path}: {e}") from None


def parse_cached(path: str | os.PathLike[str], data: bytes, *, check: bool = True) -> Spec:
    """``Spec.from_bytes(data)`` for the BTF file at ``path``, with its type tables
    (where each type starts) kept in the cache between runs: the kernel's BTF then
    parses without a pass over its tens of thousands of types."""
    ident = file_identity(path)
    k = known_key(ident) if ident is not None else None
    if k is not None:
        try:
            raw = (cache_root() / k / "scan.bin").read_bytes()
            n = int.from_bytes(raw[:8], "little")
            offs, names = array("I"), array("I")
            offs.frombytes(raw[8:8 + 4 * n])
            names.frombytes(raw[8 + 4 * n:8 + 8 * n])
            if len(names) == n:
                return Spec.from_bytes(data, scan=(offs, names), check=check)
        except (OSError, BTFError, ValueError):
            pass
    spec = Spec.from_bytes(data, check=check)
    offs, names = spec.scan_tables()
    k = key(data)
    try:
        atomic_write(cache_root() / k / "scan.bin",
                     len(offs).to_bytes(8, "little") + offs.tobytes() + names.tobytes())
        if ident is not None:
            remember_key(ident, k)
    except OSError as e:
        log.info("cannot keep BTF type tables in %s: %s", cache_root(), e)
    return spec


def kernel_identity() -> str | None:
    """What identifies the running kernel's BTF, vmlinux and every module's (a
    module loaded or unloaded changes it), and this package's BTF code, without
    reading any of it; None when the kernel exposes no BTF."""
    from . import KERNEL_BTF_DIR

    vmlinux = file_identity(os.path.join(KERNEL_BTF_DIR, "vmlinux"))
    if vmlinux is None:
        return None
    parts = [vmlinux]
    try:
        names = sorted(os.listdir(KERNEL_BTF_DIR))
    except OSError:
        return None
    for name in names:
        if name == "vmlinux":
            continue
        try:
            st = os.stat(os.path.join(KERNEL_BTF_DIR, name))
        except OSError:  # unloaded meanwhile
            continue
        parts.append(f"{name}:{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    return "\n".join(parts)


def kernel_memo(kind: str, key: bytes, compute: Callable[[], Any],
                accept: Callable[[Any], bool] = lambda value: True) -> Any:
    """``compute()``, an answer (JSON-able) that depends only on ``key`` and the
    running kernel's BTF, kept in ``<cache root>/facts/`` keyed by both and by
    :func:`kernel_identity`: a later start asks the same question without reading
    the kernel's BTF. A new kernel, a module coming or going, or changed BTF code
    asks afresh; an unreadable or damaged entry, or one ``accept`` refuses, is
    computed again."""
    ident = kernel_identity()
    if ident is None:
        return compute()
    h = hexdigest(ident.encode() + b"\0" + kind.encode() + b"\0" + key)
    path = cache_root() / "facts" / f"{kind}-{h}.json"
    try:
        entry = json.loads(path.read_bytes())
        if isinstance(entry, dict) and "value" in entry and accept(entry["value"]):
            return entry["value"]
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        atomic_write(path, json.dumps({"value": value}))
    except OSError as e:
        log.info("cannot keep %s answer in %s: %s", kind, path.parent, e)
    return value


__all__ = ["blob", "cache_root", "cached_path", "cached_text", "file_identity", "kernel_identity",
           "kernel_memo", "key", "known_key", "parse_cached", "remember_key",
           "renderer_fingerprint"]
