"""``vmlinux.h``: every kernel type as C, generated from BTF and cached per kernel build.

>>> from ebpf.toolchain.vmlinux import vmlinux_h_dir
>>> (vmlinux_h_dir() / "vmlinux.h").is_file()      # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from ..errors import BTFError, CompileError

log = logging.getLogger(__name__)

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")


def cache_dir() -> Path:
    """Where generated headers live: ``$XDG_CACHE_HOME/ebpf/vmlinux`` (or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ebpf" / "vmlinux"


def _renderer_fingerprint() -> bytes:
    """Bytes that change when the BTF → C renderer (the ebpf.btf package) changes,
    so a fixed renderer never serves a header cached by an older one."""
    import importlib.util

    h = hashlib.sha256()
    try:
        spec = importlib.util.find_spec("ebpf.btf")
        if spec is not None and spec.submodule_search_locations:
            for d in spec.submodule_search_locations:
                for f in sorted(Path(d).glob("*.py")):
                    h.update(f.name.encode() + b"\0" + f.read_bytes())
    except (ImportError, OSError):
        pass
    return h.digest()


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
    of the BTF itself (and of the renderer), so a new kernel build gets a new header."""
    source = Path(btf) if btf is not None else KERNEL_BTF
    try:
        data = source.read_bytes()
    except OSError as e:
        raise CompileError(f"vmlinux.h is needed but BTF {source} cannot be read: {e}") from e
    key = hashlib.sha256(data + _renderer_fingerprint()).hexdigest()[:20]
    d = cache_dir() / key
    header = d / "vmlinux.h"
    if header.is_file():
        return d
    log.info("generating vmlinux.h from %s into %s", source, d)
    text = _render(data, source)
    try:
        _write(d, text)
    except OSError as e:
        # an unwritable cache (read-only home, ...): fall back to a private temp dir
        fallback = Path(tempfile.gettempdir()) / f"ebpf-vmlinux-{os.getuid()}" / key
        log.warning("cannot write vmlinux.h cache %s (%s); using %s", d, e, fallback)
        try:
            _write(fallback, text)
        except OSError as e2:
            raise CompileError(f"cannot write generated vmlinux.h to {d} or {fallback}: "
                               f"{e2}") from e2
        d = fallback
    return d


def _write(d: Path, text: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".vmlinux.", suffix=".h")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, d / "vmlinux.h")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["cache_dir", "vmlinux_h_dir"]
