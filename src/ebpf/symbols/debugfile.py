"""Separate debug files: where the symbols of a stripped binary live.

Two conventions, tried in this order (as gdb does):

* by build id: ``DEBUGDIR/.build-id/ab/cdef....debug`` where ``abcdef...`` is the
  binary's GNU build id in hex;
* by debug link (``.gnu_debuglink``: a file name and a CRC32): next to the
  binary, in its ``.debug/`` subdirectory, then ``DEBUGDIR/<binary's dir>/``.

``DEBUGDIR`` is ``/usr/lib/debug`` unless other directories are given. For a
process in a container, ``root`` (``/proc/PID/root``) is tried before the host.
"""

from __future__ import annotations

import logging
import os

from ..elf.host import HostELF, crc32_file

log = logging.getLogger(__name__)

DEFAULT_DEBUG_DIRS = ("/usr/lib/debug",)


def build_id_path(build_id: bytes, debug_dir: str) -> str:
    """``DEBUGDIR/.build-id/xx/yyyy.debug`` for ``build_id``."""
    h = build_id.hex()
    return os.path.join(debug_dir, ".build-id", h[:2], h[2:] + ".debug")


def find_debug_file(elf: HostELF, binary_path: str, *,
                    debug_dirs: tuple[str, ...] = DEFAULT_DEBUG_DIRS,
                    root: str = "") -> str | None:
    """The separate debug file for ``elf`` (opened from ``binary_path``, as the
    process names it), or None."""
    roots = [root, ""] if root else [""]
    bid = elf.build_id()
    if bid:
        for r in roots:
            for d in debug_dirs:
                p = r + build_id_path(bid, d)
                if os.path.isfile(p):
                    log.debug("%s: debug file by build id: %s", binary_path, p)
                    return p
    link = elf.debuglink()
    if link:
        name, crc = link
        bdir = os.path.dirname(binary_path)
        for r in roots:
            cands = [os.path.join(bdir, name), os.path.join(bdir, ".debug", name)]
            cands += [d + os.path.join(bdir, name) if bdir.startswith("/") else
                      os.path.join(d, bdir, name) for d in debug_dirs]
            for c in cands:
                p = r + c
                if os.path.isfile(p) and os.path.realpath(p) != os.path.realpath(binary_path):
                    try:
                        if crc32_file(p) == crc:
                            log.debug("%s: debug file by debuglink: %s", binary_path, p)
                            return p
                    except OSError:
                        continue
                    log.info("%s: %s has the wrong CRC for the debug link; ignored",
                             binary_path, p)
    return None


__all__ = ["DEFAULT_DEBUG_DIRS", "build_id_path", "find_debug_file"]
