"""Demangling C++ (Itanium ABI, the common subset) and Rust (legacy and v0) names.

>>> demangle("_ZN3foo3barEv")
'foo::bar()'
>>> demangle("_ZNK3Foo4sizeEv")
'Foo::size() const'
>>> demangle("_ZN5alloc7raw_vec11finish_grow17h0123456789abcdefE")
'alloc::raw_vec::finish_grow'
>>> demangle("_RNvCs1234_7mycrate4main")
'mycrate::main'
>>> demangle("main")
'main'

Names this module cannot parse come back unchanged (never an exception). The
parsers: :mod:`.itanium` (C++) and :mod:`.rust_names` (Rust legacy and v0).
"""

from __future__ import annotations

from .itanium import itanium
from .rust_names import rust_legacy, rust_v0


def demangle(name: str) -> str:
    """The readable form of a C++ or Rust symbol; other names unchanged."""
    try:
        if name.startswith("_R"):
            return rust_v0(name) or name
        if name.startswith(("_ZN", "__ZN")):
            rust = rust_legacy(name if name.startswith("_ZN") else name[1:])
            if rust is not None:
                return rust
        if name.startswith("_Z"):
            return itanium(name) or name
        if name.startswith("__Z"):
            return itanium(name[1:]) or name
    except RecursionError:
        pass
    return name


__all__ = ["demangle"]
