"""``vmlinux.h``: every kernel type as C, generated from BTF and cached per kernel build.

>>> from ebpf.toolchain.vmlinux import vmlinux_h_dir
>>> (vmlinux_h_dir() / "vmlinux.h").is_file()      # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import BTFError, CompileError

log = logging.getLogger(__name__)

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")


def cache_dir() -> Path:
    """Where generated headers live: the BTF text cache (:mod:`ebpf.btf.cache`),
    ``$XDG_CACHE_HOME/ebpf/btf`` (or ``~/.cache``)."""
    from ..btf.cache import cache_root

    return cache_root()


def _render(data: bytes, source: Path) -> str:
    try:
        from .. import btf as _btf

        spec = _btf.Spec.from_bytes(data)
        return _btf.vmlinux_h(spec)
    except (ImportError, AttributeError) as e:
        raise CompileError(f"vmlinux.h is needed but cannot be generated from {source}: "
                           f"BTF to C rendering (ebpf.btf.vmlinux_h) is unavailable ({e})") from e
    except BTFError as e:
        raise CompileError(f"vmlinux.h: cannot render BTF from {source}: {e}") from e


def vmlinux_h_dir(btf: str | os.PathLike | None = None) -> Path:
    """A directory holding ``vmlinux.h`` for ``btf`` (default: the running kernel's
    ``/sys/kernel/btf/vmlinux``), generating it on first use. The cache key is a hash
    of the BTF itself (and of the renderer), so a new kernel build gets a new header;
    a cached header costs no BTF parsing."""
    from ..btf import cache

    source = Path(btf) if btf is not None else KERNEL_BTF
    ident = cache.file_identity(source)
    if ident is not None:  # seen before: no need to read and hash the BTF again
        k = cache.known_key(ident)
        if k is not None and (cache.cache_root() / k / "vmlinux.h").is_file():
            return cache.cache_root() / k
    try:
        data = source.read_bytes()
    except OSError as e:
        raise CompileError(f"vmlinux.h is needed but BTF {source} cannot be read: {e}") from e
    try:
        d = cache.cached_path(data, "vmlinux.h", lambda: _render(data, source)).parent
    except BTFError as e:
        raise CompileError(f"cannot write generated vmlinux.h: {e}") from e
    if ident is not None and d.parent == cache.cache_root():
        cache.remember_key(ident, d.name)
    return d


__all__ = ["cache_dir", "vmlinux_h_dir"]
