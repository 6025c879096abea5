"""Content hashes for cache keys and file names, without loading OpenSSL.

``hashlib`` loads OpenSSL's libcrypto at import (a few milliseconds of every start
that touches a cache); BLAKE2b is built into CPython (``_blake2``), so it is taken
from there, and from ``hashlib`` only where that module is missing.

>>> hexdigest(b"abc", 8)
'63906248'
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without its own BLAKE2
    from hashlib import blake2b


def hexdigest(data: bytes, chars: int = 32) -> str:
    """The first ``chars`` hex digits of the BLAKE2b digest of ``data`` (``chars``
    even, at most 128)."""
    return blake2b(data, digest_size=chars // 2).hexdigest()


__all__ = ["blake2b", "hexdigest"]
