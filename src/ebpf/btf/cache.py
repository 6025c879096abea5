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
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import BTFError
from .parse import Spec

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ebpf/btf`` (or ``~/.cache/ebpf/btf``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ebpf" / "btf"


@functools.lru_cache(maxsize=1)
def renderer_fingerprint() -> bytes:
    """A hash of the ``ebpf.btf`` package's sources: changes whenever the code that
    turns BTF into text changes, so a fixed renderer never serves an older result."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        try:
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        except OSError:  # pragma: no cover - a package file vanished under us
            h.update(f.name.encode())
    return h.digest()


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
        _write(path, text)
    except OSError as e:
        fallback = Path(tempfile.gettempdir()) / f"ebpf-btf-{os.getuid()}" / k / name
        log.warning("cannot write BTF cache %s (%s); using %s", path, e, fallback)
        try:
            _write(fallback, text)
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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["blob", "cache_root", "cached_path", "cached_text", "key", "renderer_fingerprint"]
