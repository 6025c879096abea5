"""``Link``: an attached program. Closing it detaches the program."""

from __future__ import annotations

from ._internal.closeable import Closeable
from .errors import NotSupportedError


class Link(Closeable):
    """An attachment. Backends subclass it; ``close()`` detaches, idempotently."""

    backend: str = ""

    def __init__(self, program, description: str = ""):
        self.program = program
        self.description = description
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def detach(self) -> None:
        self.close()

    def pin(self, path: str) -> None:
        raise NotSupportedError("pinning links", detail=f"on the {self.backend} backend")

    def __repr__(self) -> str:
        state = "closed" if self._closed else "attached"
        name = getattr(self.program, "name", "?")
        return f"<{type(self).__name__} {name} {self.description} {state}>"
