"""What the demangling parsers share."""

from __future__ import annotations

__all__ = ["DemangleError"]


class DemangleError(Exception):
    """Internal: the name does not parse (the caller returns it unchanged)."""
